//! [`MockBody`], the single response body type of the mock, and helpers to
//! build responses.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::reset::InjectedReset;
use crate::sse::EventStream;

/// Response body of the mock: a complete buffer or a paced SSE stream.
#[derive(Debug)]
pub enum MockBody {
    /// A complete body sent in one frame (`None` once sent).
    Full(Option<Bytes>),
    /// A streamed body of SSE events with pacing and faults.
    Stream(Box<EventStream>),
}

impl MockBody {
    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let b = bytes.into();
        if b.is_empty() {
            Self::Full(None)
        } else {
            Self::Full(Some(b))
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::Full(None)
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = InjectedReset;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, InjectedReset>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Self::Stream(s) => s.poll_event(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_none(),
            Self::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Stream(_) => SizeHint::default(),
        }
    }
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// A response with a JSON body.
pub fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, JSON);
    resp
}

/// A response serializing `value` as JSON.
pub fn json_value<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<MockBody> {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(status, body),
        Err(_) => empty_response(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// A `text/event-stream` response streaming `stream`.
pub fn sse_response(status: StatusCode, stream: EventStream) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::Stream(Box::new(stream)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, EVENT_STREAM);
    h.insert(CACHE_CONTROL, NO_CACHE);
    resp
}

/// A response with an empty body.
pub fn empty_response(status: StatusCode) -> Response<MockBody> {
    let mut resp = Response::new(MockBody::empty());
    *resp.status_mut() = status;
    resp
}
