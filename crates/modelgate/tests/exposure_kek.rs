//! KEK rotation through the live gateway and the CLI: `modelgate kek
//! rotate` re-seals every key under the new KEK while callers keep working,
//! the old KEK opens nothing afterwards, and no KEK is ever printed, logged
//! or recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::kek::{OLD_KEK_LINE, sealed_values};
use common::tokens::{AT_TYPE, EXCHANGE, JWT_TYPE, form, header_of, now, world};
use common::{TEST_KEK, binary, chat, cli_at, client, ok, stderr, stdout};
use http_body_util::{BodyExt, Full};
use modelgate_identity::KeyEncryptionKey;
use serde_json::Value;

/// The `[tokens]` lines of the world's gateway: a short state sync.
const SYNC: &str = "sync_interval = \"200ms\"\nmax_staleness = \"5s\"\n";

/// One request's status and body, or why it could not be made.
async fn request(
    method: &str,
    url: &str,
    auth: Option<&str>,
    form_body: Option<String>,
) -> Result<(u16, Value), String> {
    let mut builder = http::Request::builder().method(method).uri(url);
    let body = match form_body {
        Some(body) => {
            builder = builder.header("content-type", "application/x-www-form-urlencoded");
            body
        }
        None => {
            builder = builder.header("content-type", "application/json");
            chat("chat", false).to_string()
        }
    };
    if let Some(auth) = auth {
        builder = builder.header("authorization", format!("Bearer {auth}"));
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(10), client().request(request))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// What the traffic task saw.
#[derive(Default, Debug)]
struct Traffic {
    succeeded: usize,
    exchanges: usize,
    failures: Vec<String>,
}

impl Traffic {
    /// Records one call; the access token it returned, if any.
    fn record(&mut self, what: &str, result: Result<(u16, Value), String>) -> Option<String> {
        match result {
            Ok((200, body)) => {
                self.succeeded += 1;
                body["access_token"].as_str().map(str::to_owned)
            }
            Ok((status, body)) => {
                self.failures.push(format!("{what}: {status} {body}"));
                None
            }
            Err(err) => {
                self.failures.push(format!("{what}: {err}"));
                None
            }
        }
    }
}

/// Calls the gateway at `base` until `stop`: a chat with the API key, a
/// `client_credentials` token and a chat with it, a re-exchange of that
/// token and a chat with the new one, and a workload-JWT exchange.
async fn traffic(
    base: String,
    api_key: String,
    jwts: Vec<String>,
    stop: Arc<AtomicBool>,
) -> Traffic {
    let mut seen = Traffic::default();
    let mut jwts = jwts.into_iter();
    let chat_url = format!("{base}/v1/chat/completions");
    let token_url = format!("{base}/oauth2/token");
    while !stop.load(Ordering::SeqCst) {
        let r = request("POST", &chat_url, Some(&api_key), None).await;
        seen.record("chat with the API key", r);
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &api_key),
        ]);
        let r = request("POST", &token_url, None, Some(body)).await;
        if let Some(token) = seen.record("client_credentials", r) {
            let r = request("POST", &chat_url, Some(&token), None).await;
            seen.record("chat with an access token", r);
            let body = form(&[
                ("grant_type", EXCHANGE),
                ("subject_token", &token),
                ("subject_token_type", AT_TYPE),
            ]);
            let r = request("POST", &token_url, None, Some(body)).await;
            if let Some(again) = seen.record("re-exchange", r) {
                seen.exchanges += 1;
                let r = request("POST", &chat_url, Some(&again), None).await;
                seen.record("chat with a re-exchanged token", r);
            }
        }
        if let Some(jwt) = jwts.next() {
            let body = form(&[
                ("grant_type", EXCHANGE),
                ("subject_token", &jwt),
                ("subject_token_type", JWT_TYPE),
            ]);
            let r = request("POST", &token_url, None, Some(body)).await;
            if let Some(token) = seen.record("workload exchange", r) {
                seen.exchanges += 1;
                let r = request("POST", &chat_url, Some(&token), None).await;
                seen.record("chat with an exchanged token", r);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen
}

/// `kek rotate --format json`, which must succeed.
fn rotate(config: &Path) -> Value {
    serde_json::from_str(&ok(cli_at(config, &["kek", "rotate", "--format", "json"]))).unwrap()
}

fn resealed_total(summary: &Value) -> u64 {
    summary["resealed"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// Starts `modelgate serve` on `config`, which must exit with a failure
/// within 30 s; returns what it printed.
fn serve_must_refuse(config: &Path) -> String {
    let mut child = Command::new(binary())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("MG_TEST_KEK", TEST_KEK)
        .env("MG_TEST_UPSTREAM_KEY", common::UPSTREAM_CANARY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("a gateway with only the old KEK kept running");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "a gateway with only the old KEK must not start"
    );
    format!("{}{}", stdout(&out), stderr(&out))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kek_rotate_under_traffic_fails_no_request_and_leaves_the_old_kek_opening_nothing() {
    let mut w = world(SYNC).await;
    let config = w.gw.config.clone();
    let db = w.gw.store.clone();
    let mut printed = String::new();
    let run = |printed: &mut String, args: &[&str]| {
        let out = cli_at(&config, args);
        *printed += &format!("{}{}", stdout(&out), stderr(&out));
        out
    };

    // Under the old KEK: the gateway serves, and a second signing key
    // exists (one active, one previous) so both states are re-sealed.
    let jwt = w.github_token(&w.github_claims(now()));
    let r = common::tokens::exchange(&w.gw, &jwt).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        w.gw.openai("/v1/chat/completions", &chat("chat", false))
            .await
            .status,
        200
    );
    assert!(
        run(&mut printed, &["signing-key", "rotate"])
            .status
            .success()
    );

    // The new KEK, read from a file; the old one stays accepted.
    let generated = run(&mut printed, &["kek", "generate"]);
    let new_kek = stdout(&generated).trim().to_owned();
    printed.clear(); // the one place a KEK is meant to be shown
    let new_file = w.gw.dir.path().join("new.kek");
    std::fs::write(&new_file, &new_kek).unwrap();
    let old_id = KeyEncryptionKey::parse(TEST_KEK).unwrap().id().to_string();
    let new_id = KeyEncryptionKey::parse(&new_kek).unwrap().id().to_string();
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(OLD_KEK_LINE));
    let rolled = text.replace(
        OLD_KEK_LINE,
        &format!(
            "kek = \"file:{}\"\nprevious_keks = [\"env:MG_TEST_KEK\"]\n",
            new_file.display()
        ),
    );
    std::fs::write(&config, &rolled).unwrap();
    let mut logs = w.gw.logs();
    w.gw.terminate();
    w.gw.restart();

    // Traffic from a task, through the rotation and several syncs after it.
    let jwts: Vec<String> = (0..300)
        .map(|i| {
            let mut claims = w.github_claims(now());
            claims["jti"] = format!("kek-traffic-{i}").into();
            w.github_token(&claims)
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn(traffic(w.gw.url(""), w.gw.key.clone(), jwts, stop.clone()));
    tokio::time::sleep(Duration::from_millis(600)).await;

    let check = run(
        &mut printed,
        &["kek", "rotate", "--check", "--format", "json"],
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let report: Value = serde_json::from_slice(&check.stdout).unwrap();
    let values = report["values"].as_array().unwrap();
    assert!(
        values
            .iter()
            .any(|v| v["status"] == "previous" && v["kek"] == old_id.as_str()),
        "{report}"
    );

    let first = rotate(&config);
    let second = rotate(&config);
    assert_eq!(first["kek"], new_id.as_str());
    assert_eq!(first["previous_keks"], serde_json::json!([old_id]));
    assert_eq!(first["resealed"]["signing_key"], 2, "{first}");
    assert_eq!(first["resealed"]["audit_key"], 2, "{first}");
    assert_eq!(resealed_total(&second), 0, "idempotent: {second}");
    printed += &first.to_string();

    // A signing key created now is sealed with the new KEK; the gateway
    // must load it at its next sync and sign with it.
    let rotated = run(&mut printed, &["signing-key", "rotate"]);
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let newest = stdout(&rotated)
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let (token_url, key) = (w.gw.url("/oauth2/token"), w.gw.key.clone());
    let synced = common::eventually(50, Duration::from_millis(100), || {
        let (token_url, newest) = (token_url.clone(), newest.clone());
        let body = form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", &key),
        ]);
        async move {
            let (_, reply) = request("POST", &token_url, None, Some(body)).await.unwrap();
            reply["access_token"]
                .as_str()
                .is_some_and(|t| header_of(t)["kid"] == newest.as_str())
        }
    })
    .await;
    assert!(
        synced,
        "the gateway never signed with the key sealed under the new KEK"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let seen = task.await.unwrap();
    assert!(
        seen.failures.is_empty(),
        "failed requests: {:?}",
        seen.failures
    );
    assert!(
        seen.succeeded >= 50 && seen.exchanges >= 10,
        "too little traffic: {seen:?}"
    );

    // The old KEK opens nothing; the new one opens everything.
    let old = KeyEncryptionKey::parse(TEST_KEK).unwrap();
    let new = KeyEncryptionKey::parse(&new_kek).unwrap();
    let stored = sealed_values(&db);
    assert_eq!(stored.len(), 5, "three signing keys, two audit keys");
    for (what, aad, sealed) in &stored {
        assert!(old.open(sealed, aad).is_err(), "the old KEK opens {what}");
        assert!(
            new.open(sealed, aad).is_ok(),
            "the new KEK does not open {what}"
        );
    }

    // A CLI or a gateway given only the old KEK is refused, clearly.
    let old_only = w.gw.dir.path().join("old-only.toml");
    std::fs::write(&old_only, &text).unwrap();
    let out = cli_at(&old_only, &["signing-key", "list"]);
    assert!(!out.status.success());
    let refusal = stderr(&out);
    assert!(
        refusal.contains("unknown key-encryption key") && refusal.contains(&new_id),
        "{refusal}"
    );
    let refusal = serve_must_refuse(&old_only);
    assert!(
        refusal.contains("unknown key-encryption key") && refusal.contains(&new_id),
        "{refusal}"
    );
    printed += &refusal;

    // Audited, and the chains still verify.
    let found = run(
        &mut printed,
        &["audit", "search", "--kind", "control", "--format", "json"],
    );
    let record = stdout(&found)
        .lines()
        .filter(|l| l.contains("kek.rotate"))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect::<Vec<_>>();
    assert_eq!(record.len(), 2, "{}", stdout(&found));
    let detail = record[0].to_string();
    for want in [
        &new_id,
        &old_id,
        "\"resealed\":\"4\"",
        "\"resealed_signing_keys\":\"2\"",
    ] {
        assert!(detail.contains(want), "{want} not in {detail}");
    }
    assert!(
        record[1].to_string().contains("\"resealed\":\"0\""),
        "{}",
        record[1]
    );
    // The gateway's chain ends with the checkpoint of a clean shutdown.
    w.gw.terminate();
    logs += &w.gw.logs();
    for replica in ["cli", "gateway"] {
        let out = run(&mut printed, &["audit", "verify", "--replica", replica]);
        assert!(out.status.success(), "{replica}: {}", stderr(&out));
    }
    let export = w.gw.dir.path().join("export.jsonl");
    assert!(
        run(
            &mut printed,
            &[
                "audit",
                "export",
                "--replica",
                "cli",
                "--out",
                export.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.contains("kek.rotate"));

    // No KEK anywhere: logs, every CLI output, the audit export.
    for kek in [TEST_KEK, new_kek.as_str()] {
        for (name, text) in [
            ("logs", &logs),
            ("cli output", &printed),
            ("audit export", &exported),
        ] {
            assert!(!text.contains(kek), "a KEK in the {name}");
        }
    }
}
