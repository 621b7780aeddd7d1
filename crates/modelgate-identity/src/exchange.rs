//! Token exchange (RFC 8693) and the `client_credentials` grant: a proof of
//! workload identity (a federated JWT, a gateway access token, or an API
//! key) becomes a short-lived gateway access token for exactly one
//! registered identity, carrying the delegation chain when an actor acts
//! for the subject.
//!
//! A token exchanged from a gateway access token joins that token's family
//! and never outlives it (nor an actor's gateway token); every token issued
//! is recorded in the store. A federated token's `jti` is accepted once per
//! issuer while the token lives (replays are refused on every replica).
//!
//! Transport-free: the gateway parses the HTTP form and renders the RFC 6749
//! error; this module decides.

use std::sync::Arc;

pub use crate::exchange_error::{ExchangeError, ExchangeRefusal};
use crate::exchange_error::{from_auth, from_identity};
use crate::federation::replay::{Replay, check_replay};
use crate::federation::{FederatedSubject, Federation};
use crate::principal::{Actor, Principal};
use crate::service::IdentityService;
use crate::tokens::{AccessTokenSecret, AccessTokens, Lineage, looks_like_jwt};

/// Token type URIs (RFC 8693 §3).
pub mod token_type {
    /// An OAuth access token (here: a gateway access token).
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// A JWT (a workload identity token).
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
    /// An OpenID Connect ID token.
    pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
}

/// Longest delegation chain accepted (actors in `act`).
pub const MAX_DELEGATION_DEPTH: usize = 4;

/// A token request, as parsed from the form.
#[derive(Debug)]
pub enum ExchangeRequest {
    /// `urn:ietf:params:oauth:grant-type:token-exchange`.
    TokenExchange {
        /// The token of the party the new token is for.
        subject_token: String,
        /// Its type URI.
        subject_token_type: String,
        /// The acting party's token and its type, for delegation.
        actor: Option<(String, String)>,
        /// Requested audiences (must name this gateway).
        audiences: Vec<String>,
        /// Requested resources (must name this gateway).
        resources: Vec<String>,
        /// Requested scope.
        scope: Option<String>,
        /// Requested token type (only access tokens are issued).
        requested_token_type: Option<String>,
    },
    /// `client_credentials` with an API key as the client secret.
    ClientCredentials {
        /// The presented `mgk_` key.
        api_key: String,
        /// Requested scope.
        scope: Option<String>,
    },
}

/// A token issued.
#[derive(Debug)]
pub struct Exchanged {
    /// The access token (printed redacted).
    pub token: AccessTokenSecret,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Scope granted.
    pub scope: Option<String>,
    /// Identity it names.
    pub identity: String,
    /// Its id.
    pub jti: String,
    /// Actors acting for the identity, outermost first.
    pub delegation: Vec<Actor>,
    /// What proved the subject: an issuer name, `access_token` or `api_key`.
    pub via: String,
    /// The external token's `sub` when an issuer proved it (an identifier,
    /// not a secret), for the audit log.
    pub subject: Option<String>,
}

/// Scope: space-separated tokens of printable ASCII without `"` or `\`
/// (RFC 6749 §3.3), at most 1 KiB.
fn valid_scope(scope: &str) -> bool {
    scope.len() <= 1024
        && scope.split(' ').all(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
        })
}

/// The token-exchange service.
pub struct TokenExchange {
    identity: IdentityService,
    tokens: AccessTokens,
    federation: Arc<Federation>,
    targets: Vec<String>,
}

/// Who a presented token proves.
struct Proven {
    identity: String,
    chain: Vec<Actor>,
    via: String,
    subject: Option<String>,
    /// A gateway access token's family and `exp`, which bound a token
    /// exchanged from it.
    lineage: Option<Lineage>,
}

impl TokenExchange {
    /// A service minting with `tokens` for identities of `identity`,
    /// trusting `federation`'s issuers. `targets` are the audience and
    /// resource values that name this gateway.
    pub fn new(
        identity: IdentityService,
        tokens: AccessTokens,
        federation: Arc<Federation>,
        targets: Vec<String>,
    ) -> Self {
        Self {
            identity,
            tokens,
            federation,
            targets,
        }
    }

    /// The trusted issuers.
    pub fn federation(&self) -> &Federation {
        &self.federation
    }

    /// Proves who `token` of `token_type` names.
    async fn prove(
        &self,
        token: &str,
        token_type: &str,
        now: i64,
    ) -> Result<Proven, ExchangeRefusal> {
        match token_type {
            token_type::ACCESS_TOKEN if looks_like_jwt(token) => {
                let (principal, lineage): (Principal, Lineage) = self
                    .tokens
                    .verify_lineage(token, now)
                    .map_err(|e| from_auth(e, "access token"))?;
                if lineage.not_after <= now {
                    return Err(
                        ExchangeError::grant("token_expired", "the access token has expired")
                            .into(),
                    );
                }
                Ok(Proven {
                    identity: principal.identity_name,
                    chain: principal.delegation,
                    via: "access_token".to_owned(),
                    subject: None,
                    lineage: Some(lineage),
                })
            }
            token_type::JWT | token_type::ID_TOKEN => {
                let subject = self.federation.verify_explained(token, now).await?;
                self.refuse_replay(&subject, now).await.map_err(|e| {
                    ExchangeRefusal::from(e).about(&subject.issuer_name, Some(&subject.subject))
                })?;
                Ok(Proven {
                    identity: subject.identity,
                    chain: Vec::new(),
                    via: subject.issuer_name,
                    subject: Some(subject.subject),
                    lineage: None,
                })
            }
            token_type::ACCESS_TOKEN => {
                Err(ExchangeError::grant("token_refused", "the access token was refused").into())
            }
            _ => Err(ExchangeError::InvalidRequest(
                "unsupported token type: use urn:ietf:params:oauth:token-type:jwt, id_token or access_token"
                    .to_owned(),
            )
            .into()),
        }
    }

    /// Refuses a federated token whose `jti` this issuer's tokens already
    /// used (on any replica) while its record is current, and a malformed
    /// `jti`; records a fresh one (see [`crate::federation::replay`]).
    async fn refuse_replay(
        &self,
        subject: &FederatedSubject,
        now: i64,
    ) -> Result<(), ExchangeError> {
        match check_replay(self.identity.store(), subject, now).await {
            Ok(Replay::NoJti | Replay::Fresh) => Ok(()),
            Ok(Replay::Malformed) => Err(ExchangeError::grant(
                "malformed_jti",
                "the subject token's jti is not a string of 1 to 255 characters",
            )),
            Ok(Replay::Replayed) => {
                tracing::warn!(issuer = %subject.issuer_name, "replayed subject token refused");
                Err(ExchangeError::grant(
                    "replayed",
                    "the subject token was already exchanged (its jti was seen before)",
                ))
            }
            Err(_) => Err(ExchangeError::Unavailable),
        }
    }

    /// Decides a token request. A refusal carries, beside the error, the
    /// issuer and subject of a federated subject token and which claim did
    /// not match ([`ExchangeRefusal`]).
    pub async fn exchange(
        &self,
        request: ExchangeRequest,
        now: i64,
    ) -> Result<Exchanged, ExchangeRefusal> {
        let (proven, scope) = match request {
            ExchangeRequest::ClientCredentials { api_key, scope } => {
                let principal = self
                    .identity
                    .authenticate_api_key(&api_key, now)
                    .await
                    .map_err(|e| {
                        if e.is_client_error() {
                            ExchangeError::InvalidClient
                        } else {
                            ExchangeError::Unavailable
                        }
                    })?;
                let proven = Proven {
                    identity: principal.identity_name,
                    chain: Vec::new(),
                    via: "api_key".to_owned(),
                    subject: None,
                    lineage: None,
                };
                (proven, scope)
            }
            ExchangeRequest::TokenExchange {
                subject_token,
                subject_token_type,
                actor,
                audiences,
                resources,
                scope,
                requested_token_type,
            } => {
                if let Some(requested) = &requested_token_type
                    && requested != token_type::ACCESS_TOKEN
                    && requested != token_type::JWT
                {
                    return Err(ExchangeError::InvalidRequest(
                        "only access tokens are issued".to_owned(),
                    )
                    .into());
                }
                if audiences
                    .iter()
                    .chain(&resources)
                    .any(|t| !self.targets.contains(t))
                {
                    return Err(ExchangeError::InvalidTarget.into());
                }
                let mut subject = self.prove(&subject_token, &subject_token_type, now).await?;
                if let Some((actor_token, actor_type)) = actor {
                    let actor = self.prove(&actor_token, &actor_type, now).await?;
                    // The new actor is outermost; earlier actors follow
                    // (RFC 8693 §4.1: the nested `act` is the prior chain).
                    let mut chain = vec![Actor {
                        subject: actor.identity,
                    }];
                    chain.append(&mut subject.chain);
                    subject.chain = chain;
                    // Nor may it outlive the actor's gateway token.
                    if let Some(bound) = actor.lineage {
                        subject.lineage = Some(match subject.lineage.take() {
                            Some(lineage) => lineage.bounded_by(bound.not_after),
                            None => Lineage {
                                family: None,
                                not_after: bound.not_after,
                            },
                        });
                    }
                }
                (subject, scope)
            }
        };
        // What a refusal from here on says about a federated subject.
        let about = |error: ExchangeError| {
            let refusal = ExchangeRefusal::from(error);
            match &proven.subject {
                Some(subject) => refusal.about(&proven.via, Some(subject)),
                None => refusal,
            }
        };
        if proven.chain.len() > MAX_DELEGATION_DEPTH {
            return Err(about(ExchangeError::InvalidRequest(format!(
                "delegation chains are limited to {MAX_DELEGATION_DEPTH} actors"
            ))));
        }
        if let Some(scope) = &scope
            && !valid_scope(scope)
        {
            return Err(about(ExchangeError::InvalidScope));
        }
        let identity = self
            .identity
            .identity(&proven.identity)
            .await
            .map_err(|e| about(from_identity(e)))?;
        if !identity.is_active() {
            return Err(about(ExchangeError::grant(
                "identity_inactive",
                "the identity is not active",
            )));
        }
        let minted = self
            .tokens
            .issue(
                &identity,
                scope.as_deref(),
                &proven.chain,
                proven.lineage.as_ref(),
                now,
            )
            .await
            .map_err(|e| about(from_identity(e)))?;
        Ok(Exchanged {
            expires_in: minted.lifetime_secs,
            jti: minted.jti,
            token: minted.token,
            scope,
            identity: identity.name,
            delegation: proven.chain,
            via: proven.via,
            subject: proven.subject,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_syntax() {
        assert!(valid_scope("models:read chat"));
        assert!(!valid_scope("a  b"));
        assert!(!valid_scope("quote\"d"));
        assert!(!valid_scope(""));
    }
}
