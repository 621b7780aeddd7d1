//! Column lists and row decoding shared by both backends' queries.
//!
//! Queries select columns in the fixed orders below and decode by position,
//! so a join can decode a key and its identity from one row.

use sqlx::Row;

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

/// A row of either backend, read by position into the column types records
/// use. A value of another type is [`StoreError::CorruptRow`] naming the
/// operation, never the value.
pub(crate) trait Record {
    /// A `TEXT` column.
    fn text(&self, index: usize, operation: &'static str) -> Result<String, StoreError>;
    /// A nullable `TEXT` column.
    fn opt_text(&self, index: usize, operation: &'static str)
    -> Result<Option<String>, StoreError>;
    /// An integer column (`INTEGER` in SQLite, `BIGINT` in PostgreSQL).
    fn int(&self, index: usize, operation: &'static str) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, index: usize, operation: &'static str) -> Result<Option<i64>, StoreError>;
    /// A `BLOB` (SQLite) or `BYTEA` (PostgreSQL) column.
    fn bytes(&self, index: usize, operation: &'static str) -> Result<Vec<u8>, StoreError>;
}

macro_rules! record_for {
    ($row:ty) => {
        impl Record for $row {
            fn text(&self, index: usize, operation: &'static str) -> Result<String, StoreError> {
                self.try_get(index)
                    .map_err(|e| StoreError::from_sqlx(operation, e))
            }
            fn opt_text(
                &self,
                index: usize,
                operation: &'static str,
            ) -> Result<Option<String>, StoreError> {
                self.try_get(index)
                    .map_err(|e| StoreError::from_sqlx(operation, e))
            }
            fn int(&self, index: usize, operation: &'static str) -> Result<i64, StoreError> {
                self.try_get(index)
                    .map_err(|e| StoreError::from_sqlx(operation, e))
            }
            fn opt_int(
                &self,
                index: usize,
                operation: &'static str,
            ) -> Result<Option<i64>, StoreError> {
                self.try_get(index)
                    .map_err(|e| StoreError::from_sqlx(operation, e))
            }
            fn bytes(&self, index: usize, operation: &'static str) -> Result<Vec<u8>, StoreError> {
                self.try_get(index)
                    .map_err(|e| StoreError::from_sqlx(operation, e))
            }
        }
    };
}

record_for!(sqlx::postgres::PgRow);

impl Record for rusqlite::Row<'_> {
    fn text(&self, index: usize, operation: &'static str) -> Result<String, StoreError> {
        self.get(index)
            .map_err(|e| StoreError::from_rusqlite(operation, e))
    }
    fn opt_text(
        &self,
        index: usize,
        operation: &'static str,
    ) -> Result<Option<String>, StoreError> {
        self.get(index)
            .map_err(|e| StoreError::from_rusqlite(operation, e))
    }
    fn int(&self, index: usize, operation: &'static str) -> Result<i64, StoreError> {
        self.get(index)
            .map_err(|e| StoreError::from_rusqlite(operation, e))
    }
    fn opt_int(&self, index: usize, operation: &'static str) -> Result<Option<i64>, StoreError> {
        self.get(index)
            .map_err(|e| StoreError::from_rusqlite(operation, e))
    }
    fn bytes(&self, index: usize, operation: &'static str) -> Result<Vec<u8>, StoreError> {
        self.get(index)
            .map_err(|e| StoreError::from_rusqlite(operation, e))
    }
}

/// Decodes [`IDENTITY_COLUMNS`] starting at column `at`.
pub(crate) fn identity<R: Record>(row: &R, at: usize) -> Result<IdentityRecord, StoreError> {
    const OP: &str = "read identity";
    Ok(IdentityRecord {
        id: row.text(at, OP)?,
        name: row.text(at + 1, OP)?,
        kind: row.text(at + 2, OP)?,
        owner: row.text(at + 3, OP)?,
        environment: row.text(at + 4, OP)?,
        purpose: row.text(at + 5, OP)?,
        status: row.text(at + 6, OP)?,
        created_at: row.int(at + 7, OP)?,
        last_used_at: row.opt_int(at + 8, OP)?,
    })
}

/// Decodes [`KEY_COLUMNS`] starting at column `at`.
pub(crate) fn api_key<R: Record>(row: &R, at: usize) -> Result<ApiKeyRecord, StoreError> {
    const OP: &str = "read api key";
    let hash = row.bytes(at + 4, OP)?;
    let key_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::CorruptRow("api_keys.key_hash is not 32 bytes".to_owned()))?;
    Ok(ApiKeyRecord {
        id: row.text(at, OP)?,
        identity_id: row.text(at + 1, OP)?,
        label: row.opt_text(at + 2, OP)?,
        hint: row.text(at + 3, OP)?,
        key_hash,
        created_at: row.int(at + 5, OP)?,
        expires_at: row.int(at + 6, OP)?,
        revoked_at: row.opt_int(at + 7, OP)?,
        last_used_at: row.opt_int(at + 8, OP)?,
        replaced_by: row.opt_text(at + 9, OP)?,
    })
}

/// Decodes [`SIGNING_KEY_COLUMNS`] starting at column `at`.
pub(crate) fn signing_key<R: Record>(row: &R, at: usize) -> Result<SigningKeyRecord, StoreError> {
    const OP: &str = "read signing key";
    Ok(SigningKeyRecord {
        kid: row.text(at, OP)?,
        algorithm: row.text(at + 1, OP)?,
        public_key: row.bytes(at + 2, OP)?,
        sealed_private_key: row.bytes(at + 3, OP)?,
        created_at: row.int(at + 4, OP)?,
        state: row.text(at + 5, OP)?,
        verify_until: row.opt_int(at + 6, OP)?,
    })
}
