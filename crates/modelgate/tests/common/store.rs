//! The one switch between the store backends for the integration tests.
//!
//! With `MODELGATE_TEST_BACKEND=postgres` (scripts/test sets it, with the
//! cluster `scripts/pg-cluster` starts: `MODELGATE_TEST_PG_URL`,
//! `_PASSWORD`, `_CA`), every store the harness writes into a
//! configuration is a fresh database in that cluster, reached as an
//! operator would configure it: `url` without a password, `password =
//! "env:MODELGATE_TEST_PG_PASSWORD"`, `sslmode = "verify-full"` and the
//! cluster's CA as `ca_file`. Otherwise it is a SQLite file in the test's
//! directory. A test that reads the SQLite file itself asks for one with
//! [`TestStore::sqlite`] (or `TestGateway::builder().sqlite_only()`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use modelgate_store::{PostgresOptions, SchemaPolicy, SslMode, Store};

/// The variable that switches the tests to PostgreSQL.
pub const BACKEND_VAR: &str = "MODELGATE_TEST_BACKEND";
/// The cluster's administrative url (no password; database `postgres`).
pub const PG_URL_VAR: &str = "MODELGATE_TEST_PG_URL";
/// The cluster's password.
pub const PG_PASSWORD_VAR: &str = "MODELGATE_TEST_PG_PASSWORD";
/// The CA that signs the cluster's server certificate.
pub const PG_CA_VAR: &str = "MODELGATE_TEST_PG_CA";

/// Whether the tests run on PostgreSQL (`MODELGATE_TEST_BACKEND=postgres`).
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|v| v == "postgres")
}

/// The running test cluster, from the environment.
#[derive(Clone, Debug)]
pub struct PgCluster {
    /// `postgres://user@host:port/postgres`.
    pub url: String,
    /// The password (`MODELGATE_TEST_PG_PASSWORD`).
    pub password: String,
    /// The CA file (`MODELGATE_TEST_PG_CA`).
    pub ca: Option<PathBuf>,
    /// A file holding the password, which configurations then name
    /// (`file:`) instead of `env:MODELGATE_TEST_PG_PASSWORD` (a private
    /// cluster's password is not in the environment).
    pub password_file: Option<PathBuf>,
}

impl PgCluster {
    /// The cluster the environment names, or `None` without
    /// `MODELGATE_TEST_PG_URL`.
    pub fn from_env() -> Option<PgCluster> {
        let url = std::env::var(PG_URL_VAR).ok()?;
        Some(PgCluster {
            url,
            password: std::env::var(PG_PASSWORD_VAR).unwrap_or_default(),
            ca: std::env::var_os(PG_CA_VAR).map(PathBuf::from),
            password_file: None,
        })
    }

    /// The cluster, which the PostgreSQL switch requires.
    pub fn required() -> PgCluster {
        PgCluster::from_env().unwrap_or_else(|| {
            panic!(
                "{BACKEND_VAR}=postgres needs {PG_URL_VAR}, {PG_PASSWORD_VAR} and {PG_CA_VAR} \
                 (`source /tmp/pgenv`, or scripts/pg-cluster start DIR)"
            )
        })
    }

    /// `postgres://user@host:port/database`, without a password.
    pub fn url_of(&self, database: &str) -> String {
        let url = self.url.split('?').next().unwrap_or_default();
        let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
        format!("{base}/{database}")
    }

    /// Runs `sql` through `psql` (a subprocess, TLS required) in
    /// `database`; unaligned output, fields separated by `|`.
    pub fn psql(&self, database: &str, sql: &str) -> Output {
        Command::new("psql")
            .arg(format!("{}?sslmode=require", self.url_of(database)))
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-At",
                "-F",
                "|",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", &self.password)
            .output()
            .expect("psql runs (the postgresql-client package)")
    }

    /// Creates a database no other test uses; its name.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "mgt_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let out = self.psql("postgres", &format!("CREATE DATABASE {name}"));
        assert!(
            out.status.success(),
            "cannot create database {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name
    }
}

/// A test's store.
#[derive(Clone, Debug)]
pub enum TestStore {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A database of the test cluster.
    Postgres {
        /// The cluster.
        cluster: PgCluster,
        /// The database.
        database: String,
    },
}

/// A path as a TOML basic string.
pub fn toml_path(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl TestStore {
    /// The store of a test in `dir`: the SQLite file `dir/file`, or under
    /// the PostgreSQL switch a fresh database, the same one for the same
    /// `dir/file` (configurations sharing a store share the database).
    pub fn new(dir: &Path, file: &str) -> TestStore {
        static DATABASES: Mutex<Vec<(PathBuf, TestStore)>> = Mutex::new(Vec::new());
        let path = dir.join(file);
        if !on_postgres() {
            return TestStore::sqlite(path);
        }
        let mut databases = DATABASES.lock().unwrap();
        if let Some((_, store)) = databases.iter().find(|(p, _)| *p == path) {
            return store.clone();
        }
        let store = TestStore::postgres();
        databases.push((path, store.clone()));
        store
    }

    /// A SQLite file whatever the switch says, for a test that reads the
    /// file itself (rusqlite) or is about the file.
    pub fn sqlite(path: PathBuf) -> TestStore {
        TestStore::Sqlite(path)
    }

    /// A fresh database in the test cluster.
    pub fn postgres() -> TestStore {
        let cluster = PgCluster::required();
        let database = cluster.create_database();
        TestStore::Postgres { cluster, database }
    }

    /// The `[store]` section a configuration names this store with.
    pub fn section(&self) -> String {
        match self {
            TestStore::Sqlite(path) => format!("[store]\npath = {}\n", toml_path(path)),
            TestStore::Postgres { cluster, database } => {
                let ca = cluster
                    .ca
                    .as_deref()
                    .map(|ca| format!("ca_file = {}\n", toml_path(ca)))
                    .unwrap_or_default();
                let password = match &cluster.password_file {
                    Some(file) => format!("file:{}", file.display()),
                    None => format!("env:{PG_PASSWORD_VAR}"),
                };
                format!(
                    "[store]\nurl = \"{}\"\npassword = \"{password}\"\n\
                     sslmode = \"verify-full\"\n{ca}",
                    cluster.url_of(database)
                )
            }
        }
    }

    /// Whether this is a PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self, TestStore::Postgres { .. })
    }

    /// The SQLite file; a test that reads it must have asked for SQLite.
    pub fn sqlite_path(&self) -> &Path {
        match self {
            TestStore::Sqlite(path) => path,
            TestStore::Postgres { .. } => panic!(
                "this test reads the SQLite file: give it a SQLite store (TestStore::sqlite, \
                 TestGateway::builder().sqlite_only())"
            ),
        }
    }

    /// The store opened beside the gateway (as the CLI or another replica
    /// would), migrating a new one.
    pub async fn open(&self) -> Store {
        match self {
            TestStore::Sqlite(path) => Store::open_sqlite(path).await.unwrap(),
            TestStore::Postgres { cluster, database } => {
                let mut options = PostgresOptions::new(cluster.url_of(database));
                options.password = Some(cluster.password.clone());
                options.ssl_mode = SslMode::VerifyFull;
                options.ca_file = cluster.ca.clone();
                Store::open_postgres(&options, SchemaPolicy::Migrate)
                    .await
                    .unwrap()
            }
        }
    }
}

/// The `[store]` section for a test in `dir` ([`TestStore::new`]).
pub fn store_section(dir: &Path, file: &str) -> String {
    TestStore::new(dir, file).section()
}
