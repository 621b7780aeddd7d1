//! The rate-limit stage: the call is counted against the per-minute limits
//! of the roles that cover it, or refused with 429 and `retry-after` (503
//! when the shared counters cannot be reached). Tokens are charged when
//! the call ends (the account stage). In this process on SQLite
//! (`limiter.rs`), shared by the replicas on PostgreSQL (`shared.rs`);
//! `limiters.rs` picks one.

pub mod limiter;
pub mod limiters;
pub mod shared;

use std::sync::Arc;

use modelgate_config::glob::any_match;
use modelgate_identity::access::{Entitlements, RoleCatalog};
use modelgate_types::Operation;

use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::stages::Caller;
use limiter::Limits;
use limiters::{Limiter, TokenCharge};
use shared::Refused;

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

/// Counts the call against the covering roles' limits, or refuses it.
pub async fn admit(
    limiter: &Arc<Limiter>,
    catalog: &RoleCatalog,
    caller: &Caller,
    model: &str,
    operation: Operation,
    record: &mut CallRecord,
) -> Result<(), Refusal> {
    let limits = limits_for(catalog, &caller.entitlements, model, operation.as_str());
    if limits == Limits::default() {
        return Ok(());
    }
    let identity = &caller.principal.identity_id;
    let now_ms = modelgate_types::clock::now_ms();
    match limiter.admit(identity, limits, now_ms).await {
        Ok(()) => {
            if limits.tokens.is_some() {
                record.token_charge = Some(TokenCharge::new(Arc::clone(limiter), identity.clone()));
            }
            Ok(())
        }
        Err(Refused::Unavailable(error)) => {
            tracing::warn!(%error, "rate limit: the shared counters cannot be reached");
            Err(Refusal::RateLimitUnavailable)
        }
        Err(Refused::Exceeded(exceeded)) => Err(Refusal::RateLimited(
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
