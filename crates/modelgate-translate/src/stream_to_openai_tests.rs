//! Tests of the Anthropic-to-OpenAI stream translator.

use serde_json::{Value, json};

use super::*;

/// Parses translated output into data payloads (`[DONE]` as a string).
fn chunks(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let data = e.strip_prefix("data: ").unwrap();
            if data == "[DONE]" {
                Value::String(data.into())
            } else {
                serde_json::from_str(data).unwrap()
            }
        })
        .collect()
}

fn run(events: &[(&str, Value)], include_usage: bool) -> (AnthropicToOpenAiStream, Vec<Value>) {
    let mut t = AnthropicToOpenAiStream::new("public-model", include_usage);
    let mut out = Vec::new();
    for (name, data) in events {
        t.push(Some(name), &serde_json::to_vec(data).unwrap(), &mut out)
            .unwrap();
    }
    t.finish(&mut out);
    (t, chunks(&out))
}

fn start() -> (&'static str, Value) {
    (
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}),
    )
}

fn text_events() -> Vec<(&'static str, Value)> {
    vec![
        start(),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "! 日本語"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 15}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

#[test]
fn text_stream_without_usage() {
    let (t, c) = run(&text_events(), false);
    assert_eq!(c.len(), 5, "{c:?}");
    assert_eq!(
        c[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(c[0]["id"], "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
    assert_eq!(c[0]["model"], "public-model");
    assert_eq!(c[0]["object"], "chat.completion.chunk");
    assert_eq!(c[1]["choices"][0]["delta"], json!({"content": "Hello"}));
    assert_eq!(c[2]["choices"][0]["delta"], json!({"content": "! 日本語"}));
    assert_eq!(c[3]["choices"][0]["finish_reason"], "stop");
    assert_eq!(c[3]["choices"][0]["delta"], json!({}));
    assert_eq!(c[4], "[DONE]");
    assert_eq!((t.usage().input, t.usage().output), (25, 15));
    assert!(c[..4].iter().all(|x| x.get("usage").is_none()));
}

#[test]
fn usage_chunk_when_asked() {
    let (_, c) = run(&text_events(), true);
    assert_eq!(c.len(), 6);
    assert_eq!(c[4]["choices"], json!([]));
    assert_eq!(
        c[4]["usage"],
        json!({"prompt_tokens": 25, "completion_tokens": 15, "total_tokens": 40})
    );
    assert_eq!(c[5], "[DONE]");
}

#[test]
fn tool_use_stream() {
    // The shape of Anthropic's streaming documentation for tool use.
    let events = vec![
        start(),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay, let's check the weather for San Francisco, CA:"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"location\":"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": " \"San Francisco, CA\"}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 1}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 2}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 89}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let (_, c) = run(&events, true);
    let deltas: Vec<&Value> = c
        .iter()
        .filter_map(|x| x.get("choices")?.get(0).map(|ch| &ch["delta"]))
        .collect();
    assert_eq!(
        deltas[1]["content"],
        "Okay, let's check the weather for San Francisco, CA:"
    );
    assert_eq!(
        deltas[2]["tool_calls"],
        json!([{"index": 0, "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function", "function": {"name": "get_weather", "arguments": ""}}])
    );
    assert_eq!(
        deltas[3]["tool_calls"],
        json!([{"index": 0, "function": {"arguments": "{\"location\":"}}])
    );
    assert_eq!(
        deltas[4]["tool_calls"][0]["function"]["arguments"],
        " \"San Francisco, CA\"}"
    );
    assert_eq!(deltas[5]["tool_calls"][0]["index"], 1);
    assert_eq!(deltas[5]["tool_calls"][0]["function"]["name"], "get_time");
    assert_eq!(
        deltas[6]["tool_calls"][0],
        json!({"index": 1, "function": {"arguments": "{}"}})
    );
    let finish = c
        .iter()
        .find(|x| x["choices"][0]["finish_reason"].is_string())
        .unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(c.last().unwrap(), "[DONE]");
}

#[test]
fn thinking_is_skipped_and_max_tokens_maps() {
    let events = vec![
        start(),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me think"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 3}}),
        ),
    ];
    let (t, c) = run(&events, false); // no message_stop: finish() closes
    assert_eq!(c.len(), 3);
    assert_eq!(c[1]["choices"][0]["finish_reason"], "length");
    assert_eq!(c[2], "[DONE]");
    assert!(t.is_done());
}

#[test]
fn errors_and_early_end() {
    let events = vec![
        start(),
        (
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
    ];
    let (_, c) = run(&events, true);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1]["error"]["type"], "server_error");
    assert_eq!(c[1]["error"]["message"], "Overloaded");

    let (_, c) = run(&text_events()[..4], true);
    assert_eq!(
        c.last().unwrap()["error"]["type"],
        "server_error",
        "cut short: error, no [DONE]"
    );
    assert!(!c.iter().any(|x| x == "[DONE]"));
}

#[test]
fn malformed_events() {
    let push = |name: &str, data: &[u8]| {
        let mut t = AnthropicToOpenAiStream::new("m", false);
        t.push(Some(name), data, &mut Vec::new())
    };
    assert!(matches!(
        push("message_start", b"nope"),
        Err(TranslateError::MalformedStream { .. })
    ));
    assert!(push("x", b"\"str\"").is_err());
    assert!(
        push(
            "content_block_start",
            br#"{"type":"content_block_start","content_block":{"type":"text"}}"#
        )
        .is_err()
    );
    assert!(push("content_block_start", br#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","name":"f"}}"#).is_err());
    assert!(push("content_block_delta", br#"{"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{"}}"#).is_err());
    assert!(
        push(
            "content_block_delta",
            br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}"#
        )
        .is_err()
    );
    // Unknown events are ignored; the event name is used when `type` is absent.
    assert!(push("something_new", br#"{"type":"something_new"}"#).is_ok());
    let mut t = AnthropicToOpenAiStream::new("m", false);
    let mut out = Vec::new();
    t.push(Some("message_stop"), b"{}", &mut out).unwrap();
    assert!(t.is_done());
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
}
