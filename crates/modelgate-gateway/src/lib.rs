//! modelgate's data plane: the path of every model call.
//!
//! [`pipeline`] lists the stages of one call in the order they run; each
//! stage is one module of [`stages`] with explicit inputs and outputs:
//!
//! ```text
//! accept ─▶ authenticate ─▶ read body ─▶ parse ─▶ resolve ─▶ load grants ─▶ rate limit
//!        ─▶ screen ─▶ route ─▶ decide ─▶ audit (admit) ─▶ forward ─▶ stream
//!        ─▶ screen response ─▶ account ─▶ audit (complete)
//! ```
//!
//! A stage that refuses ends the call with a [`refusal::Refusal`], which
//! the audit stage records before the caller gets it in its dialect
//! ([`api_error::ApiError`]). The audit stage is fail closed: a request is
//! forwarded only once its admit record is durable.
//!
//! Beside the stages: [`Gateway`] (the data plane's state over the shared
//! [`modelgate_core::Core`]), the route table ([`routes`]), the upstreams
//! and their clients ([`upstream`]), the per-request [`record`], `/v1/models`
//! ([`models`]) and the listener ([`server`]).
//!
//! It depends on `modelgate-core` and the crates below it, and on
//! `modelgate-translate` for dialect translation. It must not depend on
//! `modelgate-control`: the binary mounts the control plane's routes beside
//! the data plane's through [`Gateway::serve`].

pub mod api_error;
mod gateway;
pub mod models;
pub mod pipeline;
pub mod record;
pub mod refusal;
pub mod routes;
pub mod server;
pub mod stages;
pub mod upstream;

pub use gateway::{Gateway, GatewayError, upstreams};
