//! Tests of the store, against temporary SQLite files by default and
//! against PostgreSQL when `MODELGATE_TEST_BACKEND=postgres` (the cluster
//! `scripts/pg-cluster` starts, named by `MODELGATE_TEST_PG_*`): the same
//! tests, one switch. Tests of one backend's own mechanics (SQLite's WAL and
//! pragmas, say) open that backend directly.

mod audit_appender;
mod audit_queries;
mod concurrency;
mod grant_races;
mod grants;
mod housekeeping_runs;
mod issued_tokens;
mod lifecycle;
mod migrations;
mod queries;
mod rate_windows;
mod replica_leases;
mod reviews;
mod sealed;
mod signing_keys;
mod state_watch;
mod upgrade;

use std::path::{Path, PathBuf};

use crate::{ApiKeyRecord, Backend, IdentityRecord, Store};

/// A temporary directory and a database path inside it.
pub(super) fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modelgate.db");
    (dir, path)
}

/// Opens the test store for `path`: the SQLite file, or under the
/// PostgreSQL switch a database named after the path (created on first
/// use), so that reopening the same path reopens the same store.
pub(super) async fn open(path: &Path) -> Store {
    match postgres_test_options(path).await {
        Some(options) => Store::open_postgres(&options, crate::SchemaPolicy::Migrate)
            .await
            .unwrap(),
        None => Store::open_sqlite(path).await.unwrap(),
    }
}

/// Whether the tests run against PostgreSQL.
pub(super) fn on_postgres() -> bool {
    std::env::var("MODELGATE_TEST_BACKEND").is_ok_and(|v| v == "postgres")
}

/// The cluster's options for the database of `path` (created if missing),
/// or `None` when the tests run on SQLite.
pub(super) async fn postgres_test_options(path: &Path) -> Option<crate::PostgresOptions> {
    if !on_postgres() {
        return None;
    }
    let url = std::env::var("MODELGATE_TEST_PG_URL")
        .expect("MODELGATE_TEST_BACKEND=postgres needs MODELGATE_TEST_PG_URL (scripts/pg-cluster)");
    let mut admin = crate::PostgresOptions::new(url.clone());
    admin.password = std::env::var("MODELGATE_TEST_PG_PASSWORD").ok();
    admin.ca_file = std::env::var_os("MODELGATE_TEST_PG_CA").map(PathBuf::from);
    admin.max_connections = 1;
    let name = format!("mg_{}", crate::schema::checksum(&path.to_string_lossy()));
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(admin.connect_options().unwrap())
        .await
        .unwrap();
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&pool)
        .await
        .unwrap();
    if exists.is_none() {
        // Openings racing on one path may both try: the loser's error
        // (duplicate database) is fine.
        if let Err(err) = sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
        {
            let duplicate = err
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "42P04" || code == "23505");
            assert!(duplicate, "create database {name}: {err}");
        }
    }
    pool.close().await;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    Some(crate::PostgresOptions {
        url: format!("{base}/{name}"),
        max_connections: 8,
        ..admin
    })
}

/// A scalar SQL expression or subquery, evaluated on either backend, as
/// text.
pub(super) async fn scalar(store: &Store, sql: &str) -> String {
    match &store.backend {
        Backend::Sqlite(b) => b.pragma(sql).await.unwrap(),
        Backend::Postgres(b) => b.scalar_text(sql).await.unwrap(),
    }
}

pub(super) async fn raw(store: &Store, sql: &str) {
    match &store.backend {
        Backend::Sqlite(b) => b.execute_raw(sql).await.unwrap(),
        Backend::Postgres(b) => b.execute_raw(sql).await.unwrap(),
    }
}

pub(super) fn identity(id: &str, name: &str) -> IdentityRecord {
    IdentityRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: "service".to_owned(),
        owner: "team-platform".to_owned(),
        environment: "prod".to_owned(),
        purpose: "testing".to_owned(),
        status: "active".to_owned(),
        created_at: 1_000,
        last_used_at: None,
    }
}

pub(super) fn api_key(id: &str, identity_id: &str, hash_byte: u8) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        identity_id: identity_id.to_owned(),
        label: Some("ci".to_owned()),
        hint: "mgk_…abcd".to_owned(),
        key_hash: [hash_byte; 32],
        created_at: 1_000,
        expires_at: 2_000,
        revoked_at: None,
        last_used_at: None,
        replaced_by: None,
    }
}
