//! The PostgreSQL backend: an async connection pool (sqlx), prepared
//! statements cached per connection, TLS to the server with rustls.
//!
//! Every query runs on the caller's task: sqlx's PostgreSQL driver speaks
//! the wire protocol on the runtime's sockets, with no worker thread in
//! between. The audit writer has a connection of its own
//! (`audit_appender`).

mod admin;
mod api_keys;
mod audit;
mod audit_appender;
mod grants;
mod housekeeping_runs;
mod identities;
mod issued_tokens;
mod lifecycle;
mod migrate;
mod rate_windows;
mod replica_leases;
mod reviews;
mod revision;
mod sealed;
mod signing_keys;
mod state_watch;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};

use crate::StoreError;
use crate::schema::SchemaPolicy;

#[cfg(test)]
pub(crate) use audit::AUDIT_ORDER_LOCK;
#[cfg(test)]
pub(crate) use audit_appender::APPLICATION_NAME as AUDIT_APPLICATION_NAME;
pub(crate) use audit_appender::PgAuditAppender;
pub(crate) use housekeeping_runs::PgHousekeepingLock;
pub(crate) use migrate::MIGRATIONS;
#[cfg(test)]
pub(crate) use state_watch::APPLICATION_NAME as STATE_WATCH_APPLICATION_NAME;

/// How the connection to the server is protected (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP or a Unix socket. Only for a server on the same host.
    Disable,
    /// TLS if the server offers it, without checking its certificate.
    Prefer,
    /// TLS, without checking the server's certificate.
    Require,
    /// TLS, with a certificate signed by the trusted CA.
    VerifyCa,
    /// TLS, with a certificate signed by the trusted CA and naming the
    /// host connected to. The default: anything less lets a machine on the
    /// path read tokens and audit records.
    #[default]
    VerifyFull,
}

impl SslMode {
    /// Parses libpq's spelling (`disable`, `prefer`, `require`,
    /// `verify-ca`, `verify-full`).
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    /// libpq's spelling of the mode ([`SslMode::parse`] reads it back).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn to_sqlx(self) -> PgSslMode {
        match self {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        }
    }
}

/// Where and how to reach a PostgreSQL store.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// `postgres://user@host:port/database` (a password in it is used, but
    /// configuration should give it as [`PostgresOptions::password`]).
    pub url: String,
    /// The password, resolved from a secret reference. Never logged.
    pub password: Option<String>,
    /// TLS to the server.
    pub ssl_mode: SslMode,
    /// CA certificates (PEM) that sign the server's certificate; the
    /// platform's web roots when absent.
    pub ca_file: Option<PathBuf>,
    /// Most connections the pool keeps open. Default 16 (BENCHMARKS.md,
    /// "Store pool").
    pub max_connections: u32,
    /// How long a caller waits for a free pooled connection. Default 10 s.
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("ssl_mode", &self.ssl_mode)
            .field("ca_file", &self.ca_file)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PostgresOptions {
    /// Options for `url` with the defaults above.
    pub fn new(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            password: None,
            ssl_mode: SslMode::default(),
            ca_file: None,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }

    /// The connection options sqlx takes. A malformed URL is an error
    /// that does not repeat it (it may hold a password).
    pub(crate) fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        let mut options =
            PgConnectOptions::from_str(&self.url).map_err(|_| StoreError::Backend {
                operation: "open postgresql store",
                message: "the store url is not a valid postgres:// URL".to_owned(),
            })?;
        options = options
            .ssl_mode(self.ssl_mode.to_sqlx())
            .application_name("modelgate");
        if let Some(password) = &self.password {
            options = options.password(password);
        }
        if let Some(ca) = &self.ca_file {
            options = options.ssl_root_cert(ca);
        }
        Ok(options)
    }
}

/// The PostgreSQL backend behind [`crate::Store`]. `Debug` by hand: the
/// connection options hold the password.
#[derive(Clone)]
pub(crate) struct PgBackend {
    pub(crate) pool: PgPool,
    /// How to open connections outside the pool (the audit writer's).
    /// Shared: the options are large and every clone of the store has them.
    pub(super) connect: std::sync::Arc<PgConnectOptions>,
}

pub(crate) use modelgate_types::clock::unix_now;

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Connects and migrates the database as `policy` allows.
    pub(crate) async fn open(
        options: &PostgresOptions,
        migrations: &[crate::schema::Migration],
        policy: SchemaPolicy,
    ) -> Result<PgBackend, StoreError> {
        let backend = PgBackend::connect(options, options.connect_options()?).await?;
        if let Err(err) = migrate::run(&backend.pool, migrations, unix_now(), policy).await {
            backend.pool.close().await;
            return Err(err);
        }
        Ok(backend)
    }

    /// Connects with every transaction read-only (for checks that must
    /// not change the store they look at); a schema other than
    /// `migrations` is an error.
    pub(crate) async fn open_read_only(
        options: &PostgresOptions,
        migrations: &[crate::schema::Migration],
    ) -> Result<PgBackend, StoreError> {
        let connect = options
            .connect_options()?
            .options([("default_transaction_read_only", "on")]);
        let backend = PgBackend::connect(
            &PostgresOptions {
                max_connections: 1,
                ..options.clone()
            },
            connect,
        )
        .await?;
        if let Err(err) = migrate::check(&backend.pool, migrations).await {
            backend.pool.close().await;
            return Err(err);
        }
        Ok(backend)
    }

    async fn connect(
        options: &PostgresOptions,
        connect: PgConnectOptions,
    ) -> Result<PgBackend, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(|e| StoreError::from_sqlx("open postgresql store", e))?;
        Ok(PgBackend {
            pool,
            connect: std::sync::Arc::new(connect),
        })
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("ping", e))?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Evaluates a scalar expression or subquery as text; test support only.
    #[cfg(test)]
    pub(crate) async fn scalar_text(&self, sql: &str) -> Result<String, StoreError> {
        let row: (String,) = sqlx::query_as(&format!("SELECT CAST(({sql}) AS TEXT)"))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("scalar", e))?;
        Ok(row.0)
    }

    /// Runs raw SQL; test support only.
    #[cfg(test)]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("raw sql", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SslMode;

    #[test]
    fn ssl_modes_read_back_what_they_print() {
        for mode in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(SslMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SslMode::parse("allow"), None);
    }
}
