//! Audit entries and audit keys in PostgreSQL: the reads over the pool
//! (search, a replica's lines, expired bodies), pruning a line, and the
//! sealed audit keys. The writer of entries is `audit_appender`.

use sqlx::{Acquire, Postgres, QueryBuilder, Row};

use super::PgBackend;
use crate::StoreError;
use crate::audit::{AuditHit, AuditKeyRecord, AuditQuery, CHAIN_HEADS_SQL, ChainHead};

/// SQLite reads a negative `LIMIT` as no limit; PostgreSQL refuses one,
/// and reads `LIMIT NULL` as none.
fn limit_of(limit: i64) -> Option<i64> {
    (limit >= 0).then_some(limit)
}

/// The search as SQL with every value bound (`$n`): only the filters
/// given become conditions, so the planner can use the index that fits.
/// The advisory lock that orders audit ids with their commits (`mgaudit`
/// in ASCII; apart from the migrator's). Every audit batch holds it shared
/// from before it draws its first id until its commit is visible; a
/// search takes it exclusively just long enough to take its snapshot. In
/// that snapshot every id drawn so far is committed (or rolled back for
/// good), and every id drawn later is larger: a reader following the last
/// id it saw never skips a record, however many replicas write at once.
/// Writers never wait for each other; a search makes new batches wait
/// while it waits for those in flight and takes its snapshot (PostgreSQL
/// queues shared requests behind a waiting exclusive one), not while it
/// reads.
pub(crate) const AUDIT_ORDER_LOCK: i64 = 0x6d67_6175_6469_7400;

/// A connection that may hold [`AUDIT_ORDER_LOCK`] at session level: if
/// the search fails or is dropped before it unlocks, the connection is
/// closed rather than returned to the pool (closing ends the session,
/// which releases the lock).
struct OrderLockGuard(Option<sqlx::pool::PoolConnection<Postgres>>);

impl OrderLockGuard {
    fn conn(&mut self) -> Result<&mut sqlx::pool::PoolConnection<Postgres>, StoreError> {
        self.0.as_mut().ok_or(StoreError::Backend {
            operation: "search audit",
            message: "no connection".to_owned(),
        })
    }

    /// The lock is released: the connection may go back to the pool.
    fn disarm(&mut self) {
        self.0.take();
    }
}

impl Drop for OrderLockGuard {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            drop(conn.detach());
        }
    }
}

fn search_sql(q: &AuditQuery) -> QueryBuilder<'_, Postgres> {
    let mut sql = QueryBuilder::new("SELECT id, line FROM audit_entries WHERE NOT checkpoint");
    for (column, value) in [
        ("identity", &q.identity),
        ("model", &q.model),
        ("decision", &q.decision),
        ("kind", &q.kind),
    ] {
        if let Some(value) = value {
            // The column name is one of the four literals above.
            sql.push(" AND ")
                .push(column)
                .push(" = ")
                .push_bind(value.as_str());
        }
    }
    if let Some(since) = q.since {
        sql.push(" AND time >= ").push_bind(since);
    }
    if let Some(until) = q.until {
        sql.push(" AND time < ").push_bind(until);
    }
    sql.push(" AND id > ").push_bind(q.after.unwrap_or(0));
    sql.push(" ORDER BY id LIMIT ")
        .push_bind(q.limit.clamp(1, crate::AUDIT_PAGE_MAX));
    sql
}

impl PgBackend {
    pub(crate) async fn audit_chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        let rows: Vec<(String, i64, i32)> = sqlx::query_as(CHAIN_HEADS_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("list audit chains", e))?;
        Ok(rows
            .into_iter()
            .map(|(replica, last_seq, signed)| ChainHead {
                replica,
                last_seq,
                signed: signed == 1,
            })
            .collect())
    }

    pub(crate) async fn audit_replicas(&self) -> Result<Vec<String>, StoreError> {
        // Byte order, as SQLite's BINARY collation orders them.
        sqlx::query_scalar(
            "SELECT DISTINCT replica COLLATE \"C\" AS replica FROM audit_entries ORDER BY 1",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list audit replicas", e))
    }

    pub(crate) async fn audit_lines(
        &self,
        replica: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query_as(
            "SELECT id, line FROM audit_entries WHERE replica = $1 AND id > $2 \
             ORDER BY id LIMIT $3",
        )
        .bind(replica)
        .bind(after)
        .bind(limit_of(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read audit lines", e))
    }

    /// A page of records in id order, read in a snapshot no audit batch
    /// is half way through (see [`AUDIT_ORDER_LOCK`]), so that following
    /// the last id never passes a record that commits later.
    pub(crate) async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditHit>, StoreError> {
        const OP: &str = "search audit";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut guard = OrderLockGuard(Some(self.pool.acquire().await.map_err(err)?));
        let conn = guard.conn()?;
        // Waits for the batches in flight; batches after it wait for it.
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(AUDIT_ORDER_LOCK)
            .execute(&mut **conn)
            .await
            .map_err(err)?;
        let mut tx = conn.begin().await.map_err(err)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        // The transaction's snapshot is taken by its first query, this
        // one, while the lock is still held; then writers go on.
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(AUDIT_ORDER_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        let rows: Vec<(i64, String)> = search_sql(q)
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)?;
        guard.disarm();
        Ok(rows
            .into_iter()
            .map(|(id, line)| AuditHit { id, line })
            .collect())
    }

    pub(crate) async fn audit_expired_bodies(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        sqlx::query_as(
            "SELECT id, line FROM audit_entries WHERE bodies_expire IS NOT NULL \
             AND bodies_expire <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit_of(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("find expired audit bodies", e))
    }

    pub(crate) async fn replace_pruned_audit_line(
        &self,
        id: i64,
        line: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_entries SET line = $1, bodies_expire = NULL WHERE id = $2")
            .bind(line)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("prune audit bodies", e))?;
        Ok(())
    }

    pub(crate) async fn audit_keys(&self) -> Result<Vec<AuditKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT key_id, purpose, public_key, sealed, created_at, active FROM audit_keys \
             ORDER BY created_at, key_id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list audit keys", e))?;
        rows.iter()
            .map(|r| {
                Ok(AuditKeyRecord {
                    key_id: r.try_get("key_id")?,
                    purpose: r.try_get("purpose")?,
                    public_key: r.try_get("public_key")?,
                    sealed: r.try_get("sealed")?,
                    created_at: r.try_get("created_at")?,
                    active: r.try_get("active")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| StoreError::from_sqlx("list audit keys", e))
    }

    /// SQLite's `NOT EXISTS` guard alone is not enough at READ COMMITTED:
    /// two first starts can both see no active key. The partial unique
    /// index `audit_keys_active` then arbitrates through `ON CONFLICT
    /// (purpose) WHERE active DO NOTHING`: the loser waits for the winner's
    /// commit and writes nothing, returning false rather than an error.
    pub(crate) async fn insert_audit_key(&self, k: &AuditKeyRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO audit_keys (key_id, purpose, public_key, sealed, created_at, active) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS \
             (SELECT 1 FROM audit_keys WHERE purpose = $2 AND active) \
             ON CONFLICT (purpose) WHERE active DO NOTHING",
        )
        .bind(&k.key_id)
        .bind(&k.purpose)
        .bind(&k.public_key)
        .bind(&k.sealed)
        .bind(k.created_at)
        .bind(k.active)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("insert audit key", e))?;
        Ok(done.rows_affected() == 1)
    }
}
