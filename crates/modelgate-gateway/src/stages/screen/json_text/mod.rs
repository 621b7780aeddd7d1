//! The text of a JSON body: every string value (and, for the request
//! screen, every object key), decoded, with the byte range of its JSON
//! literal, so a redacted string can be spliced back without re-serialising
//! the rest of the body. Values under a prose key ([`TEXT_KEYS`]: message
//! content, content-part text, system prompts, tool arguments) are marked
//! as text, so the screen can read them joined in document order.
//!
//! One pass: the body is checked once as a JSON document ([`CheckedJson`];
//! on the request path the parse stage has already done it), then a scanner
//! walks its bytes once, with an explicit stack instead of recursion, and
//! decodes each string literal where it stands. Only strings with escapes
//! go through serde_json's decoder.

use std::borrow::Cow;
use std::ops::Range;

use serde::de::IgnoredAny;

use crate::stages::parse::ModelCall;

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod reference;

/// Deepest nesting walked; deeper values are refused (serde_json itself
/// stops at 128).
const MAX_DEPTH: usize = 64;

/// A string value of the body.
#[derive(Debug, PartialEq, Eq)]
pub struct TextValue {
    /// Byte range of the JSON string literal (quotes included).
    pub span: Range<usize>,
    /// The decoded text.
    pub text: String,
}

/// Keys whose string values (directly, or in an array under the key) are
/// prose the model reads as one conversation.
pub const TEXT_KEYS: &[&str] = &[
    "content",
    "text",
    "input",
    "instructions",
    "system",
    "prompt",
    "arguments",
    "thinking",
    "refusal",
];

/// What a string of the body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An object key.
    Key,
    /// A value under one of [`TEXT_KEYS`].
    Text,
    /// Any other value.
    Value,
}

/// A string of the body: a key or a value.
#[derive(Debug, PartialEq, Eq)]
pub struct JsonString {
    /// Byte range of the JSON string literal (quotes included).
    pub span: Range<usize>,
    /// The decoded text.
    pub text: String,
    /// Key, prose value or other value.
    pub role: Role,
}

/// Why the body's strings could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonTextError {
    /// Not JSON, or nested too deep.
    #[error("the body is not JSON the gateway can screen")]
    Unreadable,
}

/// A body known to be UTF-8 holding exactly one well-formed JSON document
/// (within serde_json's nesting limit): what the scanner may assume.
#[derive(Clone, Copy, Debug)]
pub struct CheckedJson<'a> {
    text: &'a str,
}

impl<'a> CheckedJson<'a> {
    /// Checks `body` whole: UTF-8, then one JSON document.
    pub fn check(body: &'a [u8]) -> Result<CheckedJson<'a>, JsonTextError> {
        let text = std::str::from_utf8(body).map_err(|_| JsonTextError::Unreadable)?;
        serde_json::from_str::<IgnoredAny>(text).map_err(|_| JsonTextError::Unreadable)?;
        Ok(CheckedJson { text })
    }

    /// `body`, which [`crate::stages::parse::parse`] has read whole into `call` (a
    /// successful parse consumed and validated every byte as JSON). Only
    /// its UTF-8 is left to check: the parse stage reads bytes, and an
    /// ignored member may hold any.
    pub fn parsed(body: &'a [u8], call: &ModelCall) -> Result<CheckedJson<'a>, JsonTextError> {
        let _ = call;
        let text = std::str::from_utf8(body).map_err(|_| JsonTextError::Unreadable)?;
        Ok(CheckedJson { text })
    }

    /// The body's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Every string value except those under the top-level keys in `skip`
    /// (such as `model`), in document order. Keys are not values, but each
    /// key of the walked objects must decode, and no walked value may be
    /// nested deeper than [`MAX_DEPTH`].
    pub fn string_values(&self, skip: &[&str]) -> Result<Vec<TextValue>, JsonTextError> {
        let strings = scan(self.text, skip, false)?;
        Ok(strings
            .into_iter()
            .map(|s| TextValue {
                span: s.span,
                text: s.text,
            })
            .collect())
    }

    /// Every string, keys included, except the members under the top-level
    /// keys in `skip` (whose keys are still read), in document order.
    pub fn strings(&self, skip: &[&str]) -> Result<Vec<JsonString>, JsonTextError> {
        scan(self.text, skip, true)
    }
}

/// Every string value of `body` except those under the top-level keys in
/// `skip` (such as `model`), in document order.
pub fn string_values(body: &[u8], skip: &[&str]) -> Result<Vec<TextValue>, JsonTextError> {
    CheckedJson::check(body)?.string_values(skip)
}

/// An open container around the scanner's cursor.
#[derive(Clone, Copy)]
struct Frame {
    /// An object (else an array).
    object: bool,
    /// The container sits under a prose key (an array's values are text).
    text: bool,
    /// An object: the current member's key is a prose key.
    key_text: bool,
}

impl Frame {
    /// Whether a value here is prose.
    fn holds_text(self) -> bool {
        if self.object {
            self.key_text
        } else {
            self.text
        }
    }
}

/// The scanner over a checked document. Each byte is looked at once (the
/// skipped members' too); string literals are crossed with `memchr`. With
/// `keys`, object keys are returned too.
fn scan(text: &str, skip: &[&str], keys: bool) -> Result<Vec<JsonString>, JsonTextError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // The containers around the cursor, innermost last.
    let mut open: Vec<Frame> = Vec::new();
    // Whether the next string is an object key.
    let mut expect_key = false;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            b':' => {
                expect_key = false;
                at += 1;
            }
            b',' => {
                expect_key = open.last().is_some_and(|f| f.object);
                at += 1;
            }
            b'{' | b'[' => {
                value_depth(open.len())?;
                let text = open.last().is_some_and(|f| f.holds_text());
                open.push(Frame {
                    object: byte == b'{',
                    text,
                    key_text: false,
                });
                expect_key = byte == b'{';
                at += 1;
            }
            b'}' | b']' => {
                open.pop();
                expect_key = false;
                at += 1;
            }
            b'"' => {
                let (end, plain) = string_end(bytes, at)?;
                let literal = &text[at..end];
                if expect_key {
                    let key = decode(literal, plain)?;
                    if let Some(frame) = open.last_mut() {
                        frame.key_text = TEXT_KEYS.contains(&key.as_ref());
                    }
                    let skipped = open.len() == 1 && skip.contains(&key.as_ref());
                    if keys {
                        out.push(JsonString {
                            span: at..end,
                            text: key.into_owned(),
                            role: Role::Key,
                        });
                    }
                    if skipped {
                        at = skip_member_value(bytes, end)?;
                        continue;
                    }
                } else {
                    value_depth(open.len())?;
                    let role = match open.last() {
                        Some(frame) if frame.holds_text() => Role::Text,
                        _ => Role::Value,
                    };
                    out.push(JsonString {
                        span: at..end,
                        text: decode(literal, plain)?.into_owned(),
                        role,
                    });
                }
                at = end;
            }
            _ => {
                value_depth(open.len())?;
                at = scalar_end(bytes, at);
            }
        }
    }
    Ok(out)
}

/// Refuses a value nested deeper than [`MAX_DEPTH`].
fn value_depth(depth: usize) -> Result<(), JsonTextError> {
    if depth > MAX_DEPTH {
        return Err(JsonTextError::Unreadable);
    }
    Ok(())
}

/// End (after the closing quote) of the string literal opening at `start`,
/// and whether it holds no escape.
fn string_end(bytes: &[u8], start: usize) -> Result<(usize, bool), JsonTextError> {
    let mut at = start + 1;
    let mut plain = true;
    loop {
        let rest = bytes.get(at..).ok_or(JsonTextError::Unreadable)?;
        let found = memchr::memchr2(b'"', b'\\', rest).ok_or(JsonTextError::Unreadable)?;
        at += found;
        if bytes[at] == b'"' {
            return Ok((at + 1, plain));
        }
        // A backslash: the escaped byte cannot end the literal.
        plain = false;
        at += 2;
    }
}

/// The text of a string literal of a checked document: borrowed when it
/// holds no escape (the check refused raw control characters, as
/// serde_json does in every string, read or skipped), else decoded (and
/// refused) by serde_json exactly as a `String` field would be.
fn decode(literal: &str, plain: bool) -> Result<Cow<'_, str>, JsonTextError> {
    if plain {
        return Ok(Cow::Borrowed(&literal[1..literal.len() - 1]));
    }
    serde_json::from_str::<String>(literal)
        .map(Cow::Owned)
        .map_err(|_| JsonTextError::Unreadable)
}

/// End of a number, `true`, `false` or `null` starting at `start`.
fn scalar_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
        .map_or(bytes.len(), |n| start + n)
}

/// After a key ending at `key_end`: the end of its member's value, which
/// is crossed without being read.
fn skip_member_value(bytes: &[u8], key_end: usize) -> Result<usize, JsonTextError> {
    let mut at = key_end;
    let mut nesting = 0usize;
    let mut seen_colon = false;
    loop {
        let byte = *bytes.get(at).ok_or(JsonTextError::Unreadable)?;
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            b':' if !seen_colon => {
                seen_colon = true;
                at += 1;
            }
            b'"' => {
                at = string_end(bytes, at)?.0;
                if nesting == 0 {
                    return Ok(at);
                }
            }
            b'{' | b'[' => {
                nesting += 1;
                at += 1;
            }
            b'}' | b']' => {
                nesting = nesting.checked_sub(1).ok_or(JsonTextError::Unreadable)?;
                at += 1;
                if nesting == 0 {
                    return Ok(at);
                }
            }
            _ if nesting == 0 => return Ok(scalar_end(bytes, at)),
            _ => at += 1,
        }
    }
}

/// `body` with each `(span, replacement text)` spliced in as a JSON string.
/// Spans must not overlap; they are applied in order.
pub fn splice_strings(body: &[u8], mut edits: Vec<(Range<usize>, String)>) -> Vec<u8> {
    edits.sort_by_key(|(span, _)| span.start);
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (span, text) in edits {
        if span.start < at || span.end > body.len() {
            continue;
        }
        out.extend_from_slice(&body[at..span.start]);
        // Serialising a string cannot fail.
        let literal = serde_json::to_string(&text).unwrap_or_else(|_| "\"\"".into());
        out.extend_from_slice(literal.as_bytes());
        at = span.end;
    }
    out.extend_from_slice(&body[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_with_their_spans_in_document_order() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"hi \u0041\n"},{"content":[{"type":"text","text":"x"}]}],"n":1}"#;
        let values = string_values(body, &["model"]).unwrap();
        let texts: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, ["user", "hi A\n", "text", "x"]);
        for v in &values {
            let literal = std::str::from_utf8(&body[v.span.clone()]).unwrap();
            let decoded: String = serde_json::from_str(literal).unwrap();
            assert_eq!(decoded, v.text);
        }
    }

    #[test]
    fn splicing_keeps_the_rest_byte_for_byte() {
        let body = br#"{"a": "secret here",  "b":[ "keep" ], "c":"x\"y"}"#;
        let values = string_values(body, &[]).unwrap();
        let edits = vec![
            (values[0].span.clone(), "[REDACTED:k] here".to_owned()),
            (values[2].span.clone(), "q\"z".to_owned()),
        ];
        let out = splice_strings(body, edits);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a": "[REDACTED:k] here",  "b":[ "keep" ], "c":"q\"z"}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["c"], "q\"z");
    }

    #[test]
    fn duplicate_keys_are_all_screened() {
        let body = br#"{"content":"first","content":"second"}"#;
        let values = string_values(body, &[]).unwrap();
        let texts: Vec<&str> = values.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(texts, ["first", "second"]);
    }

    #[test]
    fn keys_and_prose_values_are_marked() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},"b"]},{"content":"c"}],"metadata":{"k\u0041":"v"}}"#;
        let strings = CheckedJson::check(body)
            .unwrap()
            .strings(&["model"])
            .unwrap();
        let got: Vec<(&str, Role)> = strings.iter().map(|s| (s.text.as_str(), s.role)).collect();
        assert_eq!(
            got,
            [
                ("model", Role::Key),
                ("messages", Role::Key),
                ("role", Role::Key),
                ("user", Role::Value),
                ("content", Role::Key),
                ("type", Role::Key),
                ("text", Role::Value),
                ("text", Role::Key),
                ("a", Role::Text),
                ("b", Role::Text),
                ("content", Role::Key),
                ("c", Role::Text),
                ("metadata", Role::Key),
                ("kA", Role::Key),
                ("v", Role::Value),
            ]
        );
        for s in &strings {
            let literal = std::str::from_utf8(&body[s.span.clone()]).unwrap();
            assert_eq!(serde_json::from_str::<String>(literal).unwrap(), s.text);
        }
    }

    #[test]
    fn bad_input_is_refused_not_panicked() {
        assert!(string_values(b"not json", &[]).is_err());
        assert!(string_values(&[0xff, 0xfe], &[]).is_err());
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(string_values(deep.as_bytes(), &[]).is_err());
        assert!(string_values(b"42", &[]).unwrap().is_empty());
    }
}
