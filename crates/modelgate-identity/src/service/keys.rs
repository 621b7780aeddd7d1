//! Listing keys, with their computed status.

use std::collections::HashMap;
use std::fmt;

use modelgate_store::ApiKeyRecord;
use serde::Serialize;

use super::IdentityService;
use crate::error::IdentityError;

/// Whether a key works at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    /// Neither revoked nor expired.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked (whether or not also expired).
    Revoked,
}

impl KeyStatus {
    /// `active`, `expired` or `revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::Revoked => "revoked",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What may be shown about a key: everything but the key and its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Key id (`key_...`).
    pub id: String,
    /// Name of the identity holding it.
    pub identity_name: String,
    /// Optional label.
    pub label: Option<String>,
    /// `mgk_…` and the last four characters.
    pub hint: String,
    /// Issue time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// Revocation time, unix seconds.
    pub revoked_at: Option<i64>,
    /// Last use, unix seconds, including uses not yet flushed to the store.
    pub last_used_at: Option<i64>,
    /// The key that replaced this one when it was rotated (this key then
    /// works until the end of its grace period).
    pub replaced_by: Option<String>,
}

impl KeyInfo {
    /// The key's status at `now`: revoked wins over expired; a key expires
    /// at `expires_at` (inclusive).
    pub fn status(&self, now: i64) -> KeyStatus {
        if self.revoked_at.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at <= now {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }
}

impl IdentityService {
    /// Keys of one identity (by name), or of all identities, oldest first.
    pub async fn list_keys(
        &self,
        identity_name: Option<&str>,
    ) -> Result<Vec<KeyInfo>, IdentityError> {
        let store = self.store();
        let (records, names): (Vec<ApiKeyRecord>, HashMap<String, String>) = match identity_name {
            Some(name) => {
                let identity = self.identity(name).await?;
                let records = store.list_api_keys(Some(&identity.id)).await?;
                (records, HashMap::from([(identity.id, identity.name)]))
            }
            None => {
                let records = store.list_api_keys(None).await?;
                let names = store
                    .list_identities()
                    .await?
                    .into_iter()
                    .map(|r| (r.id, r.name))
                    .collect();
                (records, names)
            }
        };
        let pending = self.usage();
        Ok(records
            .into_iter()
            .map(|r| {
                let buffered = pending.keys.get(&r.id).map(|(_, at)| *at);
                KeyInfo {
                    identity_name: names.get(&r.identity_id).cloned().unwrap_or(r.identity_id),
                    last_used_at: r.last_used_at.max(buffered),
                    id: r.id,
                    label: r.label,
                    hint: r.hint,
                    created_at: r.created_at,
                    expires_at: r.expires_at,
                    revoked_at: r.revoked_at,
                    replaced_by: r.replaced_by,
                }
            })
            .collect())
    }
}
