//! The audit log through the live gateway: every request and refusal is
//! recorded and the export verifies offline; SIGKILL under load loses no
//! answered request; an unwritable sink fails closed and recovers; canary
//! secrets stay out of the log under every body retention but `full`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn config(mock: &MockHandle, extra: &str) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"a-openai\", model = \"demo-chat\" }}]\n{extra}",
        upstreams_on(mock, "a", "")
    )
}

/// Every record of the store, decoded, via `modelgate audit search`.
fn records(gw: &TestGateway, args: &[&str]) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0i64;
    loop {
        let after_text = after.to_string();
        let mut argv = vec![
            "audit",
            "search",
            "--format",
            "json",
            "--limit",
            "1000",
            "--after",
            &after_text,
        ];
        argv.extend_from_slice(args);
        let out = gw.cli(&argv);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let Some(last) = page.last() else {
            return all;
        };
        after = last["cursor"].as_i64().unwrap();
        all.extend(page);
    }
}

/// Waits until `check` holds for the records (complete records are written
/// just after the response).
async fn eventually(gw: &TestGateway, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..100 {
        let all = records(gw, &[]);
        if check(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("audit records never matched: {:#?}", records(gw, &[]));
}

fn request_event(record: &Value) -> Option<&Value> {
    record["event"].get("request")
}

fn public_key(gw: &TestGateway) -> String {
    let out = gw.cli(&["audit", "public-key"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Exports chain `replica` and verifies the file offline; returns the file.
fn export_and_verify(gw: &TestGateway, replica: &str) -> (std::path::PathBuf, String) {
    let file = gw.dir.path().join(format!("export-{replica}.jsonl"));
    let out = gw.cli(&[
        "audit",
        "export",
        "--replica",
        replica,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = public_key(gw);
    let out = gw.cli(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--public-key",
        &key,
    ]);
    assert!(
        out.status.success(),
        "verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (file, key)
}

#[tokio::test]
async fn every_request_and_refusal_is_recorded_and_the_export_verifies() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = TestGateway::start(&config(&mock, "")).await;
    let ok = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(ok.status, 200);
    let ok_id = ok.headers["x-request-id"].to_str().unwrap().to_owned();
    let streamed = gw.openai("/v1/chat/completions", &chat("chat", true)).await;
    assert_eq!(streamed.status, 200);
    let missing = gw
        .openai("/v1/chat/completions", &chat("nope", false))
        .await;
    assert_eq!(missing.status, 404);
    let unauth = call(
        "POST",
        &gw.url("/v1/messages"),
        &[("x-api-key", "mgk_wrong"), ("user-agent", "audit-test/1.0")],
        messages("chat", false).to_string(),
    )
    .await;
    assert_eq!(unauth.status, 401);
    let listed = call(
        "GET",
        &gw.url("/v1/models"),
        &[("authorization", &format!("Bearer {}", gw.key))],
        "",
    )
    .await;
    assert_eq!(listed.status, 200);

    let all = eventually(&gw, |all| {
        all.iter()
            .filter_map(request_event)
            .filter(|r| r["phase"] == "complete")
            .count()
            >= 2
    })
    .await;
    let requests: Vec<&Value> = all.iter().filter_map(request_event).collect();
    let of = |id: &str, phase: &str| {
        requests
            .iter()
            .find(|r| r["request_id"] == id && r["phase"] == phase)
            .copied()
            .unwrap_or_else(|| panic!("no {phase} record for {id}: {requests:#?}"))
    };
    let admit = of(&ok_id, "admit");
    assert_eq!(admit["identity"], "app");
    assert_eq!(admit["model"], "chat");
    assert_eq!(admit["decision"], "allow");
    assert_eq!(admit["auth_method"], "api_key");
    assert!(admit["credential_id"].as_str().unwrap().starts_with("key_"));
    assert!(
        admit["client_addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let complete = of(&ok_id, "complete");
    assert_eq!(complete["status"], 200);
    assert_eq!(complete["upstream"], "a-openai");
    assert_eq!(complete["deployment"], "self_hosted");
    assert_eq!(complete["region"], "local");
    assert_eq!(complete["action"], "forwarded");
    assert!(complete["tokens_in"].as_u64().unwrap() > 0);
    assert!(complete["tokens_out"].as_u64().unwrap() > 0);
    assert!(complete["gateway_us"].as_u64().is_some());
    assert!(
        requests
            .iter()
            .any(|r| r["phase"] == "complete" && r["streamed"] == true),
        "the streamed request's completion is recorded"
    );
    let refusal = requests
        .iter()
        .find(|r| r["reason"] == "unauthenticated")
        .expect("the 401 is recorded");
    assert_eq!(refusal["status"], 401);
    assert_eq!(refusal["decision"], "deny");
    assert_eq!(refusal["user_agent"], "audit-test/1.0");
    assert!(refusal.get("phase").is_none(), "a refusal is one record");
    assert!(
        requests
            .iter()
            .any(|r| r["reason"] == "model_not_found" && r["status"] == 404)
    );
    assert!(
        requests
            .iter()
            .any(|r| r["operation"] == "models.list" && r["status"] == 200)
    );
    // The CLI's own changes (identity and key creation) are in chain `cli`.
    let control: Vec<&Value> = all
        .iter()
        .filter_map(|r| r["event"].get("control"))
        .collect();
    assert!(
        control
            .iter()
            .any(|c| c["action"] == "identity.create" && c["target"] == "app")
    );
    assert!(control.iter().any(|c| c["action"] == "key.issue"));

    // Search filters.
    let denied = records(&gw, &["--decision", "deny"]);
    assert!(!denied.is_empty());
    assert!(
        denied
            .iter()
            .all(|r| { request_event(r).is_none_or(|q| q["decision"] == "deny") })
    );

    // The same search through the admin API, paginated.
    let admin = bootstrap_admin(&gw);
    let page = admin_call(
        &gw,
        &admin,
        "GET",
        "/admin/v1/audit?identity=app&decision=deny&limit=1",
        "",
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let page = page.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let next = page["next_after"].as_i64().expect("a next page");
    let second = admin_call(
        &gw,
        &admin,
        "GET",
        &format!("/admin/v1/audit?identity=app&limit=50&after={next}"),
        "",
    )
    .await;
    assert_eq!(second.status, 200);
    assert!(
        second.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["cursor"].as_i64().unwrap() > next)
    );
    let bad = admin_call(&gw, &admin, "GET", "/admin/v1/audit?colour=red", "").await;
    assert_eq!(bad.status, 400);
    // An unknown decision is a mistake, not an empty page.
    let bad = admin_call(&gw, &admin, "GET", "/admin/v1/audit?decision=alow", "").await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert_eq!(bad.json()["error"]["code"], "invalid");
    assert!(bad.text().contains("allow, deny"), "{}", bad.text());
    let not_admin = admin_call(&gw, &gw.key, "GET", "/admin/v1/audit", "").await;
    assert_eq!(not_admin.status, 403);

    // Offline verification of both chains, and one tampered byte is caught
    // at the record it is in.
    let (file, key) = export_and_verify(&gw, "gateway");
    export_and_verify(&gw, "cli");
    let text = std::fs::read_to_string(&file).unwrap();
    let tampered = text.replacen("\"status\":200", "\"status\":201", 1);
    assert_ne!(tampered, text);
    let bad = gw.dir.path().join("tampered.jsonl");
    std::fs::write(&bad, tampered).unwrap();
    let out = gw.cli(&[
        "audit",
        "verify",
        bad.to_str().unwrap(),
        "--public-key",
        &key,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("verification failed"), "{err}");
}

#[tokio::test]
async fn sigkill_under_load_loses_no_answered_request() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::start(&config(&mock, "")).await;
    let url = gw.url("/v1/chat/completions");
    let auth = format!("Bearer {}", gw.key);
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (url, auth, answered) = (url.clone(), auth.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..400 {
                let request = http::Request::builder()
                    .method("POST")
                    .uri(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .body(http_body_util::Full::new(bytes::Bytes::from(
                        chat("chat", false).to_string(),
                    )))
                    .unwrap();
                let Ok(Ok(response)) =
                    tokio::time::timeout(Duration::from_secs(5), client().request(request)).await
                else {
                    return;
                };
                if response.status() == 200
                    && let Some(id) = response.headers().get("x-request-id")
                {
                    answered
                        .lock()
                        .unwrap()
                        .push(id.to_str().unwrap().to_owned());
                }
            }
        }));
    }
    // Kill mid-load, once a good number of requests were answered.
    for _ in 0..200 {
        if answered.lock().unwrap().len() >= 150 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    gw.kill9();
    for task in tasks {
        let _ = task.await;
    }
    let answered = answered.lock().unwrap().clone();
    assert!(
        answered.len() >= 100,
        "only {} answered before the kill",
        answered.len()
    );

    gw.restart();
    let after = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(after.status, 200);
    gw.terminate();

    let admitted: HashSet<String> = records(&gw, &["--kind", "request"])
        .iter()
        .filter_map(request_event)
        .filter(|r| r["phase"] == "admit")
        .map(|r| r["request_id"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = answered
        .iter()
        .filter(|id| !admitted.contains(*id))
        .collect();
    assert!(lost.is_empty(), "answered but not in the log: {lost:?}");
    // The chain verifies end to end across the crash.
    export_and_verify(&gw, "gateway");
}

#[tokio::test]
async fn an_unwritable_sink_fails_closed_and_recovers() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::start(&config(&mock, "")).await;
    // Now make a JSON-lines file in the gateway's temp dir the only
    // (required) sink, and restart on it.
    let dir = gw.dir.path().join("audit");
    let mut text = std::fs::read_to_string(&gw.config).unwrap();
    text.push_str(&format!(
        "\n[audit]\nstore = false\n[audit.file]\ndir = \"{}\"\n",
        dir.display()
    ));
    std::fs::write(&gw.config, text).unwrap();
    gw.kill9();
    gw.restart();

    let ok = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(ok.status, 200);
    let file = dir.join("audit-000001.jsonl");
    let size = std::fs::metadata(&file).unwrap().len();
    mock.clear_requests();

    // Disk full, as the process sees it: no write may grow a file.
    let pid = gw.pid().to_string();
    let limit = |value: &str| {
        let status = std::process::Command::new("prlimit")
            .args(["--pid", &pid, &format!("--fsize={value}:")])
            .status()
            .unwrap();
        assert!(status.success());
    };
    limit(&size.to_string());
    let refused = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "audit_unavailable");
    let refused = gw.anthropic(&messages("chat", true)).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["type"], "error");
    assert!(mock.requests().is_empty(), "nothing reaches the upstream");
    let ready = call("GET", &gw.url("/readyz"), &[], "").await;
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("audit"));

    limit("unlimited");
    let recovered = common::eventually(100, Duration::from_millis(50), || async {
        call("GET", &gw.url("/readyz"), &[], "").await.status == 200
    })
    .await;
    assert!(recovered, "the log did not recover: {}", gw.logs());
    let ok = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(mock.requests().len(), 1);
    assert!(gw.alive());
    gw.terminate();

    // The file chain continues without a gap and verifies.
    let key = public_key(&gw);
    let out = gw.cli(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--public-key",
        &key,
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn canaries_stay_out_of_the_log_under_every_retention() {
    const PROMPT_SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";
    let mock = MockUpstream::start().await.unwrap();
    let routes: String = ["none", "hmac", "redacted", "full"]
        .iter()
        .map(|mode| {
            format!(
                "[[models]]\nname = \"chat-{mode}\"\naudit_bodies = \"{mode}\"\naudit_body_retention = \"30d\"\ntargets = [{{ upstream = \"a-openai\", model = \"demo-chat\" }}]\n"
            )
        })
        .collect();
    let gw = TestGateway::start(&config(&mock, &routes)).await;
    let mut bodies = Vec::new();
    for mode in ["none", "hmac", "redacted", "full"] {
        let body = json!({
            "model": format!("chat-{mode}"),
            "messages": [{"role": "user", "content": format!("deploy with token {PROMPT_SECRET} please")}],
        });
        let r = gw.openai("/v1/chat/completions", &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
        bodies.push((mode, body.to_string()));
    }
    let all = eventually(&gw, |all| {
        all.iter()
            .filter_map(request_event)
            .filter(|r| r["phase"] == "complete")
            .count()
            >= 4
    })
    .await;
    let (file, _) = export_and_verify(&gw, "gateway");
    let export = std::fs::read_to_string(&file).unwrap();
    for canary in [gw.key.as_str(), UPSTREAM_CANARY] {
        assert!(
            !export.contains(canary),
            "a credential reached the audit log"
        );
        assert!(!format!("{all:?}").contains(canary));
    }
    for line in export.lines() {
        let mode = ["none", "hmac", "redacted", "full"]
            .into_iter()
            .find(|m| line.contains(&format!("\"model\":\"chat-{m}\"")));
        let Some(mode) = mode else { continue };
        let has_secret = line.contains(PROMPT_SECRET);
        if mode == "full" {
            // Only `full` keeps the text; the mock echoes the prompt, so the
            // response may hold it too.
            if line.contains("\"admit\"") {
                assert!(has_secret, "{line}");
            }
        } else {
            assert!(!has_secret, "{mode}: {line}");
        }
        if mode == "redacted" && line.contains("\"admit\"") {
            assert!(line.contains("[REDACTED:"), "{line}");
        }
    }
    // An `hmac` body can be found by hashing the known value.
    let (_, hmac_body) = bodies.iter().find(|(m, _)| *m == "hmac").unwrap();
    let out = gw.cli(&["audit", "hash", hmac_body]);
    assert!(out.status.success());
    let tag = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        export.contains(&tag),
        "the hmac of the prompt is in the log"
    );
    // Nor does the gateway's own log carry the prompt secret or the keys.
    let logs = gw.logs();
    for canary in [gw.key.as_str(), UPSTREAM_CANARY, PROMPT_SECRET] {
        assert!(!logs.contains(canary));
    }
    // Pruning drops the bodies but the chain still verifies.
    let out = gw.cli(&["audit", "prune"]);
    assert!(out.status.success());
}
