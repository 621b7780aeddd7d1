//! The stream stage: pass an upstream event stream to the caller as it
//! arrives, through the [`SseTap`], with idle and total-duration limits.
//! A failure after the first byte reaches the caller as a well-formed error
//! event in its dialect, then the stream closes.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;

use crate::dialect::{ApiError, Dialect, ErrorKind};
use crate::record::CallRecord;
use crate::sse::SseTap;

/// A response body fed by the pump task.
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

/// Limits for one stream.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    /// Longest silence between upstream chunks.
    pub idle: Duration,
    /// Longest the whole stream may last.
    pub max_duration: Duration,
}

/// Starts forwarding `upstream` to the caller; the record is finished when
/// the stream ends, however it ends.
pub fn spawn(
    upstream: Incoming,
    tap: SseTap,
    dialect: Dialect,
    limits: StreamLimits,
    record: CallRecord,
) -> ChannelBody {
    let (tx, rx) = mpsc::channel(32);
    record.metrics.open_streams.inc();
    tokio::spawn(pump(upstream, tx, tap, dialect, limits, record));
    ChannelBody { rx }
}

async fn pump(
    mut upstream: Incoming,
    tx: mpsc::Sender<Bytes>,
    mut tap: SseTap,
    dialect: Dialect,
    limits: StreamLimits,
    mut record: CallRecord,
) {
    let deadline = tokio::time::Instant::now() + limits.max_duration;
    let started = Instant::now();
    let failure: Option<(&'static str, &'static str)> = loop {
        let next = tokio::select! {
            next = tokio::time::timeout(limits.idle, upstream.frame()) => next,
            _ = tokio::time::sleep_until(deadline) => {
                break Some(("max_duration", "the stream exceeded the gateway's maximum duration"));
            }
            _ = tx.closed() => break Some(("client_closed", "")),
        };
        let chunk = match next {
            Err(_) => break Some(("idle_timeout", "the upstream stream stalled")),
            Ok(None) => match tap.finish() {
                Ok(rest) => {
                    if !rest.is_empty() {
                        let _ = tx.send(rest).await;
                    }
                    break None;
                }
                Err(_) => break Some(("malformed_stream", "the upstream sent a malformed stream")),
            },
            Ok(Some(Err(_))) => break Some(("reset", "the upstream stream broke off")),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue, // trailers carry nothing for the caller
            },
        };
        match tap.feed(&chunk) {
            Ok(out) if out.is_empty() => {}
            Ok(out) => {
                if tx.send(out).await.is_err() {
                    break Some(("client_closed", ""));
                }
            }
            Err(_) => break Some(("malformed_stream", "the upstream sent a malformed stream")),
        }
    };
    let upstream_name = record.upstream.clone();
    if let Some((kind, message)) = failure {
        record.stream_error = Some(kind);
        if kind != "client_closed" {
            if let Some(name) = &upstream_name {
                record.metrics.upstream_error(name, kind);
            }
            let event = ApiError::new(ErrorKind::Upstream, message).sse_event(dialect);
            let _ = tx.send(Bytes::from(event)).await;
        }
    }
    record.upstream_time += started.elapsed();
    record.usage = tap.usage();
    record.metrics.open_streams.dec();
    record.finish();
}
