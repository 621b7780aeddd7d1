//! modelgate's shared services: what both the data plane
//! (`modelgate-gateway`) and the control plane (`modelgate-control`) use,
//! built once from the configuration.
//!
//! [`Core`] holds the identity service, the access tokens and their signing
//! keyring, token exchange, the audit trail, the policy set, the detectors
//! and data classes, the posture view of the configuration (upstream
//! readiness) and the metrics registry; [`authenticate`] turns a request's
//! credential into a principal for either plane; [`body::read_body`] reads
//! a request body for either plane within its size and time limits.
//!
//! It depends on `modelgate-config` and the domain crates below it
//! (identity, policy, screen, audit, posture, store, types). It must not
//! depend on either plane or route HTTP: it serves no endpoint (the HTTP
//! client that fetches issuers' keys is its only network use).

pub mod audit;
pub mod authenticate;
pub mod body;
mod build;
pub mod detectors;
mod error;
pub mod jwks_fetch;
pub mod metrics;
pub mod peer_cert;
pub mod policy;
pub mod posture_context;
pub mod replica_lease;
pub mod source;
pub mod source_limit;

use std::sync::Arc;

use modelgate_config::DataClasses;
use modelgate_identity::exchange::TokenExchange;
use modelgate_identity::{AccessTokens, IdentityService, Principal, SigningKeyring};
use modelgate_screen::Screener;
use modelgate_store::Store;
use modelgate_types::Dialect;

pub use authenticate::AuthFailure;
pub use detectors::Detectors;
pub use error::CoreError;

use crate::audit::AuditTrail;
use crate::metrics::Metrics;
use crate::policy::PolicySet;
use crate::posture_context::PostureContext;

/// The services both planes share. Built once by [`Core::new`]; each plane
/// holds it behind an `Arc`.
pub struct Core {
    /// Identities, keys, roles and grants (with the in-memory key cache
    /// and entitlement snapshot).
    pub identity: IdentityService,
    /// Gateway access tokens: minting and in-memory verification.
    pub tokens: AccessTokens,
    /// The token-signing keys.
    pub keyring: SigningKeyring,
    /// RFC 8693 token exchange and `client_credentials`.
    pub exchange: TokenExchange,
    /// The gateway's issuer URL (`iss` of minted tokens).
    pub issuer: String,
    /// The store.
    pub store: Store,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// The audit log of this replica.
    pub audit: Arc<AuditTrail>,
    /// This process's claim on its replica id (the audit chain's name).
    pub lease: replica_lease::ReplicaLease,
    /// The Cedar policy set being enforced.
    pub policy: PolicySet,
    /// The secret and personal-data detectors.
    pub screener: Arc<Screener>,
    /// The configured data classes.
    pub classes: DataClasses,
    /// Upstream readiness and the posture view of the configuration.
    pub posture: PostureContext,
    /// The trusted proxies: who a request's source is.
    pub sources: source::TrustedProxies,
    /// The failed-authentication budget of each source.
    pub auth_limit: source_limit::FailedAuthLimiter,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// Authenticates a request's credential (API key or access token) as
    /// `dialect` presents it, at the current time.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        dialect: Dialect,
    ) -> Result<Principal, AuthFailure> {
        self.authenticate_with(authenticate::Credentials {
            headers,
            peer_cert: None,
            dialect,
        })
        .await
    }

    /// Authenticates a request's credentials, the connection's client
    /// certificate among them, at the current time.
    pub async fn authenticate_with(
        &self,
        credentials: authenticate::Credentials<'_>,
    ) -> Result<Principal, AuthFailure> {
        authenticate::authenticate(
            &self.identity,
            &self.tokens,
            self.exchange.federation(),
            credentials,
            modelgate_types::clock::unix_now(),
        )
        .await
    }

    /// Whether credentials from `source` may be checked now (its
    /// failed-authentication budget is not spent); when not, counts the
    /// refusal under `endpoint` (`model_api`, `token`, `admin`) in
    /// `modelgate_auth_failures_limited_total`. Every surface that
    /// authenticates asks here, so they share one budget and one count.
    pub fn auth_budget(
        &self,
        source: std::net::IpAddr,
        endpoint: &'static str,
    ) -> Result<(), source_limit::OverBudget> {
        self.auth_limit
            .check(source, modelgate_types::clock::now_ms())
            .inspect_err(|_| {
                self.metrics
                    .auth_limited
                    .get_or_create(&metrics::AuthLimitedLabels { endpoint })
                    .inc();
            })
    }
}
