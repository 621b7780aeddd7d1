//! Why a model call ends before it is forwarded (or when every upstream
//! failed): the one error type at the boundary between each stage and the
//! pipeline. Each variant is one refusal; its [`Refusal::label`] is what
//! the audit record and the log line say, and [`Refusal::into_error`] is
//! what the caller gets, in its dialect.

use crate::api_error::{ApiError, ErrorKind};

/// A refused (or failed) model call.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// No credential, or one that is not valid (401), or credentials
    /// cannot be checked (503).
    Unauthenticated(ApiError),
    /// The caller's source spent its failed-authentication budget
    /// (`limits.failed_auth_per_source`); its credential was not checked
    /// (429 with `retry-after`).
    AuthLimited(ApiError),
    /// The body is over `limits.max_body_bytes` (413).
    BodyTooLarge(ApiError),
    /// The body could not be read (400).
    BodyUnreadable(ApiError),
    /// The body did not arrive within `limits.body_read_timeout` (408).
    BodyTimedOut(ApiError),
    /// The body (or a header the gateway reads) is invalid (400).
    InvalidRequest(ApiError),
    /// The model is unknown, or the caller's environment may not use it
    /// (404; the two look the same).
    ModelNotFound,
    /// The caller's roles cannot be loaded (503).
    EntitlementsUnavailable,
    /// A role's rate limit is reached (429 with `retry-after`).
    RateLimited(ApiError),
    /// The shared rate-limit counters (in the store) cannot be reached
    /// when an allotment is needed (503).
    RateLimitUnavailable,
    /// Screening blocks the prompt (400 naming the finding kinds).
    Blocked(ApiError),
    /// No upstream may receive this request (403 with the reason).
    NoEligibleUpstream(ApiError),
    /// Policy denies it on every eligible upstream (403 with the reason).
    PolicyDenied(ApiError),
    /// The request cannot be recorded in the audit log (503).
    AuditUnavailable,
    /// Every upstream failed, or the request cannot be translated.
    Upstream(ApiError),
}

impl Refusal {
    /// The refusal's label, as the audit record and the log line say it.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Unauthenticated(_) => "unauthenticated",
            Refusal::AuthLimited(_) => "auth_limited",
            Refusal::BodyTooLarge(_) => "body_too_large",
            Refusal::BodyUnreadable(_) => "body_read",
            Refusal::BodyTimedOut(_) => "body_timeout",
            Refusal::InvalidRequest(_) => "invalid_request",
            Refusal::ModelNotFound => "model_not_found",
            Refusal::EntitlementsUnavailable => "entitlements_unavailable",
            Refusal::RateLimited(_) => "rate_limited",
            Refusal::RateLimitUnavailable => "rate_limit_unavailable",
            Refusal::Blocked(_) => "blocked",
            Refusal::NoEligibleUpstream(_) => "no_eligible_upstream",
            Refusal::PolicyDenied(_) => "policy_denied",
            Refusal::AuditUnavailable => "audit_unavailable",
            Refusal::Upstream(_) => "upstream",
        }
    }

    /// The error the caller gets.
    pub fn into_error(self) -> ApiError {
        match self {
            Refusal::Unauthenticated(e)
            | Refusal::AuthLimited(e)
            | Refusal::BodyTooLarge(e)
            | Refusal::BodyUnreadable(e)
            | Refusal::BodyTimedOut(e)
            | Refusal::InvalidRequest(e)
            | Refusal::RateLimited(e)
            | Refusal::Blocked(e)
            | Refusal::NoEligibleUpstream(e)
            | Refusal::PolicyDenied(e)
            | Refusal::Upstream(e) => e,
            Refusal::ModelNotFound => model_not_found(),
            Refusal::EntitlementsUnavailable => ApiError::new(
                ErrorKind::Unavailable,
                "the gateway cannot load this caller's access right now",
            ),
            Refusal::AuditUnavailable => audit_unavailable(),
            Refusal::RateLimitUnavailable => ApiError::new(
                ErrorKind::Unavailable,
                "the gateway cannot reach its shared rate-limit counters right now; nothing was forwarded",
            )
            .with_code("rate_limit_unavailable")
            .with_retry_after(1),
        }
    }
}

/// Unknown and forbidden models look the same; the name is not echoed.
pub fn model_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "the requested model does not exist or you do not have access to it",
    )
    .with_param("model")
    .with_code("model_not_found")
}

/// The error a caller gets when its request cannot be recorded.
pub fn audit_unavailable() -> ApiError {
    ApiError::new(
        ErrorKind::Unavailable,
        "the gateway cannot record this request in its audit log right now; nothing was forwarded",
    )
    .with_code("audit_unavailable")
    .with_retry_after(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_errors_agree_with_the_refusal() {
        assert_eq!(Refusal::ModelNotFound.label(), "model_not_found");
        let e = Refusal::ModelNotFound.into_error();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert_eq!(e.code, Some("model_not_found"));
        let e = Refusal::AuditUnavailable.into_error();
        assert_eq!((e.kind, e.retry_after), (ErrorKind::Unavailable, Some(1)));
        let blocked = ApiError::invalid_field("messages", "no");
        let refusal = Refusal::Blocked(blocked);
        assert_eq!(refusal.label(), "blocked");
        assert_eq!(refusal.into_error().param, Some("messages"));
    }
}
