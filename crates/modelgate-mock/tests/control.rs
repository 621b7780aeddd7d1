//! The `/_mock/*` control API over HTTP and request recording.

mod common;

use common::*;
use http::{Method, StatusCode};
use modelgate_mock::{Behavior, MockUpstream, RecordedRequest};
use serde_json::{Value, json};

#[tokio::test]
async fn records_method_path_headers_and_body() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions?trace=1", mock.base_url());
    let body = serde_json::to_vec(&chat_body("hi", false)).unwrap();
    let r = call_with(
        Method::POST,
        &url,
        &[
            ("authorization", "Bearer sk-test"),
            ("x-custom", "a"),
            ("x-custom", "b"),
        ],
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let reqs = mock.requests();
    assert_eq!(reqs.len(), 1);
    let rec = &reqs[0];
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.path, "/v1/chat/completions?trace=1");
    assert_eq!(rec.header("Authorization"), Some("Bearer sk-test"));
    assert_eq!(rec.header_all("x-custom"), ["a", "b"]);
    assert_eq!(rec.header("content-type"), Some("application/json"));
    assert!(rec.header("host").is_some());
    assert_eq!(rec.body, body);
    assert_eq!(rec.body_json().unwrap()["model"], "gpt-test");

    mock.clear_requests();
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn control_api_over_http() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();

    // Install a behavior over HTTP.
    let r = call(
        Method::POST,
        &format!("{base}/_mock/behavior"),
        r#"{"status": 500, "times": 1}"#,
    )
    .await;
    assert!(r.status.is_success());
    assert_eq!(
        mock.behavior(),
        Behavior {
            status: Some(500),
            times: Some(1),
            ..Behavior::default()
        }
    );
    let r = call(Method::GET, &format!("{base}/_mock/behavior"), "").await;
    assert_eq!(r.json()["status"], 500);

    let chat = format!("{base}/v1/chat/completions");
    let r = post(&chat, &chat_body("one", false)).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json()["error"]["type"], "server_error");
    let r = call_with(Method::POST, &chat, &[("x-k", "v")], "{\"messages\":[]}").await;
    assert_eq!(r.status, StatusCode::OK);

    // Invalid behavior JSON.
    let r = call(Method::POST, &format!("{base}/_mock/behavior"), "{bad").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Requests as JSON; control requests are not recorded.
    let r = call(Method::GET, &format!("{base}/_mock/requests"), "").await;
    assert_eq!(r.status, StatusCode::OK);
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["method"], "POST");
    assert_eq!(list[0]["path"], "/v1/chat/completions");
    assert!(list[0]["body"].as_str().unwrap().contains("\"one\""));
    assert_eq!(list[1]["body"], "{\"messages\":[]}");
    let headers = list[1]["headers"].as_array().unwrap();
    assert!(headers.contains(&json!(["x-k", "v"])));
    let typed: Vec<RecordedRequest> = serde_json::from_value(Value::Array(list.clone())).unwrap();
    assert_eq!(typed, mock.requests());

    let r = call(Method::DELETE, &format!("{base}/_mock/requests"), "").await;
    assert!(r.status.is_success());
    let r = call(Method::GET, &format!("{base}/_mock/requests"), "").await;
    assert_eq!(r.json(), json!([]));
    assert!(mock.requests().is_empty());

    let r = call(Method::POST, &format!("{base}/_mock/release"), "").await;
    assert!(r.status.is_success());
    let r = call(Method::GET, &format!("{base}/_mock/nope"), "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        mock.requests().is_empty(),
        "control requests are never recorded"
    );
}

#[tokio::test]
async fn builder_without_recording() {
    let mock = MockUpstream::builder()
        .record_requests(false)
        .behavior(Behavior {
            chunks: Some(2),
            ..Behavior::default()
        })
        .start()
        .await
        .unwrap();
    let v = post(
        &format!("{}/v1/chat/completions", mock.base_url()),
        &chat_body("x", false),
    )
    .await
    .json();
    assert_eq!(v["usage"]["completion_tokens"], 2);
    assert!(mock.requests().is_empty());
}
