//! Replicas on one PostgreSQL store share a role's rate limit: three
//! gateway processes together admit no more requests than the limit, and
//! refuse early by no more than the stated bound (docs/access.md, "Rate
//! limits").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const CEILING: u64 = 60;
const REPLICAS: u64 = 3;
/// The largest allotment: `max(1, ceiling / 20)`.
const ALLOTMENT: u64 = 3;
const PER_REPLICA: usize = 50;

/// Sends `n` chat calls to `gw`, one after another; how many got 200, and
/// every other status seen.
async fn send(gw: &TestGateway, n: usize) -> (u64, Vec<u16>) {
    let mut admitted = 0;
    let mut others = Vec::new();
    for _ in 0..n {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        match r.status.as_u16() {
            200 => admitted += 1,
            429 => assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded"),
            status => others.push(status),
        }
    }
    (admitted, others)
}

/// Waits (10 s at most) until `gw` admits a call of `app`: it has loaded
/// the role assignment. 1: that call, which counts.
async fn admitted_once(gw: &TestGateway) -> u64 {
    for _ in 0..100 {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        match r.status.as_u16() {
            200 => return 1,
            403 => tokio::time::sleep(Duration::from_millis(100)).await,
            status => panic!("{status}: {}", r.text()),
        }
    }
    panic!("the replica never admitted a call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_together_admit_no_more_than_the_requests_limit() {
    if !on_postgres() {
        eprintln!(
            "three_replicas_together_admit_no_more_than_the_requests_limit: did nothing: \
             MODELGATE_TEST_BACKEND is not postgres (SQLite keeps limits in its one gateway)"
        );
        return;
    }
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}]\n\n[[roles]]\nname = \"limited\"\nmodels = [\"chat\"]\nactions = [\"chat\"]\nrequests_per_minute = {CEILING}\n",
        upstreams_on(&mock, "l", "")
    );
    let a = TestGateway::start(&config).await;
    let out = a.cli(&[
        "role",
        "assign",
        "--identity",
        "app",
        "--role",
        "limited",
        "--by",
        "root",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = a.spawn_replica("replica-b");
    let c = a.spawn_replica("replica-c");
    // Start early in a minute so the run stays in one window (the bound
    // below allows for a run that crosses one anyway).
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 30 {
        tokio::time::sleep(Duration::from_secs(61 - into_minute)).await;
    }
    let mut first = 0;
    for gw in [&a, &b, &c] {
        first += admitted_once(gw).await;
    }
    let started = Instant::now();
    let (ra, rb, rc) = tokio::join!(
        send(&a, PER_REPLICA),
        send(&b, PER_REPLICA),
        send(&c, PER_REPLICA)
    );
    let elapsed = started.elapsed().as_secs() + 1;
    let others: Vec<u16> = [&ra.1, &rb.1, &rc.1].into_iter().flatten().copied().collect();
    assert!(others.is_empty(), "statuses other than 200 and 429: {others:?}");
    let admitted = first + ra.0 + rb.0 + rc.0;
    // A run crossing into the next window gets at most the share of the
    // ceiling the previous window's weight has lost meanwhile.
    let most = CEILING + (CEILING * elapsed).div_ceil(60);
    let least = CEILING - (REPLICAS - 1) * ALLOTMENT;
    eprintln!(
        "admitted {admitted} of {} (a {}, b {}, c {}) in {elapsed} s; limit {CEILING}",
        3 * PER_REPLICA + 3,
        ra.0,
        rb.0,
        rc.0
    );
    assert!(
        admitted <= most,
        "the replicas admitted {admitted}, over the limit {CEILING}"
    );
    assert!(
        admitted >= least,
        "the replicas admitted {admitted}: refused earlier than the bound allows ({least})"
    );
    if elapsed < 30 {
        assert!(admitted <= CEILING, "admitted {admitted} within one window");
    }
    assert_eq!(mock.requests().len() as u64, admitted, "forwarded = admitted");
}
