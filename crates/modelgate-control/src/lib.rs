//! modelgate's control plane: everything a caller does to the gateway
//! rather than through it.
//!
//! [`Control`] serves the admin API under `/admin/v1` (each handler takes
//! an [`admin::Admin`] extractor that authenticates, checks the admin role
//! and records the login), the token endpoint (`/oauth2/token`), the
//! issuer's `/.well-known` documents, and the operational endpoints
//! (`/healthz`, `/readyz`, `/metrics`), as three routers for the three
//! listeners: [`Control::public_router`] (main), [`Control::admin_router`]
//! (`[server] admin_listen`, or main) and [`Control::metrics_router`]
//! (`[server] metrics_listen`). It builds posture snapshots and
//! runs access reviews on live state (also used by the CLI), keeps this
//! replica in step with the store ([`Control::spawn_state_sync`]), and runs
//! the housekeeping that writes shared state once per interval across
//! replicas ([`housekeeping`]).
//!
//! It depends on `modelgate-core` (the services it shares with the data
//! plane) and the crates below it. It must not depend on
//! `modelgate-gateway`: the binary mounts [`Control::public_router`] beside
//! the data plane's routes.

pub mod admin;
mod chain_sealer;
mod control;
mod grant_expiry;
mod health;
pub mod housekeeping;
mod oauth;
mod oauth_form;
mod oauth_refusals;
pub mod posture;
mod response;
mod state_sync;
mod wellknown;

use axum::Router;
use axum::routing::{get, post};

pub use control::Control;
pub use oauth::GRANT_TOKEN_EXCHANGE;
pub(crate) use response::json_response;

impl Control {
    /// The routes served beside the data plane's on the main listener: the
    /// token endpoint, the issuer's documents, liveness and readiness (a
    /// load balancer's probe must reach the listener it vouches for).
    pub fn public_router(&self) -> Router {
        Router::new()
            .route("/oauth2/token", post(oauth::token))
            .route("/.well-known/jwks.json", get(wellknown::jwks))
            .route(
                "/.well-known/openid-configuration",
                get(wellknown::discovery),
            )
            .route("/healthz", get(health::healthz))
            .route("/readyz", get(health::readyz))
            .with_state(self.clone())
    }

    /// The admin API under `/admin/v1`: merged into the main listener's
    /// routes, or served alone on `[server] admin_listen`.
    pub fn admin_router(&self) -> Router {
        Router::new()
            .nest("/admin/v1", admin::routes())
            .with_state(self.clone())
    }

    /// `GET /metrics`, alone on `[server] metrics_listen`.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route("/metrics", get(health::metrics))
            .with_state(self.clone())
    }
}
