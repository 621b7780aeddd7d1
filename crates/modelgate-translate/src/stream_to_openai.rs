//! An Anthropic Messages event stream rewritten as OpenAI chat-completion
//! chunks, for an OpenAI caller served by an Anthropic upstream.
//!
//! `message_start` gives the role chunk; text deltas become `content`
//! deltas; each `tool_use` block becomes a tool call numbered in order,
//! first with its id and name, then with its argument fragments;
//! `message_stop` gives the finish chunk, the usage chunk when the caller
//! asked for it, and `data: [DONE]`. `ping` and thinking blocks are
//! skipped; an `error` event becomes an OpenAI error event.

use serde_json::{Value, json};

use super::error_body::openai_error_value;
use super::json::{Object, now_unix, to_bytes};
use super::response::{anthropic_input_tokens, openai_finish_reason, openai_usage};
use super::{StreamTranslator, TranslateError};
use modelgate_types::Usage;

/// Translates an Anthropic event stream into OpenAI chat chunks.
#[derive(Debug)]
pub struct AnthropicToOpenAiStream {
    model: String,
    include_usage: bool,
    id: String,
    created: u64,
    started: bool,
    done: bool,
    /// Anthropic block index → OpenAI tool-call index, for tool_use blocks.
    tool_blocks: Vec<(u64, u64)>,
    stop_reason: Option<String>,
    usage: Usage,
}

fn malformed(reason: &'static str) -> TranslateError {
    TranslateError::MalformedStream { reason }
}

impl AnthropicToOpenAiStream {
    /// A translator naming `public_model` in every chunk; `include_usage`
    /// is the caller's `stream_options.include_usage`.
    pub fn new(public_model: &str, include_usage: bool) -> Self {
        Self {
            model: public_model.to_owned(),
            include_usage,
            id: "chatcmpl-translated".to_owned(),
            created: now_unix(),
            started: false,
            done: false,
            tool_blocks: Vec::new(),
            stop_reason: None,
            usage: Usage::default(),
        }
    }

    fn emit_data(out: &mut Vec<u8>, data: &Value) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&to_bytes(data));
        out.extend_from_slice(b"\n\n");
    }

    fn chunk(&self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
        let chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        Self::emit_data(out, &chunk);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.chunk(json!({"role": "assistant", "content": ""}), None, out);
        }
    }

    fn merge_usage(&mut self, u: &Object) {
        self.usage.input = self.usage.input.max(anthropic_input_tokens(u));
        if let Some(o) = u.get("output_tokens").and_then(Value::as_u64) {
            self.usage.output = self.usage.output.max(o);
        }
        self.usage.reported = true;
    }

    fn tool_index(&self, block: u64) -> Option<u64> {
        self.tool_blocks
            .iter()
            .find(|(b, _)| *b == block)
            .map(|(_, t)| *t)
    }

    fn block_start(&mut self, ev: &Object, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let index = ev
            .get("index")
            .and_then(Value::as_u64)
            .ok_or(malformed("a block has no index"))?;
        let block = ev
            .get("content_block")
            .and_then(Value::as_object)
            .ok_or(malformed("a block start has no content_block"))?;
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                if !text.is_empty() {
                    self.chunk(json!({"content": text}), None, out);
                }
            }
            Some("tool_use") => {
                let id = block
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or(malformed("a tool_use block has no id"))?;
                let name = block
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or(malformed("a tool_use block has no name"))?;
                let call_index = self.tool_blocks.len() as u64;
                self.tool_blocks.push((index, call_index));
                let call = json!({
                    "index": call_index,
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": ""},
                });
                self.chunk(json!({"tool_calls": [call]}), None, out);
            }
            _ => {} // thinking, redacted_thinking, server tools
        }
        Ok(())
    }

    fn block_delta(&mut self, ev: &Object, out: &mut Vec<u8>) -> Result<(), TranslateError> {
        let index = ev
            .get("index")
            .and_then(Value::as_u64)
            .ok_or(malformed("a delta has no index"))?;
        let delta = ev
            .get("delta")
            .and_then(Value::as_object)
            .ok_or(malformed("a delta has no delta"))?;
        match delta.get("type").and_then(Value::as_str) {
            Some("text_delta") => {
                let text = delta
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or(malformed("a text delta has no text"))?;
                if !text.is_empty() {
                    self.chunk(json!({"content": text}), None, out);
                }
            }
            Some("input_json_delta") => {
                let part = delta
                    .get("partial_json")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let call = self
                    .tool_index(index)
                    .ok_or(malformed("arguments for an unknown tool call"))?;
                if !part.is_empty() {
                    let call = json!({"index": call, "function": {"arguments": part}});
                    self.chunk(json!({"tool_calls": [call]}), None, out);
                }
            }
            _ => {} // thinking_delta, signature_delta, citations_delta
        }
        Ok(())
    }

    fn stop(&mut self, out: &mut Vec<u8>) {
        self.start(out);
        let finish = openai_finish_reason(self.stop_reason.as_deref());
        self.chunk(json!({}), Some(finish), out);
        if self.include_usage {
            let chunk = json!({
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [],
                "usage": openai_usage(self.usage.input, self.usage.output),
            });
            Self::emit_data(out, &chunk);
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
        self.done = true;
    }

    fn error(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        Self::emit_data(out, &openai_error_value(kind, message));
        self.done = true;
    }
}

impl StreamTranslator for AnthropicToOpenAiStream {
    fn push(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        if self.done {
            return Ok(());
        }
        let ev: Value =
            serde_json::from_slice(data).map_err(|_| malformed("an event is not JSON"))?;
        let ev = ev
            .as_object()
            .ok_or(malformed("an event is not an object"))?;
        let kind = ev.get("type").and_then(Value::as_str).or(event);
        match kind {
            Some("message_start") => {
                let message = ev.get("message").and_then(Value::as_object);
                if let Some(id) = message.and_then(|m| m.get("id")).and_then(Value::as_str) {
                    self.id = id.to_owned();
                }
                if let Some(u) = message
                    .and_then(|m| m.get("usage"))
                    .and_then(Value::as_object)
                {
                    self.merge_usage(u);
                }
                self.start(out);
            }
            Some("content_block_start") => {
                self.start(out);
                self.block_start(ev, out)?;
            }
            Some("content_block_delta") => {
                self.start(out);
                self.block_delta(ev, out)?;
            }
            Some("message_delta") => {
                if let Some(r) = ev
                    .get("delta")
                    .and_then(|d| d.get("stop_reason"))
                    .and_then(Value::as_str)
                {
                    self.stop_reason = Some(r.to_owned());
                }
                if let Some(u) = ev.get("usage").and_then(Value::as_object) {
                    self.merge_usage(u);
                }
            }
            Some("message_stop") => self.stop(out),
            Some("error") => {
                let err = ev.get("error");
                let message = err
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("the upstream reported an error");
                let kind = match err.and_then(|e| e.get("type")).and_then(Value::as_str) {
                    Some("invalid_request_error") => "invalid_request_error",
                    Some("rate_limit_error") => "rate_limit_error",
                    _ => "server_error",
                };
                self.error(kind, message, out);
            }
            _ => {} // ping, content_block_stop, unknown events
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        if self.stop_reason.is_some() {
            self.stop(out);
        } else {
            self.error(
                "server_error",
                "the upstream stream ended before the answer was complete",
                out,
            );
        }
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn usage(&self) -> Usage {
        self.usage
    }
}

#[cfg(test)]
#[path = "stream_to_openai_tests.rs"]
mod tests;
