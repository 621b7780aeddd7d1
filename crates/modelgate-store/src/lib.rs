//! Persistence for modelgate.
//!
//! This crate owns the database: connecting, the schema and its migrations,
//! and reading and writing plain records (identities, API keys). [`Store`]
//! hides the backend: SQLite (one file, WAL) is the embedded default for one
//! node; PostgreSQL is the store for replicas and for operators who already
//! run it. Every method behaves the same on both (the crate's tests run
//! against each). No backend type (sqlx or otherwise) appears in the public
//! API.
//!
//! One driver per backend: rusqlite for SQLite (a store operation is one
//! closure on a pooled connection on the blocking pool: one thread hop per
//! operation, none per statement; the audit writer's own connection is
//! called directly from its thread), sqlx for PostgreSQL (asynchronous on
//! the runtime's own threads; the audit writer drives its connection from
//! its thread with a runtime of its own). Statements are prepared once per
//! connection and cached by both.
//!
//! What this crate must not depend on: HTTP (no server, no client, no request
//! types) and identity logic. Records are strings and integers; validating
//! names, hashing keys, deciding whether a key is expired or an identity is
//! active belongs to `modelgate-identity`, which depends on this crate and not
//! the other way round.
//!
//! Times are unix seconds (`i64`). Errors ([`StoreError`]) never contain a
//! value bound to a query, so they are safe to log.
//!
//! # The state revision
//!
//! Replicas keep some state in memory (revoked token ids, inactive
//! identities, signing keys). Every write that must invalidate such a cache
//! bumps a single counter in the same transaction: revoking a token,
//! changing an identity's status or offboarding it, inserting, rotating or
//! retiring a signing key, re-sealing keys under a new key-encryption key,
//! assigning or removing a role, and every step of
//! a just-in-time grant. A replica polls [`Store::revision`] (one indexed
//! read) and reloads only when it moved; on PostgreSQL it also waits on a
//! [`StateWatch`] ([`Store::watch_state`]), woken by a notification as the
//! bump commits, and re-reads at once.
//!
//! # Housekeeping across replicas
//!
//! A periodic task that writes shared state (retiring signing keys,
//! pruning revocations, recording grant expiries) runs once per interval
//! across the replicas of one store: [`Store::claim_housekeeping`].

/// Calls the same method on whichever backend a [`Store`] sits on.
macro_rules! on_backend {
    ($store:ident, $b:ident => $call:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($b) => $call,
            $crate::Backend::Postgres($b) => $call,
        }
    };
}

mod admin;
mod audit;
mod audit_appender;
mod error;
mod grants;
mod housekeeping_runs;
mod issued_tokens;
mod postgres;
mod rate_windows;
mod records;
mod replica_leases;
mod reviews;
mod rows;
mod schema;
mod sealed;
mod sqlite;
mod state_watch;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use admin::AdminRoleRecord;
pub use audit::{AUDIT_PAGE_MAX, AuditEntryRow, AuditHit, AuditKeyRecord, AuditQuery, ChainHead};
pub use audit_appender::AuditAppender;
pub use error::StoreError;
pub use housekeeping_runs::HousekeepingClaim;
pub use issued_tokens::{FamilyRevocation, IssuedTokenRecord};
pub use postgres::{PostgresOptions, SslMode};
pub use rate_windows::{
    AllotmentAsk, AllotmentGrant, RATE_WINDOW_SECONDS, RateKind, sliding_estimate, window_start,
};
pub use records::{
    ApiKeyRecord, GrantApprovalRecord, GrantDecision, GrantRecord, IdentityRecord, OffboardSummary,
    RevokedTokenRecord, RoleAssignmentRecord, SigningKeyRecord,
};
pub use replica_leases::{LeaseClaim, LeaseOutcome, ReplicaLeaseRecord, ReplicaLeases};
pub use reviews::ReviewRecord;
pub use schema::SchemaPolicy;
pub use sealed::{SealedReplacement, SealedTable};
pub use sqlite::SqliteOptions;
pub use state_watch::StateWatch;

use postgres::PgBackend;
use sqlite::SqliteBackend;

/// The modelgate store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// API key lookups by hash made through this store and its clones.
    key_lookups: Arc<AtomicU64>,
}

/// The backends a [`Store`] can sit on.
#[derive(Clone)]
enum Backend {
    Sqlite(SqliteBackend),
    Postgres(PgBackend),
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
    /// `synchronous=FULL`. Fails with [`StoreError::Migration`] if an
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
        Store::open_sqlite_as(path, options, SchemaPolicy::Migrate).await
    }

    /// Like [`Store::open_sqlite_with`], migrating as `policy` allows: the
    /// gateway and the CLI open with [`SchemaPolicy::RequireCurrent`], and
    /// only `modelgate migrate` with [`SchemaPolicy::Migrate`].
    pub async fn open_sqlite_as(
        path: &Path,
        options: &SqliteOptions,
        policy: SchemaPolicy,
    ) -> Result<Store, StoreError> {
        let backend =
            SqliteBackend::open(path, options, sqlite::migrate::MIGRATIONS, policy).await?;
        Ok(Store {
            backend: Backend::Sqlite(backend),
            key_lookups: Arc::default(),
        })
    }

    /// Opens the existing SQLite database at `path` read-only, for a check
    /// that must not change what it looks at (`config check`): no file is
    /// created, no migration runs, nothing is written. A database whose
    /// schema is behind or ahead of this binary is a
    /// [`StoreError::Migration`]. Writes through it fail.
    pub async fn open_sqlite_read_only(path: &Path) -> Result<Store, StoreError> {
        let backend = SqliteBackend::open_read_only(
            path,
            &SqliteOptions::default(),
            sqlite::migrate::MIGRATIONS,
        )
        .await?;
        Ok(Store {
            backend: Backend::Sqlite(backend),
            key_lookups: Arc::default(),
        })
    }

    /// Connects to the PostgreSQL database `options` names and migrates
    /// it as `policy` allows (see [`SchemaPolicy`]).
    pub async fn open_postgres(
        options: &PostgresOptions,
        policy: SchemaPolicy,
    ) -> Result<Store, StoreError> {
        let backend = PgBackend::open(options, postgres::MIGRATIONS, policy).await?;
        Ok(Store {
            backend: Backend::Postgres(backend),
            key_lookups: Arc::default(),
        })
    }

    /// Connects to an existing PostgreSQL store with every transaction
    /// read-only, for a check that must not change it: nothing is migrated
    /// or written, and a schema behind or ahead of this binary is an error.
    pub async fn open_postgres_read_only(options: &PostgresOptions) -> Result<Store, StoreError> {
        let backend = PgBackend::open_read_only(options, postgres::MIGRATIONS).await?;
        Ok(Store {
            backend: Backend::Postgres(backend),
            key_lookups: Arc::default(),
        })
    }

    /// The backend's name (`sqlite` or `postgres`), for logs and readiness
    /// output.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_backend!(self, b => b.ping().await)
    }

    /// Closes every connection, waiting for those in use to be returned.
    /// Later calls on this store (or its clones) fail.
    pub async fn close(&self) {
        on_backend!(self, b => b.close().await)
    }

    /// Inserts an identity. [`StoreError::Conflict`] if the name (or id) is
    /// taken.
    pub async fn insert_identity(&self, r: &IdentityRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.insert_identity(r).await)
    }

    /// The identity with this name, if any.
    pub async fn identity_by_name(&self, name: &str) -> Result<Option<IdentityRecord>, StoreError> {
        on_backend!(self, b => b.identity_by_name(name).await)
    }

    /// The identity with this id, if any.
    pub async fn identity_by_id(&self, id: &str) -> Result<Option<IdentityRecord>, StoreError> {
        on_backend!(self, b => b.identity_by_id(id).await)
    }

    /// Every identity, ordered by name.
    pub async fn list_identities(&self) -> Result<Vec<IdentityRecord>, StoreError> {
        on_backend!(self, b => b.list_identities().await)
    }

    /// Inserts an API key. [`StoreError::Conflict`] if the id or hash is
    /// taken, [`StoreError::MissingReference`] if the identity does not exist.
    pub async fn insert_api_key(&self, r: &ApiKeyRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.insert_api_key(r).await)
    }

    /// The key with this SHA-256 hash and the identity holding it, in one
    /// indexed query.
    pub async fn api_key_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(ApiKeyRecord, IdentityRecord)>, StoreError> {
        self.key_lookups.fetch_add(1, Ordering::Relaxed);
        on_backend!(self, b => b.api_key_by_hash(hash).await)
    }

    /// How many times [`Store::api_key_by_hash`] was called on this store
    /// and its clones since it was opened (an in-memory counter, not
    /// persisted): lets tests and diagnostics see what the authentication
    /// caches save.
    pub fn key_lookups(&self) -> u64 {
        self.key_lookups.load(Ordering::Relaxed)
    }

    /// The key with this id, if any.
    pub async fn api_key_by_id(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        on_backend!(self, b => b.api_key_by_id(id).await)
    }

    /// Keys of one identity (by id), or of every identity with `None`,
    /// ordered by creation time.
    pub async fn list_api_keys(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        on_backend!(self, b => b.list_api_keys(identity_id).await)
    }

    /// Marks a key revoked at `at`. `false` if the key is unknown or was
    /// already revoked (the first revocation time is kept).
    pub async fn revoke_api_key(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        on_backend!(self, b => b.revoke_api_key(id, at).await)
    }

    /// Records a batch of credential uses `(key id, identity id, at)` in
    /// one transaction: each key's (when the use names one: an access token
    /// or a client certificate names none) and identity's `last_used_at`
    /// becomes the later of its current value and `at`. Unknown ids are
    /// skipped.
    pub async fn record_key_use(
        &self,
        uses: &[(Option<String>, String, i64)],
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.record_key_use(uses).await)
    }

    /// The state revision: a counter bumped in the same transaction as every
    /// change that invalidates in-memory caches (see the crate docs).
    pub async fn revision(&self) -> Result<i64, StoreError> {
        on_backend!(self, b => b.revision().await)
    }

    /// Inserts a signing key and bumps the revision.
    /// [`StoreError::Conflict`] if the kid is taken, or if the record is
    /// `active` while another key is (`active signing key`).
    pub async fn insert_signing_key(&self, r: &SigningKeyRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.insert_signing_key(r).await)
    }

    /// Every signing key, whatever its state, oldest first.
    pub async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        on_backend!(self, b => b.list_signing_keys().await)
    }

    /// Rotation, in one transaction: the active key (if any) becomes
    /// `previous` with `verify_until = previous_verify_until`, `new` (which
    /// should be `active`) is inserted, and the revision is bumped. Returns
    /// the kid of the key that was demoted. On any failure nothing changes.
    pub async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        previous_verify_until: i64,
    ) -> Result<Option<String>, StoreError> {
        on_backend!(self, b => b.rotate_signing_key(new, previous_verify_until).await)
    }

    /// Moves every `previous` key whose `verify_until <= now` to `retired`,
    /// bumping the revision if any moved. Returns their kids, sorted.
    pub async fn retire_signing_keys(&self, now: i64) -> Result<Vec<String>, StoreError> {
        on_backend!(self, b => b.retire_signing_keys(now).await)
    }

    /// Records a revoked access token and bumps the revision, in one
    /// transaction. `false` if the jti was already revoked (the first record
    /// is kept, the revision is not bumped).
    /// [`StoreError::MissingReference`] if the identity does not exist.
    pub async fn revoke_token(
        &self,
        jti: &str,
        identity_id: &str,
        expires_at: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.revoke_token(jti, identity_id, expires_at, at).await)
    }

    /// Revoked tokens that have not expired yet (`expires_at > now`).
    pub async fn active_revoked_tokens(
        &self,
        now: i64,
    ) -> Result<Vec<RevokedTokenRecord>, StoreError> {
        on_backend!(self, b => b.active_revoked_tokens(now).await)
    }

    /// Deletes revocation records of tokens that expired (`expires_at <=
    /// now`): an expired token is refused anyway. Returns how many.
    pub async fn prune_revoked_tokens(&self, now: i64) -> Result<u64, StoreError> {
        on_backend!(self, b => b.prune_revoked_tokens(now).await)
    }

    /// Ids of every identity whose status is not `active`, sorted.
    pub async fn inactive_identity_ids(&self) -> Result<Vec<String>, StoreError> {
        on_backend!(self, b => b.inactive_identity_ids().await)
    }

    /// Sets an identity's status (and its status change time) and bumps the
    /// revision, in one transaction. `false`, with nothing changed, if the
    /// identity is unknown, already has this status, or is `offboarded`:
    /// offboarding is final (the schema refuses to undo it, whatever the
    /// query).
    pub async fn set_identity_status(
        &self,
        id: &str,
        status: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.set_identity_status(id, status, at).await)
    }

    /// Offboards an identity in ONE transaction: status `offboarded`, every
    /// unrevoked API key revoked at `at`, every pending or active grant
    /// revoked, every standing role assignment removed, revision bumped. `None` if the
    /// identity is unknown. Offboarding an offboarded identity is allowed
    /// (it revokes whatever is left and keeps the first offboarding time).
    pub async fn offboard_identity(
        &self,
        id: &str,
        at: i64,
    ) -> Result<Option<OffboardSummary>, StoreError> {
        on_backend!(self, b => b.offboard_identity(id, at).await)
    }

    /// Rotates an API key in one transaction: inserts the successor `new`,
    /// sets the old key's `replaced_by` to `new.id` and its `expires_at` to
    /// the earlier of its own and `grace_end`. `false`, with nothing
    /// written, if the old key is unknown, revoked, already rotated, or
    /// expired at `at`.
    pub async fn rotate_api_key(
        &self,
        old_id: &str,
        new: &ApiKeyRecord,
        grace_end: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.rotate_api_key(old_id, new, grace_end, at).await)
    }
}
