//! Anthropic Messages wire format over loopback.

mod common;

use common::*;
use http::{Method, StatusCode};
use modelgate_mock::{Behavior, MockUpstream};
use serde_json::{Value, json};

#[tokio::test]
async fn messages_non_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let mut body = messages_body("what is up", false);
    body["system"] = json!("you are terse");
    let r = post(&url, &body).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-test");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Hello from the modelgate demo model. You said: what is up"}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["stop_sequence"], Value::Null);
    assert_eq!(v["usage"], json!({"input_tokens": 6, "output_tokens": 11}));
}

#[tokio::test]
async fn messages_stream_event_order() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let r = post(&url, &messages_body("what is up", true)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let events = parse_sse(&r.text());
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", 11));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    for e in &events {
        assert_eq!(
            e.json()["type"],
            e.event.as_deref().unwrap(),
            "type matches event name"
        );
    }

    let start = events[0].json();
    let msg = &start["message"];
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(msg["type"], "message");
    assert_eq!(msg["role"], "assistant");
    assert_eq!(msg["model"], "claude-test");
    assert_eq!(msg["content"], json!([]));
    assert_eq!(msg["stop_reason"], Value::Null);
    assert_eq!(msg["stop_sequence"], Value::Null);
    assert_eq!(msg["usage"], json!({"input_tokens": 3, "output_tokens": 1}));

    assert_eq!(
        events[1].json(),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    );
    assert_eq!(events[2].json(), json!({"type": "ping"}));
    assert_eq!(
        events[3].json(),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello "}})
    );
    let text: String = events[3..14]
        .iter()
        .map(|e| e.json()["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        text,
        "Hello from the modelgate demo model. You said: what is up"
    );
    assert_eq!(
        events[14].json(),
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_eq!(
        events[15].json(),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 11}})
    );
    assert_eq!(events[16].json(), json!({"type": "message_stop"}));
}

#[tokio::test]
async fn anthropic_errors_use_anthropic_dialect() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());

    let r = call(Method::POST, &url, "not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let v = r.json();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid JSON")
    );

    for (status, kind) in [
        (429, "rate_limit_error"),
        (401, "authentication_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ] {
        mock.set_behavior(Behavior {
            status: Some(status),
            ..Behavior::default()
        });
        let r = post(&url, &messages_body("x", true)).await;
        assert_eq!(r.status.as_u16(), status);
        assert_eq!(r.headers["content-type"], "application/json");
        let v = r.json();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], kind);
        assert!(v["error"]["message"].is_string());
        assert_eq!(r.headers.contains_key("retry-after"), status == 429);
    }
}

#[tokio::test]
async fn count_tokens() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages/count_tokens", mock.base_url());
    let v = post(&url, &messages_body("one two three", false))
        .await
        .json();
    assert_eq!(v, json!({"input_tokens": 3}));
}
