//! Workload-identity federation: validating external JWTs (GitHub Actions
//! OIDC, Kubernetes projected service-account tokens, SPIFFE JWT-SVIDs, any
//! OIDC issuer) and mapping each to exactly one registered identity by claim
//! rules. This is the core of the token-exchange endpoint.
//!
//! JWS is verified here with ring and a strict, minimal parser (no JWT
//! crate). [`Federation::verify`] works in a fixed order, and refuses at the
//! first failure:
//!
//! 1. size limit, before any parsing;
//! 2. compact shape: three unpadded base64url segments;
//! 3. header: a JSON object, `alg` a supported public-key algorithm (so
//!    `none` and `HS*` always fail), no `crit`, `kid` a string if present;
//! 4. payload: a JSON object (unique keys), read only for `iss` to choose the
//!    issuer; then `alg` must be in that issuer's allow-list;
//! 5. key: chosen by `kid` from the issuer's JWKS (refetched once on an
//!    unknown `kid`, rate limited); its type and curve must fit `alg`, its
//!    `alg`/`use`/`key_ops`, if present, must allow it;
//! 6. signature, with ring;
//! 7. claims with strict types: `exp` (required), `nbf`, `iat`, `iss`, `aud`,
//!    `sub` (required), then the preset's checks;
//! 8. claim rules: exactly one identity must match.
//!
//! No error holds the token, a part of it, or a claim value.
//!
//! Configuration (`[[issuers]]` in the gateway's TOML, see [`IssuerSettings`]):
//!
//! ```toml
//! [[issuers]]
//! name = "github"
//! preset = "github_actions"          # issuer defaults to GitHub's
//! audience = "https://modelgate.example.com"
//!
//! [[issuers.rules]]
//! identity = "billing-ci-prod"
//! claims = { sub = "repo:acme/billing:environment:prod", job_workflow_ref = "acme/platform/.github/workflows/deploy.yml@refs/tags/*" }
//!
//! [[issuers]]
//! name = "cluster-a"
//! preset = "kubernetes"
//! issuer = "https://kubernetes.default.svc.cluster.local"
//! audience = "https://modelgate.example.com"
//! jwks_file = "/etc/modelgate/cluster-a-jwks.json"
//!
//! [[issuers.rules]]
//! identity = "payments-api"
//! claims = { sub = "system:serviceaccount:payments:api", "/kubernetes.io/namespace" = "payments" }
//! ```

mod claims;
mod error;
mod issuer;
mod json;
mod jwk;
mod jws;
mod keys;
mod material;
mod preset;
pub(crate) mod replay;
mod rules;
mod source;
mod x509;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

pub use error::{FederationConfigError, FederationError};
pub use issuer::{
    DEFAULT_CACHE_TTL, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_REFRESH_INTERVAL,
    IssuerSettings, MAX_CACHE_TTL, MAX_LEEWAY, MAX_TOKEN_BYTES_RANGE,
};
pub use jwk::{MAX_JWKS_BYTES, MAX_JWKS_KEYS};
pub use jws::Algorithm;
pub use preset::{GITHUB_ACTIONS_ISSUER, Preset};
pub use rules::ClaimRule;
pub use source::JwksSource;
pub use x509::SpiffeId;

use claims::Expectations;
use issuer::{IssuerConfig, JwksLocation};
use jwk::Unfit;
use keys::{KeyCache, KeySet, Selection, select};

/// A verified external token, mapped to one registered identity.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FederatedSubject {
    /// Configured issuer name.
    pub issuer_name: String,
    /// The issuer's `iss`.
    pub issuer: String,
    /// The token's `sub`.
    pub subject: String,
    /// The identity name of the matching rule(s).
    pub identity: String,
    /// The token's `exp` (unix seconds, rounded down).
    pub expires_at: i64,
    /// All claims of the token.
    pub claims: Map<String, Value>,
}

/// A refused external token: the error (safe for the caller) and what the
/// log and the audit record say beside it. Never holds the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why it was refused.
    pub error: FederationError,
    /// The token's `sub`, once its signature verified (never taken from a
    /// token whose signature did not).
    pub subject: Option<String>,
    /// In full: which rule's claim did not match, its value and the
    /// pattern (claim values of a verified token; not for the caller).
    pub detail: Option<String>,
}

impl From<FederationError> for Refused {
    fn from(error: FederationError) -> Self {
        Refused {
            error,
            subject: None,
            detail: None,
        }
    }
}

/// One configured issuer, for `issuer list` and the admin API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IssuerSummary {
    /// Configured name.
    pub name: String,
    /// Preset.
    pub preset: Preset,
    /// Exact `iss`.
    pub issuer: String,
    /// Required audience.
    pub audience: String,
    /// Allowed algorithms, JOSE names.
    pub algorithms: Vec<String>,
    /// Number of claim rules.
    pub rules: usize,
    /// Configured JWKS URL.
    pub jwks_url: Option<String>,
    /// Configured JWKS file.
    pub jwks_file: Option<PathBuf>,
    /// OpenID configuration URL the JWKS URL is discovered from.
    pub discovery_url: Option<String>,
    /// When the JWKS in the cache was loaded (unix seconds), if ever.
    pub keys_loaded_at: Option<i64>,
    /// Usable keys in the cache.
    pub cached_keys: usize,
}

struct Issuer {
    config: IssuerConfig,
    cache: KeyCache,
}

/// The configured issuers and their key caches. `Send + Sync`; share as
/// `Arc<Federation>`.
pub struct Federation {
    issuers: Vec<Issuer>,
    by_iss: HashMap<String, usize>,
    /// The largest `max_token_bytes` of any issuer: the limit before the
    /// issuer is known.
    max_token_bytes: usize,
    source: Arc<dyn JwksSource>,
}

impl fmt::Debug for Federation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .issuers
            .iter()
            .map(|i| i.config.name.as_str())
            .collect();
        f.debug_struct("Federation")
            .field("issuers", &names)
            .finish_non_exhaustive()
    }
}

/// What a key set says about a token's signature.
enum KeyCheck {
    Verified,
    /// No key with the token's `kid`: worth a refetch.
    Missing,
}

impl Federation {
    /// Validates every issuer (no I/O: keys load on first use). Names and
    /// `iss` values must be unique. An empty list is allowed: every token is
    /// then refused with [`FederationError::UnknownIssuer`].
    pub fn new(
        settings: Vec<IssuerSettings>,
        source: Arc<dyn JwksSource>,
    ) -> Result<Federation, FederationConfigError> {
        let mut issuers: Vec<Issuer> = Vec::with_capacity(settings.len());
        let mut by_iss = HashMap::new();
        for (index, s) in settings.iter().enumerate() {
            let config = s.validate(index)?;
            if issuers.iter().any(|i| i.config.name == config.name) {
                return Err(FederationConfigError::Duplicate {
                    issuer: config.name,
                    field: "name",
                });
            }
            if by_iss.insert(config.issuer.clone(), index).is_some() {
                return Err(FederationConfigError::Duplicate {
                    issuer: config.name,
                    field: "issuer",
                });
            }
            issuers.push(Issuer {
                config,
                cache: KeyCache::new(),
            });
        }
        let max_token_bytes = issuers
            .iter()
            .map(|i| i.config.max_token_bytes)
            .max()
            .unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        Ok(Federation {
            issuers,
            by_iss,
            max_token_bytes,
            source,
        })
    }

    /// Verifies `token` at unix time `now` and maps it to an identity. `now`
    /// also drives the JWKS cache (TTL and refetch rate limit).
    pub async fn verify(&self, token: &str, now: i64) -> Result<FederatedSubject, FederationError> {
        self.verify_explained(token, now).await.map_err(|r| r.error)
    }

    /// [`Federation::verify`], a refusal told with the verified token's
    /// subject and, when no claim rule matches, how the closest rule
    /// missed (see [`Refused`]).
    pub async fn verify_explained(
        &self,
        token: &str,
        now: i64,
    ) -> Result<FederatedSubject, Refused> {
        if token.len() > self.max_token_bytes {
            return Err(FederationError::TooLarge {
                limit: self.max_token_bytes,
            }
            .into());
        }
        let jws = jws::parse(token)?;
        let iss = claims::unverified_issuer(&jws.claims)?.ok_or(FederationError::UnknownIssuer)?;
        let issuer = self
            .by_iss
            .get(iss)
            .and_then(|&i| self.issuers.get(i))
            .ok_or(FederationError::UnknownIssuer)?;
        let config = &issuer.config;
        if token.len() > config.max_token_bytes {
            return Err(FederationError::TooLarge {
                limit: config.max_token_bytes,
            }
            .into());
        }
        if !config.algorithms.contains(&jws.header.alg) {
            return Err(FederationError::UnsupportedAlgorithm.into());
        }

        let source = &*self.source;
        let set = issuer.cache.current(config, source, now).await?;
        if let KeyCheck::Missing = check_signature(config, &set, &jws)? {
            let set = issuer
                .cache
                .reload(config, source, now, set.generation())
                .await?;
            if let KeyCheck::Missing = check_signature(config, &set, &jws)? {
                let issuer = config.name.clone();
                return Err(match jws.header.kid {
                    Some(_) => FederationError::UnknownKey { issuer },
                    None => FederationError::MissingKeyId { issuer },
                }
                .into());
            }
        }

        let expect = Expectations {
            name: &config.name,
            issuer: &config.issuer,
            audience: &config.audience,
            leeway: config.leeway,
        };
        // The signature verified: the subject may be told beside a refusal.
        let subject = || match jws.claims.get("sub") {
            Some(Value::String(sub)) => Some(sub.clone()),
            _ => None,
        };
        let refused = |error: FederationError| Refused {
            error,
            subject: subject(),
            detail: None,
        };
        let standard = claims::check(&jws.claims, &expect, now).map_err(refused)?;
        config
            .preset
            .check_claims(&config.name, &jws.claims, &standard.subject)
            .map_err(refused)?;
        let identity =
            rules::resolve(&config.name, &config.rules, &jws.claims).map_err(|error| {
                let detail = matches!(error, FederationError::NoMatchingRule { .. })
                    .then(|| rules::explain(&config.rules, &jws.claims).detail);
                Refused {
                    error,
                    subject: subject(),
                    detail,
                }
            })?;
        tracing::debug!(issuer = %config.name, identity = %identity, "federated token verified");
        Ok(FederatedSubject {
            issuer_name: config.name.clone(),
            issuer: config.issuer.clone(),
            subject: standard.subject,
            identity,
            expires_at: standard.expires_at,
            claims: jws.claims,
        })
    }

    /// The configured issuers, in config order.
    pub fn issuers(&self) -> Vec<IssuerSummary> {
        self.issuers
            .iter()
            .map(|i| {
                let c = &i.config;
                let cached = i.cache.snapshot();
                let (jwks_url, jwks_file, discovery_url) = match &c.location {
                    JwksLocation::Url(url) => (Some(url.clone()), None, None),
                    JwksLocation::File(path) => (None, Some(path.clone()), None),
                    JwksLocation::Discovery(url) => (None, None, Some(url.clone())),
                };
                IssuerSummary {
                    name: c.name.clone(),
                    preset: c.preset,
                    issuer: c.issuer.clone(),
                    audience: c.audience.clone(),
                    algorithms: c.algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
                    rules: c.rules.len(),
                    jwks_url,
                    jwks_file,
                    discovery_url,
                    keys_loaded_at: cached.as_ref().map(|s| s.fetched_at),
                    cached_keys: cached.as_ref().map_or(0, |s| s.keys.len()),
                }
            })
            .collect()
    }
}

/// Chooses the key(s) for `jws` from `set` and verifies the signature.
fn check_signature(
    config: &IssuerConfig,
    set: &KeySet,
    jws: &jws::Compact<'_>,
) -> Result<KeyCheck, FederationError> {
    let issuer = || config.name.clone();
    let alg = jws.header.alg;
    match select(&set.keys, jws.header.kid.as_deref(), alg, config.preset) {
        Selection::Found(keys) => {
            let input = jws.signing_input.as_bytes();
            if keys
                .iter()
                .any(|k| alg.verify(&k.material, input, &jws.signature))
            {
                Ok(KeyCheck::Verified)
            } else {
                Err(FederationError::BadSignature { issuer: issuer() })
            }
        }
        Selection::Missing => Ok(KeyCheck::Missing),
        Selection::NeedKid => Err(FederationError::MissingKeyId { issuer: issuer() }),
        Selection::Unfit(Unfit::Mismatch) => Err(FederationError::KeyMismatch { issuer: issuer() }),
        Selection::Unfit(Unfit::NotJwtSvid) => {
            Err(FederationError::KeyNotForJwtSvid { issuer: issuer() })
        }
    }
}
