//! The parse stage: read only what later stages need from a request body.
//!
//! The body is forwarded as received. Where the gateway must change it (the
//! upstream's model name, asking an OpenAI-kind upstream for streamed usage),
//! it splices the bytes at the positions recorded here instead of
//! re-serialising, so everything the caller sent is preserved.
//!
//! Duplicate top-level keys among the fields read here are refused: a body
//! whose `model` the gateway reads one way and the upstream another would be
//! a way around policy.

use std::borrow::Cow;
use std::ops::Range;

use modelgate_types::{Dialect, Operation};
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
    /// Requested output ceiling (`max_tokens` or `max_completion_tokens`).
    pub max_tokens: Option<u64>,
    /// Whether the caller itself asked for streamed usage (OpenAI).
    pub caller_wants_usage: bool,
    /// Byte range of the `model` value (with quotes) in the body.
    model_span: Range<usize>,
    /// Byte range of the `stream_options` value, if present.
    stream_options_span: Option<Range<usize>>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<&'a RawValue>,
    #[serde(borrow)]
    max_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    max_completion_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
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

fn positive_integer(raw: Option<&RawValue>, param: &'static str) -> Result<Option<u64>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    match serde_json::from_str::<u64>(raw.get()) {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(ApiError::invalid_field(
            param,
            format!("`{param}` must be a positive integer"),
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

    let max_tokens = positive_integer(head.max_tokens, "max_tokens")?.or(positive_integer(
        head.max_completion_tokens,
        "max_completion_tokens",
    )?);

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
    let mut stream_options_span = None;
    if let Some(raw) = head.stream_options.filter(|r| r.get() != "null") {
        let options: StreamOptions = serde_json::from_str(raw.get()).map_err(|_| {
            ApiError::invalid_field(
                "stream_options",
                "`stream_options` must be an object with a boolean `include_usage`",
            )
        })?;
        caller_wants_usage = options.include_usage.unwrap_or(false);
        stream_options_span = Some(span_of(body, raw));
    }

    Ok(ModelCall {
        operation,
        model: model.into_owned(),
        stream,
        max_tokens,
        caller_wants_usage,
        model_span: span_of(body, model_raw),
        stream_options_span,
    })
}

impl ModelCall {
    /// Whether the gateway must ask the upstream for usage in the stream
    /// (OpenAI-kind upstreams send none unless asked).
    pub fn needs_usage_injection(&self) -> bool {
        self.stream && self.operation.dialect() == Dialect::OpenAi && !self.caller_wants_usage
    }

    /// The body to send upstream: `upstream_model` in place of the public
    /// name and, if `inject_usage`, `stream_options.include_usage = true`.
    /// Returns `None` when the body can go as received.
    pub fn rewrite_body(
        &self,
        body: &[u8],
        upstream_model: &str,
        inject_usage: bool,
    ) -> Option<Vec<u8>> {
        let rename = upstream_model != self.model;
        if !rename && !inject_usage {
            return None;
        }
        // Edits as (range, replacement), applied back to front.
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::with_capacity(2);
        if rename {
            let quoted = serde_json::to_vec(upstream_model).unwrap_or_default();
            edits.push((self.model_span.clone(), quoted));
        }
        if inject_usage {
            match &self.stream_options_span {
                Some(span) => {
                    // Keep the caller's other options; only turn usage on.
                    let mut options: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_slice(body.get(span.clone())?).ok()?;
                    options.insert("include_usage".to_owned(), serde_json::Value::Bool(true));
                    edits.push((span.clone(), serde_json::to_vec(&options).ok()?));
                }
                None => {
                    // Right after the opening brace of the top-level object.
                    let open = body.iter().position(|&b| b == b'{')?;
                    edits.push((
                        open + 1..open + 1,
                        br#""stream_options":{"include_usage":true},"#.to_vec(),
                    ));
                }
            }
        }
        edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
        let mut out = body.to_vec();
        for (range, replacement) in edits {
            out.splice(range, replacement);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: &str) -> Result<ModelCall, ApiError> {
        parse(Operation::ChatCompletions, body.as_bytes())
    }

    #[test]
    fn reads_fields() {
        let c = chat(r#"{"model":"gpt","messages":[],"stream":true,"max_tokens":5}"#).unwrap();
        assert_eq!(c.model, "gpt");
        assert!(c.stream);
        assert_eq!(c.max_tokens, Some(5));
        assert!(!c.caller_wants_usage);
        assert!(c.needs_usage_injection());
    }

    #[test]
    fn type_errors_name_the_field_without_echoing_values() {
        for (body, param) in [
            (r#"{"model":123,"messages":[]}"#, "model"),
            (r#"{"messages":[]}"#, "model"),
            (r#"{"model":"m","messages":"hi"}"#, "messages"),
            (r#"{"model":"m"}"#, "messages"),
            (
                r#"{"model":"m","messages":[],"stream":"sk-CANARY"}"#,
                "stream",
            ),
            (
                r#"{"model":"m","messages":[],"max_tokens":-1}"#,
                "max_tokens",
            ),
            (
                r#"{"model":"m","messages":[],"stream_options":5}"#,
                "stream_options",
            ),
            (r#"{"model":"","messages":[]}"#, "model"),
        ] {
            let e = chat(body).unwrap_err();
            assert_eq!(e.param, Some(param), "{body}");
            assert!(!e.message.contains("CANARY"));
        }
    }

    #[test]
    fn malformed_bodies() {
        assert!(chat("{").unwrap_err().message.contains("not valid JSON"));
        assert!(chat("[1]").unwrap_err().message.contains("JSON object"));
        assert!(chat("").is_err());
        let bytes = b"{\"model\":\"\xff\xfe\",\"messages\":[]}";
        assert!(parse(Operation::ChatCompletions, bytes).is_err());
        let dup = chat(r#"{"model":"a","model":"b","messages":[]}"#).unwrap_err();
        assert!(dup.message.contains("repeats"));
    }

    #[test]
    fn operation_specific_requirements() {
        let e = parse(Operation::Messages, br#"{"model":"m","messages":[]}"#).unwrap_err();
        assert_eq!(e.param, Some("max_tokens"));
        assert!(parse(Operation::Embeddings, br#"{"model":"m","input":"x"}"#).is_ok());
        assert!(parse(Operation::Embeddings, br#"{"model":"m","input":3}"#).is_err());
        assert!(parse(Operation::Completions, br#"{"model":"m","prompt":["a"]}"#).is_ok());
        let e = parse(
            Operation::Embeddings,
            br#"{"model":"m","input":"x","stream":true}"#,
        );
        assert!(!e.unwrap().stream, "embeddings never stream");
    }

    #[test]
    fn rewrite_renames_and_injects() {
        let body =
            r#"{ "model" : "pub", "messages":[{"role":"user","content":"model"}], "stream":true}"#;
        let c = chat(body).unwrap();
        assert!(c.rewrite_body(body.as_bytes(), "pub", false).is_none());
        let out = c.rewrite_body(body.as_bytes(), "up/\"x\"", true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["model"], "up/\"x\"");
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["messages"][0]["content"], "model");
    }

    #[test]
    fn rewrite_replaces_existing_stream_options() {
        let body = r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":false,"x":1}}"#;
        let c = chat(body).unwrap();
        assert!(c.needs_usage_injection());
        let out = c.rewrite_body(body.as_bytes(), "m", true).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["stream_options"]["x"], 1);
        let asked = chat(
            r#"{"model":"m","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert!(asked.caller_wants_usage && !asked.needs_usage_injection());
    }
}
