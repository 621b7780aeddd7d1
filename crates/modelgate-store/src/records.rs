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
            .finish()
    }
}
