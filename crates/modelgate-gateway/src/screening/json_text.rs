//! The text of a JSON body: every string value (not object keys), decoded,
//! with the byte range of its JSON literal, so a redacted string can be
//! spliced back without re-serialising the rest of the body.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::value::RawValue;

/// Deepest nesting walked; deeper values are refused (serde_json itself
/// stops at 128).
const MAX_DEPTH: usize = 64;

/// A string value of the body.
#[derive(Debug)]
pub struct TextValue {
    /// Byte range of the JSON string literal (quotes included).
    pub span: Range<usize>,
    /// The decoded text.
    pub text: String,
}

/// Why the body's strings could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonTextError {
    /// Not JSON, or nested too deep.
    #[error("the body is not JSON the gateway can screen")]
    Unreadable,
}

/// Every string value of `body` except those under the top-level keys in
/// `skip` (such as `model`), in document order.
pub fn string_values(body: &[u8], skip: &[&str]) -> Result<Vec<TextValue>, JsonTextError> {
    let text = std::str::from_utf8(body).map_err(|_| JsonTextError::Unreadable)?;
    let root: &RawValue = serde_json::from_str(text).map_err(|_| JsonTextError::Unreadable)?;
    let mut out = Vec::new();
    walk(text, root, 0, skip, &mut out)?;
    Ok(out)
}

/// An object's members in order, duplicates kept.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

fn offset(base: &str, raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - base.as_ptr() as usize;
    start..start + raw.get().len()
}

fn walk(
    base: &str,
    raw: &RawValue,
    depth: usize,
    skip: &[&str],
    out: &mut Vec<TextValue>,
) -> Result<(), JsonTextError> {
    if depth > MAX_DEPTH {
        return Err(JsonTextError::Unreadable);
    }
    let json = raw.get();
    match json.as_bytes().first() {
        Some(b'"') => {
            let text: Cow<'_, str> =
                serde_json::from_str(json).map_err(|_| JsonTextError::Unreadable)?;
            out.push(TextValue {
                span: offset(base, raw),
                text: text.into_owned(),
            });
        }
        Some(b'{') => {
            // Every member, duplicates included: an upstream may read the
            // first of two equal keys, so both are screened.
            let Members(members) =
                serde_json::from_str(json).map_err(|_| JsonTextError::Unreadable)?;
            for (key, value) in members {
                if depth == 0 && skip.contains(&key.as_ref()) {
                    continue;
                }
                walk(base, value, depth + 1, skip, out)?;
            }
        }
        Some(b'[') => {
            let items: Vec<&RawValue> =
                serde_json::from_str(json).map_err(|_| JsonTextError::Unreadable)?;
            for item in items {
                walk(base, item, depth + 1, skip, out)?;
            }
        }
        _ => {}
    }
    Ok(())
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
    fn bad_input_is_refused_not_panicked() {
        assert!(string_values(b"not json", &[]).is_err());
        assert!(string_values(&[0xff, 0xfe], &[]).is_err());
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(string_values(deep.as_bytes(), &[]).is_err());
        assert!(string_values(b"42", &[]).unwrap().is_empty());
    }
}
