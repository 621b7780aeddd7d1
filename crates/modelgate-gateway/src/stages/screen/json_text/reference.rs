//! The previous reader of a body's string values (a serde parse per
//! nesting level), kept as the reference the single-pass scanner must agree
//! with on every input.

use std::borrow::Cow;
use std::ops::Range;

use serde_json::value::RawValue;

use super::{JsonTextError, MAX_DEPTH, TextValue};

/// Every string value of `body` except those under the top-level keys in
/// `skip` (such as `model`), in document order.
pub(super) fn string_values(body: &[u8], skip: &[&str]) -> Result<Vec<TextValue>, JsonTextError> {
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
