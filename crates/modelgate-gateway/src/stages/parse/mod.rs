//! The parse stage: read only what later stages need from a request body.
//!
//! The body is forwarded as received. Where the gateway must change it (the
//! upstream's model name, asking an OpenAI-kind upstream for streamed usage,
//! one output ceiling instead of two), it splices the bytes at the positions
//! recorded here instead of re-serialising, so everything the caller sent is
//! preserved (see [`rewrite`]).
//!
//! Duplicate top-level keys among the fields read here are refused: a body
//! whose `model` the gateway reads one way and the upstream another would be
//! a way around policy. For the same reason the output ceiling decided on is
//! the largest of `max_tokens` and `max_completion_tokens` (an upstream may
//! honour either), and only that value is forwarded, in one field.

mod rewrite;

pub use rewrite::Unrewritable;

use std::borrow::Cow;
use std::ops::Range;

use modelgate_types::Operation;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::api_error::ApiError;
use crate::refusal::Refusal;

/// What the later stages need to know about a model call.
#[derive(Debug, Clone)]
pub struct ModelCall {
    /// The operation.
    pub operation: Operation,
    /// The public model name the caller asked for.
    pub model: String,
    /// Whether the caller asked for a stream.
    pub stream: bool,
    /// Requested output ceiling: the largest of `max_tokens` and
    /// `max_completion_tokens`, the value policy decides on and the only one
    /// forwarded.
    pub max_tokens: Option<u64>,
    /// Whether the caller itself asked for streamed usage (OpenAI).
    pub caller_wants_usage: bool,
    /// Size of the body in bytes: the prompt's size, from which the input
    /// of a stream without reported usage is estimated.
    pub body_len: usize,
    /// Byte range of the `model` value (with quotes) in the body.
    model_span: Range<usize>,
    /// Byte range of the `stream_options` value (`null` included), if
    /// present.
    stream_options_span: Option<Range<usize>>,
    /// Byte range of the `max_tokens` value, if present.
    max_tokens_span: Option<Range<usize>>,
    /// Byte range of the `max_completion_tokens` value, if present.
    max_completion_tokens_span: Option<Range<usize>>,
}

/// The largest output ceiling accepted: above any role's ceiling (those are
/// 32-bit) and any model's output; a larger value is refused as absurd.
pub const MAX_TOKENS_LIMIT: u64 = u32::MAX as u64;

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    stream_options: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    #[serde(borrow)]
    prompt: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

/// A field that is present, `null` included (a plain `Option` reads `null`
/// as absent, and its position would be lost: the rewrite needs it).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Position of `raw` inside `body` (it was borrowed from it).
fn span_of(body: &[u8], raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.get().len()
}

fn first_byte(raw: &RawValue) -> u8 {
    raw.get().as_bytes().first().copied().unwrap_or(b' ')
}

fn require_kind(
    raw: Option<&RawValue>,
    param: &'static str,
    required: bool,
    ok: fn(u8) -> bool,
    what: &'static str,
) -> Result<(), ApiError> {
    match raw {
        None if required => Err(ApiError::invalid_field(
            param,
            format!("`{param}` is required"),
        )),
        Some(raw) if !ok(first_byte(raw)) => Err(ApiError::invalid_field(
            param,
            format!("`{param}` must be {what}"),
        )),
        _ => Ok(()),
    }
}

/// An output ceiling: a positive integer up to [`MAX_TOKENS_LIMIT`];
/// `null` states none.
fn token_ceiling(raw: Option<&RawValue>, param: &'static str) -> Result<Option<u64>, ApiError> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    match serde_json::from_str::<u64>(raw.get()) {
        Ok(n) if n > 0 && n <= MAX_TOKENS_LIMIT => Ok(Some(n)),
        _ => Err(ApiError::invalid_field(
            param,
            format!("`{param}` must be a positive integer no larger than {MAX_TOKENS_LIMIT}"),
        )),
    }
}

/// The parse stage: the fields the gateway needs, their types checked; a
/// bad body is refused with 400 naming the field.
pub fn parse_body(operation: Operation, body: &[u8]) -> Result<ModelCall, Refusal> {
    parse(operation, body).map_err(Refusal::InvalidRequest)
}

/// Parses the fields the gateway needs and checks their types.
pub fn parse(operation: Operation, body: &[u8]) -> Result<ModelCall, ApiError> {
    let head: Head<'_> = serde_json::from_slice(body).map_err(|e| {
        let message = if e.is_data() && e.to_string().contains("duplicate field") {
            "the request body repeats a top-level field".to_owned()
        } else if e.is_data() {
            "the request body must be a JSON object".to_owned()
        } else {
            format!(
                "the request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        };
        ApiError::new(crate::api_error::ErrorKind::InvalidRequest, message)
    })?;

    let model_raw = head
        .model
        .ok_or_else(|| ApiError::invalid_field("model", "`model` is required"))?;
    let model: Cow<'_, str> = serde_json::from_str(model_raw.get())
        .map_err(|_| ApiError::invalid_field("model", "`model` must be a string"))?;
    if model.is_empty() || model.len() > 256 {
        return Err(ApiError::invalid_field(
            "model",
            "`model` must be 1 to 256 characters",
        ));
    }

    let stream = match head.stream {
        None => false,
        Some(raw) if raw.get() == "null" => false,
        Some(raw) => serde_json::from_str::<bool>(raw.get())
            .map_err(|_| ApiError::invalid_field("stream", "`stream` must be a boolean"))?,
    };
    let stream = stream && operation.streamable();

    // Every field an upstream may honour; the decision is on the largest.
    let max_tokens = match (
        token_ceiling(head.max_tokens, "max_tokens")?,
        token_ceiling(head.max_completion_tokens, "max_completion_tokens")?,
    ) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };

    let is_array = |b: u8| b == b'[';
    let is_text_or_array = |b: u8| b == b'"' || b == b'[';
    match operation {
        Operation::ChatCompletions => {
            require_kind(head.messages, "messages", true, is_array, "an array")?
        }
        Operation::Messages => {
            require_kind(head.messages, "messages", true, is_array, "an array")?;
            if max_tokens.is_none() {
                return Err(ApiError::invalid_field(
                    "max_tokens",
                    "`max_tokens` is required",
                ));
            }
        }
        Operation::Completions => require_kind(
            head.prompt,
            "prompt",
            true,
            is_text_or_array,
            "a string or an array",
        )?,
        Operation::Embeddings => require_kind(
            head.input,
            "input",
            true,
            is_text_or_array,
            "a string or an array",
        )?,
        // Listing models sends no body; nothing to require.
        Operation::ModelsList => {}
    }

    let mut caller_wants_usage = false;
    if let Some(raw) = head.stream_options.filter(|r| r.get() != "null") {
        let options: StreamOptions = serde_json::from_str(raw.get()).map_err(|_| {
            ApiError::invalid_field(
                "stream_options",
                "`stream_options` must be an object with a boolean `include_usage`",
            )
        })?;
        caller_wants_usage = options.include_usage.unwrap_or(false);
    }
    let span = |raw: Option<&RawValue>| raw.map(|raw| span_of(body, raw));

    Ok(ModelCall {
        operation,
        model: model.into_owned(),
        stream,
        max_tokens,
        caller_wants_usage,
        body_len: body.len(),
        model_span: span_of(body, model_raw),
        stream_options_span: span(head.stream_options),
        max_tokens_span: span(head.max_tokens),
        max_completion_tokens_span: span(head.max_completion_tokens),
    })
}

#[cfg(test)]
mod tests;
