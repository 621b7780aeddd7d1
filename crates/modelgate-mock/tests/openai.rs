//! OpenAI wire format over loopback: chat (plain and streamed), legacy
//! completions, embeddings, models, Azure paths and dialect errors.

mod common;

use std::time::Duration;

use common::*;
use http::{Method, StatusCode};
use modelgate_mock::{Behavior, MockUpstream, embed_text};
use serde_json::{Value, json};

const EXPECTED: &str = "Hello from the modelgate demo model. You said: tell me a joke";

#[tokio::test]
async fn chat_non_streamed() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let r = post(&url, &chat_body("tell me a joke", false)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(v["model"], "gpt-test");
    assert_eq!(
        v["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": EXPECTED}, "finish_reason": "stop", "logprobs": null}])
    );
    // "be brief" + "tell me a joke" = 6 words; the reply has 12 words.
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18})
    );

    // Deterministic: same request, same reply (ids aside).
    let again = post(&url, &chat_body("tell me a joke", false)).await.json();
    assert_eq!(again["choices"], v["choices"]);
    assert_ne!(again["id"], v["id"]);
}

#[tokio::test]
async fn chat_content_parts_and_no_user_text() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": null},
        {"role": "user", "content": [{"type": "text", "text": "last"}, {"type": "image_url", "image_url": {"url": "data:"}}]}
    ]});
    let v = post(&url, &body).await.json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the modelgate demo model. You said: last"
    );
    assert_eq!(v["usage"]["prompt_tokens"], 2);

    let v = post(&url, &json!({"model": "m", "messages": []}))
        .await
        .json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the modelgate demo model."
    );
    assert_eq!(v["usage"]["prompt_tokens"], 1);
    assert_eq!(v["usage"]["completion_tokens"], 6);
}

fn content_of(events: &[Event]) -> String {
    events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .filter_map(|e| {
            e.json()["choices"]
                .get(0)
                .and_then(|c| c["delta"]["content"].as_str().map(str::to_owned))
        })
        .collect()
}

#[tokio::test]
async fn chat_streamed_without_usage() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let r = post(&url, &chat_body("tell me a joke", true)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let events = parse_sse(&r.text());
    // role chunk + 12 words + finish chunk + [DONE]
    assert_eq!(events.len(), 15);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let first = events[0].json();
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], "gpt-test");
    assert_eq!(
        first["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(
        events[1].json()["choices"][0]["delta"],
        json!({"content": "Hello "})
    );
    let finish = events[13].json();
    assert_eq!(finish["choices"][0]["delta"], json!({}));
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    for e in &events[..14] {
        let v = e.json();
        assert!(
            v.get("usage").is_none(),
            "no usage key without include_usage: {v}"
        );
        assert_eq!(v["id"], first["id"]);
    }
    assert_eq!(content_of(&events), EXPECTED);
}

#[tokio::test]
async fn chat_streamed_with_include_usage() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let mut body = chat_body("tell me a joke", true);
    body["stream_options"] = json!({"include_usage": true});
    let events = parse_sse(&post(&url, &body).await.text());
    assert_eq!(events.len(), 16);
    assert_eq!(events[15].data, "[DONE]");
    let usage = events[14].json();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(
        usage["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18})
    );
    for e in &events[..14] {
        assert_eq!(e.json()["usage"], Value::Null);
        assert!(e.json().get("usage").is_some());
    }
    assert_eq!(content_of(&events), EXPECTED);
}

#[tokio::test]
async fn chunks_and_chunk_delay_give_separate_frames() {
    let mock = MockUpstream::start().await.unwrap();
    mock.set_behavior(Behavior {
        chunks: Some(3),
        chunk_delay_ms: 40,
        ..Behavior::default()
    });
    let url = format!("{}/v1/chat/completions", mock.base_url());
    let resp = send(
        Method::POST,
        &url,
        &[],
        serde_json::to_vec(&chat_body("hi", true)).unwrap(),
    )
    .await;
    let mut body = resp.into_body();
    let start = std::time::Instant::now();
    let mut frames = Vec::new();
    while let Some(f) = next_data(&mut body, Duration::from_secs(5)).await {
        frames.push(String::from_utf8(f.unwrap().to_vec()).unwrap());
    }
    // role + 3 content + finish + [DONE], each its own frame.
    assert_eq!(frames.len(), 6, "{frames:?}");
    assert!(frames.iter().all(|f| parse_sse(f).len() == 1));
    assert!(start.elapsed() >= Duration::from_millis(150));
    let events: Vec<Event> = frames.iter().flat_map(|f| parse_sse(f)).collect();
    assert_eq!(
        content_of(&events),
        "Hello from the modelgate demo model. You said: hi"
    );

    // 100 chunks: 100 content events and completion_tokens = 100.
    mock.set_behavior(Behavior {
        chunks: Some(100),
        ..Behavior::default()
    });
    let mut body = chat_body("hi", true);
    body["stream_options"] = json!({"include_usage": true});
    let events = parse_sse(&post(&url, &body).await.text());
    assert_eq!(events.len(), 1 + 100 + 1 + 1 + 1);
    assert_eq!(events[102].json()["usage"]["completion_tokens"], 100);
    let plain = post(&url, &chat_body("hi", false)).await.json();
    assert_eq!(plain["usage"]["completion_tokens"], 100);
    assert_eq!(
        plain["choices"][0]["message"]["content"],
        content_of(&events)
    );
}

#[tokio::test]
async fn azure_paths_echo_deployment() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let url = format!("{base}/openai/deployments/my-gpt/chat/completions?api-version=2024-06-01");
    let v = post(
        &url,
        &json!({"messages": [{"role": "user", "content": "yo"}]}),
    )
    .await
    .json();
    assert_eq!(v["model"], "my-gpt");
    assert_eq!(v["object"], "chat.completion");
    let url = format!("{base}/openai/deployments/emb/embeddings?api-version=2024-06-01");
    let v = post(&url, &json!({"input": "x"})).await.json();
    assert_eq!(v["model"], "emb");
    let url = format!("{base}/openai/deployments/inst/completions?api-version=2024-06-01");
    let v = post(&url, &json!({"prompt": "x"})).await.json();
    assert_eq!(v["model"], "inst");
    assert_eq!(
        mock.requests()[0].path,
        "/openai/deployments/my-gpt/chat/completions?api-version=2024-06-01"
    );
}

#[tokio::test]
async fn legacy_completions() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/completions", mock.base_url());
    let v = post(&url, &json!({"model": "inst", "prompt": "say hi"}))
        .await
        .json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(
        v["choices"],
        json!([{"text": "Hello from the modelgate demo model. You said: say hi", "index": 0, "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(v["usage"]["prompt_tokens"], 2);

    let body = json!({"model": "inst", "prompt": ["a", "say hi"], "stream": true,
        "stream_options": {"include_usage": true}});
    let events = parse_sse(&post(&url, &body).await.text());
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let n = events.len();
    let text: String = events[..n - 3]
        .iter()
        .map(|e| {
            let v = e.json();
            assert_eq!(v["object"], "text_completion");
            assert_eq!(v["usage"], Value::Null);
            v["choices"][0]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        text,
        "Hello from the modelgate demo model. You said: say hi"
    );
    assert_eq!(events[n - 3].json()["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[n - 2].json()["usage"]["prompt_tokens"], 3);
}

fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 char {c}"),
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let data: Vec<u8> = chunk
            .iter()
            .copied()
            .filter(|c| *c != b'=')
            .map(val)
            .collect();
        let n = data
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, v)| n | (u32::from(*v) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..data.len()]);
    }
    out
}

#[tokio::test]
async fn embeddings_float_and_base64() {
    let mock = MockUpstream::start().await.unwrap();
    let url = format!("{}/v1/embeddings", mock.base_url());
    let v = post(
        &url,
        &json!({"model": "e", "input": ["hello world", "bye"]}),
    )
    .await
    .json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "e");
    assert_eq!(v["usage"], json!({"prompt_tokens": 3, "total_tokens": 3}));
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert_eq!(data[0]["object"], "embedding");
    let floats: Vec<f32> = data[0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(floats, embed_text("hello world", 8));

    let v = post(
        &url,
        &json!({"model": "e", "input": "hello world", "encoding_format": "base64"}),
    )
    .await
    .json();
    let bytes = b64_decode(v["data"][0]["embedding"].as_str().unwrap());
    let decoded: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(decoded, embed_text("hello world", 8));

    mock.set_behavior(Behavior {
        embedding_dims: Some(32),
        ..Behavior::default()
    });
    let v = post(&url, &json!({"input": [[1, 2, 3]]})).await.json();
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 32);
    assert_eq!(v["model"], "demo-embed");
    assert_eq!(v["usage"]["prompt_tokens"], 3);
}

#[tokio::test]
async fn models_and_errors() {
    let mock = MockUpstream::start().await.unwrap();
    let base = mock.base_url();
    let r = call(Method::GET, &format!("{base}/v1/models"), "").await;
    assert_eq!(r.status, StatusCode::OK);
    let models = r.json();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["demo-chat", "demo-embed"]);
    assert_eq!(r.json()["data"][0]["owned_by"], "modelgate");

    let r = call(
        Method::POST,
        &format!("{base}/v1/chat/completions"),
        "{nope",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let e = r.json();
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Invalid JSON")
    );
    assert_eq!(e["error"]["param"], Value::Null);
    assert_eq!(e["error"]["code"], Value::Null);

    let r = call(Method::POST, &format!("{base}/v1/nowhere"), "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["type"], "not_found_error");

    let r = call(Method::GET, &format!("{base}/v1/chat/completions"), "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}
