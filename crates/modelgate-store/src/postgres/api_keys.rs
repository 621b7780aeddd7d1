//! API key queries, including the batched usage update.

use std::collections::BTreeMap;

use super::PgBackend;
use super::revision::bump_revision;
use crate::rows::{self, IDENTITY_COLUMNS, KEY_COLUMN_COUNT, KEY_COLUMNS};
use crate::{ApiKeyRecord, IdentityRecord, StoreError};

impl PgBackend {
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
             JOIN identities i ON i.id = k.identity_id WHERE k.key_hash = $1"
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
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = $1");
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
        // "C" collation: byte order, as SQLite sorts, whatever the locale.
        let rows = match identity_id {
            Some(identity_id) => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.identity_id = $1 \
                     ORDER BY k.created_at, k.id COLLATE \"C\""
                );
                sqlx::query(&sql)
                    .bind(identity_id)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys k ORDER BY k.created_at, k.id COLLATE \"C\""
                );
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
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Conditional UPDATE: a concurrent revocation holding the row lock
        // makes this one wait, then re-check `revoked_at IS NULL` on the
        // committed row, so only the first revocation counts.
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
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
        // The latest use per row, in id order: concurrent batches then lock
        // rows in one order (no deadlock between them), identities before
        // keys as offboarding does.
        let mut identities: BTreeMap<&str, i64> = BTreeMap::new();
        let mut keys: BTreeMap<&str, i64> = BTreeMap::new();
        for (key_id, identity_id, at) in uses {
            let latest = identities.entry(identity_id).or_insert(*at);
            *latest = (*latest).max(*at);
            if let Some(key_id) = key_id {
                let latest = keys.entry(key_id).or_insert(*at);
                *latest = (*latest).max(*at);
            }
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // GREATEST is evaluated on the row as locked (a concurrent writer's
        // committed value), so `last_used_at` only moves forward.
        for (table, latest) in [("identities", &identities), ("api_keys", &keys)] {
            let sql = format!(
                "UPDATE {table} SET last_used_at = GREATEST(coalesce(last_used_at, $1), $1) \
                 WHERE id = $2"
            );
            for (id, at) in latest {
                sqlx::query(&sql)
                    .bind(at)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| StoreError::from_sqlx(OP, e))?;
            }
        }
        tx.commit().await.map_err(|e| StoreError::from_sqlx(OP, e))
    }
}

/// Inserts a key row on any connection or transaction.
pub(super) async fn insert_api_key<'e, E>(executor: E, r: &ApiKeyRecord) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO api_keys \
         (id, identity_id, label, hint, key_hash, created_at, expires_at, revoked_at, \
          last_used_at, replaced_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
