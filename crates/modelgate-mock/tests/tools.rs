//! Tool calls in both dialects: a request declaring tools gets a call of
//! the first (or chosen) tool with arguments from its schema, streamed in
//! each provider's real shape; a tool result gets a text answer quoting it.

mod common;

use common::*;
use http::StatusCode;
use modelgate_mock::MockUpstream;
use serde_json::{Value, json};

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {
        "location": {"type": "string", "description": "City and state"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
    }, "required": ["location", "unit"]})
}

fn openai_tools_body(stream: bool, include_usage: bool) -> Value {
    json!({
        "model": "gpt-test",
        "stream": stream,
        "stream_options": {"include_usage": include_usage},
        "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": weather_schema()}},
            {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}
        ]
    })
}

fn anthropic_tools_body(stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 100,
        "stream": stream,
        "messages": [{"role": "user", "content": "What's the weather in Paris?"}],
        "tools": [
            {"name": "get_weather", "description": "Weather", "input_schema": weather_schema()},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
        ]
    })
}

#[tokio::test]
async fn openai_tool_call_non_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let r = post(&url, &openai_tools_body(false, false)).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let call = &choice["message"]["tool_calls"][0];
    assert!(call["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    let args: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"location": "demo", "unit": "celsius"}));
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() >= 1);

    // tool_choice names another tool; "none" answers with text.
    let mut body = openai_tools_body(false, false);
    body["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let v = post(&url, &body).await.json();
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_time"
    );
    assert_eq!(
        v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        "{}"
    );
    body["tool_choice"] = json!("none");
    let v = post(&url, &body).await.json();
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(
        v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("Paris")
    );
}

#[tokio::test]
async fn openai_tool_call_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let r = post(&url, &openai_tools_body(true, true)).await;
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let events = parse_sse(&r.text());
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    let first = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    let head = &first["tool_calls"][0];
    assert_eq!(
        (head["index"].as_u64(), head["type"].as_str()),
        (Some(0), Some("function"))
    );
    assert!(head["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(
        head["function"],
        json!({"name": "get_weather", "arguments": ""})
    );
    let fragments: Vec<&str> = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert!(
        fragments.len() >= 2,
        "arguments split over chunks: {fragments:?}"
    );
    let args: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(args, json!({"location": "demo", "unit": "celsius"}));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn openai_answers_after_tool_result() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    for stream in [false, true] {
        let mut body = openai_tools_body(stream, false);
        let msgs = body["messages"].as_array_mut().unwrap();
        msgs.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}
        ]}));
        msgs.push(
            json!({"role": "tool", "tool_call_id": "call_1", "content": "14 degrees and cloudy"}),
        );
        let r = post(&url, &body).await;
        let text = if stream {
            let events = parse_sse(&r.text());
            events[..events.len() - 1]
                .iter()
                .filter_map(|e| {
                    e.json()["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect::<String>()
        } else {
            let v = r.json();
            assert_eq!(v["choices"][0]["finish_reason"], "stop");
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(text, "The tool returned: 14 degrees and cloudy");
    }
}

#[tokio::test]
async fn anthropic_tool_use_non_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let v = post(&url, &anthropic_tools_body(false)).await.json();
    assert_eq!(v["stop_reason"], "tool_use");
    let block = &v["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(block["name"], "get_weather");
    assert_eq!(
        block["input"],
        json!({"location": "demo", "unit": "celsius"})
    );
    assert_eq!(v["content"].as_array().unwrap().len(), 1);

    let mut body = anthropic_tools_body(false);
    body["tool_choice"] = json!({"type": "none"});
    let v = post(&url, &body).await.json();
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["content"][0]["type"], "text");
}

#[tokio::test]
async fn anthropic_tool_use_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let events = parse_sse(&post(&url, &anthropic_tools_body(true)).await.text());
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(
        &names[..3],
        ["message_start", "content_block_start", "ping"]
    );
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let start = events[1].json();
    assert_eq!(start["content_block"]["type"], "tool_use");
    assert_eq!(start["content_block"]["name"], "get_weather");
    assert_eq!(start["content_block"]["input"], json!({}));
    let deltas: Vec<Value> = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(Event::json)
        .collect();
    assert!(
        deltas
            .iter()
            .all(|d| d["delta"]["type"] == "input_json_delta" && d["index"] == 0)
    );
    let parts: Vec<&str> = deltas
        .iter()
        .map(|d| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert!(
        parts.iter().filter(|p| !p.is_empty()).count() >= 2,
        "{parts:?}"
    );
    let input: Value = serde_json::from_str(&parts.concat()).unwrap();
    assert_eq!(input, json!({"location": "demo", "unit": "celsius"}));
    let delta = events[events.len() - 2].json();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn anthropic_answers_after_tool_result() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());
    let mut body = anthropic_tools_body(false);
    let msgs = body["messages"].as_array_mut().unwrap();
    msgs.push(json!({"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "Paris"}}
    ]}));
    msgs.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "14 degrees"}]}
    ]}));
    let v = post(&url, &body).await.json();
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(v["content"][0]["text"], "The tool returned: 14 degrees");

    body["stream"] = json!(true);
    let events = parse_sse(&post(&url, &body).await.text());
    let text: String = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("content_block_delta"))
        .map(|e| e.json()["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "The tool returned: 14 degrees");
}
