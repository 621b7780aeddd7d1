//! Replicas on one PostgreSQL store share a role's rate limit: three
//! gateway processes together admit no more requests than the limit, and
//! refuse early by no more than the stated bound (docs/access.md, "Rate
//! limits").
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::replicas::PrivateCluster;
use common::*;

const CEILING: u64 = 60;
const REPLICAS: u64 = 3;
/// The largest allotment: `max(1, ceiling / 20)`.
const ALLOTMENT: u64 = 3;
const PER_REPLICA: usize = 50;

/// What one replica answered.
#[derive(Default)]
struct Sent {
    admitted: u64,
    /// Tokens (in + out) of the calls admitted, and of the largest one.
    tokens: u64,
    largest: u64,
    /// Statuses other than 200 and 429.
    others: Vec<u16>,
}

impl Sent {
    fn add(&mut self, other: Sent) {
        self.admitted += other.admitted;
        self.tokens += other.tokens;
        self.largest = self.largest.max(other.largest);
        self.others.extend(other.others);
    }
}

/// Sends `n` chat calls to `gw`, one after another.
async fn send(gw: &TestGateway, n: usize) -> Sent {
    let mut sent = Sent::default();
    for _ in 0..n {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        match r.status.as_u16() {
            200 => {
                let tokens = r.json()["usage"]["total_tokens"].as_u64().unwrap();
                sent.add(Sent {
                    admitted: 1,
                    tokens,
                    largest: tokens,
                    others: Vec::new(),
                });
            }
            429 => assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded"),
            status => sent.others.push(status),
        }
    }
    sent
}

/// A mock upstream and three replicas on one store, where `app` holds a
/// role limited by `limit` (a TOML line).
async fn replicas(limit: &str) -> (MockHandle, TestGateway, TestGateway, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}]\n\n[[roles]]\nname = \"limited\"\nmodels = [\"chat\"]\nactions = [\"chat\"]\n{limit}\n",
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
    (mock, a, b, c)
}

/// Sleeps into the next minute if this one is half gone, so a run stays in
/// one window (the bounds allow for a run that crosses one anyway).
async fn early_in_a_minute() {
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into_minute > 30 {
        tokio::time::sleep(Duration::from_secs(61 - into_minute)).await;
    }
}

/// Waits (10 s at most) until `gw` admits a call of `app`: it has loaded
/// the role assignment. That call counts.
async fn admitted_once(gw: &TestGateway) -> Sent {
    for _ in 0..100 {
        let sent = send(gw, 1).await;
        if sent.admitted == 1 {
            return sent;
        }
        assert_eq!(sent.others, [403], "only a 403 while the role loads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replica never admitted a call");
}

/// The three replicas' answers to `PER_REPLICA` calls each, sent at once,
/// after each admitted one (when it has loaded the role), and how long
/// the run took, in whole seconds, rounded up.
async fn run(a: &TestGateway, b: &TestGateway, c: &TestGateway) -> ([Sent; 3], u64) {
    early_in_a_minute().await;
    let started = Instant::now();
    let mut firsts = Vec::new();
    for gw in [a, b, c] {
        firsts.push(admitted_once(gw).await);
    }
    let (mut ra, mut rb, mut rc) = tokio::join!(
        send(a, PER_REPLICA),
        send(b, PER_REPLICA),
        send(c, PER_REPLICA)
    );
    for (sent, first) in [&mut ra, &mut rb, &mut rc].into_iter().zip(firsts) {
        sent.add(first);
    }
    ([ra, rb, rc], started.elapsed().as_secs() + 1)
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
    let (mock, a, b, c) = replicas(&format!("requests_per_minute = {CEILING}")).await;
    let (replicas, elapsed) = run(&a, &b, &c).await;
    let mut all = Sent::default();
    for sent in replicas {
        eprintln!("a replica admitted {}", sent.admitted);
        all.add(sent);
    }
    assert!(
        all.others.is_empty(),
        "statuses other than 200 and 429: {:?}",
        all.others
    );
    let admitted = all.admitted;
    eprintln!(
        "admitted {admitted} of {} in {elapsed} s; limit {CEILING}",
        3 * PER_REPLICA + 3
    );
    // A run crossing into the next window gets at most the share of the
    // ceiling the previous window's weight has lost meanwhile.
    let most = CEILING + (CEILING * elapsed).div_ceil(60);
    let least = CEILING - (REPLICAS - 1) * ALLOTMENT;
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
    assert_eq!(
        mock.requests().len() as u64,
        admitted,
        "forwarded = admitted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_together_overspend_tokens_by_no_more_than_the_calls_in_flight() {
    if !on_postgres() {
        eprintln!(
            "three_replicas_together_overspend_tokens_by_no_more_than_the_calls_in_flight: \
             did nothing: MODELGATE_TEST_BACKEND is not postgres"
        );
        return;
    }
    const TOKENS: u64 = 400;
    // Allotments of max(1, 400 / 20) = 20 tokens.
    const TOKEN_ALLOTMENT: u64 = 20;
    let (_mock, a, b, c) = replicas(&format!("tokens_per_minute = {TOKENS}")).await;
    let (replicas, elapsed) = run(&a, &b, &c).await;
    let mut all = Sent::default();
    // Each replica sends one call at a time: at most one is in flight when
    // its allotment runs out.
    let mut in_flight = 0;
    for sent in replicas {
        in_flight += sent.largest;
        all.add(sent);
    }
    assert!(
        all.others.is_empty(),
        "statuses other than 200 and 429: {:?}",
        all.others
    );
    let used = all.tokens;
    eprintln!(
        "admitted {} calls using {used} tokens (largest call {}) in {elapsed} s; limit {TOKENS}",
        all.admitted, all.largest
    );
    let most = TOKENS + (TOKENS * elapsed).div_ceil(60) * u64::from(elapsed >= 30) + in_flight;
    let least = TOKENS - 1 - (REPLICAS - 1) * TOKEN_ALLOTMENT;
    assert!(
        used <= most,
        "the replicas used {used} tokens, over the limit {TOKENS} plus the calls in flight ({in_flight})"
    );
    assert!(
        used >= least,
        "the replicas used {used} tokens: refused earlier than the bound allows ({least})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_its_database_a_replica_refuses_with_503_once_its_allotment_is_spent() {
    if !on_postgres() {
        eprintln!(
            "without_its_database_a_replica_refuses_with_503_once_its_allotment_is_spent: \
             did nothing: MODELGATE_TEST_BACKEND is not postgres"
        );
        return;
    }
    let cluster = PrivateCluster::start();
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}, {{ upstream = \"l-anthropic\", model = \"demo-chat\" }}]\n\n[[roles]]\nname = \"limited\"\nmodels = [\"chat\"]\nactions = [\"chat\", \"messages\"]\nrequests_per_minute = {CEILING}\n",
        upstreams_on(&mock, "l", "")
    );
    let gw = TestGateway::builder()
        .store(cluster.store())
        .start(&config)
        .await;
    let out = gw.cli(&[
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
    admitted_once(&gw).await;
    let forwarded = mock.requests().len();
    cluster.pause();
    // What the replica holds unspent (at most one allotment) passes the
    // rate limit and stops at the audit log; past it, the rate limit
    // refuses. Either way the caller gets 503 in its dialect
    // (`audit_unavailable`: the refusal's own record cannot be written
    // either) and nothing is forwarded.
    for _ in 0..ALLOTMENT + 2 {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.json()["error"]["type"], "upstream_error");
    }
    let r = gw.anthropic(&messages("chat", false)).await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["error"]["type"], "overloaded_error");
    assert_eq!(mock.requests().len(), forwarded, "nothing forwarded");
    assert!(
        gw.logs()
            .contains("rate limit: the shared counters cannot be reached"),
        "the rate limit refused on its own: {}",
        gw.logs()
    );
    // Back: calls are admitted again.
    cluster.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        if r.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never admitted again: {}",
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
