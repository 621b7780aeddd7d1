//! Replica leases on SQLite. Every write runs on the one writer, so a
//! claim's read and write never interleave with another's; the upsert's
//! condition states the rule all the same, as on PostgreSQL.

use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use super::connections::Op;
use crate::StoreError;
use crate::replica_leases::{LeaseClaim, LeaseOutcome, ReplicaLeaseRecord, ReplicaLeases};

/// The database's time in unix milliseconds (stable within a statement).
const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

const COLUMNS: &str = "replica_id, holder, host, pid, acquired_at, renewed_at, expires_at";

fn lease_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReplicaLeaseRecord> {
    Ok(ReplicaLeaseRecord {
        replica_id: row.get(0)?,
        holder: row.get(1)?,
        host: row.get(2)?,
        pid: row.get(3)?,
        acquired_at_ms: row.get(4)?,
        renewed_at_ms: row.get(5)?,
        expires_at_ms: row.get(6)?,
    })
}

impl SqliteBackend {
    pub(crate) async fn claim_replica(
        &self,
        claim: LeaseClaim<'_>,
    ) -> Result<LeaseOutcome, StoreError> {
        const OP: &str = "claim replica id";
        let (replica_id, holder, host) = (
            claim.replica_id.to_owned(),
            claim.holder.to_owned(),
            claim.host.to_owned(),
        );
        let replaces = claim.replaces.map(str::to_owned);
        let (pid, ttl_ms) = (claim.pid, claim.ttl_ms);
        self.conns
            .write(OP, move |tx| {
                let sql = format!(
                    "INSERT INTO replica_leases ({COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, {NOW_MS}, {NOW_MS}, {NOW_MS} + ?5) \
                     ON CONFLICT (replica_id) DO UPDATE SET holder = excluded.holder, \
                       host = excluded.host, pid = excluded.pid, \
                       acquired_at = CASE WHEN replica_leases.holder = excluded.holder \
                         THEN replica_leases.acquired_at ELSE excluded.acquired_at END, \
                       renewed_at = excluded.renewed_at, expires_at = excluded.expires_at \
                     WHERE replica_leases.expires_at <= excluded.acquired_at \
                       OR replica_leases.holder = excluded.holder \
                       OR replica_leases.holder = ?6 \
                     RETURNING expires_at"
                );
                let acquired: Option<i64> = tx
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_row(
                            params![replica_id, holder, host, pid, ttl_ms, replaces],
                            |row| row.get(0),
                        )
                        .optional()
                    })
                    .op(OP)?;
                if let Some(expires_at_ms) = acquired {
                    return Ok(LeaseOutcome::Acquired { expires_at_ms });
                }
                let sql =
                    format!("SELECT {COLUMNS}, {NOW_MS} FROM replica_leases WHERE replica_id = ?1");
                tx.prepare_cached(&sql)
                    .and_then(|mut stmt| {
                        stmt.query_row([&replica_id], |row| {
                            Ok(LeaseOutcome::Held {
                                by: lease_row(row)?,
                                now_ms: row.get(7)?,
                            })
                        })
                    })
                    .op(OP)
            })
            .await
    }

    pub(crate) async fn renew_replica(
        &self,
        replica_id: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "renew replica id";
        let (replica_id, holder) = (replica_id.to_owned(), holder.to_owned());
        self.conns
            .write(OP, move |tx| {
                let sql = format!(
                    "UPDATE replica_leases SET renewed_at = {NOW_MS}, expires_at = {NOW_MS} + ?3 \
                     WHERE replica_id = ?1 AND holder = ?2"
                );
                let changed = tx
                    .prepare_cached(&sql)
                    .and_then(|mut stmt| stmt.execute(params![replica_id, holder, ttl_ms]))
                    .op(OP)?;
                Ok(changed == 1)
            })
            .await
    }

    pub(crate) async fn release_replica(
        &self,
        replica_id: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "release replica id";
        let (replica_id, holder) = (replica_id.to_owned(), holder.to_owned());
        self.conns
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "DELETE FROM replica_leases WHERE replica_id = ?1 AND holder = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![replica_id, holder]))
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn hand_back_replica(
        &self,
        holder: &str,
        to: &ReplicaLeaseRecord,
    ) -> Result<(), StoreError> {
        const OP: &str = "hand back replica id";
        let (holder, to) = (holder.to_owned(), to.clone());
        self.conns
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "UPDATE replica_leases SET holder = ?3, host = ?4, pid = ?5, acquired_at = ?6, \
                     renewed_at = ?7, expires_at = ?8 WHERE replica_id = ?1 AND holder = ?2",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        to.replica_id,
                        holder,
                        to.holder,
                        to.host,
                        to.pid,
                        to.acquired_at_ms,
                        to.renewed_at_ms,
                        to.expires_at_ms
                    ])
                })
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn replica_leases(&self) -> Result<ReplicaLeases, StoreError> {
        const OP: &str = "list replica ids";
        self.conns
            .read(OP, |tx| {
                let now_ms: i64 = tx
                    .query_row(&format!("SELECT {NOW_MS}"), [], |row| row.get(0))
                    .op(OP)?;
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM replica_leases ORDER BY replica_id"
                    ))
                    .op(OP)?;
                let leases = stmt
                    .query_map([], lease_row)
                    .op(OP)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .op(OP)?;
                Ok(ReplicaLeases { now_ms, leases })
            })
            .await
    }
}
