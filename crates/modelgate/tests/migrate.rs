//! Upgrades change the schema only when an operator says so: a new store is
//! migrated on first use, an existing store whose schema is behind the
//! binary is refused by `serve` and every command (naming `modelgate
//! migrate`), and `modelgate migrate` brings it up to date.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

fn create(config: &std::path::Path, name: &str) -> std::process::Output {
    cli_at(
        config,
        &[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            "service",
            "--owner",
            "team-a@example.com",
            "--environment",
            "prod",
        ],
    )
}

#[test]
fn a_store_behind_the_binary_is_refused_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelgate.toml");
    // SQLite whatever the backend switch says: the test edits the file's
    // history with rusqlite (store_postgres.rs covers PostgreSQL).
    let store = TestStore::sqlite(dir.path().join("m.db"));
    std::fs::write(&config, format!("{}{TOKENS_SECTION}", store.section())).unwrap();
    let check = cli_at(&config, &["migrate", "--check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("no store yet"),
        "{}",
        stdout(&check)
    );
    // A new store is created at the binary's schema by its first use.
    ok(create(&config, "first"));
    assert!(stdout(&cli_at(&config, &["migrate", "--check"])).contains("schema current"));

    // The store an older release left: its newest migration not applied.
    let db = rusqlite::Connection::open(store.sqlite_path()).unwrap();
    db.execute_batch(
        "DROP TABLE replica_leases; DROP TABLE rate_windows; DROP TABLE housekeeping_runs; \
         DELETE FROM schema_migrations WHERE version = 8;",
    )
    .unwrap();
    drop(db);

    // Every command refuses it, naming the command to run; nothing changes.
    let refused = create(&config, "second");
    assert!(!refused.status.success());
    let err = stderr(&refused);
    assert!(
        err.contains("behind") && err.contains("modelgate migrate"),
        "{err}"
    );
    assert!(err.contains("0008_replicas"), "{err}");
    let serve = cli_at(&config, &["serve"]);
    assert!(!serve.status.success());
    assert!(
        stderr(&serve).contains("modelgate migrate"),
        "{}",
        stderr(&serve)
    );
    let check = cli_at(&config, &["migrate", "--check"]);
    assert!(!check.status.success());
    assert!(stderr(&check).contains("behind"), "{}", stderr(&check));

    // `modelgate migrate` applies it, keeping the data.
    let migrated = ok(cli_at(&config, &["migrate"]));
    assert!(migrated.contains("migrated"), "{migrated}");
    let again = ok(cli_at(&config, &["migrate"]));
    assert!(again.contains("already current"), "{again}");
    ok(create(&config, "second"));
    let listed = ok(cli_at(&config, &["identity", "list"]));
    assert!(
        listed.contains("first") && listed.contains("second"),
        "{listed}"
    );

    // A store ahead of the binary: refused, and migrate will not touch it.
    let db = rusqlite::Connection::open(store.sqlite_path()).unwrap();
    db.execute(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
         VALUES (999, 'from_the_future', '0', 0)",
        [],
    )
    .unwrap();
    drop(db);
    for args in [&["identity", "list"][..], &["migrate"][..]] {
        let out = cli_at(&config, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("does not know"), "{}", stderr(&out));
    }
}
