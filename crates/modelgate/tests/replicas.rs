//! Many replicas on one store: a replica id has one live holder; a replica
//! killed under load leaves the others answering and every chain
//! verifying; a database outage refuses calls (nothing forwarded without a
//! durable record) and the replicas recover on their own.
//!
//! The multi-replica tests need PostgreSQL (replicas share it); they run
//! in the PostgreSQL pass (`MODELGATE_TEST_BACKEND=postgres`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::replicas::PrivateCluster;
use common::*;
use tokio::sync::Mutex;

fn model_body(mock: &MockHandle) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"r-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(mock, "r", "")
    )
}

/// The end of a gateway's log, for a failure message.
fn last_lines(logs: &str) -> String {
    let lines: Vec<_> = logs.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Whether the multi-replica tests run here (said on stderr when not).
fn replicas_run_here(test: &str) -> bool {
    if !on_postgres() {
        eprintln!("{test}: skipped: replicas share PostgreSQL (MODELGATE_TEST_BACKEND=postgres)");
    }
    on_postgres()
}

#[tokio::test]
async fn a_second_process_on_a_live_replica_id_refuses_to_start_and_says_why() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::builder()
        .server("replica_id = \"gw-1\"")
        .start(&model_body(&mock))
        .await;
    let (status, text) = gw.serve_as("gw-1");
    assert!(!status.success(), "a second holder started: {text}");
    assert!(
        text.contains("replica id \"gw-1\" is held by another running process")
            && text.contains(&format!("pid {}", gw.pid()))
            && text.contains("server.replica_id"),
        "{text}"
    );
    // The first is untouched and still serves.
    assert!(gw.alive());
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // `cli` is the CLI's chain: no replica may take it.
    let (status, text) = gw.serve_as("cli");
    assert!(!status.success());
    assert!(
        text.contains("replica_id") && text.contains("CLI"),
        "{text}"
    );

    // A clean stop gives the id up: the next process on it starts at once.
    gw.terminate();
    let next = gw.spawn_replica("gw-1");
    let r = next
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Killed, its claim is left behind; a restart on this host sees that
    // process is gone and takes the id over without waiting for it to lapse.
    let mut next = next;
    next.kill9();
    next.restart();
    let r = next
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// What a load run saw: the request ids of answered calls, and every status.
#[derive(Default)]
struct Seen {
    answered: Vec<String>,
    statuses: BTreeMap<u16, usize>,
    /// Calls that got no HTTP answer (the replica was gone).
    unanswered: usize,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seen")
            .field("answered", &self.answered.len())
            .field("statuses", &self.statuses)
            .field("unanswered", &self.unanswered)
            .finish()
    }
}

/// Sends chat calls round-robin to `urls` from `workers` tasks until `stop`.
fn spawn_load(
    urls: Vec<String>,
    key: String,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> (tokio::task::JoinHandle<()>, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let out = seen.clone();
    let task = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for w in 0..workers {
            let (urls, key, stop, seen) = (urls.clone(), key.clone(), stop.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                let auth = format!("Bearer {key}");
                let body = chat("chat", false).to_string();
                let mut n = w;
                while !stop.load(Ordering::SeqCst) {
                    let url = format!("{}/v1/chat/completions", urls[n % urls.len()]);
                    n += 1;
                    let request = http::Request::builder()
                        .method("POST")
                        .uri(&url)
                        .header("authorization", &auth)
                        .header("content-type", "application/json")
                        .body(http_body_util::Full::new(bytes::Bytes::from(body.clone())))
                        .unwrap();
                    let reply =
                        tokio::time::timeout(Duration::from_secs(30), client().request(request))
                            .await;
                    let mut seen = seen.lock().await;
                    match reply {
                        Ok(Ok(response)) => {
                            let status = response.status().as_u16();
                            *seen.statuses.entry(status).or_default() += 1;
                            if status == 200
                                && let Some(id) = response.headers().get("x-request-id")
                            {
                                seen.answered.push(id.to_str().unwrap().to_owned());
                            }
                        }
                        _ => {
                            seen.unanswered += 1;
                            drop(seen);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    (task, out)
}

/// Every line of every chain in `gw`'s store, joined.
async fn all_audit_lines(gw: &TestGateway) -> String {
    let store = gw.store.open().await;
    let mut text = String::new();
    for replica in store.audit_replicas().await.unwrap() {
        let mut after = 0;
        loop {
            let page = store.audit_lines(&replica, after, 10_000).await.unwrap();
            let Some((last, _)) = page.last() else { break };
            after = *last;
            for (_, line) in page {
                text.push_str(&line);
                text.push('\n');
            }
        }
    }
    store.close().await;
    text
}

/// Asserts that every answered call has its record in the store.
async fn every_answer_has_its_record(gw: &TestGateway, seen: &Seen) {
    let lines = all_audit_lines(gw).await;
    let missing: Vec<_> = seen
        .answered
        .iter()
        .filter(|id| !lines.contains(&format!("\"{id}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered calls have no audit record: {:?}",
        missing.len(),
        seen.answered.len(),
        &missing[..missing.len().min(5)]
    );
}

/// `modelgate audit verify --replica R` succeeds (eventually: a chain left
/// by a killed replica is signed by a live one at its next housekeeping).
async fn chain_verifies(gw: &TestGateway, replica: &str) {
    let mut last = String::new();
    let verified = eventually(40, Duration::from_millis(500), || {
        let out = gw.cli(&["audit", "verify", "--replica", replica]);
        last = format!("{}{}", stdout(&out), stderr(&out));
        std::future::ready(out.status.success())
    })
    .await;
    assert!(verified, "chain {replica} does not verify: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_load_leaves_the_others_answering_and_every_chain_verifying() {
    if !replicas_run_here("a_replica_killed_under_load") {
        return;
    }
    let mock = MockUpstream::start().await.unwrap();
    let a = TestGateway::builder()
        .server("replica_id = \"a\"")
        .start(&model_body(&mock))
        .await;
    let mut b = a.spawn_replica("b");
    let c = a.spawn_replica("c");
    let stop = Arc::new(AtomicBool::new(false));
    let (load, seen) = spawn_load(
        vec![a.url(""), b.url(""), c.url("")],
        a.key.clone(),
        6,
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.kill9();
    let killed = seen.lock().await.answered.len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let seen = seen.lock().await;
    assert!(
        seen.answered.len() >= killed + 20,
        "A and C stopped answering when B was killed: {seen:?}"
    );
    // Only 200s: a replica's death costs its own connections, nothing else.
    assert_eq!(seen.statuses.keys().collect::<Vec<_>>(), [&200], "{seen:?}");
    every_answer_has_its_record(&a, &seen).await;
    for replica in ["a", "b", "c"] {
        chain_verifies(&a, replica).await;
    }
    let sealed = eventually(20, Duration::from_millis(500), || {
        std::future::ready(
            a.logs().contains("signed the tail of a chain") || c.logs().contains("signed the tail"),
        )
    })
    .await;
    assert!(sealed, "no replica signed the chain B left");

    // Across chains: verified together, listed, exported one file each.
    let mut last = String::new();
    let all = eventually(40, Duration::from_millis(500), || {
        let out = a.cli(&["audit", "verify", "--all"]);
        last = format!("{}{}", stdout(&out), stderr(&out));
        std::future::ready(out.status.success())
    })
    .await;
    assert!(all && last.contains("OK: all 4 chains verify"), "{last}");
    let chains = ok(a.cli(&["audit", "chains"]));
    let b_row = chains
        .lines()
        .find(|l| l.starts_with("b "))
        .unwrap_or_default();
    assert!(
        b_row.contains("signed") && !b_row.contains("unsigned"),
        "{chains}"
    );
    let dir = a.dir.path().join("exports");
    let exported = ok(a.cli(&["audit", "export", "--all", "--out", dir.to_str().unwrap()]));
    for chain in ["a", "b", "c", "cli"] {
        let file = dir.join(format!("{chain}.jsonl"));
        assert!(file.exists(), "{exported}");
        ok(a.cli(&["audit", "verify", file.to_str().unwrap()]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_under_load_refuses_calls_and_the_replicas_recover_on_their_own() {
    if !replicas_run_here("a_database_outage_under_load") {
        return;
    }
    let pg = PrivateCluster::start();
    let mock = MockUpstream::start().await.unwrap();
    let a = TestGateway::builder()
        .server("replica_id = \"a\"")
        .store(pg.store())
        .start(&model_body(&mock))
        .await;
    let mut b = a.spawn_replica("b");
    let stop = Arc::new(AtomicBool::new(false));
    let (load, seen) = spawn_load(vec![a.url(""), b.url("")], a.key.clone(), 4, stop.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;

    pg.pause();
    let forwarded_before = mock.requests().len();
    // Let in-flight calls settle, then nothing may reach the upstream.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = mock.requests().len();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        mock.requests().len(),
        settled,
        "calls were forwarded while the database was down (before the stop: {forwarded_before})"
    );
    let refused = seen.lock().await.statuses.get(&503).copied().unwrap_or(0);
    assert!(refused > 0, "no 503 while the database was down");

    pg.resume();
    let mut a = a;
    for (name, gw) in [("a", &mut a), ("b", &mut b)] {
        assert!(
            gw.alive(),
            "replica {name} exited during the outage:\n{}",
            last_lines(&gw.logs())
        );
    }
    let back = Instant::now();
    let recovered = eventually(100, Duration::from_millis(100), || {
        let (a, b) = (a.url("/readyz"), b.url("/readyz"));
        async move {
            call("GET", &a, &[], "").await.status == 200
                && call("GET", &b, &[], "").await.status == 200
        }
    })
    .await;
    assert!(
        recovered,
        "the replicas did not recover within 10 s of the database's return"
    );
    let after = seen.lock().await.answered.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let seen = seen.lock().await;
    eprintln!(
        "recovered {:?} after the database returned; {seen:?}",
        back.elapsed()
    );
    assert!(
        seen.answered.len() > after,
        "no call answered after recovery: {seen:?}"
    );
    let unexpected: Vec<_> = seen
        .statuses
        .keys()
        .filter(|s| **s != 200 && **s != 503)
        .collect();
    assert!(unexpected.is_empty(), "{seen:?}");
    assert_eq!(seen.unanswered, 0, "a replica stopped answering: {seen:?}");
    assert!(b.alive());
    for gw in [&a, &b] {
        assert!(!gw.logs().contains("panicked"), "{}", gw.logs());
    }
    every_answer_has_its_record(&a, &seen).await;
    for replica in ["a", "b"] {
        chain_verifies(&a, replica).await;
    }
}
