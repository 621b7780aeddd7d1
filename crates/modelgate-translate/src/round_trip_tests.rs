//! Round trips: a request translated to the other dialect and back keeps
//! its messages, tools and tool choice; a response likewise keeps its
//! content, stop reason and usage.

use serde_json::{Value, json};

use super::*;

fn o2a2o(req: &Value) -> Value {
    let a = openai_to_anthropic_request(&serde_json::to_vec(req).unwrap(), "claude", 1000).unwrap();
    let o = anthropic_to_openai_request(&a, "gpt").unwrap();
    serde_json::from_slice(&o).unwrap()
}

fn a2o2a(req: &Value) -> Value {
    let o = anthropic_to_openai_request(&serde_json::to_vec(req).unwrap(), "gpt").unwrap();
    let a = openai_to_anthropic_request(&o, "claude", 1000).unwrap();
    serde_json::from_slice(&a).unwrap()
}

fn tools() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}

fn openai_fixtures() -> Vec<Value> {
    vec![
        json!({"messages": [{"role": "user", "content": "Hi"}]}),
        json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
        ]}]}),
        json!({"messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Emoji please: 🎉"}
        ]}),
        json!({"messages": [
            {"role": "user", "content": "Weather in Oslo and Rome?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "17C"},
            {"role": "assistant", "content": "Oslo -3C, Rome 17C."}
        ], "tools": tools(), "tool_choice": "auto"}),
        json!({"messages": [
            {"role": "user", "content": "Use the tool"},
            {"role": "assistant", "content": "Calling it.", "tool_calls": [
                {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lima\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_9", "content": "warm"}
        ], "tools": tools(), "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    ]
}

/// Arguments compared as JSON values (key order and spacing may change).
fn normalize(mut v: Value) -> Value {
    if let Some(ms) = v["messages"].as_array_mut() {
        for m in ms {
            if let Some(calls) = m.get_mut("tool_calls").and_then(Value::as_array_mut) {
                for c in calls {
                    let args = c["function"]["arguments"].as_str().unwrap().to_owned();
                    c["function"]["arguments"] = serde_json::from_str(&args).unwrap();
                }
            }
        }
    }
    v
}

#[test]
fn openai_requests_survive_a_round_trip() {
    for fixture in openai_fixtures() {
        let back = normalize(o2a2o(&fixture));
        let fixture = normalize(fixture);
        assert_eq!(back["messages"], fixture["messages"], "{fixture}");
        assert_eq!(back.get("tools"), fixture.get("tools"));
        assert_eq!(back.get("tool_choice"), fixture.get("tool_choice"));
        assert_eq!(back["max_tokens"], 1000);
    }
}

#[test]
fn anthropic_requests_survive_a_round_trip() {
    let fixture = json!({
        "model": "claude", "max_tokens": 1000, "system": "Be kind.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"},
                {"type": "text", "text": "Thanks"}
            ]}
        ],
        "tools": [{"name": "get_weather", "description": "Weather by city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any"},
        "stop_sequences": ["STOP"],
        "temperature": 0.3,
        "metadata": {"user_id": "u1"},
        "stream": true
    });
    let back = a2o2a(&fixture);
    assert_eq!(back, fixture);
}

#[test]
fn responses_survive_a_round_trip() {
    let openai = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Let me look.", "refusal": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"x\":[1,2]}"}}]
        }}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    });
    let a = openai_to_anthropic_response(&serde_json::to_vec(&openai).unwrap(), "m").unwrap();
    let back: Value =
        serde_json::from_slice(&anthropic_to_openai_response(&a, "m").unwrap()).unwrap();
    assert_eq!(back["id"], openai["id"]);
    assert_eq!(
        back["choices"][0]["message"],
        openai["choices"][0]["message"]
    );
    assert_eq!(back["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(back["usage"], openai["usage"]);
}

#[test]
fn streams_survive_a_round_trip() {
    // Anthropic events → OpenAI chunks → Anthropic events keeps text,
    // tool calls and stop reason.
    let upstream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi ✓\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\":1}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let mut to_openai = AnthropicToOpenAiStream::new("m", true);
    let mut openai = Vec::new();
    let mut split = EventSplitter::new(1 << 16);
    for piece in upstream.as_bytes().chunks(7) {
        split.feed(piece, &mut to_openai, &mut openai).unwrap();
    }
    split.finish(&mut to_openai, &mut openai).unwrap();

    let mut to_anthropic = OpenAiToAnthropicStream::new("m");
    let mut back = Vec::new();
    let mut split = EventSplitter::new(1 << 16);
    split.feed(&openai, &mut to_anthropic, &mut back).unwrap();
    split.finish(&mut to_anthropic, &mut back).unwrap();

    let back = String::from_utf8(back).unwrap();
    assert!(back.contains("\"text\":\"Hi ✓\""), "{back}");
    assert!(back.contains("\"id\":\"toolu_1\""));
    assert!(back.contains("\"partial_json\":\"{\\\"a\\\"\""));
    assert!(back.contains("\"stop_reason\":\"tool_use\""));
    assert!(back.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assert_eq!(
        (to_anthropic.usage().input, to_anthropic.usage().output),
        (3, 9)
    );
}
