//! Audit entries and audit keys in SQLite.

use sqlx::Row;

use super::SqliteBackend;
use crate::StoreError;
use crate::audit::{AuditEntryRow, AuditHit, AuditKeyRecord, AuditQuery};

/// Rows per INSERT statement, largest first (12 parameters each; SQLite
/// allows 32,766).
const INSERT_SIZES: [usize; 4] = [256, 32, 4, 1];

/// The INSERT of `size` rows (one of [`INSERT_SIZES`]), built once.
fn insert_sql(size: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<(usize, String)>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        INSERT_SIZES
            .iter()
            .map(|&n| {
                let mut sql = String::from(
                    "INSERT INTO audit_entries (replica, seq, checkpoint, time, line, kind, \
                     identity, model, decision, action, status, bodies_expire) VALUES ",
                );
                for i in 0..n {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?)");
                }
                (n, sql)
            })
            .collect()
    });
    all.iter()
        .find(|(n, _)| *n == size)
        .or(all.last())
        .map_or("", |(_, sql)| sql.as_str())
}

impl SqliteBackend {
    pub(crate) async fn append_audit_entries(
        &self,
        rows: &[AuditEntryRow],
    ) -> Result<(), StoreError> {
        const OP: &str = "append audit entries";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut conn = self.pool.acquire().await.map_err(err)?;
        // The batch is acknowledged to callers as durable: connections use
        // `synchronous=FULL`, so the commit syncs the WAL.
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            // Many rows per statement (each statement is a round trip to the
            // connection's worker thread), in a few fixed sizes so that the
            // prepared statements are reused from the connection's cache.
            let mut rest = rows;
            while !rest.is_empty() {
                let size = INSERT_SIZES
                    .iter()
                    .copied()
                    .find(|s| *s <= rest.len())
                    .unwrap_or(1);
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let mut query = sqlx::query(insert_sql(size));
                for r in chunk {
                    query = query
                        .bind(&r.replica)
                        .bind(r.seq)
                        .bind(i64::from(r.checkpoint))
                        .bind(r.time)
                        .bind(&r.line)
                        .bind(&r.kind)
                        .bind(&r.identity)
                        .bind(&r.model)
                        .bind(&r.decision)
                        .bind(&r.action)
                        .bind(r.status)
                        .bind(r.bodies_expire);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await
        }
        .await;
        result.map_err(err)?;
        Ok(())
    }

    pub(crate) async fn audit_tail(&self, replica: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT line FROM audit_entries WHERE replica = ? AND checkpoint = 0 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(replica)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read audit tail", e))?;
        row.map(|r| r.try_get("line"))
            .transpose()
            .map_err(|e| StoreError::from_sqlx("read audit tail", e))
    }

    pub(crate) async fn discard_audit_after(
        &self,
        replica: &str,
        seq: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM audit_entries WHERE replica = ? AND seq > ?")
            .bind(replica)
            .bind(seq)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("discard audit entries", e))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn audit_replicas(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT DISTINCT replica FROM audit_entries ORDER BY replica")
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
            "SELECT id, line FROM audit_entries WHERE replica = ? AND id > ? \
             ORDER BY id LIMIT ?",
        )
        .bind(replica)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read audit lines", e))
    }

    pub(crate) async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditHit>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, line FROM audit_entries WHERE checkpoint = 0 \
             AND (?1 IS NULL OR identity = ?1) AND (?2 IS NULL OR model = ?2) \
             AND (?3 IS NULL OR decision = ?3) AND (?4 IS NULL OR kind = ?4) \
             AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time < ?6) \
             AND id > ?7 ORDER BY id LIMIT ?8",
        )
        .bind(&q.identity)
        .bind(&q.model)
        .bind(&q.decision)
        .bind(&q.kind)
        .bind(q.since)
        .bind(q.until)
        .bind(q.after.unwrap_or(0))
        .bind(q.limit.clamp(1, 10_000))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("search audit", e))?;
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
             AND bodies_expire <= ? ORDER BY id LIMIT ?",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("find expired audit bodies", e))
    }

    pub(crate) async fn replace_pruned_audit_line(
        &self,
        id: i64,
        line: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_entries SET line = ?, bodies_expire = NULL WHERE id = ?")
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
             ORDER BY created_at, key_id",
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
                    active: r.try_get::<i64, _>("active")? == 1,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| StoreError::from_sqlx("list audit keys", e))
    }

    pub(crate) async fn insert_audit_key(&self, k: &AuditKeyRecord) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO audit_keys (key_id, purpose, public_key, sealed, created_at, active) \
             SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS \
             (SELECT 1 FROM audit_keys WHERE purpose = ? AND active = 1)",
        )
        .bind(&k.key_id)
        .bind(&k.purpose)
        .bind(&k.public_key)
        .bind(&k.sealed)
        .bind(k.created_at)
        .bind(i64::from(k.active))
        .bind(&k.purpose)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("insert audit key", e))?;
        Ok(done.rows_affected() == 1)
    }
}
