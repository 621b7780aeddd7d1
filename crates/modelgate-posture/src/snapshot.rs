//! The input: a point-in-time snapshot of identities, credentials,
//! entitlements, issuers, upstreams and audit-log usage aggregates.
//!
//! The caller fills it from the store and the audit log (or loads it from a
//! JSON fixture). Times are Unix seconds (UTC). Nothing here holds a secret
//! value: credentials are described by id and metadata only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use modelgate_types::{Deployment, IdentityStatus, Isolation};

pub use crate::entitlement::{Entitlement, EntitlementKind};
pub use crate::signals::{Controls, LeakedKey};
pub use crate::time::UnixSeconds;

use crate::review::Review;

/// Everything the posture checks look at, as of [`PostureSnapshot::now`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureSnapshot {
    /// The time the snapshot describes; every age is measured from it.
    pub now: UnixSeconds,
    /// Registered non-human identities.
    #[serde(default)]
    pub identities: Vec<IdentityRecord>,
    /// API keys, access tokens and federated credentials.
    #[serde(default)]
    pub credentials: Vec<CredentialRecord>,
    /// Roles and model grants held by identities.
    #[serde(default)]
    pub entitlements: Vec<Entitlement>,
    /// Trusted workload-identity issuers and their claim rules.
    #[serde(default)]
    pub issuers: Vec<IssuerRecord>,
    /// Model upstreams.
    #[serde(default)]
    pub upstreams: Vec<UpstreamRecord>,
    /// Per-identity aggregates from the audit log.
    #[serde(default)]
    pub usage: Vec<IdentityUsage>,
    /// Access reviews (open or closed); overdue items become findings.
    #[serde(default)]
    pub reviews: Vec<Review>,
    /// modelgate keys found in prompts, with their owners.
    #[serde(default)]
    pub leaked_keys: Vec<LeakedKey>,
    /// Screening controls in force.
    #[serde(default)]
    pub controls: Controls,
}

impl PostureSnapshot {
    /// The identity with this id.
    pub fn identity(&self, id: &str) -> Option<&IdentityRecord> {
        self.identities.iter().find(|i| i.id == id)
    }

    /// The usage aggregate of this identity, if it made any request.
    pub fn usage_of(&self, identity_id: &str) -> Option<&IdentityUsage> {
        self.usage.iter().find(|u| u.identity == identity_id)
    }

    /// The upstream with this name.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamRecord> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// Credentials of one identity.
    pub fn credentials_of<'a>(
        &'a self,
        identity_id: &'a str,
    ) -> impl Iterator<Item = &'a CredentialRecord> + 'a {
        self.credentials
            .iter()
            .filter(move |c| c.identity == identity_id)
    }

    /// Entitlements of one identity.
    pub fn entitlements_of<'a>(
        &'a self,
        identity_id: &'a str,
    ) -> impl Iterator<Item = &'a Entitlement> + 'a {
        self.entitlements
            .iter()
            .filter(move |e| e.identity == identity_id)
    }
}

/// One registered non-human identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityRecord {
    /// Stable id (`id_...`).
    pub id: String,
    /// Unique name, as the CLI takes it.
    pub name: String,
    /// `service`, `ci_job`, `agent`, `retrieval`, `tool`.
    pub kind: String,
    /// Accountable person or team; `None` or empty when missing.
    #[serde(default)]
    pub owner: Option<String>,
    /// The owner has left (from the HR or directory feed).
    #[serde(default)]
    pub owner_departed: bool,
    /// The one environment it lives in (`dev`, `staging`, `prod`, ...).
    pub environment: String,
    /// Lifecycle state.
    pub status: IdentityStatus,
    /// When it was registered.
    pub created_at: UnixSeconds,
    /// Last authenticated request, if any.
    #[serde(default)]
    pub last_used_at: Option<UnixSeconds>,
}

impl IdentityRecord {
    /// The owner, if present and not blank.
    pub fn owner(&self) -> Option<&str> {
        self.owner
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
    }
}

/// Type of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// A long-lived `mgk_` API key.
    ApiKey,
    /// A gateway access token (minutes).
    AccessToken,
    /// A federated workload-identity binding (token exchange).
    Federated,
}

impl CredentialType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::ApiKey => "api_key",
            CredentialType::AccessToken => "access_token",
            CredentialType::Federated => "federated",
        }
    }
}

/// A credential's metadata (never its value).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialRecord {
    /// Credential id (`key_...`, a token `jti`, or a federation binding id).
    pub id: String,
    /// Id of the identity it authenticates.
    pub identity: String,
    /// Its type.
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// When it was issued.
    pub created_at: UnixSeconds,
    /// When it stops working; `None` means never.
    #[serde(default)]
    pub expires_at: Option<UnixSeconds>,
    /// Last successful use.
    #[serde(default)]
    pub last_used_at: Option<UnixSeconds>,
    /// Revoked (no longer accepted).
    #[serde(default)]
    pub revoked: bool,
    /// An API key sent to data-plane routes rather than only to the token endpoint.
    #[serde(default)]
    pub used_outside_token_endpoint: bool,
}

impl CredentialRecord {
    /// Accepted at `now`: not revoked and not expired.
    pub fn is_live(&self, now: UnixSeconds) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A trusted workload-identity issuer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerRecord {
    /// The issuer's configured name.
    pub name: String,
    /// `github_actions`, `kubernetes`, `spiffe` or `oidc`.
    pub preset: String,
    /// Its claim rules, each naming the identity a match is minted for.
    #[serde(default)]
    pub rules: Vec<ClaimRule>,
}

/// One `[[issuers.rules]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// Name of the identity the rule maps to.
    pub identity: String,
    /// Claim path → pattern (exact, or a glob with `*`).
    #[serde(default)]
    pub claims: BTreeMap<String, String>,
}

/// A model upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamRecord {
    /// Unique name.
    pub name: String,
    /// `openai`, `anthropic`, `azure_openai`.
    pub kind: String,
    /// Hosted or self-hosted.
    pub deployment: Deployment,
    /// Where it processes data.
    pub region: String,
    /// The provider's stated prompt retention in days (0 = none).
    #[serde(default)]
    pub retention_days: u32,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// The environment it serves (`dev`, `staging`, `prod`, ...).
    pub environment: String,
    /// Who owns what for this upstream.
    #[serde(default)]
    pub ownership: Ownership,
    /// The data classes its `max_data_class` admits (lowest first), when
    /// it has that ceiling; `None` when it takes every class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admits_data_classes: Option<Vec<String>>,
}

/// Named owners and the credential rotation policy of an upstream.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    /// Who patches the model server or tracks the provider's changes.
    #[serde(default)]
    pub patching: Option<String>,
    /// Who answers incidents on this path.
    #[serde(default)]
    pub incident_response: Option<String>,
    /// Who retires the path and its credentials.
    #[serde(default)]
    pub offboarding: Option<String>,
    /// Days between rotations of the upstream credential.
    #[serde(default)]
    pub rotation_days: Option<u32>,
}

/// What the audit log says one identity did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityUsage {
    /// Id of the identity.
    pub identity: String,
    /// Requests in the window.
    #[serde(default)]
    pub requests: u64,
    /// Last request seen.
    #[serde(default)]
    pub last_activity_at: Option<UnixSeconds>,
    /// Upstreams reached.
    #[serde(default)]
    pub upstreams: Vec<UpstreamUse>,
    /// Screening findings in its prompts, by kind.
    #[serde(default)]
    pub screen_findings: Vec<ScreenCount>,
    /// Distinct federation subjects it was minted for.
    #[serde(default)]
    pub federation_subjects: Vec<SubjectUse>,
    /// Distinct client addresses.
    #[serde(default)]
    pub client_addresses: Vec<Observed>,
    /// Distinct User-Agent values.
    #[serde(default)]
    pub user_agents: Vec<Observed>,
    /// Distinct browser `Origin` headers.
    #[serde(default)]
    pub browser_origins: Vec<Observed>,
    /// Requests per UTC hour of day (24 buckets; shorter is padded with 0).
    #[serde(default)]
    pub hourly_activity: Vec<u64>,
}

/// Requests from one identity to one upstream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamUse {
    /// Upstream name.
    pub upstream: String,
    /// The upstream's environment when the requests were made.
    pub environment: String,
    /// Data classes of the prompts sent (`public`, `internal`, `confidential`, ...).
    #[serde(default)]
    pub data_classes: Vec<String>,
    /// Number of requests.
    #[serde(default)]
    pub requests: u64,
    /// Some audit record ids, for evidence.
    #[serde(default)]
    pub record_ids: Vec<String>,
}

/// Screening findings of one kind in an identity's prompts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenCount {
    /// Detector kind (`modelgate_api_key`, `aws_access_key_id`, `email`, ...).
    pub kind: String,
    /// `credential`, `personal_data` or `custom`.
    pub category: String,
    /// Requests that carried it.
    pub requests: u64,
    /// Some audit record ids, for evidence.
    #[serde(default)]
    pub record_ids: Vec<String>,
}

/// A federation subject an identity's tokens were minted for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectUse {
    /// Issuer name.
    pub issuer: String,
    /// The external token's `sub`.
    pub subject: String,
    /// Environment the subject belongs to, when known (GitHub environment,
    /// namespace label).
    #[serde(default)]
    pub environment: Option<String>,
    /// Exchanges seen.
    #[serde(default)]
    pub count: u64,
    /// Some audit record ids, for evidence.
    #[serde(default)]
    pub record_ids: Vec<String>,
}

/// A distinct value seen in requests (address, user agent, origin).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// The value.
    pub value: String,
    /// Requests carrying it.
    #[serde(default)]
    pub count: u64,
    /// Some audit record ids, for evidence.
    #[serde(default)]
    pub record_ids: Vec<String>,
}
