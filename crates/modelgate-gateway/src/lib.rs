//! modelgate's data plane.
//!
//! Owns the HTTP server and the request path of every model call, one stage
//! per module, each handing a typed value to the next:
//!
//! ```text
//! accept ─▶ authenticate ─▶ parse ─▶ route ─▶ forward/stream ─▶ account ─▶ audit
//! server    auth            parse    routes   forward, stream   record      audit
//!           Principal       ModelCall Target  upstream bytes    CallRecord  admit/complete
//! ```
//!
//! The audit stage is fail closed: a request is forwarded only once its
//! `admit` record is durable.
//!
//! It speaks the OpenAI and Anthropic dialects to callers and to upstreams
//! (OpenAI, every OpenAI-compatible self-hosted server, Anthropic, Azure
//! OpenAI), injects upstream credentials, falls back between targets before
//! the first byte, and streams without buffering.
//!
//! It depends on `modelgate-identity` (who is calling), `modelgate-audit`
//! (what happened), `modelgate-store` (readiness, the audit store sink) and
//! `modelgate-posture` (pure logic: upstream readiness, the posture
//! snapshot, reviews); it must not reach into their storage, and nothing
//! below it may depend on HTTP.

pub mod admin;
pub mod admin_audit;
mod admin_grants;
pub mod admin_policy;
mod admin_posture;
pub mod audit;
pub mod auth;
pub mod breaker;
pub mod bridge;
pub mod config;
pub mod dialect;
pub mod entitle;
pub mod forward;
pub mod gateway;
pub mod grant_expiry;
pub mod headers;
pub mod jwks_fetch;
pub mod metrics;
pub mod models_list;
pub mod oauth;
pub mod parse;
pub mod plan;
pub mod policy;
pub mod posture_review;
pub mod posture_state;
mod posture_usage;
pub mod ratelimit;
pub mod record;
pub mod routes;
pub mod screening;
pub mod secret;
pub mod server;
pub mod sse;
pub mod stream;
pub mod translate;
pub mod upstream;
pub mod usage;
pub mod wellknown;

pub use config::Config;
pub use gateway::{Gateway, GatewayError};
