//! Issue 15, memory amplification: a request body sent one byte per TCP
//! segment must not cost the gateway kilobytes per byte. 100 connections
//! each trickle an 8 KiB body, one byte per write (`TCP_NODELAY`, a flush
//! per byte), to a chat endpoint (authenticated) and to `/oauth2/token`
//! (unauthenticated); the gateway's resident memory stays within 50 MB of
//! where it started, at its peak and afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections trickling a body at the same time.
const CONNECTIONS: usize = 100;
/// Bytes of each body.
const BODY_BYTES: usize = 8 * 1024;
/// How much the gateway's resident memory may grow (bytes).
const ALLOWED_GROWTH: u64 = 50 * 1024 * 1024;

/// The gateway's resident set size in bytes, from `/proc/<pid>/status`.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib * 1024
}

/// A gateway with one model, `chat`, on a mock upstream, no time limit on
/// body reads that the trickle could reach, and no failed-authentication
/// budget (every trickled body must be read, not refused unread).
async fn setup() -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "[limits]\nbody_read_timeout = \"10m\"\nfailed_auth_per_source = {{ burst = 0, per_minute = 1 }}\n\n{}\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "m", "")
    );
    // SQLite only: these tests measure the HTTP layer's memory, and on
    // PostgreSQL beside the whole suite on two cores the trickled chats
    // were refused (503) before memory was measured (issue 17's note).
    (
        mock,
        TestGateway::builder().sqlite_only().start(&config).await,
    )
}

/// A chat body of exactly `BODY_BYTES` bytes.
fn chat_body() -> Vec<u8> {
    let head = r#"{"model":"chat","messages":[{"role":"user","content":""#;
    let tail = r#""}]}"#;
    let pad = BODY_BYTES - head.len() - tail.len();
    format!("{head}{}{tail}", "a".repeat(pad)).into_bytes()
}

/// A `client_credentials` form of exactly `BODY_BYTES` bytes with a
/// secret that names no key.
fn token_form() -> Vec<u8> {
    let head = "grant_type=client_credentials&client_secret=mgk_not_a_key&pad=";
    format!("{head}{}", "a".repeat(BODY_BYTES - head.len())).into_bytes()
}

/// Sends `head` at once, then `body` one byte per write with a flush and a
/// pause after each; returns the response's status code.
async fn trickle(addr: std::net::SocketAddr, head: String, body: Arc<Vec<u8>>) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    for byte in body.iter() {
        stream.write_all(std::slice::from_ref(byte)).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"))
}

/// Runs `CONNECTIONS` trickles of `body` to `path` with `headers` at once;
/// returns the statuses and the largest growth of the gateway's RSS seen
/// while they ran, and its growth once they finished (bytes).
async fn trickle_all(
    gw: &TestGateway,
    path: &str,
    headers: &str,
    body: Vec<u8>,
) -> (Vec<u16>, u64, u64) {
    let pid = gw.pid();
    let before = rss(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        gw.addr,
        body.len()
    );
    let body = Arc::new(body);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(trickle(gw.addr, head.clone(), body.clone())))
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    sampler.abort();
    let after = rss(pid);
    let peak = peak.load(Ordering::Relaxed).max(after);
    (
        statuses,
        peak.saturating_sub(before),
        after.saturating_sub(before),
    )
}

/// Warms the path up with one ordinary request, so lazily built state is
/// not counted as growth.
async fn warm_up(gw: &TestGateway) {
    let reply = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        "grant_type=client_credentials&client_secret=mgk_not_a_key",
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_segments_to_chat_do_not_amplify_memory() {
    let (mock, gw) = setup().await;
    warm_up(&gw).await;
    let headers = format!(
        "authorization: Bearer {}\r\ncontent-type: application/json\r\n",
        gw.key
    );
    let (statuses, peak, after) =
        trickle_all(&gw, "/v1/chat/completions", &headers, chat_body()).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every trickled chat is answered: {statuses:?}"
    );
    assert_eq!(mock.requests().len(), CONNECTIONS + 1);
    assert!(
        peak < ALLOWED_GROWTH && after < ALLOWED_GROWTH,
        "{CONNECTIONS} x {BODY_BYTES}-byte chat bodies sent one byte per segment grew the \
         gateway's RSS by {} MB at peak and {} MB afterwards (allowed: 50 MB)",
        peak / (1024 * 1024),
        after / (1024 * 1024)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_byte_segments_to_token_endpoint_do_not_amplify_memory() {
    let (_mock, gw) = setup().await;
    warm_up(&gw).await;
    let headers = "content-type: application/x-www-form-urlencoded\r\n";
    let (statuses, peak, after) = trickle_all(&gw, "/oauth2/token", headers, token_form()).await;
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every trickled form is read and refused as an unknown client: {statuses:?}"
    );
    assert!(
        peak < ALLOWED_GROWTH && after < ALLOWED_GROWTH,
        "{CONNECTIONS} x {BODY_BYTES}-byte token forms sent one byte per segment grew the \
         gateway's RSS by {} MB at peak and {} MB afterwards (allowed: 50 MB)",
        peak / (1024 * 1024),
        after / (1024 * 1024)
    );
}
