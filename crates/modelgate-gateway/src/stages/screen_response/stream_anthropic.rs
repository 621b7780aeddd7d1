//! Screening of an Anthropic messages stream: each content block on a lane
//! of its own, whatever it streams: `text_delta` text, `input_json_delta`
//! partial JSON (a tool call's input), `thinking_delta` thinking. In
//! `redact` mode each delta is replaced by what its lane releases; what a
//! lane still holds goes out in a delta of its own (of the block's delta
//! type) before the event that ends it: another delta type in the block
//! (the thinking's `signature_delta`), `content_block_stop`, the message's
//! end.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::lanes::{Channel, Lanes, write_event};

/// The screened delta types and the field holding their text.
const SCREENED: [(&str, &str); 3] = [
    ("text_delta", "text"),
    ("input_json_delta", "partial_json"),
    ("thinking_delta", "thinking"),
];

/// Just the text of a `content_block_delta` (`log_only` reads nothing
/// else).
#[derive(serde::Deserialize)]
struct BlockDeltaText<'a> {
    #[serde(default)]
    index: u64,
    #[serde(borrow)]
    delta: DeltaText<'a>,
}

#[derive(serde::Deserialize)]
struct DeltaText<'a> {
    #[serde(borrow, rename = "type", default)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
}

/// The screen of one Anthropic stream.
pub struct AnthropicScreen {
    lanes: Lanes,
}

/// The static name of a screened delta type and its text field.
fn screened(kind: &str) -> Option<(&'static str, &'static str)> {
    SCREENED.into_iter().find(|(k, _)| *k == kind)
}

impl AnthropicScreen {
    /// A screen over `lanes`.
    pub fn new(lanes: Lanes) -> Self {
        Self { lanes }
    }

    /// The lanes (for their findings).
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Screens one event; writes what to send.
    pub fn push(&mut self, event: Option<&str>, data: &[u8], out: &mut Vec<u8>) {
        if !self.lanes.redacts() {
            self.gather(event, data);
            return write_event(out, event, data);
        }
        match event {
            Some("content_block_delta") => {}
            Some("content_block_stop") => {
                let index = serde_json::from_slice::<Value>(data)
                    .ok()
                    .and_then(|v| v.get("index").and_then(Value::as_u64));
                match index {
                    Some(index) => self.write_flush(index, out),
                    None => self.finish(out),
                }
                return write_event(out, event, data);
            }
            Some("message_delta" | "message_stop" | "content_block_start") => {
                self.finish(out);
                return write_event(out, event, data);
            }
            _ => return write_event(out, event, data),
        }
        let Ok(mut delta) = serde_json::from_slice::<Value>(data) else {
            return write_event(out, event, data);
        };
        let index = delta.get("index").and_then(Value::as_u64).unwrap_or(0);
        let kind = delta["delta"]["type"].as_str().and_then(screened);
        let Some((kind, field)) = kind.filter(|(_, f)| delta["delta"][*f].is_string()) else {
            // Another delta of the block (a signature) ends its text.
            self.write_flush(index, out);
            return write_event(out, event, data);
        };
        let text = delta["delta"][field].as_str().unwrap_or_default();
        let released = self.lanes.push(Channel::Block(index), kind, text);
        if released == text {
            return write_event(out, event, data);
        }
        delta["delta"][field] = Value::String(released);
        write_event(out, event, delta.to_string().as_bytes());
    }

    /// The stream ended: every lane's held text.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        for channel in self.lanes.open(|_| true) {
            if let Channel::Block(index) = channel {
                self.write_flush(index, out);
            }
        }
    }

    /// `log_only`: hands the text of a delta to its block's lane.
    fn gather(&mut self, event: Option<&str>, data: &[u8]) {
        if event != Some("content_block_delta") {
            return;
        }
        let Ok(block) = serde_json::from_slice::<BlockDeltaText<'_>>(data) else {
            return;
        };
        let Some((kind, _)) = screened(&block.delta.kind) else {
            return;
        };
        let delta = &block.delta;
        let text = delta
            .text
            .as_deref()
            .or(delta.partial_json.as_deref())
            .or(delta.thinking.as_deref());
        if let Some(text) = text {
            self.lanes.push(Channel::Block(block.index), kind, text);
        }
    }

    /// Writes what block `index` still holds as a delta of its own.
    fn write_flush(&mut self, index: u64, out: &mut Vec<u8>) {
        let (text, kind) = self.lanes.flush(Channel::Block(index));
        if text.is_empty() {
            return;
        }
        let Some((kind, field)) = screened(kind) else {
            return;
        };
        let mut delta = json!({"type": kind});
        delta[field] = Value::String(text);
        let event = json!({"type": "content_block_delta", "index": index, "delta": delta});
        write_event(
            out,
            Some("content_block_delta"),
            event.to_string().as_bytes(),
        );
    }
}
