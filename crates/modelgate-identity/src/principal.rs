//! The authenticated caller, as the gateway's authenticate stage produces it.

use serde::Serialize;

use modelgate_types::IdentityKind;

/// How the caller proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// A long-lived (but expiring) `mgk_` API key.
    ApiKey,
    /// A short-lived gateway access token (a JWT signed by the gateway).
    AccessToken,
    /// A client certificate (an X.509-SVID) verified by the listener's TLS
    /// handshake against `[server.tls] client_ca`.
    Mtls,
}

impl AuthMethod {
    /// The spelling used in logs and audit records (`api_key`,
    /// `access_token`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ApiKey => "api_key",
            AuthMethod::AccessToken => "access_token",
            AuthMethod::Mtls => "mtls",
        }
    }
}

/// One link of a delegation chain: a party acting on the principal's behalf
/// (from a token's `act` claim, RFC 8693 §4.1). Empty for API keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The actor's subject (an identity name or an external subject).
    pub subject: String,
}

/// An authenticated caller: the identity, the credential it used, and any
/// delegation chain. Holds no secret, so it can be logged and audited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The identity's id (`idn_...`).
    pub identity_id: String,
    /// The identity's name.
    pub identity_name: String,
    /// The identity's kind.
    pub kind: IdentityKind,
    /// Who answers for the identity.
    pub owner: String,
    /// The identity's environment.
    pub environment: String,
    /// The credential used: an API key id (`key_...`) or an access token's
    /// `jti`.
    pub credential_id: String,
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// Actors in the delegation chain, outermost first: the first is the
    /// current actor (the token's top-level `act`), each next one the actor
    /// before it (the `act` nested inside). Empty for API keys.
    pub delegation: Vec<Actor>,
    /// The access token's `scope` (space-separated), if it had one. `None`
    /// for API keys.
    pub scope: Option<String>,
}
