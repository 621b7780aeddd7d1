//! Shared rate-limit counters: one row per identity, kind and window.
//! PostgreSQL runs READ COMMITTED with many writers, so an allotment locks
//! the current window's row first (`INSERT .. ON CONFLICT DO NOTHING`, then
//! `SELECT .. FOR UPDATE`): concurrent takers of one window, from any
//! replica, queue on that lock, and each reads the count the one before it
//! committed. The previous window's row is read without a lock: it only
//! grows (late charges), and reading it a little early can only make the
//! estimate smaller by what is charged meanwhile.

use super::PgBackend;
use crate::StoreError;
use crate::rate_windows::{
    AllotmentAsk, AllotmentGrant, RATE_WINDOW_SECONDS, RateKind, as_column, grant_for, used,
    window_start,
};

impl PgBackend {
    pub(crate) async fn take_rate_allotment(
        &self,
        ask: &AllotmentAsk<'_>,
    ) -> Result<AllotmentGrant, StoreError> {
        const OP: &str = "take rate allotment";
        let fail = |e| StoreError::from_sqlx(OP, e);
        let window = window_start(ask.now_ms);
        let kind = ask.kind.as_str();
        let mut tx = self.pool.begin().await.map_err(fail)?;
        sqlx::query(
            "INSERT INTO rate_windows (identity_id, kind, window_start, used) \
             VALUES ($1, $2, $3, 0) ON CONFLICT (identity_id, kind, window_start) DO NOTHING",
        )
        .bind(ask.identity_id)
        .bind(kind)
        .bind(window)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
        let (current,): (i64,) = sqlx::query_as(
            "SELECT used FROM rate_windows \
             WHERE identity_id = $1 AND kind = $2 AND window_start = $3 FOR UPDATE",
        )
        .bind(ask.identity_id)
        .bind(kind)
        .bind(window)
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
        let previous: Option<(i64,)> = sqlx::query_as(
            "SELECT used FROM rate_windows \
             WHERE identity_id = $1 AND kind = $2 AND window_start = $3",
        )
        .bind(ask.identity_id)
        .bind(kind)
        .bind(window - RATE_WINDOW_SECONDS)
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail)?;
        let (previous, current) = (used(previous.map_or(0, |p| p.0)), used(current));
        let granted = grant_for(ask, window, previous, current);
        if granted > 0 {
            sqlx::query(
                "UPDATE rate_windows SET used = used + $4 \
                 WHERE identity_id = $1 AND kind = $2 AND window_start = $3",
            )
            .bind(ask.identity_id)
            .bind(kind)
            .bind(window)
            .bind(as_column(granted))
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(AllotmentGrant {
            granted,
            window_start: window,
            previous_used: previous,
            current_used: current.saturating_add(granted),
        })
    }

    pub(crate) async fn charge_rate_window(
        &self,
        identity_id: &str,
        kind: RateKind,
        amount: i64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // One statement: the upsert adds atomically, whoever else writes.
        sqlx::query(
            "INSERT INTO rate_windows (identity_id, kind, window_start, used) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (identity_id, kind, window_start) \
             DO UPDATE SET used = rate_windows.used + EXCLUDED.used",
        )
        .bind(identity_id)
        .bind(kind.as_str())
        .bind(window_start(now_ms))
        .bind(amount)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("charge rate window", e))?;
        Ok(())
    }

    pub(crate) async fn rate_window_used(
        &self,
        identity_id: &str,
        kind: RateKind,
        window: i64,
    ) -> Result<u64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT used FROM rate_windows \
             WHERE identity_id = $1 AND kind = $2 AND window_start = $3",
        )
        .bind(identity_id)
        .bind(kind.as_str())
        .bind(window)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read rate window", e))?;
        Ok(used(row.map_or(0, |r| r.0)))
    }

    pub(crate) async fn prune_rate_windows(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("prune rate windows", e))?;
        Ok(done.rows_affected())
    }
}
