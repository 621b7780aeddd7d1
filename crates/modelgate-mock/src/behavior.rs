//! The fault-injection knobs ([`Behavior`]) and the per-server state that
//! decides which behavior a request gets (including the `times` countdown).

use serde::{Deserialize, Serialize};

/// Default dimension of embedding vectors when [`Behavior::embedding_dims`]
/// is not set.
pub const DEFAULT_EMBEDDING_DIMS: usize = 8;

/// How the mock answers model requests: delays, streaming shape and faults.
///
/// Every field defaults to "off"; `Behavior::default()` gives fast, correct
/// replies. A behavior is installed with [`crate::MockHandle::set_behavior`]
/// or `POST /_mock/behavior` and applies to requests received afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Behavior {
    /// Delay (milliseconds) before the response headers are sent, for both
    /// streamed and non-streamed replies (and for injected errors).
    pub latency_ms: u64,
    /// Extra delay (milliseconds) before the response headers are sent; it
    /// simply adds to `latency_ms` (time to first byte).
    pub first_byte_delay_ms: u64,
    /// Delay (milliseconds) between two SSE events of a streamed reply.
    pub chunk_delay_ms: u64,
    /// Number of content chunks of a reply. Defaults to one per word of the
    /// reply text (at least 1). When larger than the number of words, the
    /// words are repeated cyclically; when smaller, words are grouped. The
    /// non-streamed reply text is the concatenation of the same chunks.
    pub chunks: Option<usize>,
    /// Reply with this HTTP status and an error body in the dialect of the
    /// endpoint (statuses `>= 400`; `429` adds `retry-after: 1`). A status
    /// below 400 replaces the status of an otherwise normal reply.
    pub status: Option<u16>,
    /// Streaming: send this many SSE events, then abort the connection
    /// without terminating the chunked body.
    pub reset_after_chunks: Option<usize>,
    /// Streaming: after this many good events, send `data: {not json\n\n`,
    /// then continue with the remaining events.
    pub malformed_after_chunks: Option<usize>,
    /// Streaming: send the headers and the first event immediately, then
    /// wait for [`crate::MockHandle::release`] (or `POST /_mock/release`)
    /// before sending the rest. Non-streamed requests ignore this.
    pub hold_after_first_chunk: bool,
    /// Apply this behavior to the next N requests only, then revert to the
    /// server's base behavior (`Behavior::default()` unless the server was
    /// started with another one).
    pub times: Option<u32>,
    /// OpenAI streams: never send the usage chunk, even when the request
    /// asks for it (`stream_options.include_usage`), like an upstream that
    /// ignores the option.
    pub omit_usage: bool,
    /// Dimension of embedding vectors (default 8). A `dimensions` field in
    /// the embeddings request takes precedence.
    pub embedding_dims: Option<usize>,
}

impl Behavior {
    /// Total delay in milliseconds before response headers are written.
    pub fn header_delay_ms(&self) -> u64 {
        self.latency_ms.saturating_add(self.first_byte_delay_ms)
    }

    /// The injected error status, if `status` asks for an error (`>= 400`).
    pub fn error_status(&self) -> Option<http::StatusCode> {
        match self.status {
            Some(s) if s >= 400 => Some(
                http::StatusCode::from_u16(s).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            ),
            _ => None,
        }
    }

    /// The status of a successful reply (200 unless `status` is below 400).
    pub fn success_status(&self) -> http::StatusCode {
        match self.status {
            Some(s) if s < 400 => http::StatusCode::from_u16(s).unwrap_or(http::StatusCode::OK),
            _ => http::StatusCode::OK,
        }
    }

    /// Embedding dimension to use when the request does not specify one.
    pub fn dims(&self) -> usize {
        self.embedding_dims.unwrap_or(DEFAULT_EMBEDDING_DIMS)
    }
}

/// The behavior currently installed on a server, with the `times` countdown.
#[derive(Debug)]
pub(crate) struct BehaviorState {
    base: Behavior,
    current: Behavior,
    remaining: Option<u32>,
}

impl BehaviorState {
    /// A state whose current and base behavior are `base`.
    pub(crate) fn new(base: Behavior) -> Self {
        let mut state = Self {
            base: base.clone(),
            current: Behavior::default(),
            remaining: None,
        };
        state.set(base);
        state
    }

    /// Replace the current behavior (starting a new `times` countdown).
    pub(crate) fn set(&mut self, b: Behavior) {
        self.remaining = b.times;
        if b.times == Some(0) {
            self.current = self.base.clone();
            self.remaining = self.base.times;
        } else {
            self.current = b;
        }
    }

    /// The current behavior, without consuming a `times` slot.
    pub(crate) fn current(&self) -> &Behavior {
        &self.current
    }

    /// The behavior for one incoming request; consumes a `times` slot and
    /// reverts to the base behavior when the countdown reaches zero.
    pub(crate) fn take(&mut self) -> Behavior {
        match self.remaining {
            None => self.current.clone(),
            Some(n) if n <= 1 => {
                let base = self.base.clone();
                self.remaining = None;
                std::mem::replace(&mut self.current, base)
            }
            Some(n) => {
                self.remaining = Some(n - 1);
                self.current.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_reverts_to_base() {
        let mut st = BehaviorState::new(Behavior::default());
        st.set(Behavior {
            status: Some(500),
            times: Some(2),
            ..Behavior::default()
        });
        assert_eq!(st.take().status, Some(500));
        assert_eq!(st.take().status, Some(500));
        assert_eq!(st.take().status, None);
        assert_eq!(st.take().status, None);
    }

    #[test]
    fn without_times_behavior_sticks() {
        let mut st = BehaviorState::new(Behavior {
            latency_ms: 5,
            ..Behavior::default()
        });
        st.set(Behavior {
            status: Some(503),
            times: Some(1),
            ..Behavior::default()
        });
        assert_eq!(st.take().status, Some(503));
        let after = st.take();
        assert_eq!(after.status, None);
        assert_eq!(after.latency_ms, 5, "reverts to the base behavior");
        assert_eq!(st.current().latency_ms, 5);
    }

    #[test]
    fn serde_defaults_missing_fields() {
        let b: Behavior = serde_json::from_str(r#"{"status":429}"#).unwrap();
        assert_eq!(b.status, Some(429));
        assert_eq!(b.latency_ms, 0);
        assert!(!b.hold_after_first_chunk);
        assert_eq!(b.dims(), 8);
    }

    #[test]
    fn status_classification() {
        let b = Behavior {
            status: Some(429),
            ..Behavior::default()
        };
        assert_eq!(b.error_status(), Some(http::StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(b.success_status(), http::StatusCode::OK);
        let b = Behavior {
            status: Some(201),
            ..Behavior::default()
        };
        assert_eq!(b.error_status(), None);
        assert_eq!(b.success_status(), http::StatusCode::CREATED);
    }
}
