//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/`
//! (files named `seed-*`): valid inputs of each kind, so the fuzzer starts
//! from what the gateway really sees. Ignored by default; run it by hand
//! after a format changes:
//!
//! ```text
//! cargo test -p modelgate-fuzz --test seeds -- --ignored
//! ```
//!
//! Sources: access tokens minted by the target's own keyring, external JWTs
//! signed with the RFC 7515 / RFC 8037 example keys (and the RFCs' own
//! examples), request bodies like the gateway's tests send, streams and
//! answers from the mock upstream, the example configuration, and a real
//! audit log and its export.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use modelgate_audit::{
    AuditConfig, AuditEvent, AuditLog, AuditSigner, Body, ControlRecord, ExportRange,
    JsonlFileOptions, JsonlFileSink, LogLines, RequestRecord, export,
};
use modelgate_fuzz::keys::*;
use modelgate_identity::{Actor, ApiKey, Identity, IdentityKind, IdentityStatus};
use modelgate_mock::MockUpstream;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::{Value, json};

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

/// Writes `seed-<label>` for `target`: `prefix` (the target's selector
/// bytes) then `body`.
fn write(target: &str, label: &str, prefix: &[u8], body: &[u8]) {
    let dir = corpus(target);
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(body);
    std::fs::write(dir.join(format!("seed-{label}")), bytes).unwrap();
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn access_tokens() {
    let identity = Identity {
        id: "idn_FuzzIdentity00000001".into(),
        name: "fuzz-caller".into(),
        kind: IdentityKind::Agent,
        owner: "team-fuzz@example.test".into(),
        environment: "prod".into(),
        purpose: "fuzz seeds".into(),
        status: IdentityStatus::Active,
        created_at: NOW - 100,
        last_used_at: None,
    };
    let tokens = modelgate_fuzz::access_tokens();
    let plain = tokens.mint(&identity, None, &[], None, NOW).unwrap();
    write(
        "access_token",
        "plain",
        b"",
        plain.token.expose().as_bytes(),
    );
    let actors = [
        Actor {
            subject: "agent-planner".into(),
        },
        Actor {
            subject: "user:alice".into(),
        },
    ];
    let delegated = tokens
        .mint(
            &identity,
            Some("models:chat"),
            &actors,
            Some(Duration::from_secs(120)),
            NOW,
        )
        .unwrap();
    write(
        "access_token",
        "delegated",
        b"",
        delegated.token.expose().as_bytes(),
    );
}

/// A compact JWS of `header` and `claims` signed by `sign`.
fn jws(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

fn federated_jwts() {
    let claims = json!({
        "iss": FEDERATED_ISSUER, "aud": FEDERATED_AUDIENCE, "sub": FEDERATED_SUBJECT,
        "exp": NOW + 600, "iat": NOW - 5, "nbf": NOW - 5,
        "repository": "acme/fuzz", "ref": "refs/heads/main",
    });
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(RFC8037_D)
        .unwrap()
        .try_into()
        .unwrap();
    let ed = ed25519_pair(&seed);
    let header = json!({"alg": "EdDSA", "kid": KID_EDDSA, "typ": "JWT"});
    let token = jws(&header, &claims, |m| ed.sign(m).as_ref().to_vec());
    write("federated_jwt", "eddsa", b"", token.as_bytes());

    let d = URL_SAFE_NO_PAD.decode(RFC7515_A3_D).unwrap();
    let point = [
        &[4u8][..],
        &URL_SAFE_NO_PAD.decode(RFC7515_A3_X).unwrap(),
        &URL_SAFE_NO_PAD.decode(RFC7515_A3_Y).unwrap(),
    ]
    .concat();
    let rng = SystemRandom::new();
    let ec = EcdsaKeyPair::from_private_key_and_public_key(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &d,
        &point,
        &rng,
    )
    .unwrap();
    let header = json!({"alg": "ES256", "kid": KID_ES256});
    let token = jws(&header, &claims, |m| {
        ec.sign(&rng, m).unwrap().as_ref().to_vec()
    });
    write("federated_jwt", "es256", b"", token.as_bytes());

    // The RFCs' own examples: their signatures verify, their claims do not
    // fit the issuer (RFC 7515), or their payload is not JSON (RFC 8037).
    for (label, token) in [
        (
            "rfc7515-a2",
            include_str!("../../modelgate-identity/tests/rfc_vectors/rfc7515_a2.jws"),
        ),
        (
            "rfc7515-a3",
            include_str!("../../modelgate-identity/tests/rfc_vectors/rfc7515_a3.jws"),
        ),
        (
            "rfc8037-a4",
            include_str!("../../modelgate-identity/tests/rfc_vectors/rfc8037_a4.jws"),
        ),
    ] {
        write("federated_jwt", label, b"", token.trim().as_bytes());
    }
}

/// Request bodies, each with the operation's selector byte.
fn request_bodies(leaked_key: &str) -> Vec<(&'static str, u8, Value)> {
    vec![
        (
            "chat",
            0,
            json!({"model": "gpt-4o-mini", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "My email is jane.doe@example.com and my card 4111 1111 1111 1111."}],
                "max_tokens": 64, "temperature": 0.2}),
        ),
        (
            "chat-stream-secret",
            0,
            json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": false},
                "max_completion_tokens": 32, "max_tokens": 16,
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "deploy with AKIAIOSFODNN7EXAMPLE and"},
                    {"type": "text", "text": format!("the gateway key {leaked_key}")}]}]}),
        ),
        (
            "chat-tools",
            0,
            json!({"model": "gpt-4o", "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "14 degrees"}],
                "tools": [{"type": "function", "function": {"name": "get_weather",
                    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]}),
        ),
        (
            "completions",
            1,
            json!({"model": "gpt-3.5-turbo-instruct", "prompt": "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", "max_tokens": 7}),
        ),
        (
            "embeddings",
            2,
            json!({"model": "text-embedding-3-small", "input": ["call +1 415 555 0100", "plain text"]}),
        ),
        (
            "messages",
            3,
            json!({"model": "claude-sonnet", "max_tokens": 200, "stream": true,
                "system": [{"type": "text", "text": "You are a weather bot."}],
                "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {
                    "type": "object", "properties": {"location": {"type": "string"}}}}],
                "messages": [{"role": "user", "content": "password=hunter2hunter2 SSN 123-45-6789"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "14 degrees"}]}]}),
        ),
    ]
}

fn requests() {
    let key = ApiKey::generate().unwrap();
    for (label, pick, body) in request_bodies(key.secret.expose()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        write("request_body", label, &[pick], &bytes);
        // OpenAI bodies go to translate_request's OpenAI direction (0),
        // Anthropic ones to the other (1).
        let direction = u8::from(pick == 3);
        write("translate_request", label, &[direction], &bytes);
    }
}

/// POSTs `body` to the mock; returns the answer's body.
async fn post(url: &str, body: &Value) -> Vec<u8> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

async fn mock_answers() {
    let mock = MockUpstream::start().await.unwrap();
    let openai = format!("{}/v1/chat/completions", mock.base_url());
    let anthropic = format!("{}/v1/messages", mock.base_url());
    let tools_openai = json!([{"type": "function", "function": {"name": "get_weather",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]);
    let tools_anthropic = json!([{"name": "get_weather", "input_schema": {
        "type": "object", "properties": {"location": {"type": "string"}}}}]);
    let user = json!([{"role": "user", "content": "Weather in Paris?"}]);
    let sizes = [7u8, 31, 2, 200];

    for (label, tools) in [("text", Value::Null), ("tools", tools_openai)] {
        let mut req = json!({"model": "m", "messages": user});
        if !tools.is_null() {
            req["tools"] = tools;
        }
        let answer = post(&openai, &req).await;
        write(
            "translate_response",
            &format!("openai-{label}"),
            &[0],
            &answer,
        );
        req["stream"] = json!(true);
        req["stream_options"] = json!({"include_usage": true});
        let stream = post(&openai, &req).await;
        write(
            "sse_frame",
            &format!("openai-{label}"),
            &[&[0u8][..], &sizes].concat(),
            &stream,
        );
        write(
            "sse_frame",
            &format!("openai-{label}-hidden"),
            &[&[2u8][..], &sizes].concat(),
            &stream,
        );
        write(
            "translate_stream",
            &format!("openai-{label}"),
            &[&[0u8][..], &sizes].concat(),
            &stream,
        );
    }
    for (label, tools) in [("text", Value::Null), ("tools", tools_anthropic)] {
        let mut req = json!({"model": "m", "max_tokens": 100, "messages": user});
        if !tools.is_null() {
            req["tools"] = tools;
        }
        let answer = post(&anthropic, &req).await;
        write(
            "translate_response",
            &format!("anthropic-{label}"),
            &[1],
            &answer,
        );
        req["stream"] = json!(true);
        let stream = post(&anthropic, &req).await;
        write(
            "sse_frame",
            &format!("anthropic-{label}"),
            &[&[1u8][..], &sizes].concat(),
            &stream,
        );
        write(
            "translate_stream",
            &format!("anthropic-{label}"),
            &[&[3u8][..], &sizes].concat(),
            &stream,
        );
    }
    mock.shutdown().await;
    let openai_error = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    write(
        "translate_response",
        "openai-error",
        &[2 | (29 << 2)],
        openai_error,
    );
    let anthropic_error =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    write(
        "translate_response",
        "anthropic-error",
        &[3 | (29 << 2)],
        anthropic_error,
    );
}

fn configs() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for name in ["modelgate.toml", "requirements.toml"] {
        let text = std::fs::read(examples.join(name)).unwrap();
        write("config_toml", name.trim_end_matches(".toml"), b"", &text);
    }
}

async fn audit() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(AuditSigner::from_seed(&modelgate_fuzz::AUDIT_SEED).unwrap());
    let mut config = AuditConfig::new("gw-fuzz");
    config.checkpoint_every = 3;
    let sink = JsonlFileSink::open(JsonlFileOptions::new(dir.path())).unwrap();
    let log = AuditLog::start(vec![Box::new(sink)], signer.clone(), config)
        .await
        .unwrap();
    for i in 0..5u64 {
        let mut record = RequestRecord {
            request_id: format!("req-{i}"),
            identity: Some("svc-fuzz".into()),
            model: Some("gpt-4o-mini".into()),
            findings: vec![("email".into(), 1)],
            status: Some(200),
            tokens_in: Some(10 + i),
            ..Default::default()
        };
        if i % 2 == 0 {
            record.prompt = Some(Body::Full {
                text: format!("prompt {i}"),
                salt: "c2FsdHNhbHRzYWx0c2FsdA==".into(),
            });
            record.response = Some(Body::Redacted {
                text: "an answer [REDACTED:email]".into(),
                salt: "cGVwcGVycGVwcGVycGVwcA==".into(),
            });
        }
        log.append(AuditEvent::Request(record)).await.unwrap();
    }
    log.append(AuditEvent::Control(ControlRecord {
        action: "key.issue".into(),
        actor: Some("admin@example.test".into()),
        target: Some("key_1".into()),
        outcome: "ok".into(),
        detail: [("ttl".to_owned(), "3600".to_owned())].into(),
    }))
    .await
    .unwrap();
    log.close().await;

    let lines: Vec<Vec<u8>> = LogLines::open(dir.path(), "audit")
        .unwrap()
        .map(Result::unwrap)
        .collect();
    write("audit_export", "raw-log", b"", &lines.join(&b'\n'));
    let mut file = Vec::new();
    export(
        LogLines::open(dir.path(), "audit").unwrap(),
        ExportRange::default(),
        &signer,
        &[],
        &mut file,
    )
    .unwrap();
    write("audit_export", "export", b"", &file);
    for (i, line) in file.split(|&b| b == b'\n').enumerate() {
        if !line.is_empty() {
            write("audit_line", &format!("export-{i:02}"), b"", line);
        }
    }
}

#[test]
#[ignore = "writes fuzz/corpus; run by hand"]
fn write_seed_corpus() {
    access_tokens();
    federated_jwts();
    requests();
    configs();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(mock_answers());
    rt.block_on(audit());
}
