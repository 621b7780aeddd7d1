//! Tests of the OpenAI-to-Anthropic stream translator.

use serde_json::{Value, json};

use super::*;

/// Parses translated SSE output into (event name, data) pairs.
fn events(out: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(out).unwrap();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str(), "event name matches its type");
            (name, data)
        })
        .collect()
}

fn run(chunks: &[Value], done: bool) -> (OpenAiToAnthropicStream, Vec<(String, Value)>) {
    let mut t = OpenAiToAnthropicStream::new("public-model");
    let mut out = Vec::new();
    for c in chunks {
        t.push(None, &serde_json::to_vec(c).unwrap(), &mut out)
            .unwrap();
    }
    if done {
        t.push(None, b"[DONE]", &mut out).unwrap();
    }
    t.finish(&mut out);
    (t, events(&out))
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190, "model": "llama3.1",
           "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

fn usage(p: u64, c: u64) -> Value {
    json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "choices": [],
           "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}})
}

#[test]
fn text_stream_with_usage() {
    let (t, ev) = run(
        &[
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"content": "Hello"}), Value::Null),
            chunk(json!({"content": " wörld 🌍"}), Value::Null),
            chunk(json!({}), json!("stop")),
            usage(9, 12),
        ],
        true,
    );
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &ev[0].1["message"];
    assert_eq!(start["id"], "chatcmpl-123");
    assert_eq!(start["model"], "public-model");
    assert_eq!(start["role"], "assistant");
    assert_eq!(
        ev[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        ev[3].1["delta"],
        json!({"type": "text_delta", "text": " wörld 🌍"})
    );
    assert_eq!(
        ev[5].1["delta"],
        json!({"stop_reason": "end_turn", "stop_sequence": null})
    );
    assert_eq!(
        ev[5].1["usage"],
        json!({"input_tokens": 9, "output_tokens": 12})
    );
    assert_eq!(
        (t.usage().input, t.usage().output, t.usage().reported),
        (9, 12, true)
    );
    assert!(t.is_done());
}

#[test]
fn text_then_parallel_tool_calls_split_arguments() {
    let call = |index: u64, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(n) = name {
            f["name"] = n.into();
        }
        let mut c = json!({"index": index, "function": f});
        if let Some(id) = id {
            c["id"] = id.into();
            c["type"] = "function".into();
        }
        chunk(json!({"tool_calls": [c]}), Value::Null)
    };
    let (_, ev) = run(
        &[
            chunk(
                json!({"role": "assistant", "content": "Let me check."}),
                Value::Null,
            ),
            call(0, Some("call_a"), Some("get_weather"), ""),
            call(0, None, None, "{\"loca"),
            call(0, None, None, "tion\": \"Paris\"}"),
            call(1, Some("call_b"), Some("get_time"), "{\"tz\":"),
            call(1, None, None, "\"CET\"}"),
            chunk(json!({}), json!("tool_calls")),
            usage(20, 30),
        ],
        true,
    );
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(ev[4].1["index"], 1);
    assert_eq!(
        ev[4].1["content_block"],
        json!({"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}})
    );
    let json_of = |range: std::ops::Range<usize>| -> Value {
        let s: String = ev[range]
            .iter()
            .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
            .collect();
        serde_json::from_str(&s).unwrap()
    };
    assert_eq!(json_of(5..7), json!({"location": "Paris"}));
    assert_eq!(ev[8].1["index"], 2);
    assert_eq!(ev[8].1["content_block"]["name"], "get_time");
    assert_eq!(json_of(9..11), json!({"tz": "CET"}));
    assert!(
        ev[9..11]
            .iter()
            .all(|(_, d)| d["index"] == 2 && d["delta"]["type"] == "input_json_delta")
    );
    assert_eq!(ev[12].1["delta"]["stop_reason"], "tool_use");
}

#[test]
fn whole_tool_call_in_one_chunk_and_length() {
    // Ollama sends a complete call at once.
    let (_, ev) = run(
        &[
            chunk(
                json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_x", "index": 0, "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}),
                Value::Null,
            ),
            chunk(json!({}), json!("length")),
        ],
        false,
    );
    assert_eq!(ev[1].1["content_block"]["type"], "tool_use");
    assert_eq!(ev[2].1["delta"]["partial_json"], "{\"a\":1}");
    let delta = ev.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(
        delta.1["delta"]["stop_reason"], "max_tokens",
        "finish() closes after a finish_reason"
    );
    assert_eq!(ev.last().unwrap().0, "message_stop");
}

#[test]
fn stop_sequence_from_vllm() {
    let (_, ev) = run(
        &[
            json!({"id": "c", "choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop", "stop_reason": "END"}]}),
        ],
        true,
    );
    let delta = &ev[ev.len() - 2].1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    );
}

#[test]
fn empty_answer_and_early_end() {
    let (_, ev) = run(
        &[chunk(
            json!({"role": "assistant", "content": ""}),
            json!("stop"),
        )],
        true,
    );
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["message_start", "message_delta", "message_stop"]);

    let (t, ev) = run(&[chunk(json!({"content": "half"}), Value::Null)], false);
    assert_eq!(ev.last().unwrap().0, "error");
    assert_eq!(ev.last().unwrap().1["error"]["type"], "api_error");
    assert!(t.is_done());

    let (_, ev) = run(&[], false);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].0, "error");
}

#[test]
fn upstream_error_event() {
    let mut t = OpenAiToAnthropicStream::new("m");
    let mut out = Vec::new();
    t.push(
        None,
        br#"{"error":{"message":"model overloaded","type":"server_error"}}"#,
        &mut out,
    )
    .unwrap();
    t.push(None, b"[DONE]", &mut out).unwrap();
    t.finish(&mut out);
    let ev = events(&out);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0].1["error"],
        json!({"type": "api_error", "message": "model overloaded"})
    );
}

#[test]
fn malformed_streams_are_errors() {
    let push = |data: &[u8]| {
        let mut t = OpenAiToAnthropicStream::new("m");
        t.push(None, data, &mut Vec::new())
    };
    assert!(matches!(
        push(b"{not json"),
        Err(TranslateError::MalformedStream { .. })
    ));
    assert!(push(b"[1]").is_err());
    assert!(push(br#"{"choices": 3}"#).is_err());
    assert!(push(br#"{"choices": [{"delta": {"content": 5}}]}"#).is_err());
    assert!(push(br#"{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]}"#).is_err(), "no name");
    assert!(push(br#"{"choices": [{"delta": {"tool_calls": [7]}}]}"#).is_err());

    let mut t = OpenAiToAnthropicStream::new("m");
    let mut out = Vec::new();
    let call = |i: u64, name: &str| {
        serde_json::to_vec(&chunk(json!({"tool_calls": [{"index": i, "id": format!("c{i}"), "function": {"name": name, "arguments": "{"}}]}), Value::Null)).unwrap()
    };
    t.push(None, &call(0, "a"), &mut out).unwrap();
    t.push(None, &call(1, "b"), &mut out).unwrap();
    let late = serde_json::to_vec(&chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]}),
        Value::Null,
    ))
    .unwrap();
    assert!(matches!(
        t.push(None, &late, &mut out),
        Err(TranslateError::MalformedStream { .. })
    ));
}

#[test]
fn complete_calls_sharing_index_zero() {
    // Some servers send each complete call in its own delta, all index 0.
    let call = |id: &str, name: &str, args: &str| json!({"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": args}});
    let (_, ev) = run(
        &[
            chunk(
                json!({"role": "assistant", "tool_calls": [call("call_1", "a", "{\"x\":1}"), call("call_2", "b", "{}")]}),
                Value::Null,
            ),
            chunk(json!({}), json!("tool_calls")),
        ],
        true,
    );
    let starts: Vec<&Value> = ev
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(
        (
            starts[0]["index"].as_u64(),
            starts[0]["content_block"]["id"].as_str()
        ),
        (Some(0), Some("call_1"))
    );
    assert_eq!(
        (
            starts[1]["index"].as_u64(),
            starts[1]["content_block"]["id"].as_str()
        ),
        (Some(1), Some("call_2"))
    );
    let deltas: Vec<(u64, &str)> = ev
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| {
            (
                d["index"].as_u64().unwrap(),
                d["delta"]["partial_json"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(deltas, [(0, "{\"x\":1}"), (1, "{}")]);
    // An id repeated on every fragment continues the same call.
    let (_, ev) = run(
        &[
            chunk(
                json!({"tool_calls": [call("call_1", "a", "{\"x\"")]}),
                Value::Null,
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_1", "function": {"arguments": ":1}"}}]}),
                Value::Null,
            ),
        ],
        true,
    );
    assert_eq!(
        ev.iter()
            .filter(|(n, _)| n == "content_block_start")
            .count(),
        1
    );
}
