//! Column lists and row decoding shared by the SQLite queries.
//!
//! Queries select columns in the fixed orders below and decode by position,
//! so a join can decode a key and its identity from one row.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::{ApiKeyRecord, IdentityRecord, SigningKeyRecord, StoreError};

/// Identity columns, table alias `i`. Nine columns.
pub(crate) const IDENTITY_COLUMNS: &str = "i.id, i.name, i.kind, i.owner, i.environment, \
     i.purpose, i.status, i.created_at, i.last_used_at";

/// API key columns, table alias `k`. Ten columns.
pub(crate) const KEY_COLUMNS: &str = "k.id, k.identity_id, k.label, k.hint, k.key_hash, \
     k.created_at, k.expires_at, k.revoked_at, k.last_used_at, k.replaced_by";

/// Number of columns in [`KEY_COLUMNS`].
pub(crate) const KEY_COLUMN_COUNT: usize = 10;

/// Signing key columns, table alias `s`. Seven columns.
pub(crate) const SIGNING_KEY_COLUMNS: &str = "s.kid, s.algorithm, s.public_key, \
     s.sealed_private_key, s.created_at, s.state, s.verify_until";

fn get<'r, T>(row: &'r SqliteRow, index: usize, operation: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(index)
        .map_err(|e| StoreError::from_sqlx(operation, e))
}

/// Decodes [`IDENTITY_COLUMNS`] starting at column `at`.
pub(crate) fn identity(row: &SqliteRow, at: usize) -> Result<IdentityRecord, StoreError> {
    const OP: &str = "read identity";
    Ok(IdentityRecord {
        id: get(row, at, OP)?,
        name: get(row, at + 1, OP)?,
        kind: get(row, at + 2, OP)?,
        owner: get(row, at + 3, OP)?,
        environment: get(row, at + 4, OP)?,
        purpose: get(row, at + 5, OP)?,
        status: get(row, at + 6, OP)?,
        created_at: get(row, at + 7, OP)?,
        last_used_at: get(row, at + 8, OP)?,
    })
}

/// Decodes [`KEY_COLUMNS`] starting at column `at`.
pub(crate) fn api_key(row: &SqliteRow, at: usize) -> Result<ApiKeyRecord, StoreError> {
    const OP: &str = "read api key";
    let hash: Vec<u8> = get(row, at + 4, OP)?;
    let key_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::CorruptRow("api_keys.key_hash is not 32 bytes".to_owned()))?;
    Ok(ApiKeyRecord {
        id: get(row, at, OP)?,
        identity_id: get(row, at + 1, OP)?,
        label: get(row, at + 2, OP)?,
        hint: get(row, at + 3, OP)?,
        key_hash,
        created_at: get(row, at + 5, OP)?,
        expires_at: get(row, at + 6, OP)?,
        revoked_at: get(row, at + 7, OP)?,
        last_used_at: get(row, at + 8, OP)?,
        replaced_by: get(row, at + 9, OP)?,
    })
}

/// Decodes [`SIGNING_KEY_COLUMNS`] starting at column `at`.
pub(crate) fn signing_key(row: &SqliteRow, at: usize) -> Result<SigningKeyRecord, StoreError> {
    const OP: &str = "read signing key";
    Ok(SigningKeyRecord {
        kid: get(row, at, OP)?,
        algorithm: get(row, at + 1, OP)?,
        public_key: get(row, at + 2, OP)?,
        sealed_private_key: get(row, at + 3, OP)?,
        created_at: get(row, at + 4, OP)?,
        state: get(row, at + 5, OP)?,
        verify_until: get(row, at + 6, OP)?,
    })
}
