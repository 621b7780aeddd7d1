//! The authenticate stage: the caller's bearer credential becomes a
//! [`Principal`], or the request ends here with 401 in the caller's dialect.
//! Nothing about the presented credential is echoed or logged.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use modelgate_identity::{AccessTokens, AuthError, IdentityService, Principal, looks_like_jwt};

use crate::dialect::{ApiError, Dialect, ErrorKind};

/// Why authentication failed, as a fixed metric label.
fn reason(error: &AuthError) -> &'static str {
    match error {
        AuthError::Malformed(_) => "malformed",
        AuthError::Unknown => "unknown",
        AuthError::Expired => "expired",
        AuthError::Revoked => "revoked",
        AuthError::IdentityDisabled => "identity_disabled",
        AuthError::InvalidToken(_) => "invalid_token",
        AuthError::TokenExpired => "token_expired",
        AuthError::TokenRevoked => "token_revoked",
        _ => "store",
    }
}

/// The credential the caller presented: `Authorization: Bearer` or, for the
/// Anthropic dialect, `x-api-key` (either is accepted on either route).
pub fn presented(headers: &HeaderMap, dialect: Dialect) -> Option<&str> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match dialect {
        Dialect::Anthropic => api_key.or(bearer),
        Dialect::OpenAi => bearer.or(api_key),
    }
    .filter(|t| !t.is_empty())
}

/// Authenticates the request, or says why not (label, caller-facing error).
/// A bearer shaped like a JWT is verified as a gateway access token in
/// memory; anything else is looked up as an API key.
pub async fn authenticate(
    identity: &IdentityService,
    tokens: &AccessTokens,
    headers: &HeaderMap,
    dialect: Dialect,
    now: i64,
) -> Result<Principal, (&'static str, ApiError)> {
    let Some(token) = presented(headers, dialect) else {
        let hint = match dialect {
            Dialect::OpenAi => "missing credential: send `Authorization: Bearer <key>`",
            Dialect::Anthropic => "missing credential: send `x-api-key: <key>`",
        };
        return Err((
            "missing",
            ApiError::new(ErrorKind::Authentication, hint).with_code("invalid_api_key"),
        ));
    };
    let result = if looks_like_jwt(token) {
        tokens.verify(token, now)
    } else {
        identity.authenticate_api_key(token, now).await
    };
    result.map_err(|e| {
        let label = reason(&e);
        let error = match e {
            AuthError::Expired => {
                ApiError::new(ErrorKind::Authentication, "the API key has expired")
            }
            AuthError::TokenExpired => {
                ApiError::new(ErrorKind::Authentication, "the access token has expired")
            }
            AuthError::InvalidToken(_) | AuthError::TokenRevoked => {
                ApiError::new(ErrorKind::Authentication, "invalid access token")
            }
            AuthError::Malformed(_)
            | AuthError::Unknown
            | AuthError::Revoked
            | AuthError::IdentityDisabled => {
                ApiError::new(ErrorKind::Authentication, "invalid API key")
            }
            _ => {
                tracing::error!(error = %e, "credential lookup failed");
                ApiError::new(
                    ErrorKind::Unavailable,
                    "the gateway cannot check credentials right now",
                )
            }
        };
        (label, error.with_code("invalid_api_key"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn presented_credential_by_dialect() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h, Dialect::OpenAi), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert("x-api-key", HeaderValue::from_static("xyz"));
        assert_eq!(presented(&h, Dialect::Anthropic), Some("xyz"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("abc"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&h, Dialect::OpenAi), Some("xyz"));
    }
}
