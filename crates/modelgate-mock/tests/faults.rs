//! Fault injection over loopback: statuses, latency, hold/release, reset,
//! malformed events, stop/resume listening and `times`.

mod common;

use std::time::{Duration, Instant};

use common::*;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use modelgate_mock::{Behavior, MALFORMED_EVENT, MockUpstream};

fn chat_url(mock: &modelgate_mock::MockHandle) -> String {
    format!("{}/v1/chat/completions", mock.base_url())
}

#[tokio::test]
async fn status_fault_uses_openai_dialect_after_latency() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        status: Some(429),
        latency_ms: 100,
        ..Behavior::default()
    });
    let start = Instant::now();
    let r = post(&chat_url(&mock), &chat_body("hi", true)).await;
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.headers["content-type"], "application/json");
    let v = r.json();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(v["error"]["message"].is_string());
    assert_eq!(v["error"]["param"], serde_json::Value::Null);

    for status in [500u16, 503, 401, 400] {
        mock.set_behavior(Behavior {
            status: Some(status),
            ..Behavior::default()
        });
        let r = post(&chat_url(&mock), &chat_body("hi", false)).await;
        assert_eq!(r.status.as_u16(), status);
        assert!(r.json()["error"]["message"].is_string());
        assert!(!r.headers.contains_key("retry-after"));
    }
    // The requests were recorded even though they failed.
    assert_eq!(mock.requests().len(), 5);
}

#[tokio::test]
async fn latency_delays_headers() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        latency_ms: 80,
        first_byte_delay_ms: 70,
        ..Behavior::default()
    });
    let start = Instant::now();
    let resp = send(
        Method::POST,
        &chat_url(&mock),
        &[],
        serde_json::to_vec(&chat_body("hi", true)).unwrap(),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn times_reverts_to_default() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        status: Some(503),
        times: Some(2),
        ..Behavior::default()
    });
    let url = chat_url(&mock);
    assert_eq!(
        post(&url, &chat_body("a", false)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post(&url, &chat_body("a", false)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post(&url, &chat_body("a", false)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post(&url, &chat_body("a", false)).await.status,
        StatusCode::OK
    );
    assert_eq!(mock.behavior(), Behavior::default());
}

#[allow(clippy::unwrap_used)]
async fn hold_then_release(use_http: bool) {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Behavior::default()
    });
    let start = Instant::now();
    let resp = send(
        Method::POST,
        &chat_url(&mock),
        &[],
        serde_json::to_vec(&chat_body("hi", true)).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let first = next_data(&mut body, Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(1));
    let first = parse_sse(std::str::from_utf8(&first).unwrap());
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].json()["choices"][0]["delta"]["role"], "assistant");

    // Held: nothing more arrives.
    let held = tokio::time::timeout(Duration::from_millis(300), body.frame()).await;
    assert!(held.is_err(), "stream should be held");

    if use_http {
        let r = call(
            Method::POST,
            &format!("{}/_mock/release", mock.base_url()),
            "",
        )
        .await;
        assert!(r.status.is_success());
    } else {
        mock.release();
    }
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    let events = parse_sse(std::str::from_utf8(&rest).unwrap());
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert_eq!(events.len(), 11);
}

#[tokio::test]
async fn hold_and_release_via_handle() {
    hold_then_release(false).await;
}

#[tokio::test]
async fn hold_and_release_via_http() {
    hold_then_release(true).await;
}

#[tokio::test]
async fn release_affects_all_held_streams() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Behavior::default()
    });
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let resp = send(
            Method::POST,
            &format!("{}/v1/messages", mock.base_url()),
            &[],
            serde_json::to_vec(&messages_body("hi", true)).unwrap(),
        )
        .await;
        let mut body = resp.into_body();
        let first = next_data(&mut body, Duration::from_secs(2))
            .await
            .unwrap()
            .unwrap();
        assert!(
            std::str::from_utf8(&first)
                .unwrap()
                .starts_with("event: message_start\n")
        );
        bodies.push(body);
    }
    mock.release();
    for body in bodies {
        let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
            .await
            .unwrap()
            .unwrap()
            .to_bytes();
        let events = parse_sse(std::str::from_utf8(&rest).unwrap());
        assert_eq!(
            events.last().unwrap().event.as_deref(),
            Some("message_stop")
        );
    }
}

#[tokio::test]
async fn reset_gives_body_error() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        reset_after_chunks: Some(3),
        ..Behavior::default()
    });
    let resp = send(
        Method::POST,
        &chat_url(&mock),
        &[],
        serde_json::to_vec(&chat_body("hi there", true)).unwrap(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let mut received = Vec::new();
    let err = loop {
        match next_data(&mut body, Duration::from_secs(5)).await {
            Some(Ok(data)) => received.extend_from_slice(&data),
            Some(Err(e)) => break e,
            None => panic!(
                "body ended cleanly after {:?}",
                String::from_utf8_lossy(&received)
            ),
        }
    };
    assert!(
        err.is_incomplete_message() || err.to_string().contains("connection"),
        "{err:?}"
    );
    let events = parse_sse(std::str::from_utf8(&received).unwrap());
    assert_eq!(events.len(), 3, "exactly the events before the reset");
    assert!(events.iter().all(|e| e.data != "[DONE]"));
}

#[tokio::test]
async fn malformed_event_then_continue() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        malformed_after_chunks: Some(2),
        ..Behavior::default()
    });
    let r = post(&chat_url(&mock), &chat_body("hi", true)).await;
    let text = r.text();
    let blocks: Vec<&str> = text.split_inclusive("\n\n").collect();
    assert_eq!(blocks[2].as_bytes(), MALFORMED_EVENT);
    assert!(serde_json::from_str::<serde_json::Value>(&blocks[2][6..]).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&blocks[1][6..]).is_ok());
    assert_eq!(blocks.last().unwrap(), &"data: [DONE]\n\n");
}

#[tokio::test]
async fn stop_listening_refuses_then_resume_works() {
    let mock = MockUpstream::start().await.unwrap();
    let url = chat_url(&mock);
    // A pooled keep-alive connection exists before the stop.
    assert_eq!(
        post(&url, &chat_body("a", false)).await.status,
        StatusCode::OK
    );

    mock.stop_listening().await;
    let err = tokio::net::TcpStream::connect(mock.addr())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let req = http::Request::post(&url)
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    assert!(fresh_client().request(req).await.is_err());
    // Stopping twice is harmless.
    mock.stop_listening().await;

    mock.resume_listening().await.unwrap();
    mock.resume_listening().await.unwrap();
    let r = post(&url, &chat_body("back", false)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .ends_with("back")
    );
}

#[tokio::test]
async fn stop_listening_lets_in_flight_stream_finish() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Behavior::default()
    });
    let resp = send(
        Method::POST,
        &chat_url(&mock),
        &[],
        serde_json::to_vec(&chat_body("hi", true)).unwrap(),
    )
    .await;
    let mut body = resp.into_body();
    next_data(&mut body, Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();
    mock.stop_listening().await;
    mock.release();
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    assert!(rest.ends_with(b"data: [DONE]\n\n"));
}

#[tokio::test]
async fn shutdown_stops_server() {
    let mock = MockUpstream::start().await.unwrap();
    let addr = mock.addr();
    assert_eq!(
        post(&chat_url(&mock), &chat_body("a", false)).await.status,
        StatusCode::OK
    );
    let start = Instant::now();
    mock.shutdown().await;
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "idle connections close at once"
    );
    let err = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn shutdown_drops_held_stream_after_grace() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        hold_after_first_chunk: true,
        ..Behavior::default()
    });
    let resp = send(
        Method::POST,
        &chat_url(&mock),
        &[],
        serde_json::to_vec(&chat_body("hi", true)).unwrap(),
    )
    .await;
    let mut body = resp.into_body();
    next_data(&mut body, Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();
    let start = Instant::now();
    mock.shutdown().await;
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let rest = tokio::time::timeout(Duration::from_secs(5), body.collect())
        .await
        .unwrap();
    assert!(rest.is_err(), "the held stream is cut, not completed");
}
