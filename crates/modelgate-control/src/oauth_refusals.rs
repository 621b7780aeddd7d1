//! The token endpoint's failed authentications: each refused client
//! credential or subject/actor token spends one failure of the caller's
//! source's budget (`limits.failed_auth_per_source`, shared with the model
//! APIs); a source over it is refused before its credentials are looked
//! up or verified. Refusal records (`token.exchange_failed`) of failed
//! authentications and of the limit are coalesced per source and reason
//! per `audit.refusal_coalesce_interval`; other failures are written each
//! time. No record holds the presented credential.

use std::collections::BTreeMap;
use std::net::IpAddr;

use modelgate_core::Core;
use modelgate_core::audit::{Coalesced, RefusalKey};
use modelgate_core::source_limit::OverBudget;
use modelgate_identity::exchange::{ExchangeError, ExchangeRefusal};
use modelgate_types::clock::now_ms;

/// The surface the token endpoint's refusals are coalesced under.
const SURFACE: &str = "token";

/// Whether `error` is a failed authentication: client credentials or a
/// presented token refused (not a malformed request, a target or scope
/// the caller may not have, or a dependency that is down).
pub(crate) fn is_failed_authentication(error: &ExchangeError) -> bool {
    matches!(
        error,
        ExchangeError::InvalidClient | ExchangeError::InvalidGrant { .. }
    )
}

/// Whether credentials from `source` may be checked now; when not, counts
/// the refusal in `modelgate_auth_failures_limited_total`.
pub(crate) fn check(core: &Core, source: Option<IpAddr>) -> Result<(), OverBudget> {
    let Some(source) = source else {
        return Ok(());
    };
    core.auth_budget(source, SURFACE)
}

/// Spends one failure of `source`'s budget.
pub(crate) fn failed(core: &Core, source: Option<IpAddr>) {
    if let Some(source) = source {
        core.auth_limit.failed(source, now_ms());
    }
}

/// A refused token request, as its `token.exchange_failed` record says it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused<'a> {
    /// The grant asked for, once the form was read.
    pub grant: Option<&'a str>,
    /// The RFC 6749 error code returned.
    pub error: &'static str,
    /// The fixed reason label.
    pub reason: &'static str,
    /// Whether its record is coalesced (a failed authentication, or the
    /// source over its budget).
    pub coalesce: bool,
    /// The exchange's refusal, when the exchange decided it: its issuer,
    /// subject, claim and detail go into the record.
    pub about: Option<&'a ExchangeRefusal>,
}

/// Records a refused token request as `token.exchange_failed` (with the
/// source), unless it is counted into its interval's summary. A record
/// that cannot be written is logged; the refusal stands.
pub(crate) async fn record(core: &Core, source: Option<IpAddr>, refused: Refused<'_>) {
    if refused.coalesce
        && let Some(source) = source
    {
        let key = RefusalKey {
            source,
            surface: SURFACE,
            reason: refused.reason,
        };
        if core.audit.coalesce_refusal(key, now_ms()) == Coalesced::Counted {
            return;
        }
    }
    let mut detail = BTreeMap::new();
    if let Some(grant) = refused.grant {
        detail.insert("grant".to_owned(), grant.to_owned());
    }
    detail.insert("error".to_owned(), refused.error.to_owned());
    detail.insert("reason".to_owned(), refused.reason.to_owned());
    if let Some(about) = refused.about {
        let message = about.error.description();
        let fields = [
            ("issuer", about.issuer.as_deref()),
            ("subject", about.subject.as_deref()),
            ("claim", about.claim.as_deref()),
            ("detail", about.detail.as_deref()),
            ("message", Some(message.as_str())),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                detail.insert(name.to_owned(), value.to_owned());
            }
        }
    }
    if let Some(source) = source {
        detail.insert("source".to_owned(), source.to_string());
    }
    if let Err(err) = core
        .audit
        .control("token.exchange_failed", None, None, "denied", detail)
        .await
    {
        tracing::error!(error = %err, "audit: failed token exchange not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_credentials_are_failed_authentications_and_bad_requests_are_not() {
        assert!(is_failed_authentication(&ExchangeError::InvalidClient));
        assert!(is_failed_authentication(&ExchangeError::InvalidGrant {
            label: "token_refused",
            description: String::new(),
        }));
        assert!(!is_failed_authentication(&ExchangeError::InvalidTarget));
        assert!(!is_failed_authentication(&ExchangeError::Unavailable));
        assert!(!is_failed_authentication(&ExchangeError::InvalidRequest(
            String::new()
        )));
    }
}
