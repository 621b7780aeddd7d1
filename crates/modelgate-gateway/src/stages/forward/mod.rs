//! The forward stage: try each eligible target in order, fall back on
//! failures that happen before the caller has received a byte, and hand
//! back either a complete response or a live stream (translated into the
//! caller's dialect by [`bridge`] when the target speaks the other).

pub mod bridge;
mod failure;
pub mod reply;

pub use failure::Failure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::api_error::{ApiError, ErrorKind};
use crate::upstream::breaker::{Admission, Transition};
use modelgate_types::Operation;

use crate::record::{Attempt, CallRecord};
use crate::refusal::Refusal;
use crate::routes::Target;
use crate::stages::parse::ModelCall;
use crate::upstream::Upstream;
use crate::upstream::tls_failure::TlsFailure;
use modelgate_types::Usage;

/// The outcome of forwarding.
pub enum Forwarded {
    /// A complete response (any status) to relay.
    Complete {
        /// Status to return.
        status: StatusCode,
        /// Headers the caller may see.
        headers: HeaderMap,
        /// Body (already scrubbed of the upstream credential).
        body: Bytes,
        /// Usage read from the body.
        usage: Usage,
        /// What was noticed about the answer (`upstream_body_not_json`,
        /// `upstream_not_streamed`), if anything.
        note: Option<&'static str>,
    },
    /// Response headers of a stream; the body is still coming.
    Stream {
        /// Headers the caller may see.
        headers: HeaderMap,
        /// The upstream body.
        body: Incoming,
        /// The upstream that is streaming.
        upstream: Arc<Upstream>,
    },
}

/// The forward stage: sends the call to `targets` (the eligible ones the
/// policy allows) in order until one answers; when every one failed, the
/// last failure decides the refusal.
pub async fn forward(
    call: &ModelCall,
    targets: &[&Target],
    body: &Bytes,
    caller_headers: &HeaderMap,
    max_response_bytes: usize,
    record: &mut CallRecord,
) -> Result<Forwarded, Refusal> {
    let mut last: Option<(Failure, Arc<str>)> = None;
    let mut untranslatable: Option<ApiError> = None;
    for target in targets.iter().copied() {
        let upstream = &target.upstream;
        let permit = match upstream.breaker.admit(Instant::now()) {
            Admission::Rejected(wait) => {
                record
                    .attempts
                    .push(Attempt::new(upstream, Failure::CircuitOpen(wait).label()));
                last = Some((Failure::CircuitOpen(wait), upstream.name.clone()));
                continue;
            }
            Admission::Allowed(permit) => permit,
            Admission::Trial(permit) => {
                tracing::info!(
                    upstream = %upstream.name,
                    "circuit breaker half-open: sending one trial request"
                );
                permit
            }
        };
        // From here the permit is settled by an outcome below, or dropped
        // without one (untranslatable, 429, request error, the caller gone):
        // neutral, and a trial's slot is given back.
        let (operation, upstream_body) = match bridge::upstream_request(call, target, body) {
            Ok(prepared) => prepared,
            Err(error) => {
                drop(permit);
                record
                    .attempts
                    .push(Attempt::new(upstream, "untranslatable"));
                untranslatable = Some(error);
                continue;
            }
        };
        let started = Instant::now();
        let result = attempt(
            call,
            target,
            operation,
            upstream_body,
            caller_headers,
            max_response_bytes,
        )
        .await;
        let elapsed = started.elapsed();
        record.upstream_time += elapsed;
        record.metrics.upstream_time(&upstream.name, elapsed);
        match result {
            Ok(forwarded) => {
                if permit.success() == Transition::Closed {
                    tracing::info!(upstream = %upstream.name, "circuit breaker closed");
                }
                record.metrics.breaker_open_set(&upstream.name, false);
                record.attempts.push(Attempt::new(upstream, "ok"));
                record.upstream = Some(upstream.name.clone());
                record.deployment = Some(upstream.deployment.as_str());
                record.region = Some(upstream.region.clone());
                return Ok(forwarded);
            }
            Err(Failure::LocalDescriptors) => {
                // A local fault: not the upstream's, and every other target
                // would meet it too. The permit is dropped: neutral.
                drop(permit);
                crate::upstream::local::log_out_of_descriptors();
                record
                    .attempts
                    .push(Attempt::new(upstream, Failure::LocalDescriptors.label()));
                last = Some((Failure::LocalDescriptors, upstream.name.clone()));
                break;
            }
            Err(failure) => {
                record
                    .metrics
                    .upstream_error(&upstream.name, failure.label());
                record
                    .attempts
                    .push(Attempt::new(upstream, failure.label()));
                if failure.trips_breaker() {
                    let trial = permit.is_trial();
                    if permit.failure(Instant::now()) == Transition::Opened {
                        record.metrics.breaker_open_set(&upstream.name, true);
                        tracing::warn!(
                            upstream = %upstream.name,
                            failure = failure.label(),
                            trial,
                            "circuit breaker opened"
                        );
                    }
                } else {
                    drop(permit);
                }
                last = Some((failure, upstream.name.clone()));
            }
        }
    }
    let error = match (last, untranslatable) {
        (None, Some(error)) => error,
        (Some((failure, name)), _) => failure.into_api_error_at(&name),
        (None, None) => ApiError::new(
            ErrorKind::NotFound,
            format!(
                "model `{}` is not available through this API on this gateway",
                call.model
            ),
        )
        .with_param("model")
        .with_code("model_not_found"),
    };
    Err(Refusal::Upstream(with_skipped(error, &record.skipped)))
}

/// `error`, telling also which targets were left out before any was tried
/// (so a failure of the next target is not all the caller learns).
fn with_skipped(mut error: ApiError, skipped: &[(Arc<str>, String)]) -> ApiError {
    if !skipped.is_empty() {
        error.message = format!(
            "{} ({})",
            error.message,
            crate::stages::route::Skipped(skipped)
        )
        .into();
    }
    error
}

async fn attempt(
    call: &ModelCall,
    target: &Target,
    operation: Operation,
    body: Bytes,
    caller_headers: &HeaderMap,
    max_response_bytes: usize,
) -> Result<Forwarded, Failure> {
    let upstream = &target.upstream;
    let request = upstream
        .request(operation, &target.model, caller_headers, body)
        .map_err(|_| Failure::Request)?;
    let response = match tokio::time::timeout(
        upstream.first_byte_timeout,
        upstream.client().request(request),
    )
    .await
    {
        Err(_) => return Err(Failure::Timeout),
        Ok(Err(e)) if crate::upstream::local::is_out_of_descriptors(&e) => {
            return Err(Failure::LocalDescriptors);
        }
        Ok(Err(e)) => {
            if let Some((tls, reason)) = TlsFailure::of(&e) {
                // The reason is rustls's (certificate or alert); it holds
                // no key material.
                tracing::warn!(
                    upstream = %upstream.name,
                    failure = "tls",
                    %reason,
                    "{}",
                    tls.reason()
                );
                return Err(Failure::Tls(tls));
            }
            return Err(if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Reset
            });
        }
        Ok(Ok(response)) => response,
    };
    let (parts, incoming) = response.into_parts();
    let status = parts.status;
    if status == StatusCode::TOO_MANY_REQUESTS {
        let seconds = parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1);
        return Err(Failure::RateLimited(seconds));
    }
    if status.is_server_error() {
        return Err(Failure::ServerError(status.as_u16()));
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(Failure::CredentialRefused);
    }
    let mut headers = HeaderMap::new();
    crate::upstream::headers::caller_response_headers(&parts.headers, &mut headers);
    let is_event_stream = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if call.stream && status.is_success() && is_event_stream {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(Forwarded::Stream {
            headers,
            body: incoming,
            upstream: upstream.clone(),
        });
    }
    let body = read_body(incoming, max_response_bytes, upstream.idle_timeout).await?;
    let reply =
        bridge::caller_response(call, target, status, body).map_err(|_| Failure::Malformed)?;
    let note = match reply.note {
        Some(note) => Some(note),
        None if call.stream && status.is_success() => Some(NOT_STREAMED),
        None => None,
    };
    if let Some(note) = note {
        // What came back, never what it said.
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::warn!(
            upstream = %upstream.name,
            status = status.as_u16(),
            content_type,
            bytes = reply.body.len(),
            stream_asked = call.stream,
            note,
            "upstream answer relayed as it came"
        );
    }
    let (body, usage) = (reply.body, reply.usage);
    if bridge::crosses(call, target) {
        // The translated body is JSON of the caller's dialect.
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.remove(header::CONTENT_LENGTH);
    }
    let body = match upstream.secret() {
        Some(secret) if !status.is_success() => scrub(body, secret.expose().as_bytes()),
        _ => body,
    };
    Ok(Forwarded::Complete {
        status,
        headers,
        body,
        usage,
        note,
    })
}

/// The note of a stream asked for and a complete body received.
pub const NOT_STREAMED: &str = "upstream_not_streamed";

/// Reads a whole body within a size limit and an idle timeout.
async fn read_body(mut body: Incoming, max: usize, idle: Duration) -> Result<Bytes, Failure> {
    let mut out = BytesMut::new();
    loop {
        match tokio::time::timeout(idle, body.frame()).await {
            Err(_) => return Err(Failure::IdleTimeout),
            Ok(None) => return Ok(out.freeze()),
            Ok(Some(Err(_))) => return Err(Failure::Reset),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if out.len() + data.len() > max {
                        return Err(Failure::TooLarge);
                    }
                    out.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Replaces every occurrence of `secret` in `body`.
pub fn scrub(body: Bytes, secret: &[u8]) -> Bytes {
    if secret.is_empty() || memchr::memmem::find(&body, secret).is_none() {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest: &[u8] = &body;
    while let Some(i) = memchr::memmem::find(rest, secret) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(b"[redacted]");
        rest = &rest[i + secret.len()..];
    }
    out.extend_from_slice(rest);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_all() {
        let out = scrub(Bytes::from_static(b"a sk-X b sk-X"), b"sk-X");
        assert_eq!(&out[..], b"a [redacted] b [redacted]");
        let same = Bytes::from_static(b"clean");
        assert_eq!(scrub(same.clone(), b"sk-X"), same);
    }
}
