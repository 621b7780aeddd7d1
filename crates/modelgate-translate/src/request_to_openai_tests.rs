//! Tests of Anthropic requests rewritten for OpenAI.

use serde_json::{Value, json};

use super::*;

fn translate(v: Value) -> Result<Value, TranslateError> {
    let bytes = anthropic_to_openai_request(&serde_json::to_vec(&v).unwrap(), "llama3.1:8b")?;
    Ok(serde_json::from_slice(&bytes).unwrap())
}

/// The tool round trip from Anthropic's tool-use documentation.
fn weather_round_trip() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
        "tools": [{
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "input_schema": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
                "required": ["location"]
            }
        }],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
        "messages": [
            {"role": "user", "content": "What's the weather like in San Francisco?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should call the tool", "signature": "sig"},
                {"type": "text", "text": "<thinking>I need to use get_weather</thinking>"},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
                {"type": "text", "text": "Thanks! And in °F?"}
            ]}
        ],
        "stop_sequences": ["\n\nHuman:"],
        "temperature": 0.5,
        "top_k": 40,
        "metadata": {"user_id": "user-123"},
        "stream": true
    })
}

#[test]
fn translates_a_tool_round_trip() {
    let out = translate(weather_round_trip()).unwrap();
    assert_eq!(out["model"], "llama3.1:8b");
    assert_eq!(out["max_tokens"], 1024);
    assert_eq!(out["temperature"], 0.5);
    assert_eq!(out["stop"], json!(["\n\nHuman:"]));
    assert_eq!(out["user"], "user-123");
    assert_eq!(out["stream"], true);
    assert_eq!(out["stream_options"], json!({"include_usage": true}));
    assert!(out.get("top_k").is_none(), "top_k is dropped");
    assert_eq!(out["tool_choice"], "auto");
    assert_eq!(out["parallel_tool_calls"], false);
    assert_eq!(
        out["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
                "required": ["location"]
            }
        }}])
    );
    let m = out["messages"].as_array().unwrap();
    assert_eq!(m.len(), 5);
    assert_eq!(
        m[0],
        json!({"role": "system", "content": "You are a weather bot."})
    );
    assert_eq!(
        m[1],
        json!({"role": "user", "content": "What's the weather like in San Francisco?"})
    );
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(
        m[2]["content"],
        "<thinking>I need to use get_weather</thinking>"
    );
    assert_eq!(m[2]["tool_calls"][0]["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(m[2]["tool_calls"][0]["type"], "function");
    assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(
        m[2]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(args, json!({"location": "San Francisco, CA"}));
    assert_eq!(
        m[3],
        json!({"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"})
    );
    assert_eq!(
        m[4],
        json!({"role": "user", "content": "Thanks! And in °F?"})
    );
}

#[test]
fn parallel_tool_results_and_errors() {
    let out = translate(json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "weather and time?"},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "a", "name": "get_weather", "input": {}},
                {"type": "tool_use", "id": "b", "name": "get_time", "input": {"tz": "UTC"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "sunny"}]},
                {"type": "tool_result", "tool_use_id": "b", "content": "no clock", "is_error": true}
            ]}
        ]
    }))
    .unwrap();
    let m = out["messages"].as_array().unwrap();
    assert_eq!(m.len(), 4, "no empty user message after the tool results");
    assert!(m[1]["content"].is_null(), "no text: content null");
    assert_eq!(m[1]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(m[1]["tool_calls"][0]["function"]["arguments"], "{}");
    assert_eq!(m[2]["content"], "sunny");
    assert_eq!(m[3]["content"], "Error: no clock");
    assert!(out.get("stream").is_none());
    assert!(out.get("stream_options").is_none());
}

#[test]
fn tool_choice_variants() {
    let with = |c: Value| {
        let mut req =
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}]});
        req["tool_choice"] = c;
        translate(req)
    };
    assert_eq!(
        with(json!({"type": "any"})).unwrap()["tool_choice"],
        "required"
    );
    assert_eq!(
        with(json!({"type": "none"})).unwrap()["tool_choice"],
        "none"
    );
    assert_eq!(
        with(json!({"type": "tool", "name": "f"})).unwrap()["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    assert!(with(json!({"type": "tool"})).is_err(), "name required");
    assert!(matches!(
        with(json!({"type": "sometimes"})),
        Err(TranslateError::Invalid { .. })
    ));
}

#[test]
fn multi_block_text_and_system_string() {
    let out = translate(json!({
        "model": "m", "max_tokens": 5, "system": "Be brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": []}
        ]
    }))
    .unwrap();
    let m = &out["messages"];
    assert_eq!(m[0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(
        m[1]["content"],
        json!([{"type": "text", "text": "one"}, {"type": "text", "text": "two"}])
    );
    assert_eq!(m[2], json!({"role": "assistant", "content": ""}));
    assert_eq!(m[3], json!({"role": "user", "content": ""}));
}

#[test]
fn images_translate_in_user_turns() {
    let out = translate(json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/cat.jpg"}},
        {"type": "text", "text": "what is this"}
    ]}]}))
    .unwrap();
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/cat.jpg"}},
            {"type": "text", "text": "what is this"}
        ])
    );
    let only_image = translate(
        json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
        ]}]}),
    )
    .unwrap();
    assert!(only_image["messages"][0]["content"].is_array());
}

#[test]
fn refusals_name_the_field() {
    let image_result = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
        ]}
    ]}]});
    let err = translate(image_result).unwrap_err();
    assert_eq!(err.field(), Some("messages[0].content[0].content[0].type"));
    assert!(err.to_string().contains("image"), "{err}");
    assert!(
        !err.to_string().contains("iVBOR"),
        "no body values in errors"
    );

    let file_source = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}}
    ]}]});
    assert_eq!(
        translate(file_source).unwrap_err().field(),
        Some("messages[0].content[0].source.type")
    );
    let document = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    ]}]});
    assert_eq!(
        translate(document).unwrap_err().field(),
        Some("messages[0].content[0].type")
    );

    let server_tool = json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
    assert_eq!(
        translate(server_tool).unwrap_err().field(),
        Some("tools[0].type")
    );
    let mcp = json!({"model": "m", "max_tokens": 1, "messages": [],
        "mcp_servers": [{"type": "url", "url": "https://example.com/sse", "name": "x"}]});
    assert_eq!(translate(mcp).unwrap_err().field(), Some("mcp_servers"));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let cases = [
        (json!({"model": "m"}), "messages"),
        (json!({"messages": "hi"}), "messages"),
        (json!({"messages": [1]}), "messages[0]"),
        (json!({"messages": [{"content": "x"}]}), "messages[0].role"),
        (
            json!({"messages": [{"role": "system", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"messages": [{"role": "user"}]}),
            "messages[0].content",
        ),
        (
            json!({"messages": [{"role": "user", "content": 5}]}),
            "messages[0].content",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}),
            "messages[0].content[0].type",
        ),
        (
            json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "{}"}]}]}),
            "messages[0].content[0].input",
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}),
            "messages[0].content[0].tool_use_id",
        ),
        (json!({"messages": [], "max_tokens": -1}), "max_tokens"),
        (json!({"messages": [], "temperature": "hot"}), "temperature"),
        (
            json!({"messages": [], "stop_sequences": [1]}),
            "stop_sequences[0]",
        ),
        (json!({"messages": [], "system": 3}), "system"),
        (
            json!({"messages": [], "system": [{"type": "image"}]}),
            "system[0].type",
        ),
        (
            json!({"messages": [], "tools": [{"name": "f"}]}),
            "tools[0].input_schema",
        ),
        (
            json!({"messages": [], "tools": [{"input_schema": {}}]}),
            "tools[0].name",
        ),
        (
            json!({"messages": [], "metadata": {"user_id": 7}}),
            "metadata.user_id",
        ),
    ];
    for (body, field) in cases {
        let err = translate(body.clone()).unwrap_err();
        assert_eq!(err.field(), Some(field), "{body}: {err}");
    }
    assert_eq!(
        anthropic_to_openai_request(b"{nope", "m"),
        Err(TranslateError::InvalidJson)
    );
    assert!(matches!(
        anthropic_to_openai_request(b"[]", "m"),
        Err(TranslateError::Invalid { .. })
    ));
}
