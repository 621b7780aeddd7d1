//! The read-body stage: the request body, within `limits.max_body_bytes`
//! (413 when the declared or the streamed length is over it).

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, header};
use http_body_util::{BodyExt, Limited};

use crate::api_error::{ApiError, ErrorKind};
use crate::refusal::Refusal;

/// Reads the whole body, refusing one over `max` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::BodyTooLarge(ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("the request body exceeds the gateway's limit of {max} bytes"),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(Refusal::BodyUnreadable(ApiError::new(
            ErrorKind::InvalidRequest,
            "the request body could not be read",
        ))),
    }
}
