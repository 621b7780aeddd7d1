//! The SQLite migrator's own mechanics (the history table, its locking and
//! its refusals); the rules shared with PostgreSQL are in `upgrade.rs`,
//! which runs on both backends.

use super::temp_db;
use crate::sqlite::SqliteBackend;
use crate::sqlite::migrate::Migration;
use crate::{SqliteOptions, Store, StoreError};

/// The SQLite store at `path`, whatever the backend switch says.
async fn open(path: &std::path::Path) -> Store {
    Store::open_sqlite(path).await.unwrap()
}

async fn raw(store: &Store, sql: &str) {
    let crate::Backend::Sqlite(b) = &store.backend else {
        unreachable!("opened as sqlite")
    };
    b.execute_raw(sql).await.unwrap();
}

const M1: Migration = Migration {
    version: 1,
    name: "one",
    sql: "CREATE TABLE one (a INTEGER NOT NULL);",
    phase: crate::schema::Phase::Contract,
};
const M2: Migration = Migration {
    version: 2,
    name: "two",
    sql: "CREATE TABLE two (b TEXT NOT NULL); INSERT INTO one (a) VALUES (1);",
    phase: crate::schema::Phase::Contract,
};

async fn open_with(
    path: &std::path::Path,
    list: &[Migration],
) -> Result<SqliteBackend, StoreError> {
    SqliteBackend::open(
        path,
        &SqliteOptions::default(),
        list,
        crate::SchemaPolicy::Migrate,
    )
    .await
}

#[tokio::test]
async fn migrations_are_idempotent_across_reopen() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store.ping().await.unwrap();
    store.close().await;
    // Second and third opens apply nothing and succeed.
    for _ in 0..2 {
        let store = open(&path).await;
        store.ping().await.unwrap();
        store.close().await;
    }
}

#[tokio::test]
async fn new_migrations_apply_on_top_of_old_ones() {
    let (_dir, path) = temp_db();
    let b = open_with(&path, &[M1]).await.unwrap();
    b.close().await;
    let b = open_with(&path, &[M1, M2]).await.unwrap();
    // M2 ran: the row it inserted exists, and re-running would fail.
    b.execute_raw("INSERT INTO two (b) VALUES ('x')")
        .await
        .unwrap();
    b.close().await;
    let b = open_with(&path, &[M1, M2]).await.unwrap();
    b.close().await;
}

#[tokio::test]
async fn changed_migration_is_refused() {
    let (_dir, path) = temp_db();
    open_with(&path, &[M1]).await.unwrap().close().await;
    let edited = Migration {
        sql: "CREATE TABLE one (a INTEGER NOT NULL, extra TEXT);",
        ..M1
    };
    let err = open_with(&path, &[edited]).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err}");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
}

#[tokio::test]
async fn tampered_checksum_is_refused_by_open_sqlite() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    raw(
        &store,
        "UPDATE schema_migrations SET checksum = '0000' WHERE version = 1",
    )
    .await;
    store.close().await;
    let err = Store::open_sqlite(&path).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err}");
    assert!(
        err.to_string().contains("0001_identities_and_api_keys"),
        "{err}"
    );
}

#[tokio::test]
async fn unknown_applied_migration_is_refused() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    raw(
        &store,
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
         VALUES (9999, 'from_the_future', 'x', 0)",
    )
    .await;
    store.close().await;
    let err = Store::open_sqlite(&path).await.unwrap_err();
    assert!(err.to_string().contains("does not know"), "{err}");
}

#[tokio::test]
async fn missing_lower_migration_is_refused() {
    let (_dir, path) = temp_db();
    open_with(&path, &[M2]).await.unwrap_err(); // M2 needs table `one`
    let m3 = Migration {
        version: 3,
        name: "three",
        sql: "CREATE TABLE three (c INTEGER);",
        phase: crate::schema::Phase::Contract,
    };
    open_with(&path, &[m3]).await.unwrap().close().await;
    let err = open_with(&path, &[M1, m3]).await.unwrap_err();
    assert!(err.to_string().contains("never applied"), "{err}");
}

#[tokio::test]
async fn failed_migration_leaves_nothing_behind() {
    let (_dir, path) = temp_db();
    let broken = Migration {
        version: 2,
        name: "broken",
        sql: "CREATE TABLE fine (x INTEGER); THIS IS NOT SQL;",
        phase: crate::schema::Phase::Contract,
    };
    let err = open_with(&path, &[M1, broken]).await.unwrap_err();
    assert!(matches!(err, StoreError::Migration(_)), "{err}");
    // The whole run rolled back: M1 is applied afresh with a fixed list.
    let b = open_with(&path, &[M1]).await.unwrap();
    b.execute_raw("CREATE TABLE fine (x INTEGER)")
        .await
        .unwrap();
    b.close().await;
}

#[test]
fn unordered_list_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_dir, path) = temp_db();
    let err = rt.block_on(open_with(&path, &[M2, M1])).unwrap_err();
    assert!(err.to_string().contains("strictly increasing"), "{err}");
    assert_eq!(
        crate::schema::checksum(M1.sql),
        crate::schema::checksum(M1.sql)
    );
}

async fn open_read_only_with(
    path: &std::path::Path,
    list: &[Migration],
) -> Result<SqliteBackend, StoreError> {
    SqliteBackend::open_read_only(path, &SqliteOptions::default(), list).await
}

#[tokio::test]
async fn a_read_only_opening_changes_nothing_and_names_a_schema_mismatch() {
    let (_dir, path) = temp_db();
    // Missing: no file is created.
    assert!(open_read_only_with(&path, &[M1]).await.is_err());
    assert!(!path.exists());

    let backend = open_with(&path, &[M1]).await.unwrap();
    backend.close().await;
    // Same schema: it opens, reads, and cannot write.
    let ro = open_read_only_with(&path, &[M1]).await.unwrap();
    ro.ping().await.unwrap();
    assert!(
        ro.execute_raw("INSERT INTO one (a) VALUES (5)")
            .await
            .is_err()
    );
    ro.close().await;
    // Behind this binary: an error, and the migration is not applied.
    let err = open_read_only_with(&path, &[M1, M2]).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaBehind(_)), "{err:?}");
    assert!(err.to_string().contains("0002_two"), "{err}");
    // Ahead of it: an error too.
    let backend = open_with(&path, &[M1, M2]).await.unwrap();
    backend.close().await;
    let err = open_read_only_with(&path, &[M1]).await.unwrap_err();
    assert!(err.to_string().contains("does not know"), "{err}");

    // The real store: a read-only opening of a migrated database works
    // while another process's pool has it open.
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let ro = Store::open_sqlite_read_only(&path).await.unwrap();
    assert!(ro.identity_by_name("nobody").await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn require_current_migrates_a_new_store_and_refuses_one_behind() {
    let (_dir, path) = temp_db();
    let require = |list: &'static [Migration]| {
        let path = path.clone();
        async move {
            SqliteBackend::open(
                &path,
                &SqliteOptions::default(),
                list,
                crate::SchemaPolicy::RequireCurrent,
            )
            .await
        }
    };
    // A new store is migrated.
    require(&[M1]).await.unwrap().close().await;
    // The same schema opens.
    require(&[M1]).await.unwrap().close().await;
    // Behind: refused, naming the command, and nothing is applied.
    let err = require(&[M1, M2]).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaBehind(_)), "{err:?}");
    assert!(err.to_string().contains("modelgate migrate"), "{err}");
    assert!(err.to_string().contains("0002_two"), "{err}");
    let backend = open_read_only_with(&path, &[M1]).await.unwrap();
    backend.close().await;
    // `modelgate migrate` (Migrate) applies it; then it opens.
    open_with(&path, &[M1, M2]).await.unwrap().close().await;
    require(&[M1, M2]).await.unwrap().close().await;
    // Ahead: refused too.
    let err = require(&[M1]).await.unwrap_err();
    assert!(err.to_string().contains("does not know"), "{err}");
}

#[tokio::test]
async fn a_history_from_before_phases_gains_the_column_when_next_migrated() {
    let (_dir, path) = temp_db();
    let b = open_with(&path, &[M1]).await.unwrap();
    // Release 0.1 wrote the history without `older_may_serve`.
    b.execute_raw("ALTER TABLE schema_migrations DROP COLUMN older_may_serve")
        .await
        .unwrap();
    b.close().await;
    // Opening at the same schema reads it (as contract-only) and writes
    // nothing.
    open_with(&path, &[M1]).await.unwrap().close().await;
    let expand = Migration {
        phase: crate::schema::Phase::Expand,
        ..M2
    };
    open_with(&path, &[M1, expand]).await.unwrap().close().await;
    // The column is there now, and the older list serves on the expand
    // migration it does not know.
    let older = SqliteBackend::open(
        &path,
        &SqliteOptions::default(),
        &[M1],
        crate::SchemaPolicy::RequireCurrent,
    )
    .await
    .unwrap();
    assert_eq!(
        older
            .pragma("SELECT older_may_serve FROM schema_migrations WHERE version = 2")
            .await
            .unwrap(),
        "1"
    );
    older.close().await;
}
