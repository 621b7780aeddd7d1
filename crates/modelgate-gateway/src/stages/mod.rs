//! The stages of a model call, one module each, in the order
//! [`crate::pipeline`] runs them:
//!
//! | stage | module | output |
//! |---|---|---|
//! | accept | [`accept`] | the caller's address and agent on the record; header limits |
//! | authenticate | [`authenticate`] | `Principal` |
//! | read body | [`read_body`] | the body, within `limits.max_body_bytes` |
//! | parse | [`parse`] | [`parse::ModelCall`] |
//! | resolve | [`resolve`] | the model's [`crate::routes::ModelRoute`] |
//! | load grants | [`grants`] | [`Caller`]: the principal and its roles now |
//! | rate limit | [`rate_limit`] | the call counted against its roles' limits |
//! | screen | [`screen`] | [`screen::Screening`] (findings, class, action) |
//! | route | [`route`] | the eligible targets |
//! | decide | [`decide`] | the targets policy allows |
//! | audit (admit) | [`audit`] | the durable admit record |
//! | forward | [`forward`] | a complete response or a live stream |
//! | stream | [`stream`] | events as they arrive |
//! | screen response | [`screen_response`] | the response as `[screen] responses` says |
//! | account | [`account`] | metrics, the log line, the complete record |
//!
//! Each stage takes what it needs explicitly (the shared services, the
//! data plane's state, the context structs below) and returns its output
//! or a [`crate::refusal::Refusal`]; no stage calls a later one.

use bytes::Bytes;
use http::HeaderMap;
use modelgate_identity::Principal;
use modelgate_identity::access::Entitlements;

use crate::routes::ModelRoute;

pub mod accept;
pub mod account;
pub mod audit;
pub mod authenticate;
pub mod decide;
pub mod forward;
pub mod grants;
pub mod parse;
pub mod rate_limit;
pub mod read_body;
pub mod resolve;
pub mod route;
pub mod screen;
pub mod screen_response;
pub mod stream;

/// Who is calling: the authenticated principal and the roles it holds now
/// (the output of the load-grants stage).
#[derive(Debug)]
pub struct Caller {
    /// The authenticated identity.
    pub principal: Principal,
    /// Its roles now, standing and just-in-time.
    pub entitlements: Entitlements,
}

/// What is asked: the model's route (borrowed for `'r`, as long as the
/// route table), the parsed call, and the request's body and headers as
/// received (borrowed for `'a`, while they are the ones forwarded).
#[derive(Debug, Clone, Copy)]
pub struct Asked<'r, 'a> {
    /// The resolved model route.
    pub route: &'r ModelRoute,
    /// What the parse stage read from the body.
    pub call: &'a parse::ModelCall,
    /// The request body as received.
    pub body: &'a Bytes,
    /// The request headers.
    pub headers: &'a HeaderMap,
}
