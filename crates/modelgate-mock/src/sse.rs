//! Server-sent events: formatting events into one shared buffer
//! ([`EventBuf`]) and playing them back as a paced body with the streaming
//! faults ([`EventStream`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http_body::Frame;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::reset::InjectedReset;

/// The event sent by `Behavior::malformed_after_chunks`.
pub const MALFORMED_EVENT: &[u8] = b"data: {not json\n\n";

/// Builds a sequence of SSE events, each one its own [`Bytes`], sharing as
/// few allocations as possible.
#[derive(Debug)]
pub struct EventBuf {
    buf: BytesMut,
    events: Vec<Bytes>,
}

impl EventBuf {
    /// A builder expecting about `events` events of `bytes` total size.
    pub fn with_capacity(events: usize, bytes: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(bytes),
            events: Vec::with_capacity(events),
        }
    }

    /// Append `data: {json}\n\n`.
    pub fn data_json<T: Serialize>(&mut self, value: &T) {
        self.buf.put_slice(b"data: ");
        self.json_then_finish(value);
    }

    /// Append `event: {name}\ndata: {json}\n\n`.
    pub fn named_json<T: Serialize>(&mut self, name: &str, value: &T) {
        self.buf.put_slice(b"event: ");
        self.buf.put_slice(name.as_bytes());
        self.buf.put_slice(b"\ndata: ");
        self.json_then_finish(value);
    }

    /// Append a pre-formatted event (must end with a blank line).
    pub fn raw(&mut self, event: &[u8]) {
        self.buf.put_slice(event);
        self.events.push(self.buf.split().freeze());
    }

    /// The events built so far.
    pub fn finish(self) -> Vec<Bytes> {
        self.events
    }

    fn json_then_finish<T: Serialize>(&mut self, value: &T) {
        if serde_json::to_writer((&mut self.buf).writer(), value).is_err() {
            // Cannot happen for the mock's own types; never emit half an event.
            self.buf.clear();
            return;
        }
        self.buf.put_slice(b"\n\n");
        self.events.push(self.buf.split().freeze());
    }
}

/// Streaming faults and pacing of an [`EventStream`].
#[derive(Debug, Default)]
pub struct StreamPlan {
    /// Delay between two events.
    pub chunk_delay: Duration,
    /// Abort the connection after this many events.
    pub reset_after: Option<usize>,
    /// Insert [`MALFORMED_EVENT`] after this many good events.
    pub malformed_after: Option<usize>,
    /// Hold after the first event until the release generation exceeds the
    /// given one.
    pub hold: Option<(watch::Receiver<u64>, u64)>,
}

type HoldFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Plays back pre-built SSE events one body frame at a time.
pub struct EventStream {
    events: std::vec::IntoIter<Bytes>,
    sent: usize,
    delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    sleeping: bool,
    hold: Option<HoldFuture>,
    reset_after: Option<usize>,
    malformed_after: Option<usize>,
    resetting: bool,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("remaining", &self.events.len())
            .field("sent", &self.sent)
            .field("held", &self.hold.is_some())
            .finish_non_exhaustive()
    }
}

impl EventStream {
    /// A stream of `events` following `plan`.
    pub fn new(events: Vec<Bytes>, plan: StreamPlan) -> Self {
        let hold = plan.hold.map(|(mut rx, generation)| {
            Box::pin(async move {
                // An error means the server is gone: stop holding.
                let _ = rx.wait_for(|g| *g > generation).await;
            }) as HoldFuture
        });
        Self {
            events: events.into_iter(),
            sent: 0,
            delay: plan.chunk_delay,
            sleep: None,
            sleeping: false,
            hold,
            reset_after: plan.reset_after,
            malformed_after: plan.malformed_after,
            resetting: false,
        }
    }

    /// Poll the next frame (see `http_body::Body::poll_frame`).
    pub fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InjectedReset>>> {
        if self.resetting {
            return Poll::Ready(Some(Err(InjectedReset)));
        }
        if self.sleeping {
            if let Some(sleep) = self.sleep.as_mut()
                && sleep.as_mut().poll(cx).is_pending()
            {
                return Poll::Pending;
            }
            self.sleeping = false;
        }
        if self.sent >= 1
            && let Some(hold) = self.hold.as_mut()
        {
            if hold.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.hold = None;
        }
        if self.reset_after == Some(self.sent) {
            // Give hyper one chance to flush the events already written,
            // then fail the body so the connection is aborted mid-body.
            self.resetting = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if self.malformed_after == Some(self.sent) {
            self.malformed_after = None;
            self.arm_delay();
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(MALFORMED_EVENT)))));
        }
        match self.events.next() {
            None => Poll::Ready(None),
            Some(event) => {
                self.sent += 1;
                if !self.events.as_slice().is_empty() || self.reset_after.is_some() {
                    self.arm_delay();
                }
                Poll::Ready(Some(Ok(Frame::data(event))))
            }
        }
    }

    fn arm_delay(&mut self) {
        if self.delay.is_zero() {
            return;
        }
        let deadline = Instant::now() + self.delay;
        match self.sleep.as_mut() {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
        self.sleeping = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    use crate::body::MockBody;

    #[test]
    fn formats_events() {
        let mut b = EventBuf::with_capacity(3, 16);
        b.data_json(&json!({"a": 1}));
        b.named_json("ping", &json!({"type": "ping"}));
        b.raw(b"data: [DONE]\n\n");
        let ev = b.finish();
        assert_eq!(&ev[0][..], b"data: {\"a\":1}\n\n");
        assert_eq!(&ev[1][..], b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
        assert_eq!(&ev[2][..], b"data: [DONE]\n\n");
    }

    fn events(n: usize) -> Vec<Bytes> {
        (0..n)
            .map(|i| Bytes::from(format!("data: {i}\n\n")))
            .collect()
    }

    async fn drain(stream: EventStream) -> (Vec<Bytes>, bool) {
        let mut body = MockBody::Stream(Box::new(stream));
        let mut out = Vec::new();
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => out.push(f.into_data().unwrap()),
                Err(_) => return (out, true),
            }
        }
        (out, false)
    }

    #[tokio::test]
    async fn plays_back_in_order() {
        let (out, failed) = drain(EventStream::new(events(3), StreamPlan::default())).await;
        assert!(!failed);
        assert_eq!(out, events(3));
    }

    #[tokio::test]
    async fn reset_and_malformed() {
        let plan = StreamPlan {
            reset_after: Some(2),
            ..StreamPlan::default()
        };
        let (out, failed) = drain(EventStream::new(events(5), plan)).await;
        assert!(failed);
        assert_eq!(out, events(2));

        let plan = StreamPlan {
            malformed_after: Some(1),
            ..StreamPlan::default()
        };
        let (out, failed) = drain(EventStream::new(events(2), plan)).await;
        assert!(!failed);
        assert_eq!(out.len(), 3);
        assert_eq!(&out[1][..], MALFORMED_EVENT);
    }

    #[tokio::test]
    async fn release_before_wait_is_not_lost() {
        let (tx, rx) = watch::channel(0u64);
        let plan = StreamPlan {
            hold: Some((rx, 0)),
            ..StreamPlan::default()
        };
        let stream = EventStream::new(events(3), plan);
        tx.send_modify(|g| *g += 1);
        let (out, _) = tokio::time::timeout(Duration::from_secs(5), drain(stream))
            .await
            .unwrap();
        assert_eq!(out.len(), 3);
    }

    #[tokio::test]
    async fn chunk_delay_paces_events() {
        let plan = StreamPlan {
            chunk_delay: Duration::from_millis(30),
            ..StreamPlan::default()
        };
        let start = Instant::now();
        let (out, _) = drain(EventStream::new(events(4), plan)).await;
        assert_eq!(out.len(), 4);
        assert!(start.elapsed() >= Duration::from_millis(90));
    }
}
