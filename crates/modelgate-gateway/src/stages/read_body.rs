//! The read-body stage: the request body, within `limits.max_body_bytes`
//! (413 when the declared or the streamed length is over it) and
//! `limits.body_read_timeout` (408 when it has not all arrived by then),
//! read into one buffer by `modelgate-core`'s body reader.

use axum::body::Body;
use bytes::Bytes;
use modelgate_config::Limits;
use modelgate_core::body::{self, BodyError, BodyLimits};

use crate::api_error::{ApiError, ErrorKind};
use crate::refusal::Refusal;

/// Reads the whole body within `limits`.
pub async fn read_body(body: Body, limits: &Limits) -> Result<Bytes, Refusal> {
    let limits = BodyLimits {
        max_bytes: limits.max_body_bytes,
        timeout: limits.body_read_timeout,
    };
    body::read_body(body, limits).await.map_err(|e| match e {
        BodyError::TooLarge { limit } => Refusal::BodyTooLarge(ApiError::new(
            ErrorKind::RequestTooLarge,
            format!("the request body exceeds the gateway's limit of {limit} bytes"),
        )),
        BodyError::TimedOut { .. } => {
            Refusal::BodyTimedOut(ApiError::new(ErrorKind::RequestTimeout, e.to_string()))
        }
        BodyError::Unreadable => Refusal::BodyUnreadable(ApiError::new(
            ErrorKind::InvalidRequest,
            "the request body could not be read",
        )),
    })
}
