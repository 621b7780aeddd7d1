//! An OpenAI chat-completion chunk stream rewritten as Anthropic Messages
//! stream events, for an Anthropic caller served by an OpenAI-kind
//! upstream.
//!
//! Text becomes a `text` content block; each tool call (by its OpenAI
//! `index`) a `tool_use` block whose argument fragments are
//! `input_json_delta`s. Only one block is open at a time, as Anthropic
//! streams them: a fragment for a tool call whose block was already closed
//! is refused. `message_delta` and `message_stop` are written at `[DONE]`,
//! after the usage-only chunk has arrived.

use serde_json::{Value, json};

use super::error_body::{anthropic_error_value, anthropic_type_for_openai};
use super::json::{Object, opt_array, opt_object, opt_str, to_bytes};
use super::response::anthropic_stop_reason;
use super::{StreamTranslator, TranslateError};
use modelgate_types::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    Text,
    Tool(u64),
}

/// Translates an OpenAI chat chunk stream into Anthropic stream events.
#[derive(Debug)]
pub struct OpenAiToAnthropicStream {
    model: String,
    started: bool,
    done: bool,
    open: Block,
    next_index: u64,
    closed_tools: Vec<u64>,
    open_tool_id: Option<String>,
    finish_reason: Option<String>,
    matched_stop: Option<String>,
    usage: Usage,
}

fn malformed(reason: &'static str) -> TranslateError {
    TranslateError::MalformedStream { reason }
}

impl OpenAiToAnthropicStream {
    /// A translator naming `public_model` in `message_start`.
    pub fn new(public_model: &str) -> Self {
        Self {
            model: public_model.to_owned(),
            started: false,
            done: false,
            open: Block::None,
            next_index: 0,
            closed_tools: Vec::new(),
            open_tool_id: None,
            finish_reason: None,
            matched_stop: None,
            usage: Usage::default(),
        }
    }

    fn emit(out: &mut Vec<u8>, name: &str, data: &Value) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        out.extend_from_slice(&to_bytes(data));
        out.extend_from_slice(b"\n\n");
    }

    fn start(&mut self, id: Option<&str>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = json!({
            "id": id.unwrap_or("msg_translated"),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        });
        Self::emit(
            out,
            "message_start",
            &json!({"type": "message_start", "message": message}),
        );
    }

    fn close_block(&mut self, out: &mut Vec<u8>) {
        if self.open == Block::None {
            return;
        }
        if let Block::Tool(i) = self.open {
            self.closed_tools.push(i);
        }
        let index = self.next_index - 1;
        Self::emit(
            out,
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        );
        self.open = Block::None;
    }

    fn open_block(&mut self, block: Block, content_block: Value, out: &mut Vec<u8>) {
        self.close_block(out);
        let index = self.next_index;
        self.next_index += 1;
        self.open = block;
        Self::emit(
            out,
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        );
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        if text.is_empty() {
            return;
        }
        if self.open != Block::Text {
            self.open_block(Block::Text, json!({"type": "text", "text": ""}), out);
        }
        let delta = json!({"type": "text_delta", "text": text});
        self.delta(delta, out);
    }

    fn delta(&self, delta: Value, out: &mut Vec<u8>) {
        let index = self.next_index.saturating_sub(1);
        Self::emit(
            out,
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        );
    }

    fn tool_call(&mut self, call: &Value, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let call = call
            .as_object()
            .ok_or(malformed("a tool call is not an object"))?;
        let idx = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let function = opt_object(call, "function", "tool_calls")
            .map_err(|_| malformed("a tool call's function is not an object"))?;
        let field = |k| {
            function
                .and_then(|f: &Object| f.get(k))
                .and_then(Value::as_str)
        };
        let id = call
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());
        // A new call: another index, or the same index with another id
        // (servers that number every call 0).
        let starts = match self.open {
            Block::Tool(open) if open == idx => {
                id.is_some_and(|id| Some(id) != self.open_tool_id.as_deref())
            }
            _ => true,
        };
        if starts {
            if id.is_none() && self.closed_tools.contains(&idx) {
                return Err(malformed("tool call fragments are interleaved"));
            }
            let name = field("name").ok_or(malformed("a tool call starts without a name"))?;
            let id = id.map_or_else(|| format!("toolu_translated_{idx}"), str::to_owned);
            let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
            self.open_block(Block::Tool(idx), block, out);
            self.open_tool_id = Some(id);
        }
        if let Some(args) = field("arguments").filter(|a| !a.is_empty()) {
            self.delta(
                json!({"type": "input_json_delta", "partial_json": args}),
                out,
            );
        }
        Ok(())
    }

    fn chunk(&mut self, chunk: &Object, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        if let Some(err) = chunk.get("error") {
            let kind = err.get("type").and_then(Value::as_str);
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .or(err.as_str())
                .unwrap_or("the upstream reported an error");
            let body = anthropic_error_value(anthropic_type_for_openai(kind), message);
            Self::emit(out, "error", &body);
            self.done = true;
            return Ok(());
        }
        let id = chunk.get("id").and_then(Value::as_str);
        self.start(id, out);
        if let Some(u) = chunk.get("usage").and_then(Value::as_object) {
            let n = |k| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.usage = Usage {
                input: n("prompt_tokens"),
                output: n("completion_tokens"),
                reported: true,
            };
        }
        let choices =
            opt_array(chunk, "choices", "").map_err(|_| malformed("choices is not an array"))?;
        let Some(choice) = choices.and_then(|c| c.first()).and_then(Value::as_object) else {
            return Ok(());
        };
        if let Some(delta) = choice.get("delta").and_then(Value::as_object) {
            let content = opt_str(delta, "content", "delta")
                .map_err(|_| malformed("delta content is not a string"))?;
            if let Some(text) = content {
                self.text(text, out);
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for call in calls {
                    self.tool_call(call, out)?;
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_owned());
            self.matched_stop = choice
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(str::to_owned);
            self.close_block(out);
        }
        Ok(())
    }

    fn stop(&mut self, out: &mut Vec<u8>) {
        self.close_block(out);
        let matched = self.matched_stop.is_some();
        let reason = anthropic_stop_reason(self.finish_reason.as_deref(), matched);
        let sequence = if reason == "stop_sequence" {
            self.matched_stop.clone()
        } else {
            None
        };
        let delta = json!({
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": sequence},
            "usage": {"input_tokens": self.usage.input, "output_tokens": self.usage.output},
        });
        Self::emit(out, "message_delta", &delta);
        Self::emit(out, "message_stop", &json!({"type": "message_stop"}));
        self.done = true;
    }
}

impl StreamTranslator for OpenAiToAnthropicStream {
    fn push(
        &mut self,
        _event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        if self.done {
            return Ok(());
        }
        if data.trim_ascii() == b"[DONE]" {
            self.start(None, out);
            self.stop(out);
            return Ok(());
        }
        let chunk: Value =
            serde_json::from_slice(data).map_err(|_| malformed("an event is not JSON"))?;
        let chunk = chunk
            .as_object()
            .ok_or(malformed("an event is not an object"))?;
        self.chunk(chunk, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        if self.finish_reason.is_some() {
            self.stop(out);
            return;
        }
        let body = anthropic_error_value(
            "api_error",
            "the upstream stream ended before the answer was complete",
        );
        Self::emit(out, "error", &body);
        self.done = true;
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
#[path = "stream_to_anthropic_tests.rs"]
mod tests;
