//! modelgate's control plane: everything a caller does to the gateway
//! rather than through it.
//!
//! [`Control`] serves the admin API under `/admin/v1` (each handler takes
//! an [`admin::Admin`] extractor that authenticates, checks the admin role
//! and records the login), the token endpoint (`/oauth2/token`), the
//! issuer's `/.well-known` documents, and the operational endpoints
//! (`/healthz`, `/readyz`, `/metrics`). It builds posture snapshots and
//! runs access reviews on live state (also used by the CLI), and keeps this
//! replica in step with the store ([`housekeeping`]).
//!
//! It depends on `modelgate-core` (the services it shares with the data
//! plane) and the crates below it. It must not depend on
//! `modelgate-gateway`: the binary mounts [`Control::router`] beside the
//! data plane's routes.

pub mod admin;
mod grant_expiry;
mod health;
pub mod housekeeping;
mod oauth;
pub mod posture;
mod wellknown;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderValue, header};
use modelgate_config::Config;
use modelgate_core::Core;

pub use oauth::GRANT_TOKEN_EXCHANGE;

/// The control plane: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Control {
    /// The services shared with the data plane.
    pub core: Arc<Core>,
    /// How long a rotated API key keeps working beside its successor.
    rotation_grace: Duration,
    /// How often revocations and signing keys are re-read from the store.
    sync_interval: Duration,
    /// How often signing keys are retired and revocations pruned.
    housekeeping_interval: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The control plane over `core`, with the settings of `config` it
    /// needs (key rotation grace, state sync and housekeeping intervals).
    pub fn new(core: Arc<Core>, config: &Config) -> Control {
        Control {
            core,
            rotation_grace: config.keys.rotation_grace,
            sync_interval: config.tokens.sync_interval,
            housekeeping_interval: config.server.housekeeping_interval,
        }
    }

    /// The control plane's routes, to be served beside the data plane's.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/oauth2/token", post(oauth::token))
            .route("/.well-known/jwks.json", get(wellknown::jwks))
            .route(
                "/.well-known/openid-configuration",
                get(wellknown::discovery),
            )
            .nest("/admin/v1", admin::routes())
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .route("/metrics", get(health::metrics))
            .with_state(self.clone())
    }
}

/// A JSON response with status 200.
pub(crate) fn json_response(value: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
