//! Issue 14, defects 3 and 4 through the live gateway and the mock
//! upstream: the output-token ceiling holds whichever field states it, and
//! the streamed usage the gateway asks for cannot be switched off by the
//! caller (and a stream without usage is still charged). Defect 12 (the
//! circuit breaker's trial slot) is in `security_breaker.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::admin::assign_role;
use common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Every request record of the audit log, decoded, via `audit search`.
fn request_records(gw: &TestGateway) -> Vec<Value> {
    let out = gw.cli(&["audit", "search", "--format", "json", "--limit", "1000"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|r| r["event"].get("request").cloned())
        .collect()
}

/// The `complete` record of the request `id`, once it is written.
async fn complete_record(gw: &TestGateway, id: &str) -> Value {
    for _ in 0..100 {
        if let Some(r) = request_records(gw)
            .into_iter()
            .find(|r| r["request_id"] == id && r["phase"] == "complete")
        {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no complete record for {id}: {:#?}", request_records(gw));
}

/// The request's id, from the response header.
fn request_id(reply: &Reply) -> String {
    reply.headers["x-request-id"].to_str().unwrap().to_owned()
}

/// The body the mock received last, as text and as JSON (last-wins).
fn last_forwarded(mock: &MockHandle) -> (String, Value) {
    let requests = mock.requests();
    let last = requests.last().expect("the mock received a request");
    let text = String::from_utf8_lossy(&last.body).into_owned();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

/// How often `"key"` appears as an object key in `text`.
fn key_count(text: &str, key: &str) -> usize {
    let quoted = format!("\"{key}\"");
    text.match_indices(&quoted)
        .filter(|(i, _)| text[i + quoted.len()..].trim_start().starts_with(':'))
        .count()
}

const CHAT: &str = "/v1/chat/completions";
const MESSAGES: &str = "/v1/messages";
const COMPLETIONS: &str = "/v1/completions";

/// A body for `path` to `model` with extra top-level fields: one message
/// ("hello there" to [`CHAT`], "hi" to [`MESSAGES`]) or the prompt "hi".
fn body_with(path: &str, model: &str, extra: Value) -> Value {
    let mut body = match path {
        MESSAGES => json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}),
        COMPLETIONS => json!({"model": model, "prompt": "hi"}),
        _ => json!({"model": model, "messages": [{"role": "user", "content": "hello there"}]}),
    };
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A one-message chat body to `model` with extra top-level fields.
fn chat_with(model: &str, extra: Value) -> Value {
    body_with(CHAT, model, extra)
}

/// POSTs `body` to `path`: through the Anthropic API for [`MESSAGES`], with
/// the OpenAI-style key otherwise.
async fn post(gw: &TestGateway, path: &str, body: &Value) -> Reply {
    if path == MESSAGES {
        gw.anthropic(body).await
    } else {
        gw.openai(path, body).await
    }
}

/// POSTs raw `body` text (possibly with repeated keys) to `path` with the
/// OpenAI-style key.
async fn post_raw(gw: &TestGateway, path: &str, body: &str) -> Reply {
    let auth = format!("Bearer {}", gw.key);
    call(
        "POST",
        &gw.url(path),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_owned(),
    )
    .await
}

// ---------------------------------------------------------------------------
// Defect 3: max_tokens ceiling bypass
// ---------------------------------------------------------------------------

#[tokio::test]
async fn max_completion_tokens_cannot_bypass_the_ceiling() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}\n[[models]]\nname = \"to-openai\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}]\n\
         [[models]]\nname = \"to-anthropic\"\ntargets = [{{ upstream = \"l-anthropic\", model = \"demo-chat\" }}]\n\n\
         [[roles]]\nname = \"capped\"\nmodels = [\"to-*\"]\nactions = [\"chat\", \"completions\", \"messages\"]\nmax_tokens = 100\n",
        upstreams_on(&mock, "l", "")
    );
    let gw = TestGateway::start(&config).await;
    assign_role(&gw.config, "app", "capped");

    // Within the ceiling by `max_tokens`, far above it by the other field:
    // refused for both upstream kinds, nothing forwarded.
    let over = json!({"max_tokens": 50, "max_completion_tokens": 5000});
    for model in ["to-openai", "to-anthropic"] {
        let r = gw.openai(CHAT, &chat_with(model, over.clone())).await;
        assert_eq!(r.status, 403, "{model}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "policy_denied", "{model}");
        assert!(
            r.text().contains("5000"),
            "the decision was made on the larger value: {}",
            r.text()
        );
        let body = chat_with(model, json!({"max_completion_tokens": 5000}));
        let r = gw.openai(CHAT, &body).await;
        assert_eq!(r.status, 403, "{model}: {}", r.text());
    }
    // The same through the Anthropic API and the completions API.
    let r = gw
        .anthropic(&body_with(MESSAGES, "to-anthropic", over.clone()))
        .await;
    assert_eq!(r.status, 403, "{MESSAGES}: {}", r.text());
    assert_eq!(r.json()["type"], "error", "Anthropic error shape");
    let r = gw
        .openai(COMPLETIONS, &body_with(COMPLETIONS, "to-openai", over))
        .await;
    assert_eq!(r.status, 403, "{COMPLETIONS}: {}", r.text());
    assert!(
        mock.requests().is_empty(),
        "nothing over the ceiling was forwarded"
    );

    // Within the ceiling by both: forwarded with one field carrying the
    // value decided on (the larger).
    let within = json!({"max_tokens": 50, "max_completion_tokens": 80});
    let r = gw.openai(CHAT, &chat_with("to-openai", within)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let (text, sent) = last_forwarded(&mock);
    assert_eq!(
        key_count(&text, "max_tokens") + key_count(&text, "max_completion_tokens"),
        1,
        "one output ceiling field is forwarded: {text}"
    );
    assert_eq!(sent["max_completion_tokens"], 80, "{text}");
    // Elsewhere the larger value travels as `max_tokens`.
    for (path, model, asked, decided) in [
        (CHAT, "to-anthropic", [80, 50], 80),
        (MESSAGES, "to-anthropic", [40, 90], 90),
        (COMPLETIONS, "to-openai", [60, 70], 70),
    ] {
        let what = format!("{path} to {model} asking {asked:?}");
        let sizes = json!({"max_tokens": asked[0], "max_completion_tokens": asked[1]});
        let body = body_with(path, model, sizes);
        let r = post(&gw, path, &body).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        let (text, sent) = last_forwarded(&mock);
        assert_eq!(
            sent["max_tokens"], decided,
            "{what}: the larger value reaches the upstream: {text}"
        );
        assert_eq!(
            key_count(&text, "max_completion_tokens"),
            0,
            "{what}: {text}"
        );
    }

    // Invalid values: a 400 naming the field, in the caller's dialect.
    let forwarded = mock.requests().len();
    for bad in [
        json!(-1),
        json!(0),
        json!(1.5),
        json!("9"),
        json!(1e30),
        json!(u64::MAX),
    ] {
        let body = chat_with("to-openai", json!({"max_completion_tokens": bad}));
        let r = gw.openai(CHAT, &body).await;
        assert_eq!(r.status, 400, "{CHAT} {bad}: {}", r.text());
        assert_eq!(r.json()["error"]["param"], "max_completion_tokens", "{bad}");
        let body = body_with(MESSAGES, "to-anthropic", json!({"max_tokens": bad}));
        let r = gw.anthropic(&body).await;
        assert_eq!(r.status, 400, "{MESSAGES} {bad}: {}", r.text());
        assert_eq!(r.json()["error"]["type"], "invalid_request_error", "{bad}");
        assert!(r.text().contains("max_tokens"), "{}", r.text());
    }
    assert_eq!(
        mock.requests().len(),
        forwarded,
        "no invalid value forwarded"
    );
}

// ---------------------------------------------------------------------------
// Defect 4: "stream_options": null escapes token accounting
// ---------------------------------------------------------------------------

async fn one_openai_upstream(mock: &MockHandle) -> TestGateway {
    let config = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"l-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(mock, "l", "")
    );
    TestGateway::start(&config).await
}

#[tokio::test]
async fn stream_options_null_is_rewritten_and_usage_is_charged() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = one_openai_upstream(&mock).await;
    let bodies = [
        r#"{"model":"chat","messages":[{"role":"user","content":"hello there"}],"stream":true,"stream_options":null}"#,
        r#"{"model":"chat","stream":true,"stream_options":{"include_usage":false,"x":1},"messages":[{"role":"user","content":"hello there"}]}"#,
        r#"{"model":"chat","stream":true,"messages":[{"role":"user","content":"hello there"}],"stream\u005foptions":null}"#,
    ];
    for body in bodies {
        let r = post_raw(&gw, CHAT, body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        assert!(r.text().contains("[DONE]"), "{}", r.text());
        assert!(
            !r.text().contains("\"usage\":{"),
            "the caller did not ask for usage: {}",
            r.text()
        );
        let (text, sent) = last_forwarded(&mock);
        assert_eq!(
            text.matches("stream_options").count() + text.matches("stream\\u005foptions").count(),
            1,
            "stream_options is rewritten, never duplicated: {text}"
        );
        assert_eq!(sent["stream_options"]["include_usage"], true, "{text}");
        if body.contains("\"x\":1") {
            assert_eq!(
                sent["stream_options"]["x"], 1,
                "the caller's other options kept"
            );
        }
        let record = complete_record(&gw, &request_id(&r)).await;
        assert!(
            record["tokens_out"].as_u64().unwrap_or(0) > 0,
            "{body}: the stream is charged: {record:#}"
        );
        assert!(record["tokens_in"].as_u64().unwrap_or(0) > 0, "{record:#}");
        assert!(
            record.get("usage_estimated").is_none(),
            "the upstream reported usage: {record:#}"
        );
    }
}

#[tokio::test]
async fn stream_without_usage_is_charged_by_an_estimate() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = one_openai_upstream(&mock).await;
    mock.set_behavior(Behavior {
        omit_usage: true,
        ..Default::default()
    });
    let prompt = "please write a long answer about the sea ".repeat(20);
    let body = chat_with(
        "chat",
        json!({"stream": true, "messages": [{"role": "user", "content": prompt}]}),
    );
    let r = gw.openai(CHAT, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("[DONE]"));
    let (_, sent) = last_forwarded(&mock);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    // The streamed text, as the caller received it.
    let streamed: usize = r
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::len))
        .sum();
    assert!(streamed > 0);
    let record = complete_record(&gw, &request_id(&r)).await;
    assert_eq!(record["usage_estimated"], true, "{record:#}");
    let tokens_out = record["tokens_out"].as_u64().unwrap_or(0);
    let tokens_in = record["tokens_in"].as_u64().unwrap_or(0);
    // About four bytes a token, rounded up.
    assert_eq!(tokens_out, streamed.div_ceil(4) as u64, "{record:#}");
    assert!(
        tokens_in >= (prompt.len() / 4) as u64,
        "the prompt is charged by its size: {record:#}"
    );
    let logs = gw.logs();
    assert!(
        logs.contains("usage_estimated=true"),
        "the log line says so: {logs}"
    );
}
