//! Tests of complete responses rendered in the caller's dialect.

use serde_json::{Value, json};

use super::*;

fn to_anthropic(v: Value) -> Result<Value, TranslateError> {
    let b = openai_to_anthropic_response(&serde_json::to_vec(&v).unwrap(), "public-model")?;
    Ok(serde_json::from_slice(&b).unwrap())
}

fn to_openai(v: Value) -> Result<Value, TranslateError> {
    let b = anthropic_to_openai_response(&serde_json::to_vec(&v).unwrap(), "public-model")?;
    Ok(serde_json::from_slice(&b).unwrap())
}

#[test]
fn openai_text_completion() {
    let out = to_anthropic(json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-2025-04-14",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I assist you today? 😀", "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29, "prompt_tokens_details": {"cached_tokens": 0}},
        "service_tier": "default"
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
            "type": "message",
            "role": "assistant",
            "model": "public-model",
            "content": [{"type": "text", "text": "Hello! How can I assist you today? 😀"}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 19, "output_tokens": 10}
        })
    );
}

#[test]
fn openai_tool_calls_and_stop_reasons() {
    let out = to_anthropic(json!({
        "id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": ""}}
        ]}}]
    }))
    .unwrap();
    assert_eq!(out["stop_reason"], "tool_use");
    assert_eq!(
        out["content"],
        json!([
            {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"location": "Paris"}},
            {"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}}
        ])
    );
    assert_eq!(out["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
    let with = |finish: Value, extra: Value| {
        let mut choice = json!({"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish});
        if let Some(o) = extra.as_object() {
            for (k, v) in o {
                choice[k] = v.clone();
            }
        }
        to_anthropic(json!({"choices": [choice]})).unwrap()
    };
    assert_eq!(
        with(json!("length"), json!(null))["stop_reason"],
        "max_tokens"
    );
    assert_eq!(
        with(json!("content_filter"), json!(null))["stop_reason"],
        "refusal"
    );
    let vllm = with(json!("stop"), json!({"stop_reason": "END"}));
    assert_eq!(
        (vllm["stop_reason"].as_str(), vllm["stop_sequence"].as_str()),
        (Some("stop_sequence"), Some("END"))
    );
    let eos = with(json!("stop"), json!({"stop_reason": 128009}));
    assert_eq!(
        eos["stop_reason"], "end_turn",
        "a stop token id is not a stop sequence"
    );
    assert_eq!(with(json!(null), json!(null))["stop_reason"], "end_turn");
}

#[test]
fn openai_bad_responses() {
    assert_eq!(
        to_anthropic(json!({"choices": []})).unwrap_err().field(),
        Some("choices[0]")
    );
    assert_eq!(
        to_anthropic(json!({"id": "x"})).unwrap_err().field(),
        Some("choices")
    );
    assert_eq!(
        to_anthropic(json!({"choices": [{"index": 0}]}))
            .unwrap_err()
            .field(),
        Some("choices[0].message")
    );
    let bad_args = json!({"choices": [{"message": {"tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}]}}]});
    assert!(matches!(
        to_anthropic(bad_args),
        Err(TranslateError::InvalidToolArguments { .. })
    ));
    assert_eq!(
        openai_to_anthropic_response(b"nope", "m"),
        Err(TranslateError::InvalidJson)
    );
}

#[test]
fn anthropic_message_with_tool_use() {
    let out = to_openai(json!({
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "I'll check the weather."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA", "unit": "celsius"}}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {"input_tokens": 472, "output_tokens": 91, "cache_read_input_tokens": 8, "cache_creation_input_tokens": 0}
    }))
    .unwrap();
    assert_eq!(out["id"], "msg_01Aq9w938a90dw8q");
    assert_eq!(out["object"], "chat.completion");
    assert_eq!(out["model"], "public-model");
    assert!(out["created"].as_u64().unwrap() > 0);
    let choice = &out["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "I'll check the weather.");
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(call["type"], "function");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        args,
        json!({"location": "San Francisco, CA", "unit": "celsius"})
    );
    assert_eq!(
        out["usage"],
        json!({"prompt_tokens": 480, "completion_tokens": 91, "total_tokens": 571})
    );
}

#[test]
fn anthropic_stop_reasons_and_empty_content() {
    let with = |stop: &str| {
        to_openai(json!({"id": "m", "content": [], "stop_reason": stop, "usage": {"input_tokens": 1, "output_tokens": 0}})).unwrap()
    };
    assert_eq!(with("end_turn")["choices"][0]["finish_reason"], "stop");
    assert_eq!(with("stop_sequence")["choices"][0]["finish_reason"], "stop");
    assert_eq!(with("max_tokens")["choices"][0]["finish_reason"], "length");
    assert_eq!(
        with("refusal")["choices"][0]["finish_reason"],
        "content_filter"
    );
    let empty = with("end_turn");
    assert!(empty["choices"][0]["message"]["content"].is_null());
    assert!(empty["choices"][0]["message"].get("tool_calls").is_none());
}

#[test]
fn anthropic_bad_responses() {
    assert_eq!(
        to_openai(json!({"id": "m"})).unwrap_err().field(),
        Some("content")
    );
    assert_eq!(
        to_openai(json!({"content": [{"type": "text"}]}))
            .unwrap_err()
            .field(),
        Some("content[0].text")
    );
    assert_eq!(
        to_openai(json!({"content": [{"type": "tool_use", "name": "f"}]}))
            .unwrap_err()
            .field(),
        Some("content[0].id")
    );
    assert_eq!(
        to_openai(json!({"content": [], "usage": {"output_tokens": "x"}}))
            .unwrap_err()
            .field(),
        Some("usage.output_tokens")
    );
    assert_eq!(
        to_openai(json!({"content": [], "stop_reason": 1}))
            .unwrap_err()
            .field(),
        Some("stop_reason")
    );
}
