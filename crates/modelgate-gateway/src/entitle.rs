//! The load-grants stage: the roles a principal holds now (standing and
//! just-in-time, from the identity service's in-memory snapshot), and the
//! rate limits of the roles that cover a call.

use std::sync::Arc;

use modelgate_identity::Principal;
use modelgate_identity::access::{Entitlements, RoleCatalog};

use crate::dialect::{ApiError, ErrorKind};
use crate::gateway::{Gateway, unix_now};
use crate::ratelimit::Limits;
use crate::record::CallRecord;
use crate::screening::any_match;

/// The rate limits for `action` on `model` given `entitlements`: among the
/// roles that cover the call, the most generous (a covering role without a
/// limit means none). No covering role: no limit here (the decision stage
/// refuses such a call anyway).
pub fn limits_for(
    catalog: &RoleCatalog,
    entitlements: &Entitlements,
    model: &str,
    action: &str,
) -> Limits {
    let mut requests: Option<Option<u32>> = None;
    let mut tokens: Option<Option<u64>> = None;
    for held in &entitlements.roles {
        let Some(role) = catalog.role(&held.role) else {
            continue;
        };
        if !role.actions.iter().any(|a| a == action) || !any_match(&role.models, model) {
            continue;
        }
        requests = Some(match (requests, role.requests_per_minute) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            (None, Some(b)) => Some(b),
        });
        tokens = Some(match (tokens, role.tokens_per_minute) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
            (None, Some(b)) => Some(b),
        });
    }
    Limits {
        requests: requests.flatten(),
        tokens: tokens.flatten(),
    }
}

impl Gateway {
    /// The principal's roles now. A store failure refuses the call (it
    /// cannot be decided).
    pub(crate) async fn entitlements(
        &self,
        principal: &Principal,
    ) -> Result<Entitlements, (&'static str, ApiError)> {
        self.inner
            .identity
            .entitlements(&principal.identity_id, unix_now())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "could not load entitlements");
                (
                    "entitlements_unavailable",
                    ApiError::new(
                        ErrorKind::Unavailable,
                        "the gateway cannot load this caller's access right now",
                    ),
                )
            })
    }

    /// Counts the call against the covering roles' limits, or refuses it
    /// with 429 and `retry-after`. Tokens are charged when it ends.
    pub(crate) fn rate_limit(
        &self,
        entitlements: &Entitlements,
        principal: &Principal,
        model: &str,
        action: &str,
        record: &mut CallRecord,
    ) -> Result<(), (&'static str, ApiError)> {
        let limits = limits_for(self.inner.identity.roles(), entitlements, model, action);
        if limits == Limits::default() {
            return Ok(());
        }
        let now_ms = crate::audit::request::now_ms();
        let limiter = &self.inner.rate_limiter;
        match limiter.admit(&principal.identity_id, limits, now_ms) {
            Ok(()) => {
                if limits.tokens.is_some() {
                    record.token_charge =
                        Some((Arc::clone(limiter), principal.identity_id.clone()));
                }
                Ok(())
            }
            Err(exceeded) => Err((
                "rate_limited",
                ApiError::new(
                    ErrorKind::RateLimited,
                    format!(
                        "rate limit reached: {} {} per minute for this identity",
                        exceeded.ceiling, exceeded.limit
                    ),
                )
                .with_code("rate_limit_exceeded")
                .with_retry_after(exceeded.retry_after),
            )),
        }
    }
}
