//! Every answer of the admin API that is an error has the admin shape,
//! `{"error": {"code", "message"}}`: an unknown path under `/admin/v1`, a
//! method the path does not take, and the rejections of axum's extractors
//! (a path segment that is not UTF-8, ...), which would otherwise answer
//! in plain text or in the data plane's dialect.

use axum::extract::Request;
use axum::response::Response;
use http::{StatusCode, header};

use super::error;

/// `/admin/v1/...` that names no resource.
pub(crate) async fn unknown_path(_request: Request) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such admin API path")
}

/// A method the admin path does not take.
pub(crate) async fn method_not_allowed(_request: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this admin API path",
    )
}

/// An error answer not already JSON (an extractor's plain-text rejection)
/// becomes one in the admin shape; every other answer passes unchanged.
pub(crate) async fn admin_shape(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("not_found", "no such admin API path"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "method not allowed on this admin API path",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send the request body as application/json",
        ),
        s if s.is_server_error() => ("unavailable", "the admin API failed to answer"),
        _ => (
            "invalid",
            "the request path, query or body is not valid for this admin API path",
        ),
    };
    let mut shaped = error(status, code, message);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}
