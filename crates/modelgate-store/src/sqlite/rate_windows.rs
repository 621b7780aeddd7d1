//! Shared rate-limit counters: one row per identity, kind and window.
//! Allotments are taken in a write transaction (`BEGIN IMMEDIATE`): the
//! database's one writer at a time, across processes too, makes the read
//! of the window and the addition to it one step.

use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use super::connections::Op;
use crate::StoreError;
use crate::rate_windows::{
    AllotmentAsk, AllotmentGrant, RATE_WINDOW_SECONDS, RateKind, as_column, grant_for, used,
    window_start,
};

/// The counter's `used` for one window, 0 if it has no row.
fn read_used(
    conn: &rusqlite::Connection,
    identity_id: &str,
    kind: &str,
    window: i64,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT used FROM rate_windows WHERE identity_id = ? AND kind = ? AND window_start = ?",
    )?
    .query_row(params![identity_id, kind, window], |row| row.get(0))
    .optional()
    .map(|found| found.unwrap_or(0))
}

impl SqliteBackend {
    pub(crate) async fn take_rate_allotment(
        &self,
        ask: &AllotmentAsk<'_>,
    ) -> Result<AllotmentGrant, StoreError> {
        const OP: &str = "take rate allotment";
        let (identity_id, kind) = (ask.identity_id.to_owned(), ask.kind.as_str());
        // The sizing only (the closure outlives the borrowed identity id).
        let sizing = AllotmentAsk {
            identity_id: "",
            ..*ask
        };
        self.conns
            .write(OP, move |tx| {
                let identity_id = identity_id.as_str();
                let window = window_start(sizing.now_ms);
                let previous =
                    used(read_used(tx, identity_id, kind, window - RATE_WINDOW_SECONDS).op(OP)?);
                let current = used(read_used(tx, identity_id, kind, window).op(OP)?);
                let granted = grant_for(&sizing, window, previous, current);
                if granted > 0 {
                    tx.prepare_cached(
                        "INSERT INTO rate_windows (identity_id, kind, window_start, used) \
                         VALUES (?, ?, ?, ?) \
                         ON CONFLICT (identity_id, kind, window_start) \
                         DO UPDATE SET used = used + excluded.used",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![identity_id, kind, window, as_column(granted)])
                    })
                    .op(OP)?;
                }
                Ok(AllotmentGrant {
                    granted,
                    window_start: window,
                    previous_used: previous,
                    current_used: current.saturating_add(granted),
                })
            })
            .await
    }

    pub(crate) async fn charge_rate_window(
        &self,
        identity_id: &str,
        kind: RateKind,
        amount: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "charge rate window";
        let identity_id = identity_id.to_owned();
        let window = window_start(now_ms);
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached(
                    "INSERT INTO rate_windows (identity_id, kind, window_start, used) \
                     VALUES (?, ?, ?, ?) \
                     ON CONFLICT (identity_id, kind, window_start) \
                     DO UPDATE SET used = used + excluded.used",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![identity_id, kind.as_str(), window, amount])
                })
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn rate_window_used(
        &self,
        identity_id: &str,
        kind: RateKind,
        window: i64,
    ) -> Result<u64, StoreError> {
        const OP: &str = "read rate window";
        let identity_id = identity_id.to_owned();
        self.conns
            .run(OP, move |conn| {
                read_used(conn, &identity_id, kind.as_str(), window)
                    .map(used)
                    .op(OP)
            })
            .await
    }

    pub(crate) async fn prune_rate_windows(&self, before: i64) -> Result<u64, StoreError> {
        const OP: &str = "prune rate windows";
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached("DELETE FROM rate_windows WHERE window_start < ?")
                    .and_then(|mut stmt| stmt.execute([before]))
                    .map(|n| n as u64)
                    .op(OP)
            })
            .await
    }
}
