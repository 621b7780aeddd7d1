//! Bad input gets a clear 4xx in the caller's dialect; the gateway stays up
//! and serves the next request; nothing bad reaches the upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn setup() -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[limits]\nmax_body_bytes = 65536\nmax_headers = 32\nmax_header_bytes = 8192\n\n{}\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}, {{ upstream = \"m-anthropic\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "m", "")
    );
    (mock, TestGateway::start(&config).await)
}

async fn raw(gw: &TestGateway, path: &str, body: Vec<u8>, extra: &[(&str, String)]) -> Reply {
    let auth = format!("Bearer {}", gw.key);
    let mut headers: Vec<(&str, &str)> = vec![("authorization", &auth), ("x-api-key", &gw.key)];
    for (n, v) in extra {
        headers.push((n, v));
    }
    call("POST", &gw.url(path), &headers, body).await
}

#[tokio::test]
async fn malformed_bodies_get_400_in_dialect() {
    let (mock, gw) = setup().await;
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("/v1/chat/completions", b"{not json".to_vec(), None),
        ("/v1/chat/completions", b"".to_vec(), None),
        ("/v1/chat/completions", b"[1,2]".to_vec(), None),
        (
            "/v1/chat/completions",
            br#"{"messages":[]}"#.to_vec(),
            Some("model"),
        ),
        (
            "/v1/chat/completions",
            br#"{"model":42,"messages":[]}"#.to_vec(),
            Some("model"),
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"chat","messages":{}}"#.to_vec(),
            Some("messages"),
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"chat","messages":[],"stream":"yes"}"#.to_vec(),
            Some("stream"),
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"chat","messages":[],"max_tokens":"9"}"#.to_vec(),
            Some("max_tokens"),
        ),
        (
            "/v1/chat/completions",
            b"{\"model\":\"chat\",\"messages\":[{\"content\":\"\xff\xfe\"}]}".to_vec(),
            None,
        ),
        (
            "/v1/chat/completions",
            br#"{"model":"a","model":"chat","messages":[]}"#.to_vec(),
            None,
        ),
        (
            "/v1/embeddings",
            br#"{"model":"chat","input":5}"#.to_vec(),
            Some("input"),
        ),
        (
            "/v1/messages",
            br#"{"model":"chat","messages":[]}"#.to_vec(),
            Some("max_tokens"),
        ),
        ("/v1/messages", b"\x00\x01\x02".to_vec(), None),
    ];
    for (path, body, param) in cases {
        let r = raw(&gw, path, body.clone(), &[]).await;
        assert_eq!(
            r.status,
            400,
            "{path} {:?}: {}",
            String::from_utf8_lossy(&body),
            r.text()
        );
        let v = r.json();
        if path == "/v1/messages" {
            assert_eq!(v["type"], "error");
            assert_eq!(v["error"]["type"], "invalid_request_error");
        } else {
            assert_eq!(v["error"]["type"], "invalid_request_error");
            if let Some(param) = param {
                assert_eq!(v["error"]["param"], param);
            }
        }
    }
    assert!(mock.requests().is_empty(), "nothing invalid was forwarded");
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn oversized_body_gets_413_declared_or_not() {
    let (mock, gw) = setup().await;
    let big = format!(
        "{{\"model\":\"chat\",\"messages\":[{{\"role\":\"user\",\"content\":\"{}\"}}]}}",
        "a".repeat(70_000)
    );
    let r = raw(&gw, "/v1/chat/completions", big.clone().into_bytes(), &[]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");
    let r = raw(&gw, "/v1/messages", big.into_bytes(), &[]).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["type"], "request_too_large");

    // Chunked (no content-length) over the limit, over a raw socket.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ntransfer-encoding: chunked\r\n\r\n",
        gw.key
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..20 {
        let chunk = vec![b'a'; 8192];
        let _ = s
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await;
        let _ = s.write_all(&chunk).await;
        let _ = s.write_all(b"\r\n").await;
    }
    let mut reply = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut reply))
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&reply[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&reply[..n])
    );
    assert!(mock.requests().is_empty());
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn absurd_headers_are_refused() {
    let (mock, gw) = setup().await;
    // Too many headers: 431 in dialect.
    let many: Vec<(String, String)> = (0..40)
        .map(|i| (format!("x-h-{i}"), "v".to_owned()))
        .collect();
    let extra: Vec<(&str, String)> = many.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    let r = raw(
        &gw,
        "/v1/messages",
        messages("chat", false).to_string().into_bytes(),
        &extra,
    )
    .await;
    assert_eq!(r.status, 431);
    assert_eq!(r.json()["type"], "error");
    // One header over the configured byte limit: 431 in dialect.
    let r = raw(
        &gw,
        "/v1/chat/completions",
        chat("chat", false).to_string().into_bytes(),
        &[("x-big", "b".repeat(9_000))],
    )
    .await;
    assert_eq!(r.status, 431);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("headers")
    );
    // Beyond the hard ceiling hyper refuses before any parsing.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\nx-huge: {}\r\n\r\n",
        "h".repeat(100_000)
    );
    let _ = s.write_all(head.as_bytes()).await;
    let mut reply = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut reply))
        .await
        .unwrap()
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&reply[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 431"), "{text}");
    // Garbage instead of HTTP.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let _ = s
        .write_all(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n")
        .await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut reply)).await;
    // Non-visible bytes in the credential header.
    let r = call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[("authorization", "Bearer caf\u{e9}")],
        chat("chat", false).to_string(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(mock.requests().is_empty());
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn unknown_paths_methods_and_models() {
    let (_mock, gw) = setup().await;
    let r = call("GET", &gw.url("/v1/nope"), &[], "").await;
    assert_eq!(r.status, 404);
    assert!(r.json()["error"]["message"].is_string());
    let r = call("GET", &gw.url("/v1/chat/completions"), &[], "").await;
    assert_eq!(r.status, 405);
    let r = gw
        .openai("/v1/chat/completions", &chat("no-such-model", false))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    let r = gw.anthropic(&messages("no-such-model", false)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["type"], "not_found_error");
    let mut gw = gw;
    assert!(gw.alive());
}
