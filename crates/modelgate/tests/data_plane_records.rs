//! Issue 16, the data plane tells the truth: a failed forward is the two
//! records the docs promise (admit, complete); answers name the public
//! model whatever the upstream's deployment is called; a streamed call is
//! recorded as streamed even when it fails before its first byte; a 200
//! that is not JSON is relayed and flagged; an upstream left out by the
//! request's data class is named in the refusal, the log and the audit
//! record; and every refusal on a model path is JSON in the caller's
//! dialect, every admin error in the admin shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One OpenAI-kind upstream `name` at `base` (the mock's base URL or any
/// other), with `extra` lines.
fn upstream(name: &str, kind: &str, base: &str, extra: &str) -> String {
    let base = if kind == "openai" {
        format!("{base}/v1")
    } else {
        base.to_owned()
    };
    format!(
        "\n[[upstreams]]\nname = \"{name}\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\n\
         credential = \"env:MG_TEST_UPSTREAM_KEY\"\ndeployment = \"self_hosted\"\n\
         region = \"local\"\nisolation = \"technical\"\nfirst_byte_timeout = \"2s\"\n{extra}\n"
    )
}

/// A model `name` routed to `targets` (upstream, deployment name).
fn model(name: &str, targets: &[(&str, &str)]) -> String {
    let targets: Vec<String> = targets
        .iter()
        .map(|(u, m)| format!("{{ upstream = \"{u}\", model = \"{m}\" }}"))
        .collect();
    format!(
        "\n[[models]]\nname = \"{name}\"\ntargets = [{}]\n",
        targets.join(", ")
    )
}

/// The request records of `model` (the `event.request` objects), once
/// there are at least `count`.
async fn records(gw: &TestGateway, model: &str, count: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..100 {
        let out = gw.cli(&[
            "audit", "search", "--kind", "request", "--model", model, "--format", "json",
            "--limit", "1000",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        found = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"]["request"].clone())
            .collect();
        if found.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    found
}

/// The records of one request, by its id.
fn of_request<'a>(records: &'a [Value], reply: &Reply) -> Vec<&'a Value> {
    let id = reply.headers["x-request-id"].to_str().unwrap();
    records.iter().filter(|r| r["request_id"] == id).collect()
}

/// An address nothing listens on.
fn dead_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn a_failed_forward_is_two_records_and_a_stream_is_recorded_as_asked() {
    let config = [
        upstream("down", "openai", &dead_base(), ""),
        model("m", &[("down", "demo-chat")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let plain = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(plain.status, 502, "{}", plain.text());
    let streamed = gw.openai("/v1/chat/completions", &chat("m", true)).await;
    assert_eq!(streamed.status, 502, "{}", streamed.text());

    records(&gw, "m", 4).await;
    // Long enough for any further record of the two requests to land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = records(&gw, "m", 4).await;
    for (reply, asked) in [(&plain, false), (&streamed, true)] {
        let mine = of_request(&all, reply);
        let phases: Vec<&str> = mine
            .iter()
            .map(|r| r["phase"].as_str().unwrap_or("(none)"))
            .collect();
        assert_eq!(phases.len(), 2, "admit and complete only: {phases:?}");
        assert!(
            phases.contains(&"admit") && phases.contains(&"complete"),
            "{phases:?}"
        );
        let complete = mine.iter().find(|r| r["phase"] == "complete").unwrap();
        assert_eq!(complete["status"], 502);
        assert_eq!(complete["reason"], "upstream");
        assert_eq!(complete["action"], "failed");
        assert_eq!(complete["fallbacks"], json!([["down", "connect"]]));
        assert_eq!(
            complete["streamed"].as_bool().unwrap_or(false),
            asked,
            "recorded as asked: {complete}"
        );
    }
    let logs = gw.logs();
    let id = streamed.headers["x-request-id"].to_str().unwrap();
    let line = logs
        .lines()
        .find(|l| l.contains(id) && l.contains("status=502"));
    assert!(
        line.is_some_and(|l| l.contains("stream=true")),
        "the log line says what was asked: {line:?}"
    );
}

#[tokio::test]
async fn same_dialect_answers_name_the_public_model() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let config = [
        upstream("oai", "openai", &base, ""),
        upstream("ant", "anthropic", &base, ""),
        model("chat", &[("oai", "gpt-deploy-2024-08")]),
        model("claude", &[("ant", "claude-deploy-v2")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;

    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["model"], "chat");
    assert!(r.json()["choices"][0]["message"]["content"].is_string());
    let sent = String::from_utf8_lossy(&mock.requests().last().unwrap().body).into_owned();
    assert!(
        sent.contains("gpt-deploy-2024-08"),
        "the upstream got its name: {sent}"
    );

    let r = gw.openai("/v1/chat/completions", &chat("chat", true)).await;
    assert_eq!(r.status, 200);
    let chunks: Vec<Value> = r
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(chunks.len() > 1);
    for chunk in &chunks {
        assert_eq!(chunk["model"], "chat", "{chunk}");
    }

    let r = gw.anthropic(&messages("claude", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["model"], "claude");
    let r = gw.anthropic(&messages("claude", true)).await;
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(!text.contains("claude-deploy-v2"), "{text}");
    let start = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|e| e["type"] == "message_start")
        .unwrap();
    assert_eq!(start["message"]["model"], "claude");
    // Usage is still read from the renamed answers.
    let all = records(&gw, "chat", 4).await;
    assert!(
        all.iter()
            .any(|r| r["phase"] == "complete" && r["tokens_out"].as_u64().unwrap_or(0) > 0),
        "{all:?}"
    );
}

/// A plain HTTP server that answers every request with 200 and `body` as
/// `text/html`.
async fn html_upstream(body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                // Read the head and the declared body, then answer.
                loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if seen.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_200_that_is_not_json_is_relayed_and_flagged() {
    const PAGE: &str = "<html>maintenance page BODY-CANARY-5d1</html>";
    let base = html_upstream(PAGE).await;
    let config = [
        upstream("html", "openai", &base, ""),
        model("m", &[("html", "demo-chat")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let plain = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.text(), PAGE, "relayed as it came");
    let streamed = gw.openai("/v1/chat/completions", &chat("m", true)).await;
    assert_eq!(streamed.status, 200);

    let all = records(&gw, "m", 4).await;
    for (reply, asked) in [(&plain, false), (&streamed, true)] {
        let mine = of_request(&all, reply);
        let complete = mine.iter().find(|r| r["phase"] == "complete").unwrap();
        assert_eq!(complete["note"], "upstream_body_not_json", "{complete}");
        assert_eq!(complete["streamed"].as_bool().unwrap_or(false), asked);
    }
    let logs = gw.logs();
    assert!(
        logs.lines().any(|l| l.contains("WARN")
            && l.contains("upstream_body_not_json")
            && l.contains("text/html")),
        "{logs}"
    );
    assert!(
        !logs.contains("BODY-CANARY-5d1"),
        "no body content in the log"
    );
}

#[tokio::test]
async fn an_upstream_left_out_by_the_data_class_is_named() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        upstream(
            "openai",
            "openai",
            &mock.base_url(),
            "max_data_class = \"internal\"",
        ),
        upstream("backup", "openai", &dead_base(), ""),
        model("m", &[("openai", "demo-chat"), ("backup", "demo-chat")]),
        model("only", &[("openai", "demo-chat")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let auth = format!("Bearer {}", gw.key);
    let send = |model: &'static str| {
        let url = gw.url("/v1/chat/completions");
        let auth = auth.clone();
        async move {
            call(
                "POST",
                &url,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                    ("x-modelgate-data-class", "confidential"),
                ],
                chat(model, false).to_string(),
            )
            .await
        }
    };
    const WHY: &str = "data class confidential above its max_data_class internal";

    // The next target fails: the 502 says why the first was not tried.
    let r = send("m").await;
    assert_eq!(r.status, 502, "{}", r.text());
    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("skipped openai: {WHY}")),
        "{message}"
    );
    assert!(mock.requests().is_empty());
    let all = records(&gw, "m", 2).await;
    let mine = of_request(&all, &r);
    for record in &mine {
        assert_eq!(record["skipped"], json!([["openai", WHY]]), "{record}");
    }
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert!(
        gw.logs()
            .lines()
            .any(|l| l.contains(id) && l.contains(&format!("skipped openai: {WHY}"))),
        "{}",
        gw.logs()
    );

    // No target left: the 403 names each one left out.
    let r = send("only").await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "no_eligible_upstream");
    assert!(
        r.text().contains(&format!("skipped openai: {WHY}")),
        "{}",
        r.text()
    );
    let all = records(&gw, "only", 1).await;
    assert_eq!(all[0]["skipped"], json!([["openai", WHY]]));
}

#[tokio::test]
async fn refusals_on_model_paths_are_json_in_the_callers_dialect() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        upstream("oai", "openai", &mock.base_url(), ""),
        model("chat", &[("oai", "demo-chat")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let bearer = format!("Bearer {}", gw.key);
    let openai = [("authorization", bearer.as_str())];
    let anthropic = [
        ("x-api-key", gw.key.as_str()),
        ("anthropic-version", "2023-06-01"),
    ];

    let r = call("GET", &gw.url("/v1/models/%ff"), &openai, "").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "model_not_found");
    let r = call("GET", &gw.url("/v1/models/%ff"), &anthropic, "").await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "not_found_error");
    let r = call("GET", &gw.url("/v1/models/%ff"), &[], "").await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(r.json()["error"]["message"].is_string());
    let r = call("GET", &gw.url("/v1/models/chat"), &openai, "").await;
    assert_eq!(r.json()["id"], "chat");

    // Methods, unknown paths and bodies that are not JSON: JSON too.
    for (method, path, body) in [
        ("GET", "/v1/chat/completions", ""),
        ("POST", "/v1/models", ""),
        ("DELETE", "/v1/models/chat", ""),
        ("GET", "/v1/nope", ""),
        ("POST", "/v1/chat/completions", "not json"),
        ("POST", "/v1/chat/completions?x=%ff", "{\"model\":1}"),
    ] {
        let r = call(method, &gw.url(path), &openai, body).await;
        assert!(r.status.is_client_error(), "{method} {path}: {}", r.status);
        assert_eq!(
            r.headers["content-type"], "application/json",
            "{method} {path}"
        );
        assert!(r.json()["error"]["message"].is_string(), "{method} {path}");
    }
    let r = call("GET", &gw.url("/v1/messages"), &anthropic, "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["type"], "error");
}

#[tokio::test]
async fn admin_errors_have_the_admin_shape_everywhere() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        upstream("oai", "openai", &mock.base_url(), ""),
        model("chat", &[("oai", "demo-chat")]),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let admin = bootstrap_admin(&gw);
    for (method, path, body, status) in [
        ("GET", "/admin/v1/nope", "", 404),
        ("GET", "/admin/v1/identities/app/keys/extra/more", "", 404),
        ("DELETE", "/admin/v1/identities", "", 405),
        ("GET", "/admin/v1/identities/%ff", "", 400),
        ("POST", "/admin/v1/identities/%ff/disable", "", 400),
    ] {
        let r = admin_call(&gw, &admin, method, path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        let error = &r.json()["error"];
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{method} {path}: {}",
            r.text()
        );
        assert!(
            error.get("type").is_none(),
            "not the OpenAI shape: {}",
            r.text()
        );
    }
    let r = call("GET", &gw.admin_url("/admin/v1/nope"), &[], "").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
}
