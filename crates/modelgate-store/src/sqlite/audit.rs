//! Audit entries and audit keys in SQLite.

use sqlx::Row;

use super::SqliteBackend;
use crate::StoreError;
use crate::audit::{AuditHit, AuditKeyRecord, AuditQuery};

impl SqliteBackend {
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
        .bind(q.limit.clamp(1, crate::AUDIT_PAGE_MAX))
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
