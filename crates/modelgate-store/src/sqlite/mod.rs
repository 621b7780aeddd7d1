//! The SQLite backend: one file, WAL, a few rusqlite connections. rusqlite
//! is its only driver (the store operations and the audit writer alike);
//! each store operation is one closure on the blocking pool
//! (`connections`).

mod admin;
mod api_keys;
mod audit;
mod audit_appender;
pub(crate) mod connections;
mod grants;
mod housekeeping_runs;
mod identities;
mod issued_tokens;
mod lifecycle;
pub(crate) mod migrate;
mod rate_windows;
mod replica_leases;
mod reviews;
mod revision;
mod sealed;
mod signing_keys;
mod state_watch;
mod wal_checkpointer;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::StoreError;
use connections::{Access, Connections, Op};

pub(crate) use audit_appender::SqliteAuditAppender;

/// Tunables for the SQLite backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Most connections the pool keeps open. Default 8.
    pub max_connections: u32,
    /// How long a statement waits for a lock held by another connection
    /// before failing. Default 5 seconds.
    pub busy_timeout: Duration,
    /// How long a caller waits for a free pooled connection. Default 10 seconds.
    pub acquire_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The SQLite backend behind [`crate::Store`].
#[derive(Clone, Debug)]
pub(crate) struct SqliteBackend {
    /// The connections every store operation runs on.
    conns: Arc<Connections>,
    /// The database file, for connections outside the pool (the audit
    /// writer's own).
    path: PathBuf,
    busy_timeout: Duration,
}

pub(crate) use modelgate_types::clock::unix_now;

impl SqliteBackend {
    /// Opens (creating if missing) the database at `path` and migrates it
    /// as `policy` allows.
    pub(crate) async fn open(
        path: &Path,
        options: &SqliteOptions,
        migrations: &[migrate::Migration],
        policy: crate::schema::SchemaPolicy,
    ) -> Result<SqliteBackend, StoreError> {
        let conns = Connections::open(
            path.to_owned(),
            Access::ReadWrite,
            options.max_connections,
            options.busy_timeout,
            options.acquire_timeout,
        )
        .await?;
        let migrations = migrations.to_vec();
        let migrated = conns
            .exclusive("migrate", move |conn| {
                migrate::run(conn, &migrations, unix_now(), policy)
            })
            .await;
        if let Err(err) = migrated {
            conns.close().await;
            return Err(err);
        }
        Ok(SqliteBackend {
            conns,
            path: path.to_owned(),
            busy_timeout: options.busy_timeout,
        })
    }

    /// Opens the existing database at `path` read-only: nothing is created,
    /// migrated or written, and a schema other than `migrations` is an
    /// error (for checks that must not change the store they look at).
    pub(crate) async fn open_read_only(
        path: &Path,
        options: &SqliteOptions,
        migrations: &[migrate::Migration],
    ) -> Result<SqliteBackend, StoreError> {
        let conns = Connections::open(
            path.to_owned(),
            Access::ReadOnly,
            1,
            options.busy_timeout,
            options.acquire_timeout,
        )
        .await?;
        let migrations = migrations.to_vec();
        let checked = conns
            .run("read schema_migrations", move |conn| {
                migrate::check(conn, &migrations)
            })
            .await;
        if let Err(err) = checked {
            conns.close().await;
            return Err(err);
        }
        Ok(SqliteBackend {
            conns,
            path: path.to_owned(),
            busy_timeout: options.busy_timeout,
        })
    }

    /// A connection outside the pool, for a thread that owns it (the audit
    /// writer, its checkpointer). No CREATE: the pool opened and migrated
    /// the file already, and a missing file now means it was removed under
    /// us. The file is in WAL mode already (that persists).
    pub(crate) fn own_connection(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(self.busy_timeout)?;
        Ok(conn)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.conns
            .run("ping", |conn| {
                conn.prepare_cached("SELECT 1")
                    .and_then(|mut stmt| stmt.query_row([], |_| Ok(())))
                    .op("ping")
            })
            .await
    }

    pub(crate) async fn close(&self) {
        self.conns.close().await;
    }

    /// Runs raw SQL; test support only.
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        let sql = sql.to_owned();
        self.conns
            .run("raw sql", move |conn| {
                conn.execute_batch(&sql).op("raw sql")
            })
            .await
    }

    /// Reads a pragma's value as text; test support only.
    #[cfg(test)]
    pub(crate) async fn pragma(&self, name: &str) -> Result<String, StoreError> {
        let sql = format!("SELECT CAST(({name}) AS TEXT)");
        self.conns
            .run("pragma", move |conn| {
                conn.query_row(&sql, [], |row| row.get(0)).op("pragma")
            })
            .await
    }
}
