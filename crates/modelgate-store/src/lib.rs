//! Persistence for modelgate.
//!
//! This crate owns the database: connecting, the schema and its migrations,
//! and reading and writing plain records (identities, API keys). [`Store`]
//! hides the backend; SQLite (one file, WAL) is the embedded default, and a
//! PostgreSQL backend can be added behind the same methods without callers
//! changing. No backend type (sqlx or otherwise) appears in the public API.
//!
//! What this crate must not depend on: HTTP (no server, no client, no request
//! types) and identity logic. Records are strings and integers; validating
//! names, hashing keys, deciding whether a key is expired or an identity is
//! active belongs to `modelgate-identity`, which depends on this crate and not
//! the other way round.
//!
//! Times are unix seconds (`i64`). Errors ([`StoreError`]) never contain a
//! value bound to a query, so they are safe to log.

mod error;
mod records;
mod sqlite;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;

pub use error::StoreError;
pub use records::{ApiKeyRecord, IdentityRecord};
pub use sqlite::SqliteOptions;

use sqlite::SqliteBackend;

/// The modelgate store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// The backends a [`Store`] can sit on.
#[derive(Clone)]
enum Backend {
    Sqlite(SqliteBackend),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Store {
    /// Opens the SQLite database at `path` with default [`SqliteOptions`],
    /// creating the file if it is missing, and brings the schema up to date.
    ///
    /// Connections use WAL, `foreign_keys=ON`, a 5 s busy timeout and
    /// `synchronous=NORMAL`. Fails with [`StoreError::Migration`] if an
    /// applied migration was changed or the database is newer than this
    /// binary.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Store::open_sqlite_with(path, &SqliteOptions::default()).await
    }

    /// Like [`Store::open_sqlite`], with explicit pool and timeout settings.
    pub async fn open_sqlite_with(
        path: &Path,
        options: &SqliteOptions,
    ) -> Result<Store, StoreError> {
        let backend = SqliteBackend::open(path, options, sqlite::migrate::MIGRATIONS).await?;
        Ok(Store {
            backend: Backend::Sqlite(backend),
        })
    }

    /// The backend's name (`sqlite`), for logs and readiness output.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.ping().await,
        }
    }

    /// Closes every connection, waiting for those in use to be returned.
    /// Later calls on this store (or its clones) fail.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(b) => b.close().await,
        }
    }

    /// Inserts an identity. [`StoreError::Conflict`] if the name (or id) is
    /// taken.
    pub async fn insert_identity(&self, r: &IdentityRecord) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.insert_identity(r).await,
        }
    }

    /// The identity with this name, if any.
    pub async fn identity_by_name(&self, name: &str) -> Result<Option<IdentityRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.identity_by_name(name).await,
        }
    }

    /// The identity with this id, if any.
    pub async fn identity_by_id(&self, id: &str) -> Result<Option<IdentityRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.identity_by_id(id).await,
        }
    }

    /// Every identity, ordered by name.
    pub async fn list_identities(&self) -> Result<Vec<IdentityRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.list_identities().await,
        }
    }

    /// Inserts an API key. [`StoreError::Conflict`] if the id or hash is
    /// taken, [`StoreError::MissingReference`] if the identity does not exist.
    pub async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.insert_api_key(r).await,
        }
    }

    /// The key with this SHA-256 hash and the identity holding it, in one
    /// indexed query.
    pub async fn api_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(ApiKeyRecord, IdentityRecord)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.api_key_by_hash(hash).await,
        }
    }

    /// The key with this id, if any.
    pub async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.api_key_by_id(id).await,
        }
    }

    /// Keys of one identity (by id), or of every identity with `None`,
    /// ordered by creation time.
    pub async fn list_api_keys(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.list_api_keys(identity_id).await,
        }
    }

    /// Marks a key revoked at `at`. `false` if the key is unknown or was
    /// already revoked (the first revocation time is kept).
    pub async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.revoke_api_key(id, at).await,
        }
    }

    /// Records a batch of key uses `(key id, identity id, at)` in one
    /// transaction: each key's and identity's `last_used_at` becomes the later
    /// of its current value and `at`. Unknown ids are skipped.
    pub async fn record_key_use(&self, uses: &[(String, String, i64)]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(b) => b.record_key_use(uses).await,
        }
    }
}
