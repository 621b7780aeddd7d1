//! Small accessors for walking a `serde_json` body with typed errors that
//! name the field at fault.

use serde_json::{Map, Value};

use super::TranslateError;

/// A JSON object.
pub(crate) type Object = Map<String, Value>;

/// Parses `body` as a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Object, TranslateError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("(body)", "a JSON object")),
        Err(_) => Err(TranslateError::InvalidJson),
    }
}

/// Serializes a value; serializing a `Value` cannot fail.
pub(crate) fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

pub(crate) fn invalid(field: impl Into<String>, expected: &'static str) -> TranslateError {
    TranslateError::Invalid {
        field: field.into(),
        expected,
    }
}

pub(crate) fn missing(field: impl Into<String>) -> TranslateError {
    TranslateError::Missing {
        field: field.into(),
    }
}

pub(crate) fn unsupported(
    field: impl Into<String>,
    target: &'static str,
    reason: &'static str,
) -> TranslateError {
    TranslateError::Unsupported {
        field: field.into(),
        target,
        reason,
    }
}

/// `obj[key]` as a string; `Ok(None)` when absent or null.
pub(crate) fn opt_str<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a str>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(join(path, key), "a string")),
    }
}

/// `obj[key]` as a string, required.
pub(crate) fn req_str<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<&'a str, TranslateError> {
    opt_str(obj, key, path)?.ok_or_else(|| missing(join(path, key)))
}

/// `obj[key]` as an array, required.
pub(crate) fn req_array<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<&'a Vec<Value>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(missing(join(path, key))),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(join(path, key), "an array")),
    }
}

/// `obj[key]` as an array; `Ok(None)` when absent or null.
pub(crate) fn opt_array<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a Vec<Value>>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(_) => Err(invalid(join(path, key), "an array")),
    }
}

/// `v` as an object.
pub(crate) fn as_object<'a>(v: &'a Value, path: &str) -> Result<&'a Object, TranslateError> {
    v.as_object().ok_or_else(|| invalid(path, "an object"))
}

/// `obj[key]` as an object; `Ok(None)` when absent or null.
pub(crate) fn opt_object<'a>(
    obj: &'a Object,
    key: &str,
    path: &str,
) -> Result<Option<&'a Object>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(invalid(join(path, key), "an object")),
    }
}

/// `obj[key]` as a non-negative integer; `Ok(None)` when absent or null.
pub(crate) fn opt_u64(obj: &Object, key: &str, path: &str) -> Result<Option<u64>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(join(path, key), "a non-negative integer")),
    }
}

/// `obj[key]` as a number; `Ok(None)` when absent or null.
pub(crate) fn opt_number(
    obj: &Object,
    key: &str,
    path: &str,
) -> Result<Option<f64>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| invalid(join(path, key), "a number")),
    }
}

/// `obj[key]` as a boolean; `Ok(None)` when absent or null.
pub(crate) fn opt_bool(
    obj: &Object,
    key: &str,
    path: &str,
) -> Result<Option<bool>, TranslateError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(join(path, key), "a boolean")),
    }
}

/// `path.key`, or `key` at the top level.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Seconds since the Unix epoch (OpenAI's `created`).
pub(crate) fn now_unix() -> u64 {
    u64::try_from(modelgate_types::clock::unix_now()).unwrap_or(0)
}
