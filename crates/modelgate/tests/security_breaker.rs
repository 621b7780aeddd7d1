//! Issue 14, defect 12 through the live gateway and two mock upstreams:
//! the circuit breaker's trial slot is given back whatever becomes of the
//! trial request (a 429, a request that cannot be translated, a caller that
//! goes away). The other body defects are in `security_body.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// The gateway with the breaker of `first` open, and its two mocks.
struct Breakered {
    primary: MockHandle,
    secondary: MockHandle,
    gw: TestGateway,
    first: &'static str,
}

/// Model `m` on `first` (an upstream of the primary mock), falling back to
/// `fallback` (one of the secondary's); the breaker opens on one failure
/// and cools down for one second. The breaker of `first` is opened.
async fn opened(first: &'static str, fallback: &str) -> Breakered {
    let primary = MockUpstream::start().await.unwrap();
    let secondary = MockUpstream::start().await.unwrap();
    let timeouts = "first_byte_timeout = \"10s\"\nidle_timeout = \"10s\"\nconnect_timeout = \"1s\"";
    let config = format!(
        "[breaker]\nfailure_threshold = 1\ncooldown = \"1s\"\n\n{}{}\n\
         [[models]]\nname = \"m\"\ntargets = [\n  {{ upstream = \"{first}\", model = \"demo-chat\" }},\n  {{ upstream = \"{fallback}\", model = \"demo-chat\" }},\n]\n",
        upstreams_on(&primary, "p", timeouts),
        upstreams_on(&secondary, "s", timeouts)
    );
    let gw = TestGateway::start(&config).await;
    primary.set_behavior(Behavior {
        status: Some(500),
        times: Some(1),
        ..Default::default()
    });
    let r = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(primary.requests().len(), 1);
    assert_eq!(secondary.requests().len(), 1, "fell back");
    assert_eq!(gauge(&gw, first).await, Some(1), "open");
    // Open: skipped.
    let r = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(r.status, 200);
    assert_eq!(primary.requests().len(), 1, "skipped while open");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    Breakered {
        primary,
        secondary,
        gw,
        first,
    }
}

/// The circuit gauge of `upstream`, if it is exported.
async fn gauge(gw: &TestGateway, upstream: &str) -> Option<u64> {
    let metrics = gw.metrics().await;
    let prefix = format!("modelgate_upstream_circuit_open{{upstream=\"{upstream}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

impl Breakered {
    /// After the neutral trial: the next request is the trial again, it
    /// reaches the healthy primary and closes the circuit.
    async fn assert_recovers(&self, primary_before: usize) {
        let r = self
            .gw
            .openai("/v1/chat/completions", &chat("m", false))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            self.primary.requests().len(),
            primary_before + 1,
            "the next request is a trial at the primary, not refused until restart"
        );
        let secondary = self.secondary.requests().len();
        let r = self
            .gw
            .openai("/v1/chat/completions", &chat("m", false))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(self.primary.requests().len(), primary_before + 2, "closed");
        assert_eq!(self.secondary.requests().len(), secondary);
        assert_eq!(
            gauge(&self.gw, self.first).await,
            Some(0),
            "gauge says closed"
        );
        let logs = self.gw.logs();
        for said in [
            "circuit breaker opened",
            "circuit breaker half-open",
            "circuit breaker closed",
        ] {
            assert!(logs.contains(said), "{said:?} is logged");
        }
    }
}

#[tokio::test]
async fn breaker_trial_slot_is_released_after_429() {
    let b = opened("p-openai", "s-openai").await;
    b.primary.set_behavior(Behavior {
        status: Some(429),
        times: Some(1),
        ..Default::default()
    });
    let r = b.gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(r.status, 200, "fell back past the 429: {}", r.text());
    assert_eq!(b.primary.requests().len(), 2, "the trial got the 429");
    b.assert_recovers(2).await;
}

#[tokio::test]
async fn breaker_trial_slot_is_released_after_untranslatable_request() {
    let b = opened("p-anthropic", "s-anthropic").await;
    // `n: 2` cannot be served by an Anthropic upstream.
    let hello = json!([{"role": "user", "content": "hello there"}]);
    let body = json!({"model": "m", "messages": hello, "n": 2});
    let r = b.gw.openai("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "untranslatable_request");
    assert_eq!(b.primary.requests().len(), 1, "nothing sent to the primary");
    b.assert_recovers(1).await;
}

#[tokio::test]
async fn breaker_trial_slot_is_released_when_the_caller_disconnects() {
    let b = opened("p-openai", "s-openai").await;
    b.primary.set_behavior(Behavior {
        latency_ms: 3_000,
        times: Some(1),
        ..Default::default()
    });
    let auth = format!("Bearer {}", b.gw.key);
    let url = b.gw.url("/v1/chat/completions");
    let body = chat("m", false).to_string();
    let gone = tokio::time::timeout(
        Duration::from_millis(500),
        send(
            "POST",
            &url,
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body,
        ),
    )
    .await;
    assert!(gone.is_err(), "the caller gave up before the answer");
    assert!(
        eventually(20, Duration::from_millis(50), || async {
            b.primary.requests().len() == 2
        })
        .await,
        "the trial reached the primary"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    b.assert_recovers(2).await;
}
