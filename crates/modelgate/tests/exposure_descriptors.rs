//! Issue 15, file descriptors, through the live gateway: running out of
//! descriptors on an upstream connect is a local fault. The caller gets a
//! 503 saying so, and the healthy upstream's breaker stays closed.
//!
//! The gateway runs under `ulimit -n` (soft = hard, so its start-up raise
//! changes nothing); the test fills its descriptor table with idle
//! connections, counting the table in `/proc/PID/fd`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::*;

/// The descriptor limit the gateway runs under.
const LIMIT: usize = 64;

/// A gateway under `ulimit -n LIMIT`: model `m` on upstream `up` and model
/// `w` on upstream `warm`, both on `mock`; a breaker opens on one failure
/// and stays open a minute.
async fn limited(mock: &MockHandle) -> TestGateway {
    let upstream = |name: &str| {
        format!(
            "[[upstreams]]\nname = \"{name}\"\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
             credential = \"env:MG_TEST_UPSTREAM_KEY\"\ndeployment = \"self_hosted\"\n\
             region = \"local\"\nisolation = \"technical\"\n\n",
            mock.base_url()
        )
    };
    let body = format!(
        "[breaker]\nfailure_threshold = 1\ncooldown = \"60s\"\n\n{}{}\
         [[models]]\nname = \"m\"\ntargets = [{{ upstream = \"up\", model = \"demo-chat\" }}]\n\n\
         [[models]]\nname = \"w\"\ntargets = [{{ upstream = \"warm\", model = \"demo-chat\" }}]\n",
        upstream("up"),
        upstream("warm")
    );
    let server = "header_read_timeout = \"120s\"\n";
    TestGateway::start_with_open_files(server, &body, LIMIT as u64).await
}

/// How many of the descriptor numbers under the limit the gateway has in
/// use (descriptors inherited above it take no slot).
fn open_descriptors(gw: &TestGateway) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", gw.pid()))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<usize>().ok())
        .filter(|fd| *fd < LIMIT)
        .count()
}

/// A chat call to `model` with the gateway's key.
async fn chat_with(gw: &TestGateway, model: &str) -> Reply {
    gw.openai("/v1/chat/completions", &chat(model, false)).await
}

#[tokio::test]
async fn out_of_descriptors_on_upstream_connect_is_a_local_503_and_leaves_the_breaker_closed() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = limited(&mock).await;
    assert!(
        gw.logs()
            .contains(&format!("open files: soft limit {LIMIT} (hard {LIMIT})")),
        "start-up logs the limits: {}",
        gw.logs()
    );
    // Fill the table to one short of the limit with idle connections: the
    // request's own connection takes the last descriptor, so the upstream
    // connect fails with EMFILE.
    // Warm the request path (the caller's access, the store's connections,
    // the audit) on another upstream: `up` has no pooled connection.
    let r = chat_with(&gw, "w").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Let the warm-up's connection close: the count settles.
    let mut last = open_descriptors(&gw);
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = open_descriptors(&gw);
        if now == last {
            break;
        }
        last = now;
    }
    let mut idle = Vec::new();
    while open_descriptors(&gw) < LIMIT - 1 {
        let before = open_descriptors(&gw);
        idle.push(TcpStream::connect(gw.addr).unwrap());
        let accepted = eventually(200, Duration::from_millis(25), || async {
            open_descriptors(&gw) > before
        })
        .await;
        assert!(accepted, "connection {} not accepted", idle.len());
    }
    assert_eq!(
        open_descriptors(&gw),
        LIMIT - 1,
        "descriptor table filled to one short of the limit"
    );

    let r = chat_with(&gw, "m").await;
    assert_eq!(r.status, 503, "{}", r.text());
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("out of file descriptors"), "{message}");
    assert!(!message.contains("upstream"), "{message}");
    assert_eq!(
        mock.requests().len(),
        1,
        "only the warm-up reached the mock"
    );

    drop(idle);
    // The gateway closes the idle connections once it sees them gone.
    let freed = eventually(200, Duration::from_millis(50), || async {
        open_descriptors(&gw) < LIMIT / 2
    })
    .await;
    assert!(freed, "{} still open", open_descriptors(&gw));
    let metrics = gw.metrics().await;
    assert!(
        !metrics.contains("modelgate_upstream_circuit_open{upstream=\"up\"} 1"),
        "the healthy upstream's breaker opened:\n{metrics}"
    );
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("modelgate_upstream_errors") && l.contains("\"up\"")),
        "counted as an upstream error:\n{metrics}"
    );
    let r = chat_with(&gw, "m").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(mock.requests().len(), 2);
    assert_eq!(
        gw.logs()
            .matches("the gateway is out of file descriptors")
            .count(),
        1,
        "logged once: {}",
        gw.logs()
    );
}
