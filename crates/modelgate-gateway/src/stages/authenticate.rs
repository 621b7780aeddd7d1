//! The authenticate stage: the caller's bearer credential becomes a
//! [`Principal`], or the request ends here with 401 in the caller's dialect
//! (503 when credentials cannot be checked). Nothing about the presented
//! credential is echoed or logged; the failure's reason is counted in
//! `modelgate_auth_failures_total`.

use http::HeaderMap;
use modelgate_core::metrics::AuthFailureLabels;
use modelgate_core::{AuthFailure, Core};
use modelgate_identity::{AuthError, Principal};
use modelgate_types::Dialect;

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
    match core.authenticate(headers, dialect).await {
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
            Err(Refusal::Unauthenticated(caller_error(&failure, dialect)))
        }
    }
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
    }
}
