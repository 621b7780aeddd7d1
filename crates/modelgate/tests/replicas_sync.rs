//! Replicas on one PostgreSQL store: a change made through one reaches
//! the others at once (the store's notifications), not at their next poll;
//! and shared housekeeping runs once across them (one `grant.expire` per
//! grant, whichever replica recorded it).
//!
//! PostgreSQL only: on SQLite one gateway owns the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

/// A poll so long that only a notification explains a change seen within
/// [`REACH`].
const SLOW_POLL: &str =
    "[tokens]\nkek = \"env:MG_TEST_KEK\"\nsync_interval = \"60s\"\nmax_staleness = \"120s\"\n";

/// How soon the other replicas must refuse (generous for a busy machine,
/// far below the poll).
const REACH: Duration = Duration::from_secs(5);

fn config(mock: &MockHandle, extra: &str) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"r-openai\", model = \"demo-chat\" }}]\n{extra}",
        upstreams_on(mock, "r", "")
    )
}

/// The status of `GET /v1/models` with `key` on `gw`.
async fn models_status(gw: &TestGateway, key: &str) -> u16 {
    let auth = format!("Bearer {key}");
    call(
        "GET",
        &gw.url("/v1/models"),
        &[("authorization", &auth)],
        String::new(),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_identity_is_refused_on_every_replica_within_seconds() {
    if !on_postgres() {
        eprintln!("PostgreSQL only (MODELGATE_TEST_BACKEND=postgres)");
        return;
    }
    let mock = MockUpstream::start().await.unwrap();
    let a = TestGateway::builder()
        .postgres()
        .start(&config(&mock, SLOW_POLL))
        .await;
    let b = a.spawn_replica("replica-b");
    let c = a.spawn_replica("replica-c");
    let key = a.new_identity("short-lived", "service", "prod");
    // Each replica has read the key and cached it.
    for gw in [&a, &b, &c] {
        assert_eq!(models_status(gw, &key).await, 200, "{}", gw.logs());
    }

    let out = a.cli(&["identity", "disable", "short-lived"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let disabled_at = Instant::now();
    for gw in [&b, &c] {
        let refused = eventually(100, Duration::from_millis(50), || async {
            models_status(gw, &key).await == 401
        })
        .await;
        assert!(
            refused && disabled_at.elapsed() < REACH,
            "refused within {REACH:?} (took {:?}), not at the next poll (60 s):\n{}",
            disabled_at.elapsed(),
            gw.logs()
        );
    }
}

/// How many `grant.expire` records the store holds for grant `id`, over
/// every replica's chain.
fn expiry_records(gw: &TestGateway, id: &str) -> usize {
    let out = gw.cli(&[
        "audit", "search", "--kind", "control", "--limit", "1000", "--format", "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    text.lines()
        .filter(|line| line.contains("grant.expire") && line.contains(id))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_expiry_is_recorded_once_across_replicas() {
    if !on_postgres() {
        eprintln!("PostgreSQL only (MODELGATE_TEST_BACKEND=postgres)");
        return;
    }
    let mock = MockUpstream::start().await.unwrap();
    let roles = "\n[grants]\nmax_duration = \"8h\"\n\n[[roles]]\nname = \"prod-chat\"\nmodels = [\"chat\"]\nactions = [\"chat\", \"messages\"]\njit_only = true\n";
    let a = TestGateway::builder()
        .postgres()
        .start(&config(&mock, roles))
        .await;
    let _b = a.spawn_replica("replica-b");
    let _c = a.spawn_replica("replica-c");
    a.new_identity("approver-1", "service", "prod");
    let ok = |args: &[&str]| {
        let out = a.cli(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    ok(&[
        "role",
        "assign",
        "--identity",
        "approver-1",
        "--role",
        "approver",
        "--by",
        "root",
    ]);
    let requested = ok(&[
        "grant",
        "request",
        "--identity",
        "app",
        "--role",
        "prod-chat",
        "--for",
        "2s",
        "--reason",
        "incident 42",
        "--by",
        "app",
        "--format",
        "json",
    ]);
    let grant: serde_json::Value = serde_json::from_str(&requested).unwrap();
    let id = grant["id"].as_str().unwrap().to_owned();
    ok(&["grant", "approve", &id, "--by", "approver-1"]);

    // Housekeeping runs every second on each of the three replicas.
    let recorded = eventually(150, Duration::from_millis(200), || async {
        expiry_records(&a, &id) >= 1
    })
    .await;
    assert!(recorded, "grant.expire recorded");
    // A few more housekeeping rounds on every replica: still one record.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let out = a.cli(&[
        "audit", "search", "--kind", "control", "--limit", "1000", "--format", "json",
    ]);
    assert_eq!(
        expiry_records(&a, &id),
        1,
        "one expiry record across replicas:\n{}",
        stdout(&out)
    );
}
