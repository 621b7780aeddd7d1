//! The PostgreSQL store through the binary: `[store] url` with the
//! password as a secret reference, TLS verify-full against the configured
//! CA, clear refusals that never show a password, and `modelgate migrate`
//! on a fresh database.
//!
//! The tests that need a server run when `MODELGATE_TEST_BACKEND=postgres`
//! or `MODELGATE_TEST_PG_URL` names the test cluster (scripts/test always
//! starts one); without it each says why it did nothing. The refusals
//! decided by the configuration alone always run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::pki::Ca;
use common::store::{PG_PASSWORD_VAR, PgCluster, TestStore};
use common::*;

/// The test cluster, or `None` (said on stderr) when there is none.
fn cluster(test: &str) -> Option<PgCluster> {
    if on_postgres() {
        return Some(PgCluster::required());
    }
    let found = PgCluster::from_env();
    if found.is_none() {
        eprintln!(
            "{test}: did nothing: no PostgreSQL test cluster (set MODELGATE_TEST_BACKEND=postgres \
             and MODELGATE_TEST_PG_URL, _PASSWORD, _CA: `source /tmp/pgenv` or scripts/pg-cluster; \
             scripts/test does)"
        );
    }
    found
}

/// The database of a PostgreSQL test store.
fn database(store: &TestStore) -> (&PgCluster, &str) {
    match store {
        TestStore::Postgres { cluster, database } => (cluster, database),
        TestStore::Sqlite(_) => panic!("a PostgreSQL store"),
    }
}

/// Runs the binary on `config` with `env` added (and the test KEK), and
/// waits at most a minute for it to exit.
fn run(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command
        .arg("--config")
        .arg(config)
        .args(args)
        .env("MG_TEST_KEK", TEST_KEK)
        .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("modelgate {args:?} did not exit within a minute");
        }
    }
}

/// A configuration in `dir` holding `store` (a `[store]` section) and the
/// test KEK.
fn write_config(dir: &Path, store: &str) -> std::path::PathBuf {
    let path = dir.join("modelgate.toml");
    std::fs::write(
        &path,
        format!("{store}\n[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\n{TOKENS_SECTION}"),
    )
    .unwrap();
    path
}

/// Everything a run printed.
fn printed(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[tokio::test]
async fn the_gateway_serves_on_postgres_with_verify_full_and_the_ca() {
    let Some(cluster) = cluster("the_gateway_serves_on_postgres_with_verify_full_and_the_ca")
    else {
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let body = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"p-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "p", "")
    );
    let mut gw = TestGateway::builder().postgres().start(&body).await;
    let text = std::fs::read_to_string(&gw.config).unwrap();
    for line in [
        "sslmode = \"verify-full\"",
        "ca_file = ",
        &format!("password = \"env:{PG_PASSWORD_VAR}\""),
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    assert!(!text.contains(&cluster.password));

    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ready = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    // The identity the CLI created is in the database, not in a file.
    let (pg, db) = database(&gw.store);
    let names = pg.psql(db, "SELECT name FROM identities ORDER BY name");
    assert!(stdout(&names).lines().any(|l| l == "app"), "{names:?}");
    assert!(!gw.dir.path().join("modelgate.db").exists());

    // The same database with the password from a file and the CA beside
    // the configuration (both relative to its directory).
    gw.terminate();
    let dir = gw.dir.path();
    std::fs::write(dir.join("pg-password"), format!("{}\n", cluster.password)).unwrap();
    std::fs::copy(cluster.ca.as_deref().unwrap(), dir.join("pg-ca.crt")).unwrap();
    let rewritten: String = text
        .lines()
        .map(|line| {
            if line.starts_with("password = ") {
                "password = \"file:pg-password\"".to_owned()
            } else if line.starts_with("ca_file = ") {
                "ca_file = \"pg-ca.crt\"".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&gw.config, rewritten).unwrap();
    gw.restart();
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(
        r.status,
        200,
        "the key from before the restart: {}",
        r.text()
    );
    assert!(
        !gw.logs().contains(&cluster.password),
        "the password in the logs"
    );
}

#[test]
fn a_wrong_password_fails_start_clearly_and_is_never_shown() {
    if cluster("a_wrong_password_fails_start_clearly_and_is_never_shown").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = TestStore::postgres();
    let (_, db) = database(&store);
    let section = store
        .section()
        .replace(PG_PASSWORD_VAR, "MG_TEST_WRONG_PG_PASSWORD");
    let config = write_config(dir.path(), &section);
    let canary = "pg-CANARY-wrong-4b1e9d";
    let env = [("MG_TEST_WRONG_PG_PASSWORD", canary)];
    for args in [&["serve"][..], &["identity", "list"][..]] {
        let out = run(&config, args, &env);
        assert!(!out.status.success(), "{args:?}: {}", printed(&out));
        let text = printed(&out);
        assert!(
            text.contains("cannot open store postgresql") && text.contains(db),
            "{args:?}: {text}"
        );
        assert!(
            text.contains("password authentication failed"),
            "{args:?}: {text}"
        );
        assert!(!text.contains(canary), "{args:?}: the password: {text}");
    }
}

#[test]
fn a_password_in_the_url_is_refused_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let canary = "pw-CANARY-9d2c71";
    let config = write_config(
        dir.path(),
        &format!(
            "[store]\nurl = \"postgres://modelgate:{canary}@127.0.0.1:5432/mg\"\n\
             sslmode = \"verify-full\"\n"
        ),
    );
    for args in [&["config", "check"][..], &["serve"][..]] {
        let out = run(&config, args, &[]);
        assert!(!out.status.success(), "{args:?}: {}", printed(&out));
        let text = printed(&out);
        assert!(
            text.contains("store.url") && text.contains("store.password"),
            "{args:?}: {text}"
        );
        assert!(!text.contains(canary), "{args:?}: the password: {text}");
    }
}

#[test]
fn a_ca_that_did_not_sign_the_server_fails_verify_full_with_a_tls_error() {
    let Some(cluster) =
        cluster("a_ca_that_did_not_sign_the_server_fails_verify_full_with_a_tls_error")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let other = Ca::new("not the cluster's CA").write(dir.path(), "other-ca.pem");
    let store = TestStore::postgres();
    let right = cluster.ca.as_deref().unwrap().display().to_string();
    let section = store
        .section()
        .replace(&right, &other.display().to_string());
    assert!(section.contains("other-ca.pem"), "{section}");
    let config = write_config(dir.path(), &section);
    for args in [&["serve"][..], &["identity", "list"][..]] {
        let out = run(&config, args, &[]);
        assert!(!out.status.success(), "{args:?}: {}", printed(&out));
        let text = printed(&out);
        assert!(text.contains("TLS error"), "{args:?}: {text}");
        assert!(!text.contains(&cluster.password), "{args:?}: {text}");
    }
}

#[test]
fn url_and_path_together_are_an_error_naming_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[store]\npath = \"m.db\"\nurl = \"postgres://modelgate@127.0.0.1:5432/mg\"\n",
    );
    for args in [&["config", "check"][..], &["identity", "list"][..]] {
        let out = run(&config, args, &[]);
        assert!(!out.status.success(), "{args:?}");
        let text = printed(&out);
        assert!(
            text.contains("[store]") && text.contains("both"),
            "{args:?}: {text}"
        );
    }
    assert!(!dir.path().join("m.db").exists());
}

#[test]
fn migrate_check_says_a_fresh_database_needs_migrating_and_migrate_applies_it() {
    let Some(cluster) =
        cluster("migrate_check_says_a_fresh_database_needs_migrating_and_migrate_applies_it")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = TestStore::postgres();
    let (_, db) = database(&store);
    let config = write_config(dir.path(), &store.section());
    let history = || {
        stdout(&cluster.psql(db, "SELECT to_regclass('schema_migrations') IS NOT NULL"))
            .trim()
            .to_owned()
    };

    let check = run(&config, &["migrate", "--check"], &[]);
    assert!(!check.status.success(), "{}", printed(&check));
    let text = printed(&check);
    assert!(
        text.contains("behind") && text.contains("modelgate migrate"),
        "{text}"
    );
    assert!(
        text.contains(&format!("/{db}")),
        "names the database: {text}"
    );
    assert!(!text.contains(&cluster.password), "{text}");
    assert_eq!(history(), "f", "the check wrote nothing");

    let migrated = run(&config, &["migrate"], &[]);
    assert!(migrated.status.success(), "{}", printed(&migrated));
    assert!(
        stdout(&migrated).contains("migrated"),
        "{}",
        printed(&migrated)
    );
    assert_eq!(history(), "t");
    let current = run(&config, &["migrate", "--check"], &[]);
    assert!(current.status.success(), "{}", printed(&current));
    assert!(
        stdout(&current).contains("schema current"),
        "{}",
        printed(&current)
    );
    let again = run(&config, &["migrate"], &[]);
    assert!(
        stdout(&again).contains("already current"),
        "{}",
        printed(&again)
    );

    ok(cli_at(
        &config,
        &[
            "identity",
            "create",
            "--name",
            "first",
            "--kind",
            "service",
            "--owner",
            "team-a@example.com",
            "--environment",
            "prod",
        ],
    ));
    assert!(ok(cli_at(&config, &["identity", "list"])).contains("first"));
}

#[test]
fn under_the_switch_the_harness_writes_postgres_stores() {
    if !on_postgres() {
        eprintln!(
            "under_the_switch_the_harness_writes_postgres_stores: did nothing: \
             MODELGATE_TEST_BACKEND is not postgres"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let section = store_section(dir.path(), "modelgate.db");
    assert!(
        section.contains("url = \"postgres://") && section.contains("verify-full"),
        "{section}"
    );
    assert!(!section.contains("path ="), "{section}");
    // Configurations sharing a store file share the database.
    assert_eq!(store_section(dir.path(), "modelgate.db"), section);
    assert_ne!(store_section(dir.path(), "other.db"), section);
    // A test that reads the file asks for SQLite, whatever the switch.
    let sqlite = TestStore::sqlite(dir.path().join("m.db")).section();
    assert!(sqlite.contains("path = "), "{sqlite}");
}
