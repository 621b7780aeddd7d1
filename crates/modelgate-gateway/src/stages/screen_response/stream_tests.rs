//! Tests of response screening, streamed and complete.

use super::*;
use crate::stages::screen_response::screen_body;
use serde_json::Value;

const SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";

fn openai_chunk(text: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
    )
}

fn texts(out: &[u8]) -> String {
    let mut all = String::new();
    for line in String::from_utf8_lossy(out).lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if let Some(t) = v["choices"][0]["delta"]["content"].as_str() {
            all.push_str(t);
        }
        if let Some(t) = v["delta"]["text"].as_str() {
            all.push_str(t);
        }
    }
    all
}

#[test]
fn a_secret_split_across_openai_chunks_is_redacted() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::OpenAi, screener, true, 1 << 20);
    let (a, b) = SECRET.split_at(20);
    let mut out = Vec::new();
    for piece in ["the token is ", a, b, " ok"] {
        out.extend_from_slice(&screen.feed(openai_chunk(piece).as_bytes()).unwrap());
    }
    out.extend_from_slice(&screen.feed(b"data: [DONE]\n\n").unwrap());
    out.extend_from_slice(&screen.finish().unwrap());
    let text = texts(&out);
    assert!(!String::from_utf8_lossy(&out).contains(SECRET));
    assert!(!String::from_utf8_lossy(&out).contains(a));
    assert_eq!(text, "the token is [REDACTED:slack_bot_token] ok");
    assert_eq!(screen.findings().get("slack_bot_token"), Some(&1));
    assert!(
        String::from_utf8_lossy(&out)
            .trim_end()
            .ends_with("data: [DONE]")
    );
}

#[test]
fn a_secret_split_across_anthropic_deltas_is_redacted() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::Anthropic, screener, true, 1 << 20);
    let (a, b) = SECRET.split_at(30);
    let delta = |t: &str| {
        format!(
            "event: content_block_delta\ndata: {}\n\n",
            serde_json::json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": t}})
        )
    };
    let mut out = Vec::new();
    for piece in ["key: ", a, b] {
        out.extend_from_slice(&screen.feed(delta(piece).as_bytes()).unwrap());
    }
    out.extend_from_slice(
        &screen
            .feed(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
            .unwrap(),
    );
    let text = texts(&out);
    assert_eq!(text, "key: [REDACTED:slack_bot_token]");
    let raw = String::from_utf8_lossy(&out);
    assert!(!raw.contains(SECRET));
    let stop = raw.find("content_block_stop").unwrap();
    assert!(
        raw[..stop].contains("[REDACTED:"),
        "flushed before the block ends"
    );
}

#[test]
fn log_only_passes_events_unchanged_and_counts() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::OpenAi, screener, false, 1 << 20);
    let input = [
        openai_chunk("mail jane.doe@example.com "),
        openai_chunk("bye"),
    ]
    .concat();
    let mut out = screen.feed(input.as_bytes()).unwrap().to_vec();
    out.extend_from_slice(&screen.finish().unwrap());
    assert_eq!(String::from_utf8_lossy(&out), input);
    assert_eq!(screen.findings().get("email"), Some(&1));
}

#[test]
fn complete_bodies_are_redacted_in_place() {
    let screener = Screener::builtin();
    let body = serde_json::json!({"id": "x", "choices": [{"message": {"content": format!("use {SECRET}")}}]});
    let (out, counts) = screen_body(&screener, Bytes::from(body.to_string()), true);
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        out["choices"][0]["message"]["content"],
        "use [REDACTED:slack_bot_token]"
    );
    assert_eq!(counts.get("slack_bot_token"), Some(&1));
}

fn openai_call(index: u64, arguments: &str) -> String {
    format!(
        "data: {}\n\n",
        serde_json::json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"tool_calls": [{"index": index,
                "function": {"arguments": arguments}}]}, "finish_reason": null}]})
    )
}

/// Each tool call's arguments, reassembled by call index.
fn arguments(out: &[u8]) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(out).lines() {
        let Some(v) = line
            .strip_prefix("data: ")
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            continue;
        };
        for call in v["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let i = call["index"].as_u64().unwrap() as usize;
            if calls.len() <= i {
                calls.resize(i + 1, String::new());
            }
            calls[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    calls
}

#[test]
fn tool_call_arguments_are_redacted_per_call() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::OpenAi, screener, true, 1 << 20);
    let args = format!(r#"{{"token":"{SECRET}"}}"#);
    let (a, b) = args.split_at(25);
    let mut out = Vec::new();
    // Two calls interleaved: pieces of one never complete the other's.
    for event in [
        openai_chunk("calling "),
        openai_call(0, a),
        openai_call(1, r#"{"q":"xoxb-"}"#),
        openai_call(0, b),
    ] {
        out.extend_from_slice(&screen.feed(event.as_bytes()).unwrap());
    }
    let finish = serde_json::json!({"id": "c1", "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]});
    out.extend_from_slice(
        &screen
            .feed(format!("data: {finish}\n\n").as_bytes())
            .unwrap(),
    );
    let raw = String::from_utf8_lossy(&out).into_owned();
    assert!(
        !raw.contains(&SECRET[..20]) && !raw.contains(&SECRET[30..]),
        "{raw}"
    );
    assert_eq!(
        arguments(&out),
        [
            r#"{"token":"[REDACTED:slack_bot_token]"}"#,
            r#"{"q":"xoxb-"}"#
        ]
    );
    assert_eq!(texts(&out), "calling ");
    let finish_at = raw.find("\"tool_calls\"}").unwrap_or(raw.len());
    assert!(
        raw[..finish_at].contains("[REDACTED:"),
        "flushed before the finish: {raw}"
    );
    assert_eq!(screen.findings().get("slack_bot_token"), Some(&1));
}

#[test]
fn input_json_and_thinking_blocks_are_redacted_per_block() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::Anthropic, screener, true, 1 << 20);
    let delta = |index: u64, kind: &str, field: &str, t: &str| {
        let mut d = serde_json::json!({"type": kind});
        d[field] = Value::String(t.to_owned());
        format!(
            "event: content_block_delta\ndata: {}\n\n",
            serde_json::json!({"type": "content_block_delta", "index": index, "delta": d})
        )
    };
    let stop = |index: u64| {
        format!(
            "event: content_block_stop\ndata: {}\n\n",
            serde_json::json!({"type": "content_block_stop", "index": index})
        )
    };
    let (a, b) = SECRET.split_at(22);
    let mut out = Vec::new();
    for event in [
        delta(0, "thinking_delta", "thinking", &format!("use {a}")),
        delta(0, "thinking_delta", "thinking", b),
        delta(0, "signature_delta", "signature", "sig"),
        stop(0),
        delta(
            1,
            "input_json_delta",
            "partial_json",
            &format!(r#"{{"t":"{a}"#),
        ),
        delta(1, "input_json_delta", "partial_json", &format!(r#"{b}"}}"#)),
        stop(1),
    ] {
        out.extend_from_slice(&screen.feed(event.as_bytes()).unwrap());
    }
    let raw = String::from_utf8_lossy(&out).into_owned();
    assert!(!raw.contains(a) && !raw.contains(b), "{raw}");
    let (mut thinking, mut input) = (String::new(), String::new());
    for line in raw.lines() {
        let Some(v) = line
            .strip_prefix("data: ")
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            continue;
        };
        thinking.push_str(v["delta"]["thinking"].as_str().unwrap_or(""));
        input.push_str(v["delta"]["partial_json"].as_str().unwrap_or(""));
    }
    assert_eq!(thinking, "use [REDACTED:slack_bot_token]");
    assert_eq!(input, r#"{"t":"[REDACTED:slack_bot_token]"}"#);
    // The thinking is whole before its signature.
    let signature = raw.find("signature_delta").unwrap();
    assert!(raw[..signature].contains("[REDACTED:"), "{raw}");
    assert_eq!(screen.findings().get("slack_bot_token"), Some(&2));
}

#[test]
fn log_only_counts_arguments_and_thinking() {
    let screener = Arc::new(Screener::builtin());
    let mut screen = ResponseStreamScreen::new(Dialect::OpenAi, screener, false, 1 << 20);
    let args = format!(r#"{{"token":"{SECRET}"}}"#);
    let (a, b) = args.split_at(25);
    let input = [openai_call(0, a), openai_call(0, b)].concat();
    let mut out = screen.feed(input.as_bytes()).unwrap().to_vec();
    out.extend_from_slice(&screen.finish().unwrap());
    assert_eq!(String::from_utf8_lossy(&out), input);
    assert_eq!(screen.findings().get("slack_bot_token"), Some(&1));
}
