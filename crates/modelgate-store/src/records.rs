//! Plain records as the store reads and writes them.
//!
//! Records carry strings and integers only; the identity crate owns their
//! meaning (kinds, statuses, validation). Times are unix seconds.

use std::fmt;

/// A non-human identity as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    /// Random identifier (`idn_...`), primary key.
    pub id: String,
    /// Unique human-chosen name.
    pub name: String,
    /// Kind of workload (`service`, `ci_job`, ...).
    pub kind: String,
    /// Who answers for this identity (a team or a person).
    pub owner: String,
    /// Deployment environment (`prod`, `staging`, ...).
    pub environment: String,
    /// Why the identity exists.
    pub purpose: String,
    /// Lifecycle status (`active`, `disabled`, `offboarded`).
    pub status: String,
    /// When the identity was created.
    pub created_at: i64,
    /// When one of its credentials was last used, if ever.
    pub last_used_at: Option<i64>,
}

/// An API key as stored: its hash, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Random identifier (`key_...`), primary key.
    pub id: String,
    /// The identity holding the key.
    pub identity_id: String,
    /// Optional free-form label.
    pub label: Option<String>,
    /// A recognisable, non-secret hint such as `mgk_…AbCd`.
    pub hint: String,
    /// SHA-256 of the full key. Unique.
    pub key_hash: [u8; 32],
    /// When the key was issued.
    pub created_at: i64,
    /// When the key stops working.
    pub expires_at: i64,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// When the key was last used, if ever.
    pub last_used_at: Option<i64>,
    /// The key that replaced this one when it was rotated, if it was.
    pub replaced_by: Option<String>,
}

impl fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("id", &self.id)
            .field("identity_id", &self.identity_id)
            .field("label", &self.label)
            .field("hint", &self.hint)
            .field("key_hash", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .field("replaced_by", &self.replaced_by)
            .finish()
    }
}

/// A token signing key as stored: the public half in the clear, the private
/// half sealed (encrypted) by the caller. The store never sees a plaintext
/// private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id, as published in JWKS and token headers. Primary key.
    pub kid: String,
    /// Signature algorithm (`EdDSA`).
    pub algorithm: String,
    /// The public key bytes.
    pub public_key: Vec<u8>,
    /// The private key, encrypted with the key-encryption key.
    pub sealed_private_key: Vec<u8>,
    /// When the key was created.
    pub created_at: i64,
    /// `active` (signs), `previous` (verifies until `verify_until`) or
    /// `retired` (neither).
    pub state: String,
    /// For a `previous` key: until when tokens it signed are accepted.
    pub verify_until: Option<i64>,
}

impl fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("sealed_private_key", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("state", &self.state)
            .field("verify_until", &self.verify_until)
            .finish_non_exhaustive()
    }
}

/// A revoked access token, kept until the token would have expired anyway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedTokenRecord {
    /// The token's `jti`. Primary key.
    pub jti: String,
    /// The identity the token was issued to (its `sub`).
    pub identity_id: String,
    /// The token's `exp`: after this the row can be pruned.
    pub expires_at: i64,
    /// When it was revoked.
    pub revoked_at: i64,
}

/// What offboarding an identity changed, all in one transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OffboardSummary {
    /// The identity's status before (`active`, `disabled` or `offboarded`).
    pub previous_status: String,
    /// API keys that were still unrevoked and are now revoked.
    pub keys_revoked: u64,
    /// Grants that were pending or active and are now revoked.
    pub grants_revoked: u64,
    /// Standing role assignments that were removed.
    pub roles_removed: u64,
}

impl OffboardSummary {
    /// A summary with no grant or role changes (for backends and tests).
    pub fn new(previous_status: String, keys_revoked: u64) -> OffboardSummary {
        OffboardSummary {
            previous_status,
            keys_revoked,
            grants_revoked: 0,
            roles_removed: 0,
        }
    }
}

/// A standing role assignment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleAssignmentRecord {
    /// The identity holding the role. With `role`, the primary key.
    pub identity_id: String,
    /// The role's name (defined in configuration, not in the store).
    pub role: String,
    /// When it was assigned (or last changed).
    pub assigned_at: i64,
    /// When it stops, if it does (`until <= now` means it has stopped).
    pub until: Option<i64>,
    /// Who assigned it.
    pub assigned_by: String,
}

/// A just-in-time grant as stored. Its state is what was last written;
/// whether it has expired is computed from time by the identity crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    /// Random identifier (`grt_...`), primary key.
    pub id: String,
    /// The identity that would hold the role.
    pub identity_id: String,
    /// The role asked for.
    pub role: String,
    /// Who asked (the identity, its owner, or an admin).
    pub requested_by: String,
    /// Why, in the requester's words.
    pub reason: String,
    /// When it was asked for.
    pub requested_at: i64,
    /// How long it lasts once approved, in seconds.
    pub duration_secs: i64,
    /// When the request lapses if it is not decided by then.
    pub pending_expires_at: i64,
    /// Distinct approvals needed.
    pub approvals_required: i64,
    /// `pending`, `approved`, `denied`, `revoked` (or `expired`).
    pub state: String,
    /// When it became active (set on approval).
    pub starts_at: Option<i64>,
    /// When it stops (set on approval).
    pub expires_at: Option<i64>,
    /// Who made the last decision (final approver, denier, revoker).
    pub decided_by: Option<String>,
    /// When that decision was made.
    pub decided_at: Option<i64>,
    /// Why, if a reason was given.
    pub decision_reason: Option<String>,
    /// Who approved it so far, in order, with when.
    pub approvals: Vec<GrantApprovalRecord>,
}

/// One approval of a grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantApprovalRecord {
    /// Who approved.
    pub approver: String,
    /// When.
    pub at: i64,
}

/// Why a grant decision (deny, revoke) was recorded, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantDecision<'a> {
    /// Who decides.
    pub by: &'a str,
    /// When.
    pub at: i64,
    /// Why, if said.
    pub reason: Option<&'a str>,
}
