//! Why a token request was refused: the RFC 6749 error the caller gets
//! ([`ExchangeError`]) and, beside it, what the log and the audit record
//! say ([`ExchangeRefusal`]: the issuer, the subject, which claim did not
//! match and how). Neither ever holds a presented token.

use crate::error::{AuthError, IdentityError};
use crate::federation::{FederationError, Refused};

/// Why a token request was refused. Never holds a presented token.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request is malformed (`invalid_request`).
    #[error("{0}")]
    InvalidRequest(String),
    /// A presented token or grant is not acceptable (`invalid_grant`).
    #[error("{description}")]
    InvalidGrant {
        /// Fixed label for metrics and logs.
        label: &'static str,
        /// What to tell the client.
        description: String,
    },
    /// The audience or resource is not this gateway (`invalid_target`).
    #[error("the requested audience or resource is not this gateway")]
    InvalidTarget,
    /// The requested scope is malformed (`invalid_scope`).
    #[error("the requested scope is not valid")]
    InvalidScope,
    /// The client credentials were refused (`invalid_client`).
    #[error("client authentication failed")]
    InvalidClient,
    /// A dependency (store, issuer keys) is unavailable.
    #[error("the token service is temporarily unavailable")]
    Unavailable,
}

impl ExchangeError {
    /// The RFC 6749 / RFC 8693 error code.
    pub fn code(&self) -> &'static str {
        match self {
            ExchangeError::InvalidRequest(_) => "invalid_request",
            ExchangeError::InvalidGrant { .. } => "invalid_grant",
            ExchangeError::InvalidTarget => "invalid_target",
            ExchangeError::InvalidScope => "invalid_scope",
            ExchangeError::InvalidClient => "invalid_client",
            ExchangeError::Unavailable => "temporarily_unavailable",
        }
    }

    /// The `error_description`.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// Fixed label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ExchangeError::InvalidGrant { label, .. } => label,
            other => other.code(),
        }
    }

    pub(crate) fn grant(label: &'static str, description: impl Into<String>) -> ExchangeError {
        ExchangeError::InvalidGrant {
            label,
            description: description.into(),
        }
    }
}

impl From<FederationError> for ExchangeError {
    fn from(e: FederationError) -> Self {
        match e.oauth_error() {
            "temporarily_unavailable" => ExchangeError::Unavailable,
            "invalid_request" => ExchangeError::InvalidRequest(e.to_string()),
            _ => ExchangeError::grant(e.label(), e.to_string()),
        }
    }
}

pub(crate) fn from_auth(e: AuthError, what: &str) -> ExchangeError {
    if e.is_client_error() {
        ExchangeError::grant("token_refused", format!("the {what} was refused"))
    } else {
        ExchangeError::Unavailable
    }
}

pub(crate) fn from_identity(e: IdentityError) -> ExchangeError {
    match e {
        IdentityError::IdentityNotFound(_) => {
            ExchangeError::grant("no_identity", "the token maps to no registered identity")
        }
        IdentityError::IdentityNotActive { .. } => {
            ExchangeError::grant("identity_inactive", "the identity is not active")
        }
        IdentityError::Store(_) | IdentityError::Randomness(_) | IdentityError::Corrupt(_) => {
            ExchangeError::Unavailable
        }
        other => ExchangeError::grant("refused", other.to_string()),
    }
}

/// A refused token request: the error, and what the log and the audit
/// record say beside it. Never holds a presented token.
#[derive(Debug)]
pub struct ExchangeRefusal {
    /// The error the caller gets.
    pub error: ExchangeError,
    /// The configured issuer whose token was refused (or that proved the
    /// subject of a later refusal), when known.
    pub issuer: Option<String>,
    /// The subject token's `sub`, once its signature verified.
    pub subject: Option<String>,
    /// The claim that did not match (a name, never a value): the caller's
    /// reason code says it.
    pub claim: Option<String>,
    /// In full, for the log and the audit record only: how the closest
    /// claim rule missed (the claim's value and the rule's pattern).
    pub detail: Option<String>,
}

impl From<ExchangeError> for ExchangeRefusal {
    fn from(error: ExchangeError) -> Self {
        ExchangeRefusal {
            error,
            issuer: None,
            subject: None,
            claim: None,
            detail: None,
        }
    }
}

impl From<Refused> for ExchangeRefusal {
    fn from(refused: Refused) -> Self {
        let issuer = refused.error.issuer().map(str::to_owned);
        let claim = refused.error.claim().map(str::to_owned);
        ExchangeRefusal {
            error: refused.error.into(),
            issuer,
            subject: refused.subject,
            claim,
            detail: refused.detail,
        }
    }
}

impl ExchangeRefusal {
    /// The refusal, told as about the subject `subject` proven by `issuer`
    /// (a refusal after the subject token verified).
    pub(crate) fn about(mut self, issuer: &str, subject: Option<&str>) -> Self {
        self.issuer.get_or_insert_with(|| issuer.to_owned());
        if self.subject.is_none() {
            self.subject = subject.map(str::to_owned);
        }
        self
    }
}
