//! The parse stage's reading and rewriting of bodies.

use super::*;

fn chat(body: &str) -> Result<ModelCall, ApiError> {
    parse(Operation::ChatCompletions, body.as_bytes())
}

#[test]
fn reads_fields() {
    let c = chat(r#"{"model":"gpt","messages":[],"stream":true,"max_tokens":5}"#).unwrap();
    assert_eq!(c.model, "gpt");
    assert!(c.stream);
    assert_eq!(c.max_tokens, Some(5));
    assert!(!c.caller_wants_usage);
    assert!(c.needs_usage_injection());
}

#[test]
fn type_errors_name_the_field_without_echoing_values() {
    for (body, param) in [
        (r#"{"model":123,"messages":[]}"#, "model"),
        (r#"{"messages":[]}"#, "model"),
        (r#"{"model":"m","messages":"hi"}"#, "messages"),
        (r#"{"model":"m"}"#, "messages"),
        (
            r#"{"model":"m","messages":[],"stream":"sk-CANARY"}"#,
            "stream",
        ),
        (
            r#"{"model":"m","messages":[],"max_tokens":-1}"#,
            "max_tokens",
        ),
        (
            r#"{"model":"m","messages":[],"stream_options":5}"#,
            "stream_options",
        ),
        (r#"{"model":"","messages":[]}"#, "model"),
    ] {
        let e = chat(body).unwrap_err();
        assert_eq!(e.param, Some(param), "{body}");
        assert!(!e.message.contains("CANARY"));
    }
}

#[test]
fn malformed_bodies() {
    assert!(chat("{").unwrap_err().message.contains("not valid JSON"));
    assert!(chat("[1]").unwrap_err().message.contains("JSON object"));
    assert!(chat("").is_err());
    let bytes = b"{\"model\":\"\xff\xfe\",\"messages\":[]}";
    assert!(parse(Operation::ChatCompletions, bytes).is_err());
    let dup = chat(r#"{"model":"a","model":"b","messages":[]}"#).unwrap_err();
    assert!(dup.message.contains("repeats"));
}

#[test]
fn operation_specific_requirements() {
    let e = parse(Operation::Messages, br#"{"model":"m","messages":[]}"#).unwrap_err();
    assert_eq!(e.param, Some("max_tokens"));
    assert!(parse(Operation::Embeddings, br#"{"model":"m","input":"x"}"#).is_ok());
    assert!(parse(Operation::Embeddings, br#"{"model":"m","input":3}"#).is_err());
    assert!(parse(Operation::Completions, br#"{"model":"m","prompt":["a"]}"#).is_ok());
    let e = parse(
        Operation::Embeddings,
        br#"{"model":"m","input":"x","stream":true}"#,
    );
    assert!(!e.unwrap().stream, "embeddings never stream");
}

#[test]
fn rewrite_renames_and_injects() {
    let body =
        r#"{ "model" : "pub", "messages":[{"role":"user","content":"model"}], "stream":true}"#;
    let c = chat(body).unwrap();
    assert!(
        c.rewrite_body(body.as_bytes(), "pub", false)
            .unwrap()
            .is_none()
    );
    let out = c
        .rewrite_body(body.as_bytes(), "up/\"x\"", true)
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["model"], "up/\"x\"");
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(v["messages"][0]["content"], "model");
}

#[test]
fn rewrite_replaces_existing_stream_options() {
    let body = r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":false,"x":1}}"#;
    let c = chat(body).unwrap();
    assert!(c.needs_usage_injection());
    let out = c.rewrite_body(body.as_bytes(), "m", true).unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(v["stream_options"]["x"], 1);
    let asked = chat(
        r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
    )
    .unwrap();
    assert!(asked.caller_wants_usage && !asked.needs_usage_injection());
}

/// `body` rewritten for an upstream model `m` (with usage asked for when
/// the call needs it), as text.
fn rewritten(operation: Operation, body: &str) -> String {
    let c = parse(operation, body.as_bytes()).unwrap();
    let out = c
        .rewrite_body(body.as_bytes(), "m", c.needs_usage_injection())
        .unwrap()
        .map_or_else(|| body.to_owned(), |b| String::from_utf8(b).unwrap());
    serde_json::from_str::<serde_json::Value>(&out).expect("still JSON");
    out
}

#[test]
fn the_decision_is_on_the_largest_ceiling_and_only_it_is_forwarded() {
    let c = chat(r#"{"model":"m","messages":[],"max_tokens":50,"max_completion_tokens":5000}"#)
        .unwrap();
    assert_eq!(c.max_tokens, Some(5000));
    let c =
        chat(r#"{"model":"m","messages":[],"max_tokens":500,"max_completion_tokens":50}"#).unwrap();
    assert_eq!(c.max_tokens, Some(500));
    for (operation, body, expected) in [
        (
            Operation::ChatCompletions,
            r#"{"model":"m","max_tokens":50,"messages":[],"max_completion_tokens":80}"#,
            r#"{"model":"m","messages":[],"max_completion_tokens":80}"#,
        ),
        (
            Operation::ChatCompletions,
            r#"{"model":"m", "messages":[], "max_completion_tokens" : 80 ,"max_tokens": 90 }"#,
            r#"{"model":"m", "messages":[], "max_completion_tokens" : 90  }"#,
        ),
        (
            Operation::ChatCompletions,
            r#"{"max\u005ftokens":90,"model":"m","messages":[],"max_completion_tokens":80}"#,
            r#"{"model":"m","messages":[],"max_completion_tokens":90}"#,
        ),
        (
            Operation::Messages,
            r#"{"model":"m","max_tokens":40,"messages":[],"max_completion_tokens":90}"#,
            r#"{"model":"m","max_tokens":90,"messages":[]}"#,
        ),
        (
            Operation::Messages,
            r#"{"max_completion_tokens":90,"model":"m","messages":[]}"#,
            r#"{"max_tokens":90,"model":"m","messages":[]}"#,
        ),
        (
            Operation::Completions,
            r#"{"model":"m","prompt":"p","max_completion_tokens":70,"max_tokens":60}"#,
            r#"{"model":"m","prompt":"p","max_tokens":70}"#,
        ),
        (
            Operation::ChatCompletions,
            r#"{"model":"m","messages":[],"max_completion_tokens":null,"max_tokens":50}"#,
            r#"{"model":"m","messages":[],"max_completion_tokens":50}"#,
        ),
        (
            Operation::ChatCompletions,
            r#"{"model":"m","messages":[],"max_tokens":50}"#,
            r#"{"model":"m","messages":[],"max_tokens":50}"#,
        ),
    ] {
        assert_eq!(rewritten(operation, body), expected, "{body}");
    }
}

#[test]
fn invalid_ceilings_are_refused_naming_the_field() {
    for (value, ok) in [
        ("1", true),
        ("4294967295", true),
        ("4294967296", false),
        ("18446744073709551615", false),
        ("0", false),
        ("-5", false),
        ("1.5", false),
        ("1e3", false),
        ("\"9\"", false),
        ("null", true),
    ] {
        for field in ["max_tokens", "max_completion_tokens"] {
            let body = format!(r#"{{"model":"m","messages":[],"{field}":{value}}}"#);
            match chat(&body) {
                Ok(_) => assert!(ok, "{body}"),
                Err(e) => {
                    assert!(!ok, "{body}");
                    assert_eq!(e.param, Some(field), "{body}");
                }
            }
        }
    }
}

#[test]
fn stream_options_are_rewritten_never_duplicated() {
    for body in [
        r#"{"model":"m","messages":[],"stream":true,"stream_options":null}"#,
        r#"{"model":"m","messages":[],"stream":true,"stream\u005foptions":null}"#,
        r#"{"model":"m","messages":[],"stream":true,"stream_options":{}}"#,
        r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":null}}"#,
        r#"{"model":"m","stream_options":{"include_usage":false,"x":1},"messages":[],"stream":true}"#,
    ] {
        let out = rewritten(Operation::ChatCompletions, body);
        assert_eq!(
            out.matches("stream_options").count() + out.matches("stream\\u005foptions").count(),
            1,
            "{out}"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true, "{out}");
        if body.contains("\"x\"") {
            assert_eq!(v["stream_options"]["x"], 1);
        }
    }
}
