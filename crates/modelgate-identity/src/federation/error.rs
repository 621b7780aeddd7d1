//! Errors of federation: why a presented token was refused, and why a
//! configuration was refused.
//!
//! A [`FederationError`] never holds the token, any segment of it, or any
//! claim value: only fixed texts and the configured issuer's *name* (an
//! operator-chosen label). It is safe to log and to return to the caller.

/// Why an external token was refused by [`Federation::verify`].
///
/// `issuer` fields hold the configured issuer's name (`[[issuers]].name`),
/// never a value taken from the token.
///
/// [`Federation::verify`]: super::Federation::verify
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FederationError {
    /// The token is longer than the size limit; nothing was parsed.
    #[error("token is larger than {limit} bytes")]
    TooLarge {
        /// The limit that applied, in bytes.
        limit: usize,
    },
    /// The token is not a well-formed compact JWS, its header or payload is
    /// not a JSON object, or a claim has the wrong JSON type.
    #[error("malformed token: {reason}")]
    Malformed {
        /// A fixed description of what is wrong.
        reason: &'static str,
    },
    /// The header's `alg` is not allowed for this issuer (`none` and HMAC
    /// algorithms are never allowed).
    #[error("token algorithm is not allowed")]
    UnsupportedAlgorithm,
    /// The header has a `crit` member; no JWS extension is supported.
    #[error("token header has critical extensions (crit), which are not supported")]
    CriticalHeader,
    /// The token's `iss` is missing or is not a configured issuer.
    #[error("token issuer is not a configured issuer")]
    UnknownIssuer,
    /// The token has no `kid` and the issuer's key set does not have exactly
    /// one key that fits the token's algorithm.
    #[error(
        "issuer {issuer}: token has no key id (kid) and the key set has no single matching key"
    )]
    MissingKeyId {
        /// Configured issuer name.
        issuer: String,
    },
    /// No key of the issuer's key set has the token's `kid`, even after a
    /// refetch (or the refetch was rate limited).
    #[error("issuer {issuer}: token key id (kid) is not in the issuer's key set")]
    UnknownKey {
        /// Configured issuer name.
        issuer: String,
    },
    /// The key named by `kid` does not fit the token's algorithm: wrong key
    /// type or curve, a different JWK `alg`, or a `use`/`key_ops` other than
    /// signature verification.
    #[error(
        "issuer {issuer}: the key named by the token does not fit its algorithm or is not a signing key"
    )]
    KeyMismatch {
        /// Configured issuer name.
        issuer: String,
    },
    /// SPIFFE only: the key named by `kid` is not marked `use: "jwt-svid"`.
    #[error("issuer {issuer}: the key named by the token is not a JWT-SVID key")]
    KeyNotForJwtSvid {
        /// Configured issuer name.
        issuer: String,
    },
    /// The signature does not verify with the selected key.
    #[error("issuer {issuer}: token signature is invalid")]
    BadSignature {
        /// Configured issuer name.
        issuer: String,
    },
    /// `exp` is in the past (beyond the leeway).
    #[error("issuer {issuer}: token has expired")]
    Expired {
        /// Configured issuer name.
        issuer: String,
    },
    /// `nbf` is in the future (beyond the leeway).
    #[error("issuer {issuer}: token is not valid yet")]
    NotYetValid {
        /// Configured issuer name.
        issuer: String,
    },
    /// `iat` is in the future (beyond the leeway).
    #[error("issuer {issuer}: token was issued in the future")]
    IssuedInFuture {
        /// Configured issuer name.
        issuer: String,
    },
    /// `aud` is missing or does not contain the configured audience.
    #[error("issuer {issuer}: token audience does not include this gateway's audience")]
    WrongAudience {
        /// Configured issuer name.
        issuer: String,
    },
    /// A required claim is absent.
    #[error("issuer {issuer}: token has no {claim} claim")]
    MissingClaim {
        /// Configured issuer name.
        issuer: String,
        /// The claim's name (fixed text).
        claim: &'static str,
    },
    /// A claim breaks a rule of the issuer's preset (for example a
    /// Kubernetes `sub` that is not a service account).
    #[error("issuer {issuer}: {reason}")]
    PresetViolation {
        /// Configured issuer name.
        issuer: String,
        /// A fixed description of the broken rule.
        reason: &'static str,
    },
    /// The token is valid but no claim rule of the issuer matches it.
    /// `claim` is the path of the condition that failed in the rule that
    /// came closest (as configured: a name, not the token's value).
    #[error("issuer {issuer}: no claim rule matches the token (claim {claim} does not match)")]
    NoMatchingRule {
        /// Configured issuer name.
        issuer: String,
        /// The claim path (from the configuration) that did not match.
        claim: String,
    },
    /// Claim rules naming different identities match the token.
    #[error("issuer {issuer}: claim rules for different identities match the token")]
    AmbiguousRule {
        /// Configured issuer name.
        issuer: String,
    },
    /// The issuer's keys could not be fetched and none are cached.
    #[error("issuer {issuer}: signing keys are unavailable")]
    JwksUnavailable {
        /// Configured issuer name.
        issuer: String,
    },
}

impl FederationError {
    /// The OAuth 2.0 error code for a token-exchange response:
    /// `invalid_request` when the token cannot be parsed, `temporarily_unavailable`
    /// when the issuer's keys cannot be fetched, `invalid_grant` otherwise.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            FederationError::TooLarge { .. } | FederationError::Malformed { .. } => {
                "invalid_request"
            }
            FederationError::JwksUnavailable { .. } => "temporarily_unavailable",
            _ => "invalid_grant",
        }
    }

    /// A fixed, low-cardinality label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            FederationError::TooLarge { .. } => "too_large",
            FederationError::Malformed { .. } => "malformed",
            FederationError::UnsupportedAlgorithm => "unsupported_algorithm",
            FederationError::CriticalHeader => "critical_header",
            FederationError::UnknownIssuer => "unknown_issuer",
            FederationError::MissingKeyId { .. } => "missing_kid",
            FederationError::UnknownKey { .. } => "unknown_key",
            FederationError::KeyMismatch { .. } => "key_mismatch",
            FederationError::KeyNotForJwtSvid { .. } => "key_not_for_jwt_svid",
            FederationError::BadSignature { .. } => "bad_signature",
            FederationError::Expired { .. } => "expired",
            FederationError::NotYetValid { .. } => "not_yet_valid",
            FederationError::IssuedInFuture { .. } => "issued_in_future",
            FederationError::WrongAudience { .. } => "wrong_audience",
            FederationError::MissingClaim { .. } => "missing_claim",
            FederationError::PresetViolation { .. } => "preset_violation",
            FederationError::NoMatchingRule { .. } => "no_matching_rule",
            FederationError::AmbiguousRule { .. } => "ambiguous_rule",
            FederationError::JwksUnavailable { .. } => "jwks_unavailable",
        }
    }

    /// The configured issuer's name, when the token got as far as naming
    /// one.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            FederationError::MissingKeyId { issuer }
            | FederationError::UnknownKey { issuer }
            | FederationError::KeyMismatch { issuer }
            | FederationError::KeyNotForJwtSvid { issuer }
            | FederationError::BadSignature { issuer }
            | FederationError::Expired { issuer }
            | FederationError::NotYetValid { issuer }
            | FederationError::IssuedInFuture { issuer }
            | FederationError::WrongAudience { issuer }
            | FederationError::MissingClaim { issuer, .. }
            | FederationError::PresetViolation { issuer, .. }
            | FederationError::NoMatchingRule { issuer, .. }
            | FederationError::AmbiguousRule { issuer }
            | FederationError::JwksUnavailable { issuer } => Some(issuer),
            FederationError::TooLarge { .. }
            | FederationError::Malformed { .. }
            | FederationError::UnsupportedAlgorithm
            | FederationError::CriticalHeader
            | FederationError::UnknownIssuer => None,
        }
    }

    /// The claim the refusal is about, when it is about one (a name, never
    /// the token's value): what the caller is told did not match.
    pub fn claim(&self) -> Option<&str> {
        match self {
            FederationError::Expired { .. } => Some("exp"),
            FederationError::NotYetValid { .. } => Some("nbf"),
            FederationError::IssuedInFuture { .. } => Some("iat"),
            FederationError::WrongAudience { .. } => Some("aud"),
            FederationError::MissingClaim { claim, .. } => Some(claim),
            FederationError::NoMatchingRule { claim, .. } => Some(claim),
            _ => None,
        }
    }

    /// Shorthand for [`FederationError::Malformed`].
    pub(crate) fn malformed(reason: &'static str) -> FederationError {
        FederationError::Malformed { reason }
    }
}

/// Why a federation configuration was refused by
/// [`Federation::new`](super::Federation::new). Names the issuer and the
/// field: `issuers[github].rules[0].claims: ...`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FederationConfigError {
    /// One field of one issuer is invalid.
    #[error("issuers[{issuer}].{field}: {reason}")]
    Invalid {
        /// The issuer's name, or its position in the list when the name
        /// itself is invalid.
        issuer: String,
        /// The field path inside the issuer, e.g. `rules[0].claims`.
        field: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// Two issuers share a name or an `iss` value.
    #[error("issuers[{issuer}].{field}: another issuer has the same {field}")]
    Duplicate {
        /// The later issuer's name.
        issuer: String,
        /// `name` or `issuer`.
        field: &'static str,
    },
}

impl FederationConfigError {
    /// Shorthand for [`FederationConfigError::Invalid`].
    pub(crate) fn invalid(
        issuer: &str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> FederationConfigError {
        FederationConfigError::Invalid {
            issuer: issuer.to_owned(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}
