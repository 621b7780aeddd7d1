//! The fallback matrix: every fault of the mock upstream, before and after
//! the first byte, in both dialects, plus the circuit breaker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use http_body_util::BodyExt;

struct Pair {
    primary: MockHandle,
    secondary: MockHandle,
    gw: TestGateway,
}

async fn pair(breaker_threshold: u32) -> Pair {
    let primary = MockUpstream::start().await.unwrap();
    let secondary = MockUpstream::start().await.unwrap();
    let timeouts =
        "first_byte_timeout = \"700ms\"\nidle_timeout = \"700ms\"\nconnect_timeout = \"1s\"";
    let config = format!(
        "[breaker]\nfailure_threshold = {breaker_threshold}\ncooldown = \"2s\"\n\n{}{}\n\
         [[models]]\nname = \"m\"\ntargets = [\n  {{ upstream = \"p-openai\", model = \"demo-chat\" }},\n  {{ upstream = \"p-anthropic\", model = \"demo-chat\" }},\n  \
         {{ upstream = \"s-openai\", model = \"demo-chat\" }},\n  {{ upstream = \"s-anthropic\", model = \"demo-chat\" }},\n]\n",
        upstreams_on(&primary, "p", timeouts),
        upstreams_on(&secondary, "s", timeouts)
    );
    let gw = TestGateway::start(&config).await;
    Pair {
        primary,
        secondary,
        gw,
    }
}

async fn request(gw: &TestGateway, anthropic: bool, stream: bool) -> Reply {
    if anthropic {
        gw.anthropic(&messages("m", stream)).await
    } else {
        gw.openai("/v1/chat/completions", &chat("m", stream)).await
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    Refuse,
    Status(u16),
    SlowFirstByte,
    Unauthorized,
}

async fn apply(mock: &MockHandle, fault: Fault) {
    match fault {
        Fault::Refuse => mock.stop_listening().await,
        Fault::Status(code) => mock.set_behavior(Behavior {
            status: Some(code),
            ..Default::default()
        }),
        Fault::Unauthorized => mock.set_behavior(Behavior {
            status: Some(401),
            ..Default::default()
        }),
        Fault::SlowFirstByte => mock.set_behavior(Behavior {
            first_byte_delay_ms: 2_000,
            ..Default::default()
        }),
    }
}

const BEFORE_FIRST_BYTE: [Fault; 6] = [
    Fault::Refuse,
    Fault::Status(500),
    Fault::Status(503),
    Fault::Status(429),
    Fault::SlowFirstByte,
    Fault::Unauthorized,
];

#[tokio::test]
async fn faults_before_the_first_byte_fall_back() {
    for fault in BEFORE_FIRST_BYTE {
        let p = pair(100).await;
        apply(&p.primary, fault).await;
        for anthropic in [false, true] {
            for stream in [false, true] {
                let r = request(&p.gw, anthropic, stream).await;
                assert_eq!(
                    r.status,
                    200,
                    "{fault:?} anthropic={anthropic} stream={stream}: {}",
                    r.text()
                );
                if stream {
                    let end = if anthropic { "message_stop" } else { "[DONE]" };
                    assert!(r.text().contains(end), "{fault:?}: {}", r.text());
                }
            }
        }
        assert_eq!(
            p.secondary.requests().len(),
            4,
            "{fault:?}: secondary served every request"
        );
        let expected_primary = if matches!(fault, Fault::Refuse) { 0 } else { 4 };
        assert_eq!(p.primary.requests().len(), expected_primary, "{fault:?}");
        assert!(!p.gw.logs().contains(UPSTREAM_CANARY));
    }
}

#[tokio::test]
async fn when_every_target_fails_the_caller_gets_the_matching_error() {
    let cases: [(Fault, u16); 5] = [
        (Fault::Status(500), 502),
        (Fault::Refuse, 502),
        (Fault::Status(429), 429),
        (Fault::SlowFirstByte, 504),
        (Fault::Unauthorized, 502),
    ];
    for (fault, status) in cases {
        let p = pair(100).await;
        apply(&p.primary, fault).await;
        apply(&p.secondary, fault).await;
        let r = request(&p.gw, false, false).await;
        assert_eq!(r.status, status, "{fault:?}: {}", r.text());
        assert!(
            r.json()["error"]["message"].is_string(),
            "OpenAI error shape"
        );
        if status == 429 {
            assert!(r.headers.contains_key("retry-after"));
        }
        let r = request(&p.gw, true, true).await;
        assert_eq!(r.status, status, "{fault:?}");
        assert_eq!(r.json()["type"], "error", "Anthropic error shape");
        assert!(!r.text().contains(UPSTREAM_CANARY));
    }
}

#[tokio::test]
async fn failures_after_the_first_byte_end_the_stream_with_an_error_event() {
    let faults = [
        Behavior {
            reset_after_chunks: Some(2),
            ..Default::default()
        },
        Behavior {
            malformed_after_chunks: Some(2),
            ..Default::default()
        },
        Behavior {
            chunk_delay_ms: 1_500,
            ..Default::default()
        }, // idle timeout (700ms)
    ];
    for behavior in faults {
        let p = pair(100).await;
        p.primary.set_behavior(behavior.clone());
        let r = request(&p.gw, false, true).await;
        assert_eq!(r.status, 200, "{behavior:?}");
        let text = r.text();
        let last = text.trim_end().rsplit("\n\n").next().unwrap();
        assert!(last.starts_with("data: {\"error\""), "{behavior:?}: {text}");
        assert!(!text.contains("[DONE]"));
        let r = request(&p.gw, true, true).await;
        let text = r.text();
        assert!(
            text.trim_end()
                .rsplit("\n\n")
                .next()
                .unwrap()
                .starts_with("event: error\ndata: {\"type\":\"error\""),
            "{behavior:?}: {text}"
        );
        assert!(
            p.secondary.requests().is_empty(),
            "no fallback after the first byte"
        );
    }
}

#[tokio::test]
async fn latency_below_the_timeouts_is_just_latency() {
    let p = pair(100).await;
    p.primary.set_behavior(Behavior {
        latency_ms: 200,
        chunk_delay_ms: 100,
        ..Default::default()
    });
    let r = request(&p.gw, false, true).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("[DONE]"));
    assert!(p.secondary.requests().is_empty());
}

#[tokio::test]
async fn circuit_breaker_skips_a_failing_upstream_then_retries_it() {
    let p = pair(2).await;
    p.primary.set_behavior(Behavior {
        status: Some(500),
        ..Default::default()
    });
    for _ in 0..2 {
        assert_eq!(request(&p.gw, false, false).await.status, 200);
    }
    assert_eq!(p.primary.requests().len(), 2);
    // Open: the primary is skipped.
    for _ in 0..3 {
        assert_eq!(request(&p.gw, false, false).await.status, 200);
    }
    assert_eq!(p.primary.requests().len(), 2, "skipped while open");
    let metrics = p.gw.metrics().await;
    assert!(
        metrics.contains("modelgate_upstream_circuit_open{upstream=\"p-openai\"} 1"),
        "{metrics}"
    );
    // After the cooldown one trial goes through and closes it.
    p.primary.set_behavior(Behavior::default());
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(request(&p.gw, false, false).await.status, 200);
    assert_eq!(p.primary.requests().len(), 3);
    assert_eq!(request(&p.gw, false, false).await.status, 200);
    assert_eq!(p.primary.requests().len(), 4, "closed again");
}

#[tokio::test]
async fn streaming_is_not_buffered() {
    let p = pair(100).await;
    p.primary.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Default::default()
    });
    for anthropic in [false, true] {
        let (path, body, key_header) = if anthropic {
            ("/v1/messages", messages("m", true), "x-api-key")
        } else {
            ("/v1/chat/completions", chat("m", true), "authorization")
        };
        let value = if anthropic {
            p.gw.key.clone()
        } else {
            format!("Bearer {}", p.gw.key)
        };
        let response = send(
            "POST",
            &p.gw.url(path),
            &[(key_header, &value), ("anthropic-version", "2023-06-01")],
            body.to_string(),
        )
        .await;
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        // The upstream holds everything after its first event; the caller
        // must still receive that first event now.
        let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("first chunk must arrive while the upstream holds the rest")
            .unwrap()
            .unwrap();
        let first = first.into_data().unwrap();
        assert!(!first.is_empty());
        assert!(
            tokio::time::timeout(Duration::from_millis(300), body.frame())
                .await
                .is_err(),
            "nothing more while held"
        );
        p.primary.release();
        let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
            .await
            .unwrap()
            .unwrap()
            .to_bytes();
        let end = if anthropic { "message_stop" } else { "[DONE]" };
        assert!(String::from_utf8_lossy(&rest).contains(end));
        p.primary.set_behavior(Behavior {
            hold_after_first_chunk: true,
            ..Default::default()
        });
    }
}
