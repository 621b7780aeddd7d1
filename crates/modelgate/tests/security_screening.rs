//! Issue 14, defects 6, 7 and 10, through the live gateway: object keys
//! and secrets split across content parts or messages are screened; the
//! `redacted` audit retention redacts JSON-escaped secrets; streamed tool
//! arguments, `input_json_delta` and `thinking_delta` are redacted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

/// A Slack bot token shape the detectors know; planted in prompts.
const SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";
/// An AWS access key id the detectors report (not AWS's documented example).
const AWS_KEY: &str = "AKIAZ7VQH4NDXK2LMP3Q";

fn model(name: &str, upstream: &str) -> String {
    format!(
        "[[models]]\nname = \"{name}\"\ntargets = [{{ upstream = \"{upstream}\", model = \"demo-chat\" }}]\n"
    )
}

/// A gateway over one mock with `chat-block`, `chat-redact` and
/// `chat-log` (OpenAI upstream) and `claude-block` (Anthropic upstream).
async fn world(extra: &str) -> (TestGateway, MockHandle) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n{}{}{}{}{}\n[screen]\ndefault_action = \"log_only\"\n{extra}\n[[screen.rules]]\nmodels = [\"chat-block\", \"claude-block\"]\naction = \"block\"\n\n[[screen.rules]]\nmodels = [\"chat-redact\"]\naction = \"redact\"\n",
        upstreams_on(&mock, "m", ""),
        model("chat-block", "m-openai"),
        model("chat-redact", "m-openai"),
        model("chat-log", "m-openai"),
        model("claude-block", "m-anthropic"),
        model("claude-log", "m-anthropic"),
    );
    (TestGateway::start(&config).await, mock)
}

fn forwarded(mock: &MockHandle) -> String {
    mock.requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// The `sensitive_data_blocked` message of a refused request.
fn blocked(reply: &Reply) -> String {
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.text().contains("sensitive_data_blocked"),
        "{}",
        reply.text()
    );
    reply.text()
}

#[tokio::test]
async fn secret_in_object_key_is_screened() {
    let (gw, mock) = world("").await;
    // A tool parameter schema whose property name is the secret.
    let tools = json!([{"type": "function", "function": {"name": "lookup",
        "parameters": {"type": "object", "properties": {SECRET: {"type": "string"}}}}}]);
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [{"role": "user", "content": "hi"}],
                "tools": tools}),
        )
        .await;
    let text = blocked(&r);
    assert!(text.contains("slack_bot_token x1"), "{text}");
    assert!(!text.contains(SECRET));
    // Metadata keys.
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [{"role": "user", "content": "hi"}],
                "metadata": {SECRET: "x"}}),
        )
        .await;
    blocked(&r);
    assert!(mock.requests().is_empty(), "nothing forwarded");
    // Redacted keys reach the upstream without the secret.
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-redact", "messages": [{"role": "user", "content": "hi"}],
                "tools": tools, "metadata": {SECRET: "x"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = forwarded(&mock);
    assert!(!seen.contains(SECRET), "{seen}");
    assert!(!seen.contains("CANARY"), "{seen}");
    let body: Value = serde_json::from_str(&seen).unwrap();
    assert_eq!(
        body["metadata"]["[REDACTED:slack_bot_token]"], "x",
        "{seen}"
    );
}

#[tokio::test]
async fn secret_split_across_content_parts_is_caught() {
    let (gw, mock) = world("").await;
    let (a, b) = SECRET.split_at(24);
    let parts = json!([{"type": "text", "text": format!("see {a}")},
        {"type": "text", "text": format!("{b} thanks")}]);
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [{"role": "user", "content": parts}]}),
        )
        .await;
    let text = blocked(&r);
    assert!(text.contains("slack_bot_token x1"), "{text}");
    assert!(mock.requests().is_empty(), "nothing forwarded");
    // Redact: each part loses the bytes of the secret it held.
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-redact", "messages": [{"role": "user", "content": parts}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen: Value = serde_json::from_str(&forwarded(&mock)).unwrap();
    let content = &seen["messages"][0]["content"];
    assert_eq!(
        content[0]["text"], "see [REDACTED:slack_bot_token]",
        "{seen}"
    );
    assert_eq!(
        content[1]["text"], "[REDACTED:slack_bot_token] thanks",
        "{seen}"
    );
    // Anthropic blocks too.
    let r = gw
        .anthropic(&json!({"model": "claude-block", "max_tokens": 10,
            "messages": [{"role": "user", "content": parts}]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("slack_bot_token"), "{}", r.text());
}

#[tokio::test]
async fn secret_split_across_adjacent_messages_is_caught() {
    let (gw, mock) = world("").await;
    let (a, b) = SECRET.split_at(30);
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [
                {"role": "user", "content": format!("first half: {a}")},
                {"role": "user", "content": b}]}),
        )
        .await;
    let text = blocked(&r);
    assert!(text.contains("slack_bot_token x1"), "{text}");
    // An AWS key split between the system prompt and the first message
    // (Anthropic dialect), three ways.
    let r = gw
        .anthropic(&json!({"model": "claude-block", "max_tokens": 10,
            "system": format!("keys: {}", &AWS_KEY[..6]),
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": &AWS_KEY[6..12]},
                {"type": "text", "text": format!("{} end", &AWS_KEY[12..])}]}]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("aws_access_key_id x1"), "{}", r.text());
    assert!(mock.requests().is_empty(), "nothing forwarded");
}

#[tokio::test]
async fn unrelated_adjacent_strings_do_not_trip() {
    let (gw, mock) = world("").await;
    // Pieces that look like the start or end of a secret, next to text
    // that does not complete one; a role, a type and a tool name between
    // them are not prompt text.
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [
                {"role": "user", "content": [
                    {"type": "text", "text": "Slack bot tokens start with xoxb-"},
                    {"type": "text", "text": "and AWS key ids with AKIA"}]},
                {"role": "assistant", "content": "1234567890123 is not a token"},
                {"role": "user", "content": "-1234567890123-abcdefghijklmnopqrstuvwx alone is not one either"}],
                "tools": [{"type": "function", "function": {"name": "xoxb",
                    "description": "looks things up", "parameters": {"type": "object"}}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(mock.requests().len(), 1);
    // A secret wholly in one part is counted once, not again across the
    // boundary with its neighbour.
    let r = gw
        .openai(
            "/v1/chat/completions",
            &json!({"model": "chat-block", "messages": [
                {"role": "user", "content": "xoxb"},
                {"role": "user", "content": SECRET}]}),
        )
        .await;
    let text = blocked(&r);
    assert!(text.contains("slack_bot_token x1"), "{text}");
}

/// Every string of the stored audit records, decoded where it is JSON.
fn audit_strings(gw: &TestGateway) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                out.push(s.clone());
                if let Ok(inner) = serde_json::from_str::<Value>(s) {
                    walk(&inner, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            _ => {}
        }
    }
    let file = gw.dir.path().join("export.jsonl");
    let out = gw.cli(&["audit", "export", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut strings = Vec::new();
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        walk(&serde_json::from_str(line).unwrap(), &mut strings);
    }
    strings
}

#[tokio::test]
async fn redacted_audit_retention_redacts_json_escaped_secrets() {
    let (gw, _mock) = world(
        "\n[[models]]\nname = \"chat-kept\"\naudit_bodies = \"redacted\"\ntargets = [{ upstream = \"m-openai\", model = \"demo-chat\" }]\n",
    )
    .await;
    // `\u005A` is `Z`; `\/` is `/`: the raw text holds neither secret.
    let escaped_key = format!("{}\\u005A{}", &AWS_KEY[..4], &AWS_KEY[5..]);
    assert_eq!(&AWS_KEY[4..5], "Z");
    let url = "postgres://admin:Sup3rS3cretPassw0rd@db.internal.example.com:5432/app";
    let escaped_url = url.replace('/', "\\/");
    let raw = format!(
        r#"{{"model":"chat-kept","messages":[{{"role":"user","content":"deploy with {escaped_key} to {escaped_url}"}}],"metadata":{{"{escaped_key}":"k"}}}}"#
    );
    let reply = call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[
            ("authorization", &format!("Bearer {}", gw.key)),
            ("content-type", "application/json"),
        ],
        raw.clone(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut strings = Vec::new();
    for _ in 0..100 {
        strings = audit_strings(&gw);
        if strings.iter().any(|s| s.contains("[REDACTED:")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for s in &strings {
        for canary in [AWS_KEY, escaped_key.as_str(), url, escaped_url.as_str()] {
            assert!(!s.contains(canary), "{canary} stored in the audit log: {s}");
        }
        assert!(!s.contains("Sup3rS3cretPassw0rd"), "{s}");
    }
    assert!(
        strings
            .iter()
            .any(|s| s.contains("[REDACTED:aws_access_key_id]")),
        "{strings:?}"
    );
}

/// The `data:` payloads of an SSE body.
fn events(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .collect()
}

#[tokio::test]
async fn streamed_tool_call_arguments_are_redacted() {
    let (gw, _mock) = world("responses = \"redact\"\n").await;
    // The mock calls the tool with the first `enum` value of each required
    // property, streamed in fragments that split the secret.
    let tools = json!([{"type": "function", "function": {"name": "deploy",
        "parameters": {"type": "object", "required": ["token"],
            "properties": {"token": {"type": "string", "enum": [SECRET]}}}}}]);
    let body = json!({"model": "chat-log", "stream": true, "tools": tools,
        "messages": [{"role": "user", "content": "deploy"}]});
    let r = gw.openai("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let arguments: String = events(&text)
        .iter()
        .filter_map(|e| {
            e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!(!text.contains(&SECRET[..24]), "{text}");
    assert!(!text.contains(&SECRET[SECRET.len() - 20..]), "{text}");
    assert_eq!(
        arguments, r#"{"token":"[REDACTED:slack_bot_token]"}"#,
        "{text}"
    );
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    // The same reply unstreamed is redacted too.
    let mut unstreamed = body.clone();
    unstreamed["stream"] = json!(false);
    let r = gw.openai("/v1/chat/completions", &unstreamed).await;
    assert!(!r.text().contains(SECRET), "{}", r.text());
}

#[tokio::test]
async fn streamed_input_json_and_thinking_deltas_are_redacted() {
    let (gw, _mock) = world("responses = \"redact\"\n").await;
    let tools = json!([{"name": "deploy", "input_schema": {"type": "object",
        "required": ["token"], "properties": {"token": {"type": "string", "enum": [SECRET]}}}}]);
    // The mock thinks aloud about the prompt (so the thinking holds the
    // AWS key, split across deltas), then calls the tool.
    let r = gw
        .anthropic(
            &json!({"model": "claude-log", "max_tokens": 2000, "stream": true,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "tools": tools, "messages": [{"role": "user",
                "content": format!("deploy with key id {AWS_KEY} now please")}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    let mut thinking = String::new();
    let mut input = String::new();
    for e in events(&text) {
        if let Some(t) = e["delta"]["thinking"].as_str() {
            thinking.push_str(t);
        }
        if let Some(t) = e["delta"]["partial_json"].as_str() {
            input.push_str(t);
        }
    }
    assert!(!text.contains(&SECRET[..24]), "{text}");
    assert!(!text.contains(&SECRET[SECRET.len() - 20..]), "{text}");
    assert!(!text.contains(&AWS_KEY[..12]), "{text}");
    assert!(!text.contains(&AWS_KEY[8..]), "{text}");
    assert_eq!(input, r#"{"token":"[REDACTED:slack_bot_token]"}"#, "{text}");
    assert_eq!(
        thinking, "The user asked: deploy with key id [REDACTED:aws_access_key_id] now please",
        "{text}"
    );
    // Each flush lands in its own block, before the block stops.
    let all = events(&text);
    let stop = all
        .iter()
        .position(|e| e["type"] == "content_block_stop" && e["index"] == 0)
        .unwrap();
    assert!(
        all[..stop].iter().any(|e| e["index"] == 0
            && e["delta"]["thinking"]
                .as_str()
                .is_some_and(|t| t.contains("[REDACTED:aws_access_key_id]"))),
        "{text}"
    );
}
