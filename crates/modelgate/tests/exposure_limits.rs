//! Issue 15, limits for callers and ambiguous credentials, through the live
//! gateway: a body that does not arrive within `limits.body_read_timeout`
//! ends with 408 in the caller's dialect (OpenAI, Anthropic, the OAuth
//! error shape on the token endpoint, `{error:{code,message}}` on the admin
//! API); two `Authorization` headers, or `Authorization` and `x-api-key`
//! naming different credentials, are refused with 401 and counted as
//! `ambiguous`, not resolved by taking the first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHAT: &str = "/v1/chat/completions";

/// A gateway with model `chat` on a mock upstream and `limits` lines.
async fn setup(limits: &str) -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[limits]\n{limits}\n\n{}\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "m", "")
    );
    (mock, TestGateway::start(&config).await)
}

/// `modelgate_auth_failures_total{reason="ambiguous"}`, 0 when absent.
async fn ambiguous_failures(gw: &TestGateway) -> u64 {
    let metrics = gw.metrics().await;
    metrics
        .lines()
        .find(|l| l.starts_with("modelgate_auth_failures_total{reason=\"ambiguous\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Sends `head` and the first bytes of a body it declares longer, then
/// nothing more; returns the status and the JSON body of the answer.
async fn stalled_body(gw: &TestGateway, path: &str, headers: &str, start: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\n{headers}content-length: 1000\r\n\r\n{start}",
        gw.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the JSON answer is complete (the connection may stay open).
    let text = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response).into_owned();
            let complete = text
                .split_once("\r\n\r\n")
                .is_some_and(|(_, body)| serde_json::from_str::<Value>(body).is_ok());
            if n == 0 || complete {
                return text;
            }
        }
    })
    .await
    .expect("no answer to a stalled body within 60s");
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or_else(|| panic!("no JSON body: {text:?}"));
    (status, body)
}

// ---------------------------------------------------------------------------
// Body-read timeouts
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stalled_body_times_out_with_408_in_each_dialect() {
    let (mock, gw) = setup("body_read_timeout = \"1s\"").await;
    let admin = bootstrap_admin(&gw);

    let bearer = format!(
        "authorization: Bearer {}\r\ncontent-type: application/json\r\n",
        gw.key
    );
    let (status, body) = stalled_body(&gw, CHAT, &bearer, "{\"model\":").await;
    assert_eq!(status, 408, "chat: {body}");
    assert_eq!(
        body["error"]["type"], "invalid_request_error",
        "OpenAI shape: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not received within")
    );

    let api_key = format!(
        "x-api-key: {}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n",
        gw.key
    );
    let (status, body) = stalled_body(&gw, "/v1/messages", &api_key, "{").await;
    assert_eq!(status, 408, "messages: {body}");
    assert_eq!(body["type"], "error", "Anthropic shape: {body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");

    let form = "content-type: application/x-www-form-urlencoded\r\n";
    let (status, body) = stalled_body(&gw, "/oauth2/token", form, "grant_type=").await;
    assert_eq!(status, 408, "token endpoint: {body}");
    assert_eq!(body["error"], "invalid_request", "OAuth shape: {body}");
    assert!(body["error_description"].is_string(), "{body}");

    let admin_auth = format!("authorization: Bearer {admin}\r\ncontent-type: application/json\r\n");
    let (status, body) = stalled_body(&gw, "/admin/v1/identities", &admin_auth, "{").await;
    assert_eq!(status, 408, "admin API: {body}");
    assert_eq!(body["error"]["code"], "timeout", "admin shape: {body}");

    assert!(mock.requests().is_empty(), "nothing stalled was forwarded");
    // A body that arrives in time is still served.
    assert_eq!(gw.openai(CHAT, &chat("chat", false)).await.status, 200);
}

// ---------------------------------------------------------------------------
// Ambiguous credentials
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ambiguous_credentials_are_refused_on_the_data_plane() {
    let (mock, gw) = setup("").await;
    let other = gw.new_identity("other", "service", "prod");
    let mine = format!("Bearer {}", gw.key);
    let theirs = format!("Bearer {other}");
    let body = chat("chat", false).to_string();
    let json = ("content-type", "application/json");

    // Two Authorization headers, whatever they name.
    for second in [&theirs, &mine] {
        let r = call(
            "POST",
            &gw.url(CHAT),
            &[("authorization", &mine), ("authorization", second), json],
            body.clone(),
        )
        .await;
        assert_eq!(r.status, 401, "two Authorization headers: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "invalid_api_key");
    }
    // Authorization and x-api-key naming different credentials, either
    // dialect.
    let r = call(
        "POST",
        &gw.url(CHAT),
        &[("authorization", &mine), ("x-api-key", &other), json],
        body.clone(),
    )
    .await;
    assert_eq!(
        r.status,
        401,
        "bearer and a different x-api-key: {}",
        r.text()
    );
    let r = call(
        "POST",
        &gw.url("/v1/messages"),
        &[
            ("x-api-key", &gw.key),
            ("authorization", &theirs),
            ("anthropic-version", "2023-06-01"),
            json,
        ],
        messages("chat", false).to_string(),
    )
    .await;
    assert_eq!(
        r.status,
        401,
        "x-api-key and a different bearer: {}",
        r.text()
    );
    assert_eq!(
        r.json()["error"]["type"],
        "authentication_error",
        "{}",
        r.text()
    );
    assert!(
        mock.requests().is_empty(),
        "nothing ambiguous was forwarded"
    );
    assert_eq!(ambiguous_failures(&gw).await, 4);

    // The same credential in both headers is one credential.
    let r = call(
        "POST",
        &gw.url(CHAT),
        &[("authorization", &mine), ("x-api-key", &gw.key), json],
        body,
    )
    .await;
    assert_eq!(r.status, 200, "same credential twice: {}", r.text());
}

#[tokio::test]
async fn ambiguous_credentials_are_refused_on_the_admin_api() {
    let (_mock, gw) = setup("").await;
    let admin = bootstrap_admin(&gw);
    let bearer = format!("Bearer {admin}");
    let other = format!("Bearer {}", gw.key);
    let r = call(
        "GET",
        &gw.url("/admin/v1/identities"),
        &[("authorization", &other), ("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "two Authorization headers: {}", r.text());
    assert_eq!(r.json()["error"]["code"], "unauthenticated");
    let r = call(
        "GET",
        &gw.url("/admin/v1/identities"),
        &[("authorization", &bearer), ("x-api-key", &gw.key)],
        "",
    )
    .await;
    assert_eq!(
        r.status,
        401,
        "bearer and a different x-api-key: {}",
        r.text()
    );
    let out = gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]);
    let refused = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("admin.login") && l.contains("\"ambiguous\""))
        .count();
    assert_eq!(refused, 2, "each refusal is recorded as ambiguous");
    let r = call(
        "GET",
        &gw.url("/admin/v1/identities"),
        &[("authorization", &bearer), ("x-api-key", &admin)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "same credential twice: {}", r.text());
}

#[tokio::test]
async fn ambiguous_client_authentication_is_refused_at_the_token_endpoint() {
    let (_mock, gw) = setup("").await;
    let other = gw.new_identity("other", "service", "prod");
    let basic = |key: &str| {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("app:{key}"));
        format!("Basic {encoded}")
    };
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (mine, theirs) = (basic(&gw.key), basic(&other));
    let one = call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("authorization", &mine), form],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(one.status, 200, "one client credential: {}", one.text());
    let two = call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("authorization", &mine), ("authorization", &theirs), form],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(two.status, 401, "two Authorization headers: {}", two.text());
    assert_eq!(two.json()["error"], "invalid_client");
    assert!(two.json().get("access_token").is_none());
    assert_eq!(ambiguous_failures(&gw).await, 1);
}
