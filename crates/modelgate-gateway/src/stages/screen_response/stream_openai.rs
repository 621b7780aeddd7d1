//! Screening of an OpenAI chat (or completions) stream: each choice's
//! content and each tool call's `function.arguments` on a lane of its own.
//! In `redact` mode each delta is replaced by what its lane releases; what
//! a lane still holds goes out in a chunk of its own before the event that
//! ends it (a tool call starting after text, a finish chunk, `[DONE]`), or
//! with the finishing chunk's own delta.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::lanes::{Channel, Lanes, write_event};

/// Tag of a chat choice's `delta.content` lane.
const CONTENT: &str = "content";
/// Tag of a completions choice's `text` lane.
const LEGACY_TEXT: &str = "text";
/// Tag of a tool call's arguments lane.
const ARGUMENTS: &str = "arguments";

/// Just the texts of a chunk (`log_only` reads nothing else).
#[derive(serde::Deserialize)]
struct ChunkText<'a> {
    #[serde(borrow, default)]
    choices: Vec<ChoiceText<'a>>,
}

#[derive(serde::Deserialize)]
struct ChoiceText<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    delta: Option<DeltaText<'a>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct DeltaText<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<CallText<'a>>>,
}

#[derive(serde::Deserialize)]
struct CallText<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(borrow, default)]
    function: Option<FunctionText<'a>>,
}

#[derive(serde::Deserialize)]
struct FunctionText<'a> {
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

/// The screen of one OpenAI stream.
pub struct OpenAiScreen {
    lanes: Lanes,
    /// The identifying fields of the last chunk, for a flush chunk.
    template: Map<String, Value>,
}

impl OpenAiScreen {
    /// A screen over `lanes`.
    pub fn new(lanes: Lanes) -> Self {
        Self {
            lanes,
            template: Map::new(),
        }
    }

    /// The lanes (for their findings).
    pub fn lanes(&self) -> &Lanes {
        &self.lanes
    }

    /// Screens one event's data; writes what to send.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !self.lanes.redacts() {
            self.gather(data);
            return write_event(out, None, data);
        }
        if data == b"[DONE]" {
            self.finish(out);
            return write_event(out, None, data);
        }
        let Ok(mut chunk) = serde_json::from_slice::<Value>(data) else {
            return write_event(out, None, data);
        };
        self.remember(&chunk);
        let mut before = Vec::new();
        let mut changed = false;
        if let Some(choices) = chunk.get_mut("choices").and_then(Value::as_array_mut) {
            for (j, choice) in choices.iter_mut().enumerate() {
                changed |= self.choice(j as u64, choice, &mut before);
            }
        }
        for channel in before {
            self.write_flush(channel, out);
        }
        if changed {
            write_event(out, None, chunk.to_string().as_bytes());
        } else {
            write_event(out, None, data);
        }
    }

    /// The stream ended: every lane's held text.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        for channel in self.lanes.open(|_| true) {
            self.write_flush(channel, out);
        }
    }

    /// `log_only`: hands each text of the chunk to its lane.
    fn gather(&mut self, data: &[u8]) {
        let Ok(chunk) = serde_json::from_slice::<ChunkText<'_>>(data) else {
            return;
        };
        for (j, choice) in chunk.choices.iter().enumerate() {
            let idx = choice.index.unwrap_or(j as u64);
            let delta = choice.delta.as_ref();
            if let Some(text) = delta.and_then(|d| d.content.as_deref()) {
                self.lanes.push(Channel::Text(idx), CONTENT, text);
            } else if let Some(text) = choice.text.as_deref() {
                self.lanes.push(Channel::Text(idx), LEGACY_TEXT, text);
            }
            let calls = delta.and_then(|d| d.tool_calls.as_deref()).unwrap_or(&[]);
            for (k, call) in calls.iter().enumerate() {
                let arguments = call.function.as_ref().and_then(|f| f.arguments.as_deref());
                if let Some(arguments) = arguments {
                    let channel = Channel::Arguments(idx, call.index.unwrap_or(k as u64));
                    self.lanes.push(channel, ARGUMENTS, arguments);
                }
            }
        }
    }

    /// Keeps the chunk's identifying fields for flush chunks.
    fn remember(&mut self, chunk: &Value) {
        self.template.clear();
        for field in ["id", "object", "created", "model", "system_fingerprint"] {
            if let Some(value) = chunk.get(field) {
                self.template.insert(field.to_owned(), value.clone());
            }
        }
    }

    /// Redacts one choice in place; lanes to flush before the chunk go on
    /// `before`. Returns whether the choice changed.
    fn choice(&mut self, position: u64, choice: &mut Value, before: &mut Vec<Channel>) -> bool {
        let idx = choice
            .get("index")
            .and_then(Value::as_u64)
            .unwrap_or(position);
        let finishing = choice
            .get("finish_reason")
            .is_some_and(|reason| !reason.is_null());
        let mut changed = false;
        let text_slot = if choice["delta"]["content"].is_string() {
            Some((&mut choice["delta"]["content"], CONTENT))
        } else if choice.get("text").is_some_and(Value::is_string) {
            Some((&mut choice["text"], LEGACY_TEXT))
        } else {
            None
        };
        let mut text_pushed = false;
        if let Some((slot, tag)) = text_slot {
            changed |= self.replace(Channel::Text(idx), tag, slot, finishing);
            text_pushed = true;
        }
        if let Some(calls) = choice["delta"]
            .get_mut("tool_calls")
            .and_then(Value::as_array_mut)
        {
            // The text ends where the tool calls begin.
            if !text_pushed {
                before.extend(self.lanes.open(|c| c == Channel::Text(idx)));
            }
            for (k, call) in calls.iter_mut().enumerate() {
                let call_idx = call.get("index").and_then(Value::as_u64);
                let channel = Channel::Arguments(idx, call_idx.unwrap_or(k as u64));
                if call["function"]["arguments"].is_string() {
                    let slot = &mut call["function"]["arguments"];
                    changed |= self.replace(channel, ARGUMENTS, slot, finishing);
                }
            }
        }
        if finishing {
            before.extend(self.lanes.open(|c| c.choice() == Some(idx)));
        }
        changed
    }

    /// Replaces the text in `slot` with what its lane releases (and, when
    /// the choice finishes, all it holds). Returns whether it changed.
    fn replace(
        &mut self,
        channel: Channel,
        tag: &'static str,
        slot: &mut Value,
        last: bool,
    ) -> bool {
        let Some(text) = slot.as_str().filter(|t| !t.is_empty()) else {
            return false;
        };
        let mut released = self.lanes.push(channel, tag, text);
        if last {
            released.push_str(&self.lanes.flush(channel).0);
        }
        let changed = released != text;
        *slot = Value::String(released);
        changed
    }

    /// Writes what `channel` still holds as a chunk of its own.
    fn write_flush(&mut self, channel: Channel, out: &mut Vec<u8>) {
        let (text, tag) = self.lanes.flush(channel);
        if text.is_empty() {
            return;
        }
        let choice = match channel {
            Channel::Text(c) if tag == LEGACY_TEXT => {
                json!({"index": c, "text": text, "finish_reason": null})
            }
            Channel::Arguments(c, call) => json!({"index": c, "delta": {"tool_calls":
                [{"index": call, "function": {"arguments": text}}]}, "finish_reason": null}),
            Channel::Text(c) | Channel::Block(c) => {
                json!({"index": c, "delta": {"content": text}, "finish_reason": null})
            }
        };
        let mut chunk = self.template.clone();
        if !chunk.contains_key("object") {
            chunk.insert("object".into(), "chat.completion.chunk".into());
        }
        chunk.insert("choices".into(), Value::Array(vec![choice]));
        write_event(out, None, Value::Object(chunk).to_string().as_bytes());
    }
}
