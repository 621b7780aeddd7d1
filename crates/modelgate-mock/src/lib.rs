//! `modelgate-mock`: a mock model upstream speaking the real OpenAI
//! (chat completions, legacy completions, embeddings, models; also the
//! Azure OpenAI deployment paths) and Anthropic (messages) wire formats,
//! streaming included, with fault injection.
//!
//! Replies are deterministic: the demo text echoes the last user message;
//! a request declaring tools gets a call of the first (or chosen) tool with
//! arguments built from its schema's required properties, and a request
//! ending in tool results gets a text answer quoting them, streamed or not,
//! in each provider's real shape.
//!
//! This crate owns the mock server, its deterministic demo replies, the
//! [`Behavior`] fault knobs, request recording and the `/_mock/*` control
//! API. It is used by the gateway's integration tests (in-process through
//! [`MockUpstream`], out-of-process through the `modelgate-mock` binary),
//! as the demo upstream of `modelgate serve --dev`, and by load benchmarks,
//! so it serves with hyper directly and does no per-request logging.
//!
//! It must not depend on any other modelgate crate (the gateway depends on
//! it, not the other way round) nor on heavier frameworks: only hyper,
//! tokio, http, bytes and serde.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use modelgate_mock::{Behavior, MockUpstream};
//!
//! let mock = MockUpstream::start().await?;
//! mock.set_behavior(Behavior { status: Some(503), times: Some(1), ..Behavior::default() });
//! // ... point a client at mock.base_url() ...
//! assert!(mock.requests().is_empty());
//! mock.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod anthropic;
mod anthropic_tools;
mod behavior;
mod body;
mod control;
mod embeddings;
mod openai;
mod openai_stream;
mod openai_tools;
mod record;
mod reset;
mod router;
mod server;
mod sse;
mod state;
mod text;
mod tools;
mod util;

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

pub use behavior::{Behavior, DEFAULT_EMBEDDING_DIMS};
pub use embeddings::embed_text;
pub use record::RecordedRequest;
pub use sse::MALFORMED_EVENT;
pub use text::{GREETING, reply_text};

use server::Server;
use state::Shared;

/// Entry point for starting mock servers.
#[derive(Debug, Clone, Copy, Default)]
pub struct MockUpstream;

impl MockUpstream {
    /// Bind `127.0.0.1:0` and serve in a spawned tokio task.
    pub async fn start() -> io::Result<MockHandle> {
        Self::builder().start().await
    }

    /// Bind `addr` and serve in a spawned tokio task.
    pub async fn start_on(addr: SocketAddr) -> io::Result<MockHandle> {
        Self::builder().addr(addr).start().await
    }

    /// A builder for a server with non-default settings.
    pub fn builder() -> MockBuilder {
        MockBuilder::default()
    }
}

/// Configures a mock server before starting it.
#[derive(Debug, Clone)]
pub struct MockBuilder {
    addr: SocketAddr,
    behavior: Behavior,
    record: bool,
}

impl Default for MockBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            behavior: Behavior::default(),
            record: true,
        }
    }
}

impl MockBuilder {
    /// Address to bind (default `127.0.0.1:0`).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Initial behavior, also the one `times` reverts to (default
    /// `Behavior::default()`).
    pub fn behavior(mut self, behavior: Behavior) -> Self {
        self.behavior = behavior;
        self
    }

    /// Whether to record requests (default `true`; turn off for benchmarks
    /// so memory does not grow with every request).
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record = record;
        self
    }

    /// Bind and serve in a spawned tokio task.
    pub async fn start(self) -> io::Result<MockHandle> {
        let shared = Arc::new(Shared::new(self.behavior, self.record));
        let server = Server::start(self.addr, shared).await?;
        Ok(MockHandle {
            server: Arc::new(server),
        })
    }
}

/// A running mock server; cheap to clone, all clones control the same one.
#[derive(Clone, Debug)]
pub struct MockHandle {
    server: Arc<Server>,
}

impl MockHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://HOST:PORT` for the bound address (an unspecified bind
    /// address is reported as loopback).
    pub fn base_url(&self) -> String {
        let mut addr = self.addr();
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                Ipv4Addr::LOCALHOST.into()
            } else {
                Ipv6Addr::LOCALHOST.into()
            });
        }
        format!("http://{addr}")
    }

    /// Install `b` for subsequent requests (replaces the current one).
    pub fn set_behavior(&self, b: Behavior) {
        self.server.shared().set_behavior(b);
    }

    /// The currently installed behavior.
    pub fn behavior(&self) -> Behavior {
        self.server.shared().behavior()
    }

    /// Every non-control request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.shared().requests()
    }

    /// Forget recorded requests.
    pub fn clear_requests(&self) {
        self.server.shared().clear_requests();
    }

    /// Release the streams held by [`Behavior::hold_after_first_chunk`]:
    /// every stream whose request arrived before this call (including ones
    /// that have not reached their hold point yet).
    pub fn release(&self) {
        self.server.shared().release();
    }

    /// Close the listening socket so new connections are refused; existing
    /// connections finish their in-flight response and are then closed
    /// (idle keep-alive connections close immediately).
    pub async fn stop_listening(&self) {
        self.server.stop_listening().await;
    }

    /// Re-bind the same port and accept connections again.
    pub async fn resume_listening(&self) -> io::Result<()> {
        self.server.resume_listening().await
    }

    /// Stop listening, give in-flight responses a short grace period
    /// (2 s), then drop all connections.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
