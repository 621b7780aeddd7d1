//! The authenticate stage: the caller's bearer credential becomes a
//! [`Principal`], or the request ends here with 401 in the caller's dialect
//! (503 when credentials cannot be checked). Nothing about the presented
//! credential is echoed or logged; the failure's reason is counted in
//! `modelgate_auth_failures_total`.
//!
//! First the caller's source is resolved (the peer, or the address a
//! trusted proxy forwarded). A source that spent its failed-authentication
//! budget (`limits.failed_auth_per_source`) gets 429 with `retry-after`
//! for any credential it presents, before the credential is looked up or
//! its signature checked (counted in `modelgate_auth_failures_limited_total`);
//! each credential refused spends one failure of the budget.

use http::HeaderMap;
use modelgate_core::authenticate::{Credentials, presented};
use modelgate_core::metrics::AuthFailureLabels;
use modelgate_core::peer_cert::CertRefusal;
use modelgate_core::source_limit::{OverBudget, spends_budget};
use modelgate_core::{AuthFailure, Core};
use modelgate_identity::{AuthError, Principal};
use modelgate_types::Dialect;
use modelgate_types::clock::now_ms;

use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;
use crate::refusal::Refusal;

/// Authenticates the request and puts who it is on the record.
pub async fn authenticate(
    core: &Core,
    headers: &HeaderMap,
    dialect: Dialect,
    record: &mut CallRecord,
) -> Result<Principal, Refusal> {
    if let Some(peer) = record.peer {
        let source = core.sources.source(peer.ip(), headers);
        if source.forwarded {
            record.client_addr = Some(source.addr.to_string());
        }
        record.source = Some(source.addr);
        if record.peer_cert.is_some() || !matches!(presented(headers, dialect), Ok(None)) {
            core.auth_budget(source.addr, "model_api")
                .map_err(|over| Refusal::AuthLimited(limited_error(over)))?;
        }
    }
    let credentials = Credentials {
        headers,
        peer_cert: record.peer_cert.as_ref(),
        dialect,
    };
    match core.authenticate_with(credentials).await {
        Ok(principal) => {
            record.identity = Some(principal.identity_name.clone());
            record.credential_id = Some(principal.credential_id.clone());
            record.auth_method = principal.auth_method.as_str();
            record.delegation = principal
                .delegation
                .iter()
                .map(|a| a.subject.as_str())
                .collect::<Vec<_>>()
                .join(">");
            Ok(principal)
        }
        Err(failure) => {
            core.metrics
                .auth_failures
                .get_or_create(&AuthFailureLabels {
                    reason: failure.reason(),
                })
                .inc();
            if let Some(source) = record.source
                && spends_budget(&failure)
            {
                core.auth_limit.failed(source, now_ms());
            }
            Err(Refusal::Unauthenticated(caller_error(&failure, dialect)))
        }
    }
}

/// What a source over its failed-authentication budget is told.
pub fn limited_error(over: OverBudget) -> ApiError {
    ApiError::new(
        ErrorKind::RateLimited,
        format!(
            "too many failed authentications from this address; credentials from it are not \
             checked for {} s",
            over.retry_after
        ),
    )
    .with_code("auth_rate_limited")
    .with_retry_after(over.retry_after)
}

/// What the caller is told, in its dialect: never which part of the
/// credential was wrong beyond expired or invalid.
pub fn caller_error(failure: &AuthFailure, dialect: Dialect) -> ApiError {
    let error = match failure {
        AuthFailure::Missing => {
            let hint = match dialect {
                Dialect::OpenAi => "missing credential: send `Authorization: Bearer <key>`",
                Dialect::Anthropic => "missing credential: send `x-api-key: <key>`",
            };
            ApiError::new(ErrorKind::Authentication, hint)
        }
        AuthFailure::Ambiguous => ApiError::new(
            ErrorKind::Authentication,
            "more than one credential: send one `Authorization: Bearer` or one `x-api-key`",
        ),
        AuthFailure::Certificate(CertRefusal::NoSpiffeId) => ApiError::new(
            ErrorKind::Authentication,
            "the client certificate has no SPIFFE ID (a spiffe:// URI SAN) and no other \
             credential was sent",
        ),
        AuthFailure::Certificate(CertRefusal::Unmapped) => ApiError::new(
            ErrorKind::Authentication,
            "the client certificate's SPIFFE ID maps to no registered identity",
        ),
        AuthFailure::Certificate(CertRefusal::Unavailable) => ApiError::new(
            ErrorKind::Unavailable,
            "the gateway cannot check credentials right now",
        ),
        AuthFailure::Refused(AuthError::Expired) => {
            ApiError::new(ErrorKind::Authentication, "the API key has expired")
        }
        AuthFailure::Refused(AuthError::TokenExpired) => {
            ApiError::new(ErrorKind::Authentication, "the access token has expired")
        }
        AuthFailure::Refused(AuthError::InvalidToken(_) | AuthError::TokenRevoked) => {
            ApiError::new(ErrorKind::Authentication, "invalid access token")
        }
        AuthFailure::Refused(
            AuthError::Malformed(_)
            | AuthError::Unknown
            | AuthError::Revoked
            | AuthError::IdentityDisabled,
        ) => ApiError::new(ErrorKind::Authentication, "invalid API key"),
        AuthFailure::Refused(AuthError::StateStale) => ApiError::new(
            ErrorKind::Unavailable,
            "this gateway replica cannot sync revocations with its store and stopped \
             authenticating; retry, or use another replica",
        ),
        AuthFailure::Refused(_) => ApiError::new(
            ErrorKind::Unavailable,
            "the gateway cannot check credentials right now",
        ),
    };
    error.with_code("invalid_api_key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_learn_expired_or_invalid_and_nothing_more() {
        let missing = caller_error(&AuthFailure::Missing, Dialect::Anthropic);
        assert!(missing.message.contains("x-api-key"));
        assert_eq!(missing.code, Some("invalid_api_key"));
        let expired = caller_error(&AuthFailure::Refused(AuthError::Expired), Dialect::OpenAi);
        assert_eq!(expired.message, "the API key has expired");
        let unknown = caller_error(&AuthFailure::Refused(AuthError::Unknown), Dialect::OpenAi);
        assert_eq!(unknown.message, "invalid API key");
        assert_eq!(unknown.kind, ErrorKind::Authentication);
        let limited = limited_error(OverBudget { retry_after: 7 });
        assert_eq!(
            (limited.kind, limited.retry_after),
            (ErrorKind::RateLimited, Some(7))
        );
    }
}
