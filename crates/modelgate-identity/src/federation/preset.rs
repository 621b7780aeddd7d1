//! Issuer presets: the defaults and extra claim checks of each kind of
//! workload-identity issuer.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::FederationError;
use super::jws::Algorithm;

/// The GitHub Actions OIDC issuer.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// What kind of issuer an `[[issuers]]` entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// GitHub Actions OIDC tokens.
    GithubActions,
    /// Kubernetes projected service-account tokens.
    Kubernetes,
    /// SPIFFE JWT-SVIDs.
    Spiffe,
    /// Any other OpenID Connect issuer.
    Oidc,
}

impl Preset {
    /// The config spelling (`github_actions`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::GithubActions => "github_actions",
            Preset::Kubernetes => "kubernetes",
            Preset::Spiffe => "spiffe",
            Preset::Oidc => "oidc",
        }
    }

    /// The `iss` used when the config sets none (GitHub Actions only).
    pub fn default_issuer(self) -> Option<&'static str> {
        match self {
            Preset::GithubActions => Some(GITHUB_ACTIONS_ISSUER),
            Preset::Kubernetes | Preset::Spiffe | Preset::Oidc => None,
        }
    }

    /// The algorithm allow-list used when the config sets none.
    pub fn default_algorithms(self) -> &'static [Algorithm] {
        match self {
            Preset::GithubActions => &[Algorithm::Rs256],
            Preset::Kubernetes | Preset::Oidc => &[Algorithm::Rs256, Algorithm::Es256],
            Preset::Spiffe => &[
                Algorithm::Rs256,
                Algorithm::Rs384,
                Algorithm::Rs512,
                Algorithm::Es256,
                Algorithm::Es384,
                Algorithm::Ps256,
                Algorithm::Ps384,
                Algorithm::Ps512,
            ],
        }
    }

    /// Whether the preset may be configured with `alg` at all (SPIFFE
    /// JWT-SVIDs are RS/ES/PS only).
    pub(crate) fn permits(self, alg: Algorithm) -> bool {
        !(self == Preset::Spiffe && alg == Algorithm::EdDsa)
    }

    /// Whether every token of this preset must carry a `kid` (SPIFFE
    /// JWT-SVIDs must).
    pub(crate) fn requires_kid(self) -> bool {
        self == Preset::Spiffe
    }

    /// The preset's checks on a signature-verified token whose standard
    /// claims are already checked; `sub` is the token's subject.
    pub(crate) fn check_claims(
        self,
        issuer: &str,
        claims: &Map<String, Value>,
        sub: &str,
    ) -> Result<(), FederationError> {
        let violation = |reason| FederationError::PresetViolation {
            issuer: issuer.to_owned(),
            reason,
        };
        match self {
            Preset::GithubActions => {
                for name in GITHUB_STRING_CLAIMS {
                    if claims.get(name).is_some_and(|v| !v.is_string()) {
                        return Err(FederationError::malformed(
                            "a GitHub Actions claim that must be a string is not",
                        ));
                    }
                }
                Ok(())
            }
            Preset::Kubernetes => match sub.strip_prefix("system:serviceaccount:") {
                Some(rest)
                    if rest.split(':').count() == 2 && !rest.split(':').any(str::is_empty) =>
                {
                    Ok(())
                }
                _ => Err(violation("sub is not system:serviceaccount:NAMESPACE:NAME")),
            },
            Preset::Spiffe => match sub.strip_prefix("spiffe://") {
                Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
                _ => Err(violation(
                    "sub is not a SPIFFE ID (spiffe://TRUST_DOMAIN/...)",
                )),
            },
            Preset::Oidc => Ok(()),
        }
    }
}

/// GitHub Actions claims that rules commonly match on: if present, each must
/// be a string (a number or object in their place is refused, not matched
/// as text).
const GITHUB_STRING_CLAIMS: [&str; 14] = [
    "repository",
    "repository_owner",
    "repository_id",
    "repository_owner_id",
    "ref",
    "ref_type",
    "environment",
    "job_workflow_ref",
    "job_workflow_sha",
    "workflow_ref",
    "workflow",
    "actor",
    "event_name",
    "runner_environment",
];

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
