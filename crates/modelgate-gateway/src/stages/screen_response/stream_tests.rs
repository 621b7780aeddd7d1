//! Tests of response screening, streamed and complete.

use super::*;
use crate::stages::screen_response::screen_body;

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
