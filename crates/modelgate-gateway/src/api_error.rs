//! Errors rendered in the caller's dialect (OpenAI or Anthropic).
//!
//! Every refusal the gateway makes goes through [`ApiError`], so a caller's
//! SDK always receives the error shape and status code it knows how to raise.

use std::borrow::Cow;

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use modelgate_types::Dialect;
use serde::Serialize;

/// The category of a refusal; decides status code and error type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or invalid (400).
    InvalidRequest,
    /// No usable credential (401).
    Authentication,
    /// The caller may not do this (403).
    PermissionDenied,
    /// Unknown model or path (404).
    NotFound,
    /// The method is not allowed on this path (405).
    MethodNotAllowed,
    /// The body is too large (413).
    RequestTooLarge,
    /// The body did not arrive in time (408).
    RequestTimeout,
    /// The headers are too large or too many (431).
    HeadersTooLarge,
    /// Too many requests (429).
    RateLimited,
    /// The upstream failed or answered badly (502).
    Upstream,
    /// No upstream is available right now (503).
    Unavailable,
    /// The upstream did not answer in time (504).
    UpstreamTimeout,
    /// The gateway itself failed (500).
    Internal,
}

impl ErrorKind {
    /// HTTP status for this kind.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Authentication => StatusCode::UNAUTHORIZED,
            ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorKind::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::Authentication
            | ErrorKind::NotFound
            | ErrorKind::MethodNotAllowed
            | ErrorKind::RequestTooLarge
            | ErrorKind::RequestTimeout
            | ErrorKind::HeadersTooLarge => "invalid_request_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Upstream | ErrorKind::UpstreamTimeout | ErrorKind::Unavailable => {
                "upstream_error"
            }
            ErrorKind::Internal => "server_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest
            | ErrorKind::MethodNotAllowed
            | ErrorKind::RequestTimeout
            | ErrorKind::HeadersTooLarge => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::PermissionDenied => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Unavailable => "overloaded_error",
            ErrorKind::Upstream | ErrorKind::UpstreamTimeout | ErrorKind::Internal => "api_error",
        }
    }
}

/// A refusal, rendered in the caller's dialect. The message is written by
/// the gateway and never contains a credential or a value from the body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Category.
    pub kind: ErrorKind,
    /// Human-readable explanation.
    pub message: Cow<'static, str>,
    /// The request field at fault (OpenAI `param`).
    pub param: Option<&'static str>,
    /// A machine-readable code (OpenAI `code`).
    pub code: Option<&'static str>,
    /// Seconds to wait before retrying (`retry-after`).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    /// 400 naming the field at fault.
    pub fn invalid_field(param: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message).with_param(param)
    }

    /// Sets the OpenAI `param`.
    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    /// Sets the OpenAI `code`.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets `retry-after`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The JSON body in `dialect`, with fields in the order the providers
    /// use.
    pub fn to_json(&self, dialect: Dialect) -> String {
        #[derive(Serialize)]
        struct OpenAiDetail<'a> {
            message: &'a str,
            #[serde(rename = "type")]
            kind: &'static str,
            param: Option<&'static str>,
            code: Option<&'static str>,
        }
        #[derive(Serialize)]
        struct OpenAiBody<'a> {
            error: OpenAiDetail<'a>,
        }
        #[derive(Serialize)]
        struct AnthropicDetail<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            message: &'a str,
        }
        #[derive(Serialize)]
        struct AnthropicBody<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            error: AnthropicDetail<'a>,
        }
        let rendered = match dialect {
            Dialect::OpenAi => serde_json::to_string(&OpenAiBody {
                error: OpenAiDetail {
                    message: &self.message,
                    kind: self.kind.openai_type(),
                    param: self.param,
                    code: self.code,
                },
            }),
            Dialect::Anthropic => serde_json::to_string(&AnthropicBody {
                kind: "error",
                error: AnthropicDetail {
                    kind: self.kind.anthropic_type(),
                    message: &self.message,
                },
            }),
        };
        rendered.unwrap_or_else(|_| String::from("{}"))
    }

    /// The JSON body in `dialect`, as a value.
    pub fn body(&self, dialect: Dialect) -> serde_json::Value {
        serde_json::from_str(&self.to_json(dialect)).unwrap_or_default()
    }

    /// The error as one server-sent event, for failures after a stream began.
    pub fn sse_event(&self, dialect: Dialect) -> Vec<u8> {
        let data = self.to_json(dialect);
        match dialect {
            Dialect::OpenAi => format!("data: {data}\n\n").into_bytes(),
            Dialect::Anthropic => format!("event: error\ndata: {data}\n\n").into_bytes(),
        }
    }

    /// The full HTTP response in `dialect`.
    pub fn into_response(self, dialect: Dialect) -> Response {
        let body = self.to_json(dialect);
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.kind.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.kind == ErrorKind::Authentication && dialect == Dialect::OpenAi {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape() {
        let e = ApiError::invalid_field("model", "`model` must be a string").with_code("x");
        let body = e.body(Dialect::OpenAi);
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], "model");
        assert_eq!(body["error"]["code"], "x");
        assert_eq!(body["error"]["message"], "`model` must be a string");
    }

    #[test]
    fn anthropic_shape_and_types() {
        for (kind, name) in [
            (ErrorKind::Authentication, "authentication_error"),
            (ErrorKind::NotFound, "not_found_error"),
            (ErrorKind::RequestTooLarge, "request_too_large"),
            (ErrorKind::RateLimited, "rate_limit_error"),
            (ErrorKind::Unavailable, "overloaded_error"),
            (ErrorKind::UpstreamTimeout, "api_error"),
        ] {
            let body = ApiError::new(kind, "m").body(Dialect::Anthropic);
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], name);
        }
    }

    #[test]
    fn response_carries_status_and_retry_after() {
        let r = ApiError::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(7)
            .into_response(Dialect::OpenAi);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "7");
    }

    #[test]
    fn sse_events_are_framed() {
        let e = ApiError::new(ErrorKind::Upstream, "reset");
        let o = String::from_utf8(e.sse_event(Dialect::OpenAi)).unwrap();
        assert!(o.starts_with("data: {") && o.ends_with("}\n\n"));
        let a = String::from_utf8(e.sse_event(Dialect::Anthropic)).unwrap();
        assert!(
            a.starts_with(
                "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""
            ),
            "{a}"
        );
        assert!(
            o.starts_with("data: {\"error\":{\"message\":\"reset\""),
            "{o}"
        );
    }
}
