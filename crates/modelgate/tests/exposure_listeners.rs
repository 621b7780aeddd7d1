//! Issue 15, listeners, through the live gateway: `/metrics` only on
//! `[server] metrics_listen`, `/admin/v1` only on `admin_listen` when it is
//! set (and on the main listener when not), the token endpoint and the
//! model APIs on the main listener; `config check` refuses metrics on the
//! public listener; the connection caps (`max_connections`,
//! `max_connections_per_source`) close connections over them at once and
//! count them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const MODELS: &str =
    "[[models]]\nname = \"chat\"\ntargets = [{ upstream = \"m-openai\", model = \"demo-chat\" }]\n";

/// A gateway with model `chat` on a mock upstream and `server` lines.
async fn setup(server: &str) -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let body = format!("{}\n{MODELS}", upstreams_on(&mock, "m", ""));
    (mock, TestGateway::start_with_server(server, &body).await)
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// Asserts that `path` on `addr` is an unknown path (404, an error in
/// JSON).
async fn assert_unknown(method: &str, addr: SocketAddr, path: &str) {
    let r = call(method, &url(addr, path), &[], "").await;
    assert_eq!(r.status, 404, "{method} {path} on {addr}: {}", r.text());
    assert!(r.json()["error"].is_object(), "{}", r.text());
}

#[tokio::test]
async fn metrics_are_served_only_on_the_metrics_listener() {
    let (_mock, gw) = setup("").await;
    let metrics = gw.metrics_addr.expect("a metrics listener");
    assert_ne!(metrics, gw.addr);
    assert_unknown("GET", gw.addr, "/metrics").await;
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call("GET", &gw.metrics_url(), &[], "").await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = r.text();
    assert!(
        text.contains("modelgate_requests_total{operation=\"chat\""),
        "{text}"
    );
    assert!(
        text.contains("modelgate_connections_open{listener=\"main\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "modelgate_connections_refused_total{listener=\"main\",reason=\"max_connections\"} 0"
        ),
        "{text}"
    );
    // The metrics listener serves nothing else.
    for path in [
        "/healthz",
        "/readyz",
        "/v1/models",
        "/.well-known/jwks.json",
    ] {
        assert_unknown("GET", metrics, path).await;
    }
    assert_unknown("POST", metrics, "/v1/chat/completions").await;
    assert_unknown("POST", metrics, "/oauth2/token").await;
    assert_unknown("GET", metrics, "/admin/v1/identities").await;
}

#[tokio::test]
async fn admin_is_served_only_on_admin_listen_when_set() {
    let (_mock, gw) = setup("admin_listen = \"127.0.0.1:0\"\n").await;
    let admin = gw.admin_addr.expect("an admin listener");
    assert_ne!(admin, gw.addr);
    let key = bootstrap_admin(&gw);
    let auth = format!("Bearer {key}");
    let headers = [("authorization", auth.as_str())];
    let r = call("GET", &url(admin, "/admin/v1/identities"), &headers, "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The main listener answers the admin API as an unknown path, even with
    // an admin's key.
    let r = call("GET", &url(gw.addr, "/admin/v1/identities"), &headers, "").await;
    assert_eq!(r.status, 404, "{}", r.text());
    // The model APIs, the token endpoint, the issuer's documents and the
    // health endpoints stay on the main listener...
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let bearer = format!("Bearer {}", gw.key);
    let r = call(
        "GET",
        &gw.url("/v1/models"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    for path in ["/healthz", "/readyz", "/.well-known/jwks.json"] {
        let r = call("GET", &gw.url(path), &[], "").await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let r = call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        "grant_type=client_credentials",
    )
    .await;
    assert_ne!(r.status, 404, "the token endpoint is on main: {}", r.text());
    // ...and not on the admin listener.
    assert_unknown("POST", admin, "/v1/chat/completions").await;
    assert_unknown("POST", admin, "/oauth2/token").await;
    assert_unknown("GET", admin, "/metrics").await;
}

#[tokio::test]
async fn admin_stays_on_the_main_listener_when_admin_listen_is_unset() {
    let (_mock, gw) = setup("").await;
    assert_eq!(gw.admin_addr, None);
    let key = bootstrap_admin(&gw);
    let auth = format!("Bearer {key}");
    let r = call(
        "GET",
        &gw.url("/admin/v1/identities"),
        &[("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_unknown("GET", gw.metrics_addr.unwrap(), "/admin/v1/identities").await;
}

#[tokio::test]
async fn metrics_listen_off_serves_no_metrics() {
    let (_mock, gw) = setup("metrics_listen = \"off\"\n").await;
    assert_eq!(gw.metrics_addr, None);
    assert_unknown("GET", gw.addr, "/metrics").await;
}

/// Writes a configuration with `server` lines in `[server]`.
fn config_with(dir: &tempfile::TempDir, name: &str, server: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    let text = format!(
        "{}{TOKENS_SECTION}\n[server]\n{server}",
        store_section(dir.path(), "db")
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_check_validates_the_listener_addresses_and_caps() {
    let dir = tempfile::tempdir().unwrap();
    let refused = [
        (
            "listen = \"127.0.0.1:8181\"\nmetrics_listen = \"127.0.0.1:8181\"\n",
            "server.metrics_listen",
            "off the public listener",
        ),
        (
            "metrics_listen = \"nonsense\"\n",
            "metrics_listen",
            "\"off\"",
        ),
        (
            "admin_listen = \"127.0.0.1:9100\"\nmetrics_listen = \"127.0.0.1:9100\"\n",
            "server.metrics_listen",
            "admin_listen",
        ),
        (
            "max_connections = 0\n",
            "server.max_connections",
            "greater than zero",
        ),
        (
            "max_connections = 10\nmax_connections_per_source = 11\n",
            "server.max_connections_per_source",
            "above server.max_connections",
        ),
    ];
    for (i, (server, field, reason)) in refused.into_iter().enumerate() {
        let config = config_with(&dir, &format!("bad{i}.toml"), server);
        for args in [vec!["config", "check"], vec!["serve"]] {
            let out = cli_at(&config, &args);
            assert!(!out.status.success(), "{server} {args:?}");
            let err = stderr(&out);
            assert!(
                err.contains(field) && err.contains(reason),
                "{server} {args:?}: {err}"
            );
        }
    }
    let accepted = [
        // The same address for the admin API: the main listener serves it.
        "listen = \"127.0.0.1:8181\"\nadmin_listen = \"127.0.0.1:8181\"\n",
        "metrics_listen = \"off\"\n",
        "listen = \"0.0.0.0:8080\"\nmetrics_listen = \"127.0.0.1:9464\"\nadmin_listen = \"127.0.0.1:9465\"\n",
        "max_connections = 10\nmax_connections_per_source = 10\n",
    ];
    for (i, server) in accepted.into_iter().enumerate() {
        let config = config_with(&dir, &format!("good{i}.toml"), server);
        let out = cli_at(&config, &["config", "check"]);
        assert!(out.status.success(), "{server}: {}", stderr(&out));
    }
}

#[test]
fn a_taken_metrics_address_stops_start_up_and_says_which_field() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = config_with(
        &dir,
        "taken.toml",
        &format!("listen = \"127.0.0.1:0\"\nmetrics_listen = \"{addr}\"\n"),
    );
    let out = cli_at(&config, &["serve"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("server.metrics_listen"),
        "{err}"
    );
}

#[tokio::test]
async fn dev_mode_serves_metrics_on_a_free_port_when_9464_is_taken() {
    // Hold 9464 (unless something else already does: taken either way).
    let _held = std::net::TcpListener::bind("127.0.0.1:9464");
    let mut child = Command::new(binary())
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let first = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(first.starts_with("listening on http://"), "{first}");
    let second = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let metrics: SocketAddr = second
        .strip_prefix("metrics on http://")
        .unwrap_or_else(|| panic!("{second}"))
        .parse()
        .unwrap();
    assert_ne!(metrics.port(), 9464);
    let r = call("GET", &url(metrics, "/metrics"), &[], "").await;
    assert_eq!(r.status, 200);
    let _ = child.kill();
    let _ = child.wait();
}

/// A connection to `to` from the loopback address `source`.
async fn connect_from(source: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends `GET path` on `stream` (kept alive unless `close`); the status
/// and body, or `None` when the gateway closed the connection without
/// answering.
async fn get_on(stream: &mut TcpStream, path: &str, close: bool) -> Option<(u16, String)> {
    let connection = if close { "connection: close\r\n" } else { "" };
    let request = format!("GET {path} HTTP/1.1\r\nhost: gw\r\n{connection}\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            response.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&response).into_owned();
            let (head, body) = text.split_once("\r\n\r\n")?;
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                let status = head.split(' ').nth(1)?.parse().ok()?;
                return Some((status, body.to_owned()));
            }
        }
    })
    .await
    .expect("an answer or a close within 10 s")
}

/// The value of the metric line that starts with `series`, read on a
/// connection of its own that is closed after (so reading it takes no
/// lasting place under the metrics listener's cap).
async fn metric(gw: &TestGateway, series: &str) -> u64 {
    let mut stream = TcpStream::connect(gw.metrics_addr.unwrap()).await.unwrap();
    let (status, text) = get_on(&mut stream, "/metrics", true).await.unwrap();
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

const OPEN_MAIN: &str = "modelgate_connections_open{listener=\"main\"}";
const REFUSED_MAIN: &str =
    "modelgate_connections_refused_total{listener=\"main\",reason=\"max_connections\"}";
const REFUSED_SOURCE: &str =
    "modelgate_connections_refused_total{listener=\"main\",reason=\"max_connections_per_source\"}";

#[tokio::test]
async fn at_max_connections_new_connections_are_closed_until_one_ends() {
    let (_mock, gw) = setup("max_connections = 4\n").await;
    let mut open = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(gw.addr).await.unwrap();
        let answer = get_on(&mut stream, "/healthz", false).await;
        assert_eq!(answer.map(|(status, _)| status), Some(200));
        open.push(stream);
    }
    assert_eq!(metric(&gw, OPEN_MAIN).await, 4);
    // The fifth is closed without an answer, and counted.
    let mut fifth = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(get_on(&mut fifth, "/healthz", false).await, None);
    assert_eq!(metric(&gw, REFUSED_MAIN).await, 1);
    // The four still work.
    for stream in &mut open {
        let answer = get_on(stream, "/healthz", false).await;
        assert_eq!(answer.map(|(status, _)| status), Some(200));
    }
    // One ends; a new connection is served.
    drop(open.pop());
    let freed = eventually(100, Duration::from_millis(50), || async {
        metric(&gw, OPEN_MAIN).await == 3
    })
    .await;
    assert!(freed, "the closed connection still counts");
    let mut next = TcpStream::connect(gw.addr).await.unwrap();
    let answer = get_on(&mut next, "/healthz", false).await;
    assert_eq!(answer.map(|(status, _)| status), Some(200));
    assert_eq!(metric(&gw, REFUSED_MAIN).await, 1);
    assert!(
        gw.logs().contains("listener at max_connections"),
        "{}",
        gw.logs()
    );
}

#[tokio::test]
async fn one_source_cannot_take_the_whole_cap() {
    let (_mock, gw) = setup("max_connections = 8\nmax_connections_per_source = 2\n").await;
    let mut from_b = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from([127, 0, 0, 2], gw.addr).await;
        let answer = get_on(&mut stream, "/healthz", false).await;
        assert_eq!(answer.map(|(status, _)| status), Some(200));
        from_b.push(stream);
    }
    let mut third = connect_from([127, 0, 0, 2], gw.addr).await;
    assert_eq!(get_on(&mut third, "/healthz", false).await, None);
    assert_eq!(metric(&gw, REFUSED_SOURCE).await, 1);
    assert_eq!(metric(&gw, REFUSED_MAIN).await, 0);
    // Another source still gets in.
    let mut from_a = connect_from([127, 0, 0, 1], gw.addr).await;
    let answer = get_on(&mut from_a, "/healthz", false).await;
    assert_eq!(answer.map(|(status, _)| status), Some(200));
    // When one of the source's connections ends, it may open another.
    drop(from_b.pop());
    let freed = eventually(100, Duration::from_millis(50), || async {
        metric(&gw, OPEN_MAIN).await == 2
    })
    .await;
    assert!(freed);
    let mut again = connect_from([127, 0, 0, 2], gw.addr).await;
    let answer = get_on(&mut again, "/healthz", false).await;
    assert_eq!(answer.map(|(status, _)| status), Some(200));
}
