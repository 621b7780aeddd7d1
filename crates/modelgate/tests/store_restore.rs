//! Issue 17: a PostgreSQL store dumped under load and restored loses the
//! records written after the dump; `modelgate audit verify --against` the
//! last export reports exactly that truncation, and nothing else.
//!
//! Runs on the test cluster (`MODELGATE_TEST_PG_*`, which scripts/test
//! always starts), whatever the backend switch says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::store::{PgCluster, TestStore};
use common::*;

/// One chat route; a checkpoint every 10 records.
fn config(mock: &MockHandle) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}]\n\n[audit]\ncheckpoint_every = 10\n",
        upstreams_on(mock, "m", "")
    )
}

/// `pg_dump` or `pg_restore`: on PATH, or beside the server binaries.
fn pg_tool(name: &str) -> String {
    if Command::new(name).arg("--version").output().is_ok() {
        return name.to_owned();
    }
    let mut found = None;
    for entry in std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
    {
        let candidate = entry.path().join("bin").join(name);
        if candidate.exists() {
            found = Some(candidate.display().to_string());
        }
    }
    found.unwrap_or_else(|| panic!("{name} not found (the postgresql-client package)"))
}

fn run_tool(cluster: &PgCluster, tool: &str, args: &[&str]) {
    let out = Command::new(pg_tool(tool))
        .args(args)
        .env("PGPASSWORD", &cluster.password)
        .env("PGSSLMODE", "require")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The highest record seq of chain `gateway` in `database`.
fn last_seq(cluster: &PgCluster, database: &str) -> u64 {
    let out = cluster.psql(
        database,
        "SELECT max(seq) FROM audit_entries WHERE replica = 'gateway' AND NOT checkpoint",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().parse().unwrap()
}

/// The seq of the last record line of an export.
fn export_last_seq(file: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .filter(|l| l.starts_with("{\"seq\":"))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["seq"].as_u64())
        .max()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_taken_under_load_restores_and_verify_names_only_the_lost_records() {
    let Some(cluster) = PgCluster::from_env() else {
        eprintln!("no test cluster (MODELGATE_TEST_PG_URL unset): scripts/test starts one");
        return;
    };
    let mock = MockUpstream::start().await.unwrap();
    let gw = TestGateway::builder()
        .postgres()
        .start(&config(&mock))
        .await;
    let TestStore::Postgres { database, .. } = gw.store.clone() else {
        panic!("builder().postgres() gives a PostgreSQL store");
    };
    let gw = Arc::new(gw);

    // Traffic before and during the dump.
    for _ in 0..15 {
        assert_eq!(
            gw.openai("/v1/chat/completions", &chat("chat", false))
                .await
                .status,
            200
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (gw, stop) = (Arc::clone(&gw), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut sent = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let reply = gw
                    .openai("/v1/chat/completions", &chat("chat", false))
                    .await;
                assert_eq!(reply.status, 200, "{}", reply.text());
                sent += 1;
            }
            sent
        })
    };
    let dump = gw.dir.path().join("store.dump");
    let dump_path = dump.to_str().unwrap().to_owned();
    let url = cluster.url_of(&database);
    {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            run_tool(
                &cluster,
                "pg_dump",
                &["--format=custom", "--file", &dump_path, &url],
            );
        })
        .await
        .unwrap();
    }
    // More traffic after the dump, then the export an operator keeps.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let during = load.await.unwrap();
    assert!(during > 0, "no request ran while the dump was taken");
    for _ in 0..12 {
        assert_eq!(
            gw.openai("/v1/chat/completions", &chat("chat", false))
                .await
                .status,
            200
        );
    }
    let export = gw.dir.path().join("last-export.jsonl");
    let out = gw.cli(&[
        "audit",
        "export",
        "--replica",
        "gateway",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut gw = Arc::try_unwrap(gw).unwrap_or_else(|_| panic!("the load task is done"));
    gw.terminate();

    // Restore the dump into a new database.
    let restored = cluster.create_database();
    run_tool(
        &cluster,
        "pg_restore",
        &[
            "--no-owner",
            "--dbname",
            &cluster.url_of(&restored),
            dump.to_str().unwrap(),
        ],
    );
    let kept = last_seq(&cluster, &restored);
    let proven = export_last_seq(&export);
    assert!(
        kept < proven,
        "the dump ({kept}) should predate the export ({proven})"
    );

    // A configuration naming the restored database.
    let text = std::fs::read_to_string(&gw.config).unwrap();
    let restored_config = gw.dir.path().join("restored.toml");
    std::fs::write(
        &restored_config,
        text.replace(&format!("/{database}\""), &format!("/{restored}\"")),
    )
    .unwrap();
    let verify = cli_at(
        &restored_config,
        &[
            "audit",
            "verify",
            "--replica",
            "gateway",
            "--against",
            export.to_str().unwrap(),
        ],
    );
    let (out, err) = (stdout(&verify), stderr(&verify));
    assert!(!verify.status.success(), "a truncation is a failure: {out}");
    assert!(
        out.contains(&format!("OK: chain gateway records 1..={kept} ")),
        "the restored chain verifies on its own: {out} {err}"
    );
    assert!(
        err.contains(&format!(
            "truncated: chain gateway ends at record {kept}; {} proves records {}..={proven} ({} records)",
            export.display(),
            kept + 1,
            proven - kept
        )),
        "{err}"
    );
    // Nothing else is wrong: no other finding in either stream.
    for finding in [
        "does not verify",
        "differ",
        "another history",
        "not proven",
        "mismatch",
    ] {
        assert!(
            !out.contains(finding) && !err.contains(finding),
            "{finding}: {out} {err}"
        );
    }

    // The original database, verified against the same export, is complete.
    let complete = gw.cli(&[
        "audit",
        "verify",
        "--replica",
        "gateway",
        "--against",
        export.to_str().unwrap(),
    ]);
    assert!(complete.status.success(), "{}", stderr(&complete));
    assert!(
        stdout(&complete).contains("holds every record"),
        "{}",
        stdout(&complete)
    );
}
