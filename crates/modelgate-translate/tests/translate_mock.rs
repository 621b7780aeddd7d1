//! The translators against the mock upstream over loopback: an Anthropic
//! caller's tool round trip served by the OpenAI-kind mock and an OpenAI
//! caller's served by the Anthropic mock, streamed and not. This is the
//! path the gateway takes once translation is wired in, minus the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use modelgate_mock::MockUpstream;
use modelgate_translate::{
    AnthropicToOpenAiStream, EventSplitter, OpenAiToAnthropicStream, StreamTranslator,
    anthropic_to_openai_request, anthropic_to_openai_response, openai_stream_include_usage,
    openai_to_anthropic_request, openai_to_anthropic_response,
};
use serde_json::{Value, json};

/// POSTs `body`; returns the response body.
async fn post(url: &str, body: Vec<u8>) -> Vec<u8> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// Runs a whole upstream stream through a translator in small pieces.
fn translate_stream(upstream: &[u8], t: &mut dyn StreamTranslator) -> Vec<u8> {
    let mut split = EventSplitter::new(1 << 20);
    let mut out = Vec::new();
    for piece in upstream.chunks(17) {
        split.feed(piece, t, &mut out).unwrap();
    }
    split.finish(t, &mut out).unwrap();
    assert!(t.is_done());
    out
}

/// `(event name, data)` of a translated Anthropic stream.
fn anthropic_events(out: &[u8]) -> Vec<(String, Value)> {
    std::str::from_utf8(out)
        .unwrap()
        .split_terminator("\n\n")
        .map(|e| {
            let (name, data) = e.split_once("\ndata: ").unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            (name, serde_json::from_str(data).unwrap())
        })
        .collect()
}

fn anthropic_request(stream: bool) -> Value {
    json!({
        "model": "public-model",
        "max_tokens": 200,
        "stream": stream,
        "system": "You are a weather bot.",
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {
            "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}],
        "messages": [{"role": "user", "content": "Weather in Paris?"}]
    })
}

#[tokio::test]
async fn anthropic_caller_openai_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());

    // Non-streamed: the model calls the tool.
    let req = serde_json::to_vec(&anthropic_request(false)).unwrap();
    let upstream = post(&url, anthropic_to_openai_request(&req, "llama3.1").unwrap()).await;
    let msg: Value =
        serde_json::from_slice(&openai_to_anthropic_response(&upstream, "public-model").unwrap())
            .unwrap();
    assert_eq!(msg["model"], "public-model");
    assert_eq!(msg["stop_reason"], "tool_use");
    let tool_use = msg["content"][0].clone();
    assert_eq!(tool_use["name"], "get_weather");
    assert_eq!(tool_use["input"], json!({"location": "demo"}));
    let sent = &mock.requests()[0];
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(sent["model"], "llama3.1");
    assert_eq!(sent["messages"][0]["role"], "system");

    // Streamed, with the tool result: the answer quotes it.
    let mut req = anthropic_request(true);
    let messages = req["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": [tool_use.clone()]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_use["id"], "content": "14 degrees"}]}));
    let req = serde_json::to_vec(&req).unwrap();
    let upstream = post(&url, anthropic_to_openai_request(&req, "llama3.1").unwrap()).await;
    let mut t = OpenAiToAnthropicStream::new("public-model");
    let events = anthropic_events(&translate_stream(&upstream, &mut t));
    let text: String = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "The tool returned: 14 degrees");
    let (last_name, _) = events.last().unwrap();
    assert_eq!(last_name, "message_stop");
    let delta = &events[events.len() - 2].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert!(t.usage().reported && t.usage().input > 0 && t.usage().output > 0);

    // Streamed tool call: one tool_use block, arguments in fragments.
    let req = serde_json::to_vec(&anthropic_request(true)).unwrap();
    let upstream = post(&url, anthropic_to_openai_request(&req, "llama3.1").unwrap()).await;
    let events = anthropic_events(&translate_stream(
        &upstream,
        &mut OpenAiToAnthropicStream::new("public-model"),
    ));
    let start = events
        .iter()
        .find(|(n, _)| n == "content_block_start")
        .unwrap();
    assert_eq!(start.1["content_block"]["type"], "tool_use");
    let json: String = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        json!({"location": "demo"})
    );
    assert!(
        events
            .iter()
            .any(|(_, d)| d["delta"]["stop_reason"] == "tool_use")
    );
    mock.shutdown().await;
}

fn openai_request(stream: bool) -> Value {
    json!({
        "model": "public-model",
        "stream": stream,
        "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
            "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}],
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
    })
}

#[tokio::test]
async fn openai_caller_anthropic_upstream() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url());

    let req = serde_json::to_vec(&openai_request(false)).unwrap();
    let upstream = post(
        &url,
        openai_to_anthropic_request(&req, "claude-x", 1024).unwrap(),
    )
    .await;
    let resp: Value =
        serde_json::from_slice(&anthropic_to_openai_response(&upstream, "public-model").unwrap())
            .unwrap();
    assert_eq!(resp["choices"][0]["finish_reason"], "tool_calls");
    let call = resp["choices"][0]["message"]["tool_calls"][0].clone();
    assert_eq!(call["function"]["arguments"], "{\"location\":\"demo\"}");
    let sent: Value = serde_json::from_slice(&mock.requests()[0].body).unwrap();
    assert_eq!(
        (sent["max_tokens"].as_u64(), sent["system"].as_str()),
        (Some(1024), Some("Be brief."))
    );

    // Streamed tool result round trip, with the caller's usage chunk.
    let mut req = openai_request(true);
    let messages = req["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": null, "tool_calls": [call.clone()]}));
    messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": "14 degrees"}));
    let req = serde_json::to_vec(&req).unwrap();
    let upstream = post(
        &url,
        openai_to_anthropic_request(&req, "claude-x", 1024).unwrap(),
    )
    .await;
    let mut t = AnthropicToOpenAiStream::new("public-model", openai_stream_include_usage(&req));
    let out = String::from_utf8(translate_stream(&upstream, &mut t)).unwrap();
    let chunks: Vec<&str> = out
        .split_terminator("\n\n")
        .map(|e| e.strip_prefix("data: ").unwrap())
        .collect();
    assert_eq!(chunks.last(), Some(&"[DONE]"));
    let values: Vec<Value> = chunks[..chunks.len() - 1]
        .iter()
        .map(|c| serde_json::from_str(c).unwrap())
        .collect();
    let text: String = values
        .iter()
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "The tool returned: 14 degrees");
    let usage = values.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(values.iter().all(|v| v["model"] == "public-model"));

    // Streamed tool call: id and name first, then argument fragments.
    let req = serde_json::to_vec(&openai_request(true)).unwrap();
    let upstream = post(
        &url,
        openai_to_anthropic_request(&req, "claude-x", 1024).unwrap(),
    )
    .await;
    let out = translate_stream(&upstream, &mut AnthropicToOpenAiStream::new("m", false));
    let out = String::from_utf8(out).unwrap();
    let calls: Vec<Value> = out
        .split_terminator("\n\n")
        .filter_map(|e| serde_json::from_str::<Value>(e.strip_prefix("data: ")?).ok())
        .filter_map(|v| {
            v["choices"][0]["delta"]["tool_calls"][0]
                .as_object()
                .cloned()
                .map(Value::Object)
        })
        .collect();
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    assert!(
        calls.len() >= 3,
        "head plus at least two fragments: {calls:?}"
    );
    let args: String = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .collect();
    assert_eq!(args, "{\"location\":\"demo\"}");
    assert!(out.contains("\"finish_reason\":\"tool_calls\""));
    mock.shutdown().await;
}
