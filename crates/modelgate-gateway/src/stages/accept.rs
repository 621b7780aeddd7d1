//! The accept stage: the header limits every request passes first (431 in
//! the caller's dialect), and the caller's address, user agent and origin
//! copied onto the record. (The source behind a trusted proxy is resolved
//! where it is first needed, by the authenticate stage.)

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{Extensions, HeaderMap};
use modelgate_types::Dialect;

use crate::Gateway;
use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;

/// Longest `User-Agent` kept in a record.
const MAX_USER_AGENT: usize = 256;

/// The client's socket address, attached to each request (shared with the
/// control plane, which reads it on the token endpoint).
pub use modelgate_core::source::ClientAddr;

/// The caller's dialect, guessed from the path (for errors before routing).
pub fn dialect_of(path: &str) -> Dialect {
    if path.starts_with("/v1/messages") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

/// Refuses a request whose headers exceed the configured limits (count or
/// bytes) with 431 in the dialect its path implies.
pub async fn header_limits(
    State(gateway): State<Gateway>,
    request: Request,
    next: Next,
) -> Response {
    let limits = &gateway.inner.limits;
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        let message = format!(
            "request headers exceed the gateway's limits ({} headers, {} bytes)",
            limits.max_headers, limits.max_header_bytes
        );
        return ApiError::new(ErrorKind::HeadersTooLarge, message)
            .into_response(dialect_of(request.uri().path()));
    }
    next.run(request).await
}

/// Copies the caller's address and user agent into `record`.
pub fn note_client(record: &mut CallRecord, extensions: &Extensions, headers: &HeaderMap) {
    record.peer = extensions.get::<ClientAddr>().map(|c| c.0);
    record.peer_cert = extensions
        .get::<modelgate_core::peer_cert::PeerCertificate>()
        .cloned();
    record.client_addr = record.peer.map(|p| p.to_string());
    record.user_agent = header_text(headers, http::header::USER_AGENT);
    record.origin = header_text(headers, http::header::ORIGIN);
}

/// A header's value as text, truncated to [`MAX_USER_AGENT`] bytes.
fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let mut end = text.len().min(MAX_USER_AGENT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}
