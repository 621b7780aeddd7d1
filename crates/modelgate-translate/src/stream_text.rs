//! How much text a streamed answer carried, for charging a stream whose
//! upstream reported no usage: the generated text of each event (answer
//! text, tool-call arguments, reasoning), counted in bytes as it appears in
//! the event's JSON (escapes included, quotes not).
//!
//! [`text_bytes`] reads one event's data; [`crate::sse_tap::SseTap`] reads
//! the same fields from the event it already parsed.

use serde::Deserialize;
use serde_json::value::RawValue;

use modelgate_types::Dialect;
use modelgate_types::usage::{AnthropicUsage, OpenAiUsage};

/// Bytes of a JSON string value, without its quotes (0 for `null` and
/// anything not a string).
fn string_bytes(raw: Option<&RawValue>) -> u64 {
    match raw.map(RawValue::get) {
        Some(s) if s.len() >= 2 && s.starts_with('"') => (s.len() - 2) as u64,
        _ => 0,
    }
}

/// An OpenAI chunk (chat or completions): usage and generated text.
#[derive(Deserialize)]
pub(crate) struct OpenAiChunk<'a> {
    pub(crate) usage: Option<OpenAiUsage>,
    /// The model the chunk names (the upstream's deployment name).
    #[serde(borrow)]
    pub(crate) model: Option<&'a RawValue>,
    #[serde(borrow)]
    pub(crate) choices: Option<Vec<OpenAiChoice<'a>>>,
}

#[derive(Deserialize)]
pub(crate) struct OpenAiChoice<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    delta: Option<OpenAiDelta<'a>>,
}

#[derive(Deserialize)]
struct OpenAiDelta<'a> {
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    #[serde(borrow)]
    reasoning_content: Option<&'a RawValue>,
    #[serde(borrow)]
    refusal: Option<&'a RawValue>,
    #[serde(borrow)]
    tool_calls: Option<Vec<OpenAiToolCall<'a>>>,
}

#[derive(Deserialize)]
struct OpenAiToolCall<'a> {
    #[serde(borrow)]
    function: Option<OpenAiFunction<'a>>,
}

#[derive(Deserialize)]
struct OpenAiFunction<'a> {
    #[serde(borrow)]
    name: Option<&'a RawValue>,
    #[serde(borrow)]
    arguments: Option<&'a RawValue>,
}

impl OpenAiChunk<'_> {
    /// Generated text in this chunk, in bytes.
    pub(crate) fn text_bytes(&self) -> u64 {
        let Some(choices) = &self.choices else {
            return 0;
        };
        let mut n = 0;
        for choice in choices {
            n += string_bytes(choice.text);
            let Some(delta) = &choice.delta else { continue };
            n += string_bytes(delta.content)
                + string_bytes(delta.reasoning_content)
                + string_bytes(delta.refusal);
            for call in delta.tool_calls.iter().flatten() {
                if let Some(f) = &call.function {
                    n += string_bytes(f.name) + string_bytes(f.arguments);
                }
            }
        }
        n
    }

    /// Whether the chunk has no choices (the usage-only chunk).
    pub(crate) fn has_no_choices(&self) -> bool {
        self.choices.as_ref().is_none_or(Vec::is_empty)
    }
}

/// An Anthropic stream event: usage and generated text.
#[derive(Deserialize)]
pub(crate) struct AnthropicEvent<'a> {
    pub(crate) usage: Option<AnthropicUsage>,
    #[serde(borrow)]
    pub(crate) message: Option<AnthropicMessage<'a>>,
    #[serde(borrow)]
    delta: Option<AnthropicDelta<'a>>,
    #[serde(borrow)]
    content_block: Option<AnthropicBlock<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct AnthropicMessage<'a> {
    pub(crate) usage: Option<AnthropicUsage>,
    /// The model `message_start` names (the upstream's deployment name).
    #[serde(borrow)]
    pub(crate) model: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct AnthropicDelta<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    partial_json: Option<&'a RawValue>,
    #[serde(borrow)]
    thinking: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct AnthropicBlock<'a> {
    #[serde(borrow)]
    text: Option<&'a RawValue>,
    #[serde(borrow)]
    name: Option<&'a RawValue>,
}

impl AnthropicEvent<'_> {
    /// Generated text in this event, in bytes.
    pub(crate) fn text_bytes(&self) -> u64 {
        let mut n = 0;
        if let Some(d) = &self.delta {
            n += string_bytes(d.text) + string_bytes(d.partial_json) + string_bytes(d.thinking);
        }
        if let Some(b) = &self.content_block {
            n += string_bytes(b.text) + string_bytes(b.name);
        }
        n
    }
}

/// Generated text in one event's `data` from an upstream speaking
/// `dialect`, in bytes; 0 for anything that is not such an event.
pub fn text_bytes(dialect: Dialect, data: &[u8]) -> u64 {
    match dialect {
        Dialect::OpenAi => serde_json::from_slice::<OpenAiChunk<'_>>(data)
            .map(|c| c.text_bytes())
            .unwrap_or(0),
        Dialect::Anthropic => serde_json::from_slice::<AnthropicEvent<'_>>(data)
            .map(|e| e.text_bytes())
            .unwrap_or(0),
    }
}

/// Tokens estimated from `bytes` of text or JSON: about four bytes a
/// token (English text in the common tokenizers), rounded up.
pub fn estimate_tokens(bytes: u64) -> u64 {
    bytes.div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_generated_text_of_either_dialect() {
        let chunk = br#"{"choices":[{"delta":{"content":"hello","tool_calls":[{"function":{"name":"f","arguments":"{\"a\":1}"}}]}}],"usage":null}"#;
        assert_eq!(
            text_bytes(Dialect::OpenAi, chunk),
            5 + 1 + 9,
            "escapes counted"
        );
        let completion = br#"{"choices":[{"text":"abc","index":0}]}"#;
        assert_eq!(text_bytes(Dialect::OpenAi, completion), 3);
        assert_eq!(text_bytes(Dialect::OpenAi, b"[DONE]"), 0);
        let delta = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi there"}}"#;
        assert_eq!(text_bytes(Dialect::Anthropic, delta), 8);
        let json = br#"{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{\"x\""}}"#;
        assert_eq!(text_bytes(Dialect::Anthropic, json), 6);
        assert_eq!(text_bytes(Dialect::Anthropic, br#"{"type":"ping"}"#), 0);
    }

    #[test]
    fn four_bytes_a_token_rounded_up() {
        assert_eq!(estimate_tokens(0), 0);
        assert_eq!(estimate_tokens(1), 1);
        assert_eq!(estimate_tokens(8), 2);
        assert_eq!(estimate_tokens(9), 3);
    }
}
