//! The one test harness: spawns the real `modelgate` binary against an
//! in-process mock upstream, provisions an identity and key through the
//! real CLI, and offers a small HTTP client.
#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub mod admin;
mod builder;
pub mod issuer;
pub mod kek;
pub mod pki;
pub mod posture;
pub mod replicas;
mod spawn;
pub mod store;
pub mod tls;
pub mod tokens;

pub use builder::GatewayBuilder;
use spawn::spawn_gateway;
pub use store::{TestStore, on_postgres, store_section};

pub use modelgate_mock::{Behavior, MockHandle, MockUpstream};

/// A CLI run's standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CLI run's standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The standard output of a CLI run that must have succeeded (its standard
/// error is the failure message otherwise).
pub fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Polls `check` up to `attempts` times, `pause` apart, until it holds;
/// whether it did. For effects that land a moment later (a cache reload,
/// the housekeeping pass).
pub async fn eventually<F, Fut>(attempts: usize, pause: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..attempts {
        if check().await {
            return true;
        }
        tokio::time::sleep(pause).await;
    }
    false
}

/// The path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_modelgate")
}

/// A canary upstream credential; must never reach a caller or a log.
pub const UPSTREAM_CANARY: &str = "sk-upstream-CANARY-7f3a9c1e5b";

/// The key-encryption key of test gateways (32 bytes, base64; test only).
pub const TEST_KEK: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Config lines every test gateway needs besides its body.
pub const TOKENS_SECTION: &str = "[tokens]\nkek = \"env:MG_TEST_KEK\"\n";

/// Upstream section for one OpenAI-kind and one Anthropic-kind upstream on
/// `mock`, named `{prefix}-openai` and `{prefix}-anthropic`.
pub fn upstreams_on(mock: &MockHandle, prefix: &str, extra: &str) -> String {
    let base = mock.base_url();
    format!(
        r#"
[[upstreams]]
name = "{prefix}-openai"
kind = "openai"
base_url = "{base}/v1"
credential = "env:MG_TEST_UPSTREAM_KEY"
deployment = "self_hosted"
region = "local"
isolation = "technical"
{extra}

[[upstreams]]
name = "{prefix}-anthropic"
kind = "anthropic"
base_url = "{base}"
credential = "env:MG_TEST_UPSTREAM_KEY"
deployment = "self_hosted"
region = "local"
isolation = "technical"
{extra}
"#
    )
}

/// A running gateway process.
pub struct TestGateway {
    child: Child,
    pub addr: SocketAddr,
    /// The metrics listener's address (`None` with `metrics_listen = "off"`).
    pub metrics_addr: Option<SocketAddr>,
    /// The admin listener's address, when `admin_listen` gives it one.
    pub admin_addr: Option<SocketAddr>,
    pub key: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The store its configuration names (a fresh PostgreSQL database
    /// under `MODELGATE_TEST_BACKEND=postgres`, else `dir/modelgate.db`).
    pub store: TestStore,
    logs: Arc<Mutex<String>>,
    /// The open-file limit the process runs under, if the test set one.
    open_files: Option<u64>,
}

impl TestGateway {
    /// Starts a gateway whose config is `body` (upstreams, models, limits...)
    /// plus a temp store, with identity `app` (environment `prod`) and a key.
    pub async fn start(body: &str) -> TestGateway {
        Self::start_with_server("", body).await
    }

    /// Like [`TestGateway::start`], with `server` (TOML lines) added to the
    /// `[server]` table, which otherwise holds a free-port `listen`, a
    /// free-port `metrics_listen` and short shutdown and housekeeping times.
    pub async fn start_with_server(server: &str, body: &str) -> TestGateway {
        Self::start_full(server, body, None).await
    }

    /// Like [`TestGateway::start_with_server`], the process started under
    /// `ulimit -n open_files` (soft and hard limit), so a test can run it
    /// out of file descriptors.
    pub async fn start_with_open_files(server: &str, body: &str, open_files: u64) -> TestGateway {
        Self::start_full(server, body, Some(open_files)).await
    }

    /// A gateway with more to say than [`TestGateway::start`]'s arguments
    /// (the store backend whatever the switch says).
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    async fn start_full(server: &str, body: &str, open_files: Option<u64>) -> TestGateway {
        let mut builder = GatewayBuilder::default().server(server);
        if let Some(limit) = open_files {
            builder = builder.open_files(limit);
        }
        builder.start(body).await
    }
}

impl TestGateway {
    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The metrics listener's `/metrics`.
    pub fn metrics_url(&self) -> String {
        let addr = self.metrics_addr.expect("the gateway serves metrics");
        format!("http://{addr}/metrics")
    }

    /// The metrics exposition, read from the metrics listener.
    pub async fn metrics(&self) -> String {
        let r = call("GET", &self.metrics_url(), &[], "").await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// `path` on the listener that serves the admin API.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr.unwrap_or(self.addr))
    }

    /// Everything the gateway has logged so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// Runs a CLI command against this gateway's config and store.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli_at(&self.config, args)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Creates identity `name` through the CLI (owner
    /// `team@example.com`) and returns a fresh one-hour key for it.
    pub fn new_identity(&self, name: &str, kind: &str, environment: &str) -> String {
        let out = self.cli(&[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            kind,
            "--owner",
            "team@example.com",
            "--environment",
            environment,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = self.cli(&[
            "key",
            "create",
            "--identity",
            name,
            "--expires-in",
            "1h",
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let issued: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        issued["key"].as_str().unwrap().to_owned()
    }

    /// The gateway's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the gateway with SIGKILL: no shutdown, no final checkpoint.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the gateway with SIGTERM and waits for its clean exit.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    /// Starts the gateway again on the same config and store (after
    /// `kill9` or `terminate`); it listens on a new port.
    pub fn restart(&mut self) {
        let started = spawn_gateway(&self.config, self.open_files);
        self.child = started.child;
        self.addr = started.addr;
        self.metrics_addr = started.metrics;
        self.admin_addr = started.admin;
        self.logs = started.logs;
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines `child` prints on its piped stdout, read on a thread of their
/// own (so a test can wait for one with a timeout).
pub fn stdout_lines(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Runs the CLI with `--config path`.
pub fn cli_at(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
        .env("MG_TEST_KEK", TEST_KEK)
        .output()
        .unwrap()
}

/// A plain HTTP/1 client.
pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A finished response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends a request and returns the response head with its live body.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> http::Response<Incoming> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(Full::new(body.into())).unwrap();
    tokio::time::timeout(Duration::from_secs(30), client().request(request))
        .await
        .expect("request timed out")
        .expect("request failed")
}

/// Sends a request and reads the whole response.
pub async fn call(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let response = send(method, url, headers, body).await;
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(30), body.collect())
        .await
        .expect("body timed out")
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

impl TestGateway {
    /// POST JSON with the OpenAI-style bearer key.
    pub async fn openai(&self, path: &str, body: &serde_json::Value) -> Reply {
        let auth = format!("Bearer {}", self.key);
        call(
            "POST",
            &self.url(path),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await
    }

    /// POST JSON with the Anthropic-style `x-api-key`.
    pub async fn anthropic(&self, body: &serde_json::Value) -> Reply {
        call(
            "POST",
            &self.url("/v1/messages"),
            &[
                ("x-api-key", &self.key),
                ("anthropic-version", "2023-06-01"),
                ("content-type", "application/json"),
            ],
            body.to_string(),
        )
        .await
    }
}

/// A chat request body.
pub fn chat(model: &str, stream: bool) -> serde_json::Value {
    serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": stream,
    })
}

/// A Messages request body.
pub fn messages(model: &str, stream: bool) -> serde_json::Value {
    serde_json::json!({
        "model": model,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": stream,
    })
}

/// Creates the first admin through the CLI; returns its key.
pub fn bootstrap_admin(gw: &TestGateway) -> String {
    let out = gw.cli(&["admin", "bootstrap"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("key:"))
        .unwrap()
        .trim()
        .to_owned()
}

pub async fn admin_call(
    gw: &TestGateway,
    key: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Reply {
    let auth = format!("Bearer {key}");
    call(
        method,
        &gw.admin_url(path),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_owned(),
    )
    .await
}
