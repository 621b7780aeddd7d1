//! Replica leases on PostgreSQL. A claim is one upsert whose conflict
//! branch updates only when the rule allows (lapsed, the same holder, or
//! the holder the caller replaces): the conflicting row is locked while
//! its condition is checked, so of two processes claiming one id at once,
//! exactly one gets it.

use super::PgBackend;
use crate::StoreError;
use crate::replica_leases::{LeaseClaim, LeaseOutcome, ReplicaLeaseRecord, ReplicaLeases};

/// The database's time in unix milliseconds (the wall clock, not the
/// transaction's start).
const NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

type LeaseRow = (String, String, String, i64, i64, i64, i64);

fn lease(row: LeaseRow) -> ReplicaLeaseRecord {
    let (replica_id, holder, host, pid, acquired_at_ms, renewed_at_ms, expires_at_ms) = row;
    ReplicaLeaseRecord {
        replica_id,
        holder,
        host,
        pid,
        acquired_at_ms,
        renewed_at_ms,
        expires_at_ms,
    }
}

impl PgBackend {
    pub(crate) async fn claim_replica(
        &self,
        claim: LeaseClaim<'_>,
    ) -> Result<LeaseOutcome, StoreError> {
        let sql = format!(
            "WITH now AS (SELECT {NOW_MS} AS ms) \
             INSERT INTO replica_leases AS l \
               (replica_id, holder, host, pid, acquired_at, renewed_at, expires_at) \
             SELECT $1, $2, $3, $4, ms, ms, ms + $5 FROM now \
             ON CONFLICT (replica_id) DO UPDATE SET holder = excluded.holder, \
               host = excluded.host, pid = excluded.pid, \
               acquired_at = CASE WHEN l.holder = excluded.holder \
                 THEN l.acquired_at ELSE excluded.acquired_at END, \
               renewed_at = excluded.renewed_at, expires_at = excluded.expires_at \
             WHERE l.expires_at <= excluded.acquired_at \
               OR l.holder = excluded.holder OR l.holder = $6 \
             RETURNING l.expires_at"
        );
        let acquired: Option<(i64,)> = sqlx::query_as(&sql)
            .bind(claim.replica_id)
            .bind(claim.holder)
            .bind(claim.host)
            .bind(claim.pid)
            .bind(claim.ttl_ms)
            .bind(claim.replaces)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("claim replica id", e))?;
        if let Some((expires_at_ms,)) = acquired {
            return Ok(LeaseOutcome::Acquired { expires_at_ms });
        }
        let sql = format!(
            "SELECT replica_id, holder, host, pid, acquired_at, renewed_at, expires_at, {NOW_MS} \
             FROM replica_leases WHERE replica_id = $1"
        );
        let row: (String, String, String, i64, i64, i64, i64, i64) = sqlx::query_as(&sql)
            .bind(claim.replica_id)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("read replica id claim", e))?;
        let (a, b, c, d, e, f, g, now_ms) = row;
        Ok(LeaseOutcome::Held {
            by: lease((a, b, c, d, e, f, g)),
            now_ms,
        })
    }

    pub(crate) async fn renew_replica(
        &self,
        replica_id: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE replica_leases SET renewed_at = {NOW_MS}, expires_at = {NOW_MS} + $3 \
             WHERE replica_id = $1 AND holder = $2"
        );
        let done = sqlx::query(&sql)
            .bind(replica_id)
            .bind(holder)
            .bind(ttl_ms)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("renew replica id", e))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn release_replica(
        &self,
        replica_id: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replica_leases WHERE replica_id = $1 AND holder = $2")
            .bind(replica_id)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("release replica id", e))?;
        Ok(())
    }

    pub(crate) async fn hand_back_replica(
        &self,
        holder: &str,
        to: &ReplicaLeaseRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE replica_leases SET holder = $3, host = $4, pid = $5, acquired_at = $6, \
             renewed_at = $7, expires_at = $8 WHERE replica_id = $1 AND holder = $2",
        )
        .bind(&to.replica_id)
        .bind(holder)
        .bind(&to.holder)
        .bind(&to.host)
        .bind(to.pid)
        .bind(to.acquired_at_ms)
        .bind(to.renewed_at_ms)
        .bind(to.expires_at_ms)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("hand back replica id", e))?;
        Ok(())
    }

    pub(crate) async fn replica_leases(&self) -> Result<ReplicaLeases, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx("list replica ids", e))?;
        let (now_ms,): (i64,) = sqlx::query_as(&format!("SELECT {NOW_MS}"))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx("list replica ids", e))?;
        let rows: Vec<LeaseRow> = sqlx::query_as(
            "SELECT replica_id, holder, host, pid, acquired_at, renewed_at, expires_at \
             FROM replica_leases ORDER BY replica_id COLLATE \"C\"",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx("list replica ids", e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx("list replica ids", e))?;
        Ok(ReplicaLeases {
            now_ms,
            leases: rows.into_iter().map(lease).collect(),
        })
    }
}
