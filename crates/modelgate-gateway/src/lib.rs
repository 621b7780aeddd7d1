//! modelgate's data plane.
//!
//! Owns the HTTP server and the request path of every model call, one stage
//! per module, each handing a typed value to the next:
//!
//! ```text
//! accept ─▶ authenticate ─▶ parse ─▶ route ─▶ forward/stream ─▶ account
//! server    auth            parse    routes   forward, stream   record
//!           Principal       ModelCall Target  upstream bytes    CallRecord
//! ```
//!
//! It speaks the OpenAI and Anthropic dialects to callers and to upstreams
//! (OpenAI, every OpenAI-compatible self-hosted server, Anthropic, Azure
//! OpenAI), injects upstream credentials, falls back between targets before
//! the first byte, and streams without buffering.
//!
//! It depends on `modelgate-identity` (who is calling) and `modelgate-store`
//! (readiness); it must not reach into their storage, and nothing below it
//! may depend on HTTP.

pub mod admin;
mod admin_grants;
pub mod auth;
pub mod breaker;
pub mod config;
pub mod dialect;
pub mod forward;
pub mod gateway;
pub mod headers;
pub mod jwks_fetch;
pub mod metrics;
pub mod oauth;
pub mod parse;
pub mod record;
pub mod routes;
pub mod secret;
pub mod server;
pub mod sse;
pub mod stream;
pub mod upstream;
pub mod usage;
pub mod wellknown;

pub use config::Config;
pub use gateway::{Gateway, GatewayError};
