//! API key queries, including the batched usage update.

use rusqlite::{Connection, params};

use super::SqliteBackend;
use super::connections::Op;
use super::revision::bump;
use crate::rows::{self, IDENTITY_COLUMNS, KEY_COLUMN_COUNT, KEY_COLUMNS};
use crate::{ApiKeyRecord, IdentityRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError> {
        const OP: &str = "insert api key";
        let r = r.clone();
        self.conns
            .exclusive(OP, move |conn| insert_key(conn, &r).op(OP))
            .await
    }

    pub(crate) async fn api_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(ApiKeyRecord, IdentityRecord)>, StoreError> {
        const OP: &str = "find api key by hash";
        let hash = *hash;
        self.conns
            .run(OP, move |conn| {
                let sql = format!(
                    "SELECT {KEY_COLUMNS}, {IDENTITY_COLUMNS} FROM api_keys k \
                     JOIN identities i ON i.id = k.identity_id WHERE k.key_hash = ?"
                );
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([&hash[..]]).op(OP)?;
                match found.next().op(OP)? {
                    Some(row) => Ok(Some((
                        rows::api_key(row, 0)?,
                        rows::identity(row, KEY_COLUMN_COUNT)?,
                    ))),
                    None => Ok(None),
                }
            })
            .await
    }

    pub(crate) async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        const OP: &str = "find api key";
        let id = id.to_owned();
        self.conns
            .run(OP, move |conn| {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.id = ?");
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([&id]).op(OP)?;
                found
                    .next()
                    .op(OP)?
                    .map(|row| rows::api_key(row, 0))
                    .transpose()
            })
            .await
    }

    pub(crate) async fn list_api_keys(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        const OP: &str = "list api keys";
        let identity_id = identity_id.map(str::to_owned);
        self.conns
            .run(OP, move |conn| {
                // `?1 IS NULL`: one statement for both, all keys or one
                // identity's.
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys k \
                     WHERE ?1 IS NULL OR k.identity_id = ?1 ORDER BY k.created_at, k.id"
                );
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([&identity_id]).op(OP)?;
                let mut keys = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    keys.push(rows::api_key(row, 0)?);
                }
                Ok(keys)
            })
            .await
    }

    pub(crate) async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        const OP: &str = "revoke api key";
        let id = id.to_owned();
        self.conns
            .write(OP, move |tx| {
                let revoked = tx
                    .prepare_cached(
                        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    )
                    .and_then(|mut stmt| stmt.execute(params![at, id]))
                    .op(OP)?
                    > 0;
                if revoked {
                    // Replicas caching the key must drop it.
                    bump(tx).op(OP)?;
                }
                Ok(revoked)
            })
            .await
    }

    pub(crate) async fn record_key_use(
        &self,
        uses: &[(Option<String>, String, i64)],
    ) -> Result<(), StoreError> {
        if uses.is_empty() {
            return Ok(());
        }
        const OP: &str = "record key use";
        let uses = uses.to_vec();
        self.conns
            .write(OP, move |tx| {
                let mut key = tx
                    .prepare_cached(
                        "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?1), ?1) \
                         WHERE id = ?2",
                    )
                    .op(OP)?;
                let mut identity = tx
                    .prepare_cached(
                        "UPDATE identities SET last_used_at = max(coalesce(last_used_at, ?1), ?1) \
                         WHERE id = ?2",
                    )
                    .op(OP)?;
                for (key_id, identity_id, at) in &uses {
                    if let Some(key_id) = key_id {
                        key.execute(params![at, key_id]).op(OP)?;
                    }
                    identity.execute(params![at, identity_id]).op(OP)?;
                }
                Ok(())
            })
            .await
    }
}

/// Inserts a key row on any connection or inside a transaction.
pub(super) fn insert_key(conn: &Connection, r: &ApiKeyRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO api_keys \
         (id, identity_id, label, hint, key_hash, created_at, expires_at, revoked_at, \
          last_used_at, replaced_by) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        r.id,
        r.identity_id,
        r.label,
        r.hint,
        &r.key_hash[..],
        r.created_at,
        r.expires_at,
        r.revoked_at,
        r.last_used_at,
        r.replaced_by,
    ])?;
    Ok(())
}
