//! A complete, successful answer of an upstream that speaks the caller's
//! dialect: its usage is read, its top-level `model` (the upstream's
//! deployment name) becomes the public model name the caller asked for,
//! and a body that is not a JSON object is noted (and relayed as it came).
//!
//! One pass of `serde_json` over the body reads both fields, borrowed: no
//! value is built. The body is copied once, and only when the name differs.

use std::ops::Range;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use modelgate_types::usage::{AnthropicUsage, OpenAiUsage};
use modelgate_types::{Dialect, Usage};

/// The note of a successful non-streamed body that is not a JSON object.
pub const NOT_JSON: &str = "upstream_body_not_json";

/// What the gateway reads of an answer.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(borrow)]
    usage: Option<&'a RawValue>,
}

/// A same-dialect answer read and rewritten.
#[derive(Debug)]
pub struct Reply {
    /// The body for the caller.
    pub body: Bytes,
    /// The usage it reports.
    pub usage: Usage,
    /// `Some(NOT_JSON)` when the body is not a JSON object.
    pub note: Option<&'static str>,
}

/// Reads a successful answer in `dialect` and names `public` as its model.
pub fn same_dialect(dialect: Dialect, public: &str, body: Bytes) -> Reply {
    // A struct also reads from an array: only an object is the answer.
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let (usage, model) = match serde_json::from_slice::<Head<'_>>(&body) {
        Ok(head) if object => (
            usage_of(dialect, head.usage),
            head.model
                .filter(|raw| !names(raw, public))
                .map(|raw| span_of(&body, raw)),
        ),
        _ => {
            return Reply {
                body,
                usage: Usage::default(),
                note: Some(NOT_JSON),
            };
        }
    };
    let body = match model {
        Some(span) => splice_name(&body, span, public),
        None => body,
    };
    Reply {
        body,
        usage,
        note: None,
    }
}

/// The usage object of `dialect`, if the answer has one.
fn usage_of(dialect: Dialect, raw: Option<&RawValue>) -> Usage {
    let mut usage = Usage::default();
    let Some(raw) = raw else {
        return usage;
    };
    match dialect {
        Dialect::OpenAi => {
            if let Ok(u) = serde_json::from_str::<OpenAiUsage>(raw.get()) {
                usage.set_openai(&u);
            }
        }
        Dialect::Anthropic => {
            if let Ok(u) = serde_json::from_str::<AnthropicUsage>(raw.get()) {
                usage.merge_anthropic(&u);
            }
        }
    }
    usage
}

/// Whether the JSON value `raw` is the string `name` (compared without
/// decoding when it has no escapes).
fn names(raw: &RawValue, name: &str) -> bool {
    let text = raw.get();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && !inner.contains('\\')
    {
        return inner == name;
    }
    serde_json::from_str::<std::borrow::Cow<'_, str>>(text).is_ok_and(|s| s == name)
}

/// Position of `raw` inside `body` (it was borrowed from it).
fn span_of(body: &[u8], raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.get().len()
}

/// `body` with the JSON value at `span` replaced by the string `name`.
pub fn splice_name(body: &[u8], span: Range<usize>, name: &str) -> Bytes {
    let mut out = Vec::with_capacity(body.len() + name.len() + 2);
    out.extend_from_slice(&body[..span.start]);
    push_json_string(&mut out, name);
    out.extend_from_slice(&body[span.end..]);
    Bytes::from(out)
}

/// Appends `text` as a JSON string.
fn push_json_string(out: &mut Vec<u8>, text: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Reply {
        same_dialect(Dialect::OpenAi, "chat", Bytes::from(body.to_owned()))
    }

    #[test]
    fn the_deployment_name_becomes_the_public_one() {
        let r = read(
            r#"{"id":"x","model":"gpt-4o-2024-08-06","choices":[{"message":{"model":"keep"}}],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#,
        );
        assert_eq!(
            &r.body[..],
            br#"{"id":"x","model":"chat","choices":[{"message":{"model":"keep"}}],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#
        );
        assert_eq!((r.usage.input, r.usage.output, r.note), (3, 5, None));
    }

    #[test]
    fn the_same_name_is_not_copied_and_escapes_are_read() {
        let body = Bytes::from_static(br#"{"model":"chat"}"#);
        let r = same_dialect(Dialect::OpenAi, "chat", body.clone());
        assert_eq!(r.body.as_ptr(), body.as_ptr(), "not copied");
        let r = read(r#"{"model":"c\u0068at"}"#);
        assert_eq!(&r.body[..], br#"{"model":"c\u0068at"}"#);
        let r = same_dialect(
            Dialect::OpenAi,
            "a\"b",
            Bytes::from_static(br#"{"model":"x"}"#),
        );
        assert_eq!(&r.body[..], br#"{"model":"a\"b"}"#);
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_noted_and_kept() {
        for body in ["<html>oops</html>", "[1,2]", ""] {
            let r = read(body);
            assert_eq!(r.note, Some(NOT_JSON), "{body}");
            assert_eq!(&r.body[..], body.as_bytes());
            assert!(!r.usage.reported);
        }
        let r = read(r#"{"no_model":true}"#);
        assert_eq!(r.note, None);
    }

    #[test]
    fn anthropic_usage_is_read() {
        let r = same_dialect(
            Dialect::Anthropic,
            "claude",
            Bytes::from_static(
                br#"{"model":"claude-x","usage":{"input_tokens":4,"output_tokens":6}}"#,
            ),
        );
        assert_eq!(
            &r.body[..],
            br#"{"model":"claude","usage":{"input_tokens":4,"output_tokens":6}}"#
        );
        assert_eq!((r.usage.input, r.usage.output), (4, 6));
    }
}
