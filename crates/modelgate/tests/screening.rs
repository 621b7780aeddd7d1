//! Screening through the live gateway: block, redact (the upstream receives
//! the redacted text), reroute to self-hosted, refusal when nothing is
//! eligible, data classes, residency, and a leaked modelgate key revoked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// A Slack bot token shape the detectors know; planted in prompts.
const SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";

fn upstream(name: &str, mock: &MockHandle, deployment: &str, region: &str, extra: &str) -> String {
    format!(
        "[[upstreams]]\nname = \"{name}\"\nkind = \"openai\"\nbase_url = \"{}/v1\"\ncredential = \"env:MG_TEST_UPSTREAM_KEY\"\ndeployment = \"{deployment}\"\nregion = \"{region}\"\nisolation = \"technical\"\n{extra}\n",
        mock.base_url()
    )
}

fn model(name: &str, targets: &[&str], extra: &str) -> String {
    let targets: Vec<String> = targets
        .iter()
        .map(|t| format!("{{ upstream = \"{t}\", model = \"demo-chat\" }}"))
        .collect();
    format!(
        "[[models]]\nname = \"{name}\"\ntargets = [{}]\n{extra}\n",
        targets.join(", ")
    )
}

struct World {
    gw: TestGateway,
    hosted: MockHandle,
    local: MockHandle,
}

async fn world() -> World {
    let hosted = MockUpstream::start().await.unwrap();
    let local = MockUpstream::start().await.unwrap();
    let config = [
        upstream(
            "hosted",
            &hosted,
            "hosted",
            "us-east",
            "max_data_class = \"internal\"",
        ),
        upstream("local", &local, "self_hosted", "eu-west", ""),
        model("chat-block", &["hosted"], ""),
        model("chat-redact", &["hosted"], ""),
        model("chat-route", &["hosted", "local"], ""),
        model("chat-hosted-only", &["hosted"], ""),
        model("chat-eu", &["hosted"], "regions = [\"eu-west\"]"),
        r#"
[screen]
default_action = "log_only"

[[screen.rules]]
models = ["chat-block"]
action = "block"

[[screen.rules]]
models = ["chat-redact"]
action = "redact"

[[screen.rules]]
models = ["chat-route", "chat-hosted-only"]
categories = ["credential"]
action = "reroute"

[[residency]]
identities = ["eu-*"]
regions = ["eu-west"]
"#
        .to_owned(),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    World { gw, hosted, local }
}

fn prompt(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

fn bodies(mock: &MockHandle) -> String {
    mock.requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn block_names_the_kinds_never_the_values() {
    let w = world().await;
    let r =
        w.gw.openai(
            "/v1/chat/completions",
            &prompt("chat-block", &format!("token {SECRET}")),
        )
        .await;
    assert_eq!(r.status, 400);
    let error = &r.json()["error"];
    assert_eq!(error["code"], "sensitive_data_blocked");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("slack_bot_token"), "{message}");
    assert!(!r.text().contains(SECRET));
    assert!(w.hosted.requests().is_empty(), "nothing forwarded");
    // Anthropic dialect too.
    let r = w
        .gw
        .anthropic(&json!({"model": "chat-block", "max_tokens": 10,
            "messages": [{"role": "user", "content": format!("mail me at jane.doe@example.com {SECRET}")}]}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["type"], "error");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("email")
    );
    // A clean prompt passes.
    let ok =
        w.gw.openai("/v1/chat/completions", &prompt("chat-block", "hello"))
            .await;
    assert_eq!(ok.status, 200);
    assert!(!w.gw.logs().contains(SECRET));
}

#[tokio::test]
async fn redact_forwards_the_redacted_text() {
    let w = world().await;
    let text = format!("deploy with {SECRET} and tell jane.doe@example.com");
    let r =
        w.gw.openai("/v1/chat/completions", &prompt("chat-redact", &text))
            .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = bodies(&w.hosted);
    assert!(!seen.contains(SECRET), "{seen}");
    assert!(!seen.contains("jane.doe@example.com"), "{seen}");
    assert!(seen.contains("[REDACTED:slack_bot_token]"), "{seen}");
    assert!(seen.contains("[REDACTED:email]"), "{seen}");
    let body: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(body["model"], "demo-chat", "the model is still renamed");
    // Messages with content blocks are redacted too.
    w.hosted.clear_requests();
    let r =
        w.gw.openai(
            "/v1/chat/completions",
            &json!({"model": "chat-redact", "messages": [{"role": "user",
                "content": [{"type": "text", "text": format!("key {SECRET}")}]}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(!bodies(&w.hosted).contains(SECRET));
}

#[tokio::test]
async fn reroute_keeps_secrets_on_self_hosted_models() {
    let w = world().await;
    let clean =
        w.gw.openai("/v1/chat/completions", &prompt("chat-route", "hello"))
            .await;
    assert_eq!(clean.status, 200);
    assert_eq!(w.hosted.requests().len(), 1, "a clean prompt may go hosted");
    assert!(w.local.requests().is_empty());
    let secret =
        w.gw.openai(
            "/v1/chat/completions",
            &prompt("chat-route", &format!("use {SECRET}")),
        )
        .await;
    assert_eq!(secret.status, 200);
    assert_eq!(w.hosted.requests().len(), 1, "not a second hosted request");
    assert_eq!(
        w.local.requests().len(),
        1,
        "the secret went to the self-hosted target"
    );
    // With no self-hosted target, it is refused with the reason.
    let refused =
        w.gw.openai(
            "/v1/chat/completions",
            &prompt("chat-hosted-only", &format!("use {SECRET}")),
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.json()["error"]["code"], "no_eligible_upstream");
    assert!(refused.text().contains("self-hosted"));
    assert_eq!(w.hosted.requests().len(), 1);
}

#[tokio::test]
async fn data_classes_and_residency_limit_the_targets() {
    let w = world().await;
    let auth = format!("Bearer {}", w.gw.key);
    let send = |model: &str, class: Option<&str>| {
        let mut headers = vec![
            ("authorization", auth.clone()),
            ("content-type", "application/json".to_owned()),
        ];
        if let Some(class) = class {
            headers.push(("x-modelgate-data-class", class.to_owned()));
        }
        let url = w.gw.url("/v1/chat/completions");
        let body = prompt(model, "quarterly numbers").to_string();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call("POST", &url, &headers, body).await
        }
    };
    // The header raises the class above what the hosted upstream may take.
    let r = send("chat-hosted-only", Some("confidential")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("confidential"));
    // ... and on a route with a self-hosted target, that target is used.
    let r = send("chat-route", Some("restricted")).await;
    assert_eq!(r.status, 200);
    assert_eq!(w.local.requests().len(), 1);
    // It cannot lower it: `public` is no lower than the default, still 200.
    assert_eq!(send("chat-hosted-only", Some("public")).await.status, 200);
    // An unknown class is a caller error.
    let r = send("chat-route", Some("top-secret")).await;
    assert_eq!(r.status, 400);
    // Personal data implies `confidential`: not to the hosted upstream.
    let r =
        w.gw.openai(
            "/v1/chat/completions",
            &prompt(
                "chat-hosted-only",
                "call +44 20 7946 0958 or jane.doe@example.com",
            ),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    // A route's regions: the only target is in the wrong region.
    let r = send("chat-eu", None).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("regions"));

    // An identity whose data must stay in eu-west goes to the local target.
    let key = w.gw.new_identity("eu-app", "service", "prod");
    let key = key.as_str();
    let before = (w.hosted.requests().len(), w.local.requests().len());
    let r = call(
        "POST",
        &w.gw.url("/v1/chat/completions"),
        &[
            ("authorization", &format!("Bearer {key}")),
            ("content-type", "application/json"),
        ],
        prompt("chat-route", "hello").to_string(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        (w.hosted.requests().len(), w.local.requests().len()),
        (before.0, before.1 + 1)
    );
}

#[tokio::test]
async fn a_leaked_gateway_key_is_revoked_at_once() {
    let w = world().await;
    let leaked = w.gw.new_identity("victim", "service", "prod");
    let victim = |model: &str| {
        let url = w.gw.url("/v1/chat/completions");
        let leaked = leaked.clone();
        let body = prompt(model, "hi").to_string();
        async move {
            call(
                "POST",
                &url,
                &[
                    ("authorization", &format!("Bearer {leaked}")),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    assert_eq!(victim("chat-route").await.status, 200);
    let r =
        w.gw.openai(
            "/v1/chat/completions",
            &prompt("chat-route", &format!("here is the key: {leaked}")),
        )
        .await;
    assert_eq!(r.status, 200, "log_only still forwards");
    assert_eq!(
        victim("chat-route").await.status,
        401,
        "the leaked key is revoked"
    );
    let out =
        w.gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("key.leaked"), "{text}");
    assert!(!text.contains(&leaked));
    assert!(!w.gw.logs().contains(&leaked));
}

#[tokio::test]
async fn a_secret_split_across_response_chunks_is_redacted() {
    let mock = MockUpstream::start().await.unwrap();
    // Small pieces: the echoed secret spans several SSE events.
    mock.set_behavior(Behavior {
        chunks: Some(64),
        ..Default::default()
    });
    let config = format!(
        "{}\n{}\n[screen]\nresponses = \"redact\"\n",
        upstreams_on(&mock, "r", ""),
        model("echo", &["r-openai", "r-anthropic"], "")
    );
    let gw = TestGateway::start(&config).await;
    let text = format!("repeat after me: {SECRET} thanks");
    let mut streamed_body = prompt("echo", &text);
    streamed_body["stream"] = json!(true);
    let openai = gw.openai("/v1/chat/completions", &streamed_body).await;
    assert_eq!(openai.status, 200);
    let anthropic = gw
        .anthropic(&json!({"model": "echo", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": text}]}))
        .await;
    assert_eq!(anthropic.status, 200);
    let complete = gw
        .openai("/v1/chat/completions", &prompt("echo", &text))
        .await;
    assert_eq!(complete.status, 200);
    // The upstream did send the secret (log_only prompt screening), in pieces.
    for reply in [&openai, &anthropic, &complete] {
        let body = reply.text();
        assert!(!body.contains(SECRET), "{body}");
        assert!(!body.contains(&SECRET[..24]), "no fragment either: {body}");
    }
    // Reassembled, the caller reads the redaction marker in place.
    let assembled = |raw: &str| -> String {
        raw.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .map(|v| {
                v["choices"][0]["delta"]["content"]
                    .as_str()
                    .or_else(|| v["delta"]["text"].as_str())
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    assert!(
        assembled(&openai.text()).contains("[REDACTED:slack_bot_token] thanks"),
        "{}",
        openai.text()
    );
    assert!(assembled(&anthropic.text()).contains("[REDACTED:slack_bot_token] thanks"));
    assert!(
        complete.json()["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("[REDACTED:slack_bot_token]")
    );
    // The audit record counts response findings (kinds only).
    let found = eventually(50, std::time::Duration::from_millis(50), || async {
        let out = gw.cli(&["audit", "search", "--kind", "request", "--format", "json"]);
        let text = stdout(&out);
        let done = text.matches("response_findings").count() >= 3;
        if done {
            assert!(!text.contains(SECRET));
        }
        done
    })
    .await;
    assert!(found, "response findings recorded");
}
