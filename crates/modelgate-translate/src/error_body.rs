//! Upstream error bodies rendered in the caller's dialect. The HTTP status
//! is kept by the caller; only the body changes. An unreadable body yields
//! a generic message for the status. The upstream's message is passed on
//! as the gateway passes untranslated upstream errors on.

use serde_json::{Value, json};

use super::json::to_bytes;

/// `(type, message)` of an upstream error body, if it has the usual shape
/// (`{"error": {"type", "message"}}` in both dialects).
fn read_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let err = v.get("error");
    let field = |k: &str| {
        err.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let message = field("message").or_else(|| err.and_then(Value::as_str).map(str::to_owned));
    (field("type"), message)
}

fn generic_message(status: u16) -> String {
    format!("the upstream model server answered with HTTP status {status}")
}

/// Renders an OpenAI error body (status `status`) as an Anthropic one.
pub fn openai_error_to_anthropic(body: &[u8], status: u16) -> Vec<u8> {
    let (kind, message) = read_error(body);
    let kind = match (kind.as_deref(), status) {
        (Some("invalid_request_error"), 413) => "request_too_large",
        (Some("invalid_request_error"), 404) => "not_found_error",
        (Some("invalid_request_error"), 401) => "authentication_error",
        (Some("invalid_request_error"), _) => "invalid_request_error",
        (Some("authentication_error"), _) => "authentication_error",
        (Some("permission_error"), _) => "permission_error",
        (Some("not_found_error"), _) => "not_found_error",
        (Some("rate_limit_error" | "insufficient_quota"), _) => "rate_limit_error",
        _ => anthropic_type_for_status(status),
    };
    let message = message.unwrap_or_else(|| generic_message(status));
    to_bytes(&json!({"type": "error", "error": {"type": kind, "message": message}}))
}

/// Renders an Anthropic error body (status `status`) as an OpenAI one.
pub fn anthropic_error_to_openai(body: &[u8], status: u16) -> Vec<u8> {
    let (kind, message) = read_error(body);
    let kind = match kind.as_deref() {
        Some("invalid_request_error" | "request_too_large" | "not_found_error") => {
            "invalid_request_error"
        }
        Some("authentication_error") => "authentication_error",
        Some("permission_error") => "permission_error",
        Some("rate_limit_error") => "rate_limit_error",
        Some("api_error" | "overloaded_error") => "server_error",
        _ => openai_type_for_status(status),
    };
    let message = message.unwrap_or_else(|| generic_message(status));
    to_bytes(&openai_error_value(kind, &message))
}

/// OpenAI's error object.
pub(crate) fn openai_error_value(kind: &str, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

/// An Anthropic `error` event body.
pub(crate) fn anthropic_error_value(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// The Anthropic error type for an upstream error, from its OpenAI type.
pub(crate) fn anthropic_type_for_openai(kind: Option<&str>) -> &'static str {
    match kind {
        Some("invalid_request_error") => "invalid_request_error",
        Some("rate_limit_error") => "rate_limit_error",
        _ => "api_error",
    }
}

fn anthropic_type_for_status(status: u16) -> &'static str {
    match status {
        400 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

fn openai_type_for_status(status: u16) -> &'static str {
    match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Value {
        serde_json::from_slice(b).unwrap()
    }

    #[test]
    fn openai_errors_become_anthropic() {
        let body = br#"{"error":{"message":"Rate limit reached for requests","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}"#;
        let v = parse(&openai_error_to_anthropic(body, 429));
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "rate_limit_error");
        assert_eq!(v["error"]["message"], "Rate limit reached for requests");
        let v = parse(&openai_error_to_anthropic(
            br#"{"error":{"message":"m","type":"server_error"}}"#,
            503,
        ));
        assert_eq!(v["error"]["type"], "overloaded_error");
        let v = parse(&openai_error_to_anthropic(
            br#"{"error":{"message":"no such model","type":"invalid_request_error"}}"#,
            404,
        ));
        assert_eq!(v["error"]["type"], "not_found_error");
        // Ollama's flat shape: {"error": "message"}.
        let v = parse(&openai_error_to_anthropic(
            br#"{"error":"model not found"}"#,
            404,
        ));
        assert_eq!(v["error"]["message"], "model not found");
    }

    #[test]
    fn anthropic_errors_become_openai() {
        let body = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#;
        let v = parse(&anthropic_error_to_openai(body, 529));
        assert_eq!(v["error"]["type"], "server_error");
        assert_eq!(v["error"]["message"], "Overloaded");
        assert!(v["error"]["param"].is_null());
        let v = parse(&anthropic_error_to_openai(
            br#"{"type":"error","error":{"type":"request_too_large","message":"big"}}"#,
            413,
        ));
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }

    #[test]
    fn unreadable_bodies_get_a_generic_message() {
        let v = parse(&anthropic_error_to_openai(b"<html>bad gateway</html>", 502));
        assert_eq!(v["error"]["type"], "server_error");
        assert!(v["error"]["message"].as_str().unwrap().contains("502"));
        let v = parse(&openai_error_to_anthropic(b"", 401));
        assert_eq!(v["error"]["type"], "authentication_error");
        let v = parse(&openai_error_to_anthropic(b"[1,2]", 418));
        assert_eq!(v["error"]["type"], "api_error");
    }
}
