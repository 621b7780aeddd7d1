//! Tests of OpenAI requests rewritten for Anthropic.

use serde_json::{Value, json};

use super::*;

fn translate(v: Value) -> Result<Value, TranslateError> {
    let bytes =
        openai_to_anthropic_request(&serde_json::to_vec(&v).unwrap(), "claude-haiku-4-5", 4096)?;
    Ok(serde_json::from_slice(&bytes).unwrap())
}

/// A multi-turn tool conversation as OpenAI's function-calling guide shows
/// it, with two parallel calls.
fn parallel_calls() -> Value {
    json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in Celsius."}]},
            {"role": "user", "content": "What's the weather like in Paris and Bogotá today?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_12345xyz", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}},
                {"id": "call_67890abc", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Bogotá, Colombia\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_12345xyz", "content": "14"},
            {"role": "tool", "tool_call_id": "call_67890abc", "content": [{"type": "text", "text": "18"}]},
            {"role": "user", "content": "and tomorrow?"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "get_weather",
            "description": "Get current temperature for a given location.",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": false},
            "strict": true
        }}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "max_completion_tokens": 300,
        "temperature": 0.2,
        "stop": "END",
        "stream": true,
        "stream_options": {"include_usage": true},
        "user": "user-42",
        "seed": 7,
        "frequency_penalty": 0.5
    })
}

#[test]
fn translates_parallel_tool_calls_and_results() {
    let out = translate(parallel_calls()).unwrap();
    assert_eq!(out["model"], "claude-haiku-4-5");
    assert_eq!(
        out["system"],
        "You are a helpful assistant.\n\nAnswer in Celsius."
    );
    assert_eq!(out["max_tokens"], 300);
    assert_eq!(out["temperature"], 0.2);
    assert_eq!(out["stop_sequences"], json!(["END"]));
    assert_eq!(out["stream"], true);
    assert!(out.get("stream_options").is_none());
    assert!(out.get("seed").is_none() && out.get("frequency_penalty").is_none());
    assert_eq!(out["metadata"], json!({"user_id": "user-42"}));
    assert_eq!(
        out["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        out["tools"][0],
        json!({"name": "get_weather", "description": "Get current temperature for a given location.",
               "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": false}})
    );
    let m = out["messages"].as_array().unwrap();
    assert_eq!(
        m.len(),
        3,
        "tool results and the next user text share one user turn"
    );
    assert_eq!(
        m[0],
        json!({"role": "user", "content": [{"type": "text", "text": "What's the weather like in Paris and Bogotá today?"}]})
    );
    assert_eq!(
        m[1]["content"],
        json!([
            {"type": "tool_use", "id": "call_12345xyz", "name": "get_weather", "input": {"location": "Paris, France"}},
            {"type": "tool_use", "id": "call_67890abc", "name": "get_weather", "input": {"location": "Bogotá, Colombia"}}
        ])
    );
    assert_eq!(
        m[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "call_12345xyz", "content": "14"},
            {"type": "tool_result", "tool_use_id": "call_67890abc", "content": "18"},
            {"type": "text", "text": "and tomorrow?"}
        ])
    );
}

#[test]
fn max_tokens_sources_and_merging() {
    let base = |extra: Value| {
        let mut v = json!({"model": "x", "messages": [
            {"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "b"}]},
            {"role": "assistant", "content": "c"}, {"role": "assistant", "content": ""}
        ]});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        translate(v).unwrap()
    };
    let out = base(json!({}));
    assert_eq!(out["max_tokens"], 4096, "default when absent");
    assert_eq!(
        out["messages"].as_array().unwrap().len(),
        2,
        "same roles merged"
    );
    assert_eq!(out["messages"][0]["content"].as_array().unwrap().len(), 2);
    assert_eq!(
        out["messages"][1]["content"],
        json!([{"type": "text", "text": "c"}])
    );
    assert_eq!(base(json!({"max_tokens": 12}))["max_tokens"], 12);
    // Both set: the larger, whichever field holds it (a ceiling decided on
    // one field cannot be passed by the other).
    assert_eq!(
        base(json!({"max_tokens": 12, "max_completion_tokens": 9}))["max_tokens"],
        12
    );
    assert_eq!(
        base(json!({"max_tokens": 9, "max_completion_tokens": 12}))["max_tokens"],
        12
    );
    assert_eq!(base(json!({"max_completion_tokens": 7}))["max_tokens"], 7);
    assert_eq!(
        base(json!({"stop": ["x", "y"]}))["stop_sequences"],
        json!(["x", "y"])
    );
    assert_eq!(
        base(json!({"tool_choice": "none"}))["tool_choice"],
        json!({"type": "none"})
    );
    assert_eq!(
        base(json!({"tool_choice": {"type": "function", "function": {"name": "f"}}}))["tool_choice"],
        json!({"type": "tool", "name": "f"})
    );
    let out = base(
        json!({"tools": [{"type": "function", "function": {"name": "noargs"}}], "parallel_tool_calls": false}),
    );
    assert_eq!(
        out["tools"][0]["input_schema"],
        json!({"type": "object", "properties": {}})
    );
    assert_eq!(
        out["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
}

#[test]
fn invalid_tool_arguments_are_typed() {
    for args in ["{\"location\": ", "[1,2]", "\"str\""] {
        let err = translate(json!({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": args}}
        ]}]}))
        .unwrap_err();
        assert_eq!(
            err,
            TranslateError::InvalidToolArguments {
                field: "messages[0].tool_calls[0].function.arguments".into()
            }
        );
    }
    let out = translate(json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": ""}}
    ]}]}))
    .unwrap();
    assert_eq!(out["messages"][0]["content"][0]["input"], json!({}));
}

#[test]
fn refusals() {
    let refused = [
        (json!({"n": 2}), "n"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"temperature": 1.5}), "temperature"),
        (
            json!({"response_format": {"type": "json_object"}}),
            "response_format",
        ),
        (json!({"functions": [{"name": "f"}]}), "functions"),
        (json!({"modalities": ["text", "audio"]}), "modalities"),
        (json!({"web_search_options": {}}), "web_search_options"),
        (
            json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]}),
            "tools[0].type",
        ),
    ];
    for (extra, field) in refused {
        let mut v = json!({"messages": [{"role": "user", "content": "hi"}]});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        let err = translate(v).unwrap_err();
        assert!(matches!(err, TranslateError::Unsupported { .. }), "{err}");
        assert_eq!(err.field(), Some(field));
    }
    let image_in_system = json!({"messages": [{"role": "system", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    ]}, {"role": "user", "content": "hi"}]});
    assert_eq!(
        translate(image_in_system).unwrap_err().field(),
        Some("messages[0].content[0].type")
    );
    let audio = json!({"messages": [{"role": "user", "content": [
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
    ]}]});
    assert_eq!(
        translate(audio).unwrap_err().field(),
        Some("messages[0].content[0].type")
    );
    for url in ["ftp://example.com/a.png", "data:image/png,notbase64"] {
        let bad = json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]});
        assert_eq!(
            translate(bad).unwrap_err().field(),
            Some("messages[0].content[0].image_url.url")
        );
    }
    let ok = json!({"messages": [{"role": "user", "content": "hi"}], "n": 1, "response_format": {"type": "text"}, "logprobs": false});
    assert!(translate(ok).is_ok());
}

#[test]
fn bad_inputs_are_typed_errors() {
    let cases = [
        (json!({}), "messages"),
        (
            json!({"messages": [{"role": "system", "content": "only system"}]}),
            "messages (a user or assistant message)",
        ),
        (
            json!({"messages": [{"role": "wizard", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"messages": [{"role": "function", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "messages[0].tool_call_id",
        ),
        (
            json!({"messages": [{"role": "user", "content": {"a": 1}}]}),
            "messages[0].content",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c"}]}]}),
            "messages[0].tool_calls[0].function",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f"}}]}]}),
            "messages[0].tool_calls[0].id",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "stop": 3}),
            "stop",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": "maybe"}),
            "tool_choice",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "function"}}),
            "tool_choice.function",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]}),
            "tools[0].function.parameters",
        ),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": "many"}),
            "max_tokens",
        ),
    ];
    for (body, field) in cases {
        let err = translate(body.clone()).unwrap_err();
        assert_eq!(err.field(), Some(field), "{body}: {err}");
    }
    assert_eq!(
        openai_to_anthropic_request(b"", "m", 1),
        Err(TranslateError::InvalidJson)
    );
    assert!(openai_stream_include_usage(
        br#"{"stream_options":{"include_usage":true}}"#
    ));
    assert!(!openai_stream_include_usage(br#"{"stream":true}"#));
    assert!(!openai_stream_include_usage(b"nope"));
}

#[test]
fn user_images_translate() {
    let out = translate(json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What's in this image?"},
        {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/boardwalk.jpg", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}
    ]}]}))
    .unwrap();
    assert_eq!(
        out["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What's in this image?"},
            {"type": "image", "source": {"type": "url", "url": "https://upload.wikimedia.org/boardwalk.jpg"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}}
        ])
    );
}
