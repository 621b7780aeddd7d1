//! State shared by the handle and every connection of one mock server:
//! installed behavior, recorded requests, the release signal and id counter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::behavior::{Behavior, BehaviorState};
use crate::record::RecordedRequest;
use crate::sse::StreamPlan;

/// Shared server state.
#[derive(Debug)]
pub struct Shared {
    behavior: Mutex<BehaviorState>,
    requests: Mutex<Vec<RecordedRequest>>,
    record: bool,
    release: watch::Sender<u64>,
    ids: AtomicU64,
}

/// The behavior applying to one request, with what is needed to build its
/// streaming plan.
#[derive(Debug)]
pub struct RequestCtx<'a> {
    /// The behavior snapshot for this request.
    pub behavior: Behavior,
    release_gen: u64,
    shared: &'a Shared,
}

impl RequestCtx<'_> {
    /// A fresh id number for response ids (`chatcmpl-…`, `msg_…`).
    pub fn next_id(&self) -> u64 {
        self.shared.ids.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The pacing and faults of a streamed reply.
    pub fn stream_plan(&self) -> StreamPlan {
        let b = &self.behavior;
        StreamPlan {
            chunk_delay: Duration::from_millis(b.chunk_delay_ms),
            reset_after: b.reset_after_chunks,
            malformed_after: b.malformed_after_chunks,
            hold: b
                .hold_after_first_chunk
                .then(|| (self.shared.release.subscribe(), self.release_gen)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// New state with `base` as the initial and fallback behavior.
    pub fn new(base: Behavior, record: bool) -> Self {
        Self {
            behavior: Mutex::new(BehaviorState::new(base)),
            requests: Mutex::new(Vec::new()),
            record,
            release: watch::Sender::new(0),
            ids: AtomicU64::new(0),
        }
    }

    /// Install `b` for subsequent requests.
    pub fn set_behavior(&self, b: Behavior) {
        lock(&self.behavior).set(b);
    }

    /// The currently installed behavior.
    pub fn behavior(&self) -> Behavior {
        lock(&self.behavior).current().clone()
    }

    /// Take the behavior for one incoming request (consumes `times`).
    pub fn begin_request(&self) -> RequestCtx<'_> {
        let behavior = lock(&self.behavior).take();
        RequestCtx {
            behavior,
            release_gen: *self.release.borrow(),
            shared: self,
        }
    }

    /// Record a request (no-op when recording is disabled).
    pub fn record(&self, parts: &http::request::Parts, body: &[u8]) {
        if self.record {
            let r = RecordedRequest::from_parts(parts, body);
            lock(&self.requests).push(r);
        }
    }

    /// Everything recorded so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// Serialize the recorded requests as a JSON array.
    pub fn requests_json(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(&*lock(&self.requests))
    }

    /// Forget recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    /// Release every stream held now or received before this call.
    pub fn release(&self) {
        self.release.send_modify(|g| *g += 1);
    }
}
