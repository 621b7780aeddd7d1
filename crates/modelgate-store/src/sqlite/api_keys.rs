//! API key queries, including the batched usage update.

use super::SqliteBackend;
use super::revision::bump_revision;
use crate::rows::{self, IDENTITY_COLUMNS, KEY_COLUMN_COUNT, KEY_COLUMNS};
use crate::{ApiKeyRecord, IdentityRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError> {
        insert_api_key(&self.pool, r)
            .await
            .map_err(|e| StoreError::from_sqlx("insert api key", e))
    }

    pub(crate) async fn api_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(ApiKeyRecord, IdentityRecord)>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, {IDENTITY_COLUMNS} FROM api_keys k \
             JOIN identities i ON i.id = k.identity_id WHERE k.key_hash = ?"
        );
        let row = sqlx::query(&sql)
            .bind(&hash[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("find api key by hash", e))?;
        row.map(|row| {
            Ok((
                rows::api_key(&row, 0)?,
                rows::identity(&row, KEY_COLUMN_COUNT)?,
            ))
        })
        .transpose()
    }

    pub(crate) async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("find api key", e))?;
        row.map(|row| rows::api_key(&row, 0)).transpose()
    }

    pub(crate) async fn list_api_keys(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = match identity_id {
            Some(identity_id) => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.identity_id = ? \
                     ORDER BY k.created_at, k.id"
                );
                sqlx::query(&sql)
                    .bind(identity_id)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                let sql =
                    format!("SELECT {KEY_COLUMNS} FROM api_keys k ORDER BY k.created_at, k.id");
                sqlx::query(&sql).fetch_all(&self.pool).await
            }
        }
        .map_err(|e| StoreError::from_sqlx("list api keys", e))?;
        rows.iter().map(|row| rows::api_key(row, 0)).collect()
    }

    pub(crate) async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        const OP: &str = "revoke api key";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let revoked = done.rows_affected() > 0;
        if revoked {
            // Replicas caching the key must drop it.
            bump_revision(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(revoked)
    }

    pub(crate) async fn record_key_use(
        &self,
        uses: &[(Option<String>, String, i64)],
    ) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        const OP: &str = "record key use";
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        for (key_id, identity_id, at) in uses {
            if let Some(key_id) = key_id {
                sqlx::query(
                    "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?1), ?1) \
                     WHERE id = ?2",
                )
                .bind(at)
                .bind(key_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
            }
            sqlx::query(
                "UPDATE identities SET last_used_at = max(coalesce(last_used_at, ?1), ?1) \
                 WHERE id = ?2",
            )
            .bind(at)
            .bind(identity_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit().await.map_err(|e| StoreError::from_sqlx(OP, e))
    }
}

/// Inserts a key row on any connection or transaction.
pub(super) async fn insert_api_key<'e, E>(executor: E, r: &ApiKeyRecord) -> Result<(), sqlx::Error>
where
    E: sqlx::SqliteExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO api_keys \
         (id, identity_id, label, hint, key_hash, created_at, expires_at, revoked_at, \
          last_used_at, replaced_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.id)
    .bind(&r.identity_id)
    .bind(&r.label)
    .bind(&r.hint)
    .bind(&r.key_hash[..])
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(r.revoked_at)
    .bind(r.last_used_at)
    .bind(&r.replaced_by)
    .execute(executor)
    .await?;
    Ok(())
}
