//! The stream stage: pass an upstream event stream to the caller as it
//! arrives, through the [`StreamTap`] (passing through or translating),
//! with idle and total-duration limits.
//! A failure after the first byte reaches the caller as a well-formed error
//! event in its dialect, then the stream closes. A stream that ends without
//! the upstream's usage is charged an estimate, and its record says so.
//!
//! The caller's connection polls [`TapBody`] directly, which polls the
//! upstream body: no task or channel in between, so each event costs no
//! extra wake-up. Events that have already arrived are forwarded together.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};
use hyper::body::Incoming;
use modelgate_config::Limits;
use modelgate_translate::estimate_tokens;
use modelgate_translate::sse_tap::MalformedStream;
use modelgate_types::{Dialect, Usage};
use tokio::time::Sleep;

use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;
use crate::stages::forward::bridge::StreamTap;
use crate::stages::parse::ModelCall;
use crate::stages::screen_response::ResponseStreamScreen;
use crate::upstream::Upstream;

/// Limits for one stream.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Longest silence between upstream chunks.
    pub idle: Duration,
    /// Longest the whole stream may last.
    pub max_duration: Duration,
}

/// The caller's response body for a streamed call. Finishes the call's
/// record when the stream ends, fails, or the caller goes away.
pub struct TapBody {
    upstream: Incoming,
    tap: StreamTap,
    screen: Option<ResponseStreamScreen>,
    dialect: Dialect,
    idle_limit: Duration,
    idle: Pin<Box<Sleep>>,
    last_data: tokio::time::Instant,
    deadline: Pin<Box<Sleep>>,
    started: Instant,
    prompt_bytes: usize,
    record: Option<CallRecord>,
    done: bool,
}

impl std::fmt::Debug for TapBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapBody")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Answers the caller with the stream `body` of `upstream`: the call's
/// record moves into the response body, which finishes it when the stream
/// ends (`record` is left as a placeholder that is not finished). Limits:
/// the shorter of the gateway's and the upstream's idle timeout, and
/// `limits.stream_max_duration`.
pub fn respond(
    call: &ModelCall,
    headers: HeaderMap,
    body: Incoming,
    upstream: &Upstream,
    limits: &Limits,
    screen: Option<ResponseStreamScreen>,
    record: &mut CallRecord,
) -> Response {
    let stream_limits = StreamLimits {
        idle: limits.stream_idle_timeout.min(upstream.idle_timeout),
        max_duration: limits.stream_max_duration,
    };
    let stream_tap = StreamTap::new(call, upstream.dialect(), limits.max_body_bytes);
    let mut stream_record = CallRecord::new(
        record.metrics.clone(),
        record.request_id.clone(),
        record.operation,
    );
    std::mem::swap(&mut stream_record, record);
    stream_record.stream = true;
    stream_record.status = 200;
    stream_record.gateway_time = Some(
        stream_record
            .started
            .elapsed()
            .saturating_sub(stream_record.upstream_time),
    );
    record.detached = true; // the response body finishes the record
    let body = tap(
        body,
        stream_tap,
        screen,
        call.operation.dialect(),
        stream_limits,
        call.body_len,
        stream_record,
    );
    let mut response = Response::new(axum::body::Body::new(body));
    *response.headers_mut() = headers;
    response
}

/// Starts forwarding `upstream` to the caller, through `screen` (response
/// screening of the caller-bound events) if given. `prompt_bytes` is the
/// size of the request body, for estimating usage the upstream does not
/// report.
pub fn tap(
    upstream: Incoming,
    tap: StreamTap,
    screen: Option<ResponseStreamScreen>,
    dialect: Dialect,
    limits: StreamLimits,
    prompt_bytes: usize,
    mut record: CallRecord,
) -> TapBody {
    record.metrics.open_streams.inc();
    // The decision's facts are in the admit record, already durable; the
    // complete record leaves them out. Not held for the stream's life.
    record.policy_input = None;
    TapBody {
        upstream,
        tap,
        screen,
        dialect,
        idle_limit: limits.idle,
        idle: Box::pin(tokio::time::sleep(limits.idle)),
        last_data: tokio::time::Instant::now(),
        deadline: Box::pin(tokio::time::sleep(limits.max_duration)),
        started: Instant::now(),
        prompt_bytes,
        record: Some(record),
        done: false,
    }
}

impl TapBody {
    /// Ends the stream: accounts for it once.
    fn close(&mut self, failure: Option<&'static str>) {
        self.done = true;
        if let Some(mut record) = self.record.take() {
            if let Some(kind) = failure {
                record.stream_error = Some(kind);
                if kind != "client_closed"
                    && let Some(name) = &record.upstream
                {
                    record.metrics.upstream_error(name, kind);
                }
            }
            record.upstream_time += self.started.elapsed();
            record.usage = self.usage();
            record.usage_estimated = !record.usage.reported;
            if let Some(screen) = &self.screen {
                record.response_findings = screen
                    .findings()
                    .iter()
                    .map(|(k, n)| (k.clone(), *n))
                    .collect();
            }
            record.metrics.open_streams.dec();
            crate::stages::account::finish(record);
        }
    }

    /// The stream's usage: as the upstream reported it or, when it reported
    /// none (it ignored `stream_options`, or the stream ended before its
    /// usage), estimated at about four bytes a token: the input from the
    /// request body's size, the output from the generated text streamed.
    fn usage(&self) -> Usage {
        let reported = self.tap.usage();
        if reported.reported {
            return reported;
        }
        Usage {
            input: estimate_tokens(self.prompt_bytes as u64),
            output: estimate_tokens(self.tap.text_bytes()),
            reported: false,
        }
    }

    /// Caller-bound bytes after response screening.
    fn screened(&mut self, bytes: Bytes) -> Result<Bytes, MalformedStream> {
        match &mut self.screen {
            Some(screen) if !bytes.is_empty() => screen.feed(&bytes),
            _ => Ok(bytes),
        }
    }

    /// Ends the stream with an error event after `pending` bytes.
    fn fail(
        &mut self,
        pending: Bytes,
        kind: &'static str,
        message: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.close(Some(kind));
        let event = ApiError::new(ErrorKind::Upstream, message).sse_event(self.dialect);
        Poll::Ready(Some(Ok(Frame::data(join(pending, Bytes::from(event))))))
    }
}

impl Body for TapBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let mut out = Bytes::new();
        loop {
            match Pin::new(&mut this.upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    this.last_data = tokio::time::Instant::now();
                    let Ok(data) = frame.into_data() else {
                        continue;
                    }; // trailers
                    match this.tap.feed(&data).and_then(|more| this.screened(more)) {
                        Ok(more) => out = join(out, more),
                        Err(_) => {
                            return this.fail(
                                out,
                                "malformed_stream",
                                "the upstream sent a malformed stream",
                            );
                        }
                    }
                }
                Poll::Ready(Some(Err(_))) => {
                    return this.fail(out, "reset", "the upstream stream broke off");
                }
                Poll::Ready(None) => {
                    let rest = this.tap.finish().and_then(|rest| {
                        let mut rest = this.screened(rest)?;
                        if let Some(screen) = &mut this.screen {
                            rest = join(rest, screen.finish()?);
                        }
                        Ok(rest)
                    });
                    match rest {
                        Ok(rest) => out = join(out, rest),
                        Err(_) => {
                            return this.fail(
                                out,
                                "malformed_stream",
                                "the upstream sent a malformed stream",
                            );
                        }
                    }
                    this.close(None);
                    return if out.is_empty() {
                        Poll::Ready(None)
                    } else {
                        Poll::Ready(Some(Ok(Frame::data(out))))
                    };
                }
                Poll::Pending => break,
            }
        }
        // Forward what has arrived; the upstream has registered our waker.
        if !out.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(out))));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return this.fail(
                out,
                "max_duration",
                "the stream exceeded the gateway's maximum duration",
            );
        }
        // The idle timer is re-armed lazily: moving it on every event would
        // cost a timer-wheel update each time.
        while this.idle.as_mut().poll(cx).is_ready() {
            let quiet_until = this.last_data + this.idle_limit;
            if tokio::time::Instant::now() >= quiet_until {
                return this.fail(out, "idle_timeout", "the upstream stream stalled");
            }
            this.idle.as_mut().reset(quiet_until);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for TapBody {
    fn drop(&mut self) {
        if self.record.is_some() {
            self.close(Some("client_closed"));
        }
    }
}

/// `a` followed by `b`, copying only when both have bytes.
fn join(a: Bytes, b: Bytes) -> Bytes {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut joined = bytes::BytesMut::with_capacity(a.len() + b.len());
    joined.extend_from_slice(&a);
    joined.extend_from_slice(&b);
    joined.freeze()
}
