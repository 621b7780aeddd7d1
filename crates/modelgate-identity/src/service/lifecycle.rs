//! The credential lifecycle: API key rotation, disabling and enabling an
//! identity, and offboarding it for good.

use std::time::Duration;

use modelgate_store::ApiKeyRecord;
use serde::Serialize;

use super::{IdentityService, IssuedKey};
use crate::apikey::ApiKey;
use crate::error::IdentityError;
use crate::identity::{CorruptRecord, Identity};
use crate::ids::new_key_id;
use modelgate_types::IdentityStatus;

/// What offboarding an identity changed (all in one store transaction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OffboardSummary {
    /// The identity's id.
    pub identity_id: String,
    /// The identity's name (retired with it: never given to another).
    pub identity_name: String,
    /// Its status before offboarding.
    pub previous_status: IdentityStatus,
    /// API keys that were still unrevoked and are now revoked.
    pub keys_revoked: u64,
    /// Grants that were pending or active and are now revoked.
    pub grants_revoked: u64,
    /// Standing role assignments that were removed.
    pub roles_removed: u64,
}

/// Seconds in a duration, as a timestamp offset (saturating).
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl IdentityService {
    /// Rotates an API key: issues a successor with the same label and the
    /// same lifetime as the original (capped by the key policy), and makes
    /// the old key stop at `now + grace` or at its own expiry, whichever is
    /// first, so its holder has `grace` to switch. Both steps happen in one
    /// store transaction.
    ///
    /// Refused with [`IdentityError::KeyNotFound`] for an unknown key,
    /// [`IdentityError::KeyNotRotatable`] for a revoked, expired or already
    /// rotated key, [`IdentityError::IdentityNotActive`] if its identity is
    /// not active.
    pub async fn rotate_key(
        &self,
        id: &str,
        grace: Duration,
        now: i64,
    ) -> Result<IssuedKey, IdentityError> {
        let store = self.store();
        let Some(old) = store.api_key_by_id(id).await? else {
            return Err(IdentityError::key_not_found(id));
        };
        if let Some(reason) = not_rotatable(&old, now) {
            return Err(IdentityError::KeyNotRotatable { id: old.id, reason });
        }
        let identity = match store.identity_by_id(&old.identity_id).await? {
            Some(record) => Identity::from_record(record)?,
            None => return Err(CorruptRecord("api key without an identity").into()),
        };
        if !identity.is_active() {
            return Err(IdentityError::IdentityNotActive {
                name: identity.name,
                status: identity.status,
            });
        }
        let original = u64::try_from(old.expires_at.saturating_sub(old.created_at)).unwrap_or(0);
        let lifetime = Duration::from_secs(original.max(1)).min(self.policy().max_lifetime);
        let expires_at = now
            .checked_add(secs(lifetime))
            .ok_or(IdentityError::ExpiryOutOfRange)?;
        let grace_end = now.saturating_add(secs(grace));

        let generated = ApiKey::generate()?;
        let successor = ApiKeyRecord {
            id: new_key_id()?,
            identity_id: identity.id.clone(),
            label: old.label.clone(),
            hint: generated.hint.clone(),
            key_hash: generated.hash,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
            replaced_by: None,
        };
        if !store
            .rotate_api_key(&old.id, &successor, grace_end, now)
            .await?
        {
            // Revoked or rotated between the read and the write.
            let reason = match store.api_key_by_id(&old.id).await? {
                Some(current) => not_rotatable(&current, now).unwrap_or("it changed meanwhile"),
                None => "it changed meanwhile",
            };
            return Err(IdentityError::KeyNotRotatable { id: old.id, reason });
        }
        self.invalidate_keys();
        tracing::info!(
            identity = %identity.name,
            key_id = %old.id,
            successor = %successor.id,
            old_key_until = grace_end.min(old.expires_at),
            expires_at,
            "api key rotated"
        );
        Ok(IssuedKey {
            id: successor.id,
            identity,
            secret: generated.secret,
            hint: generated.hint,
            expires_at,
        })
    }

    /// Disables an identity: its API keys and access tokens are refused
    /// until it is enabled again, and it gets no new credentials.
    /// Disabling a disabled identity succeeds.
    /// [`IdentityError::IdentityOffboarded`] if it was offboarded.
    pub async fn disable_identity(&self, name: &str, now: i64) -> Result<Identity, IdentityError> {
        self.set_status(name, IdentityStatus::Disabled, now).await
    }

    /// Enables a disabled identity again. Enabling an active identity
    /// succeeds. [`IdentityError::IdentityOffboarded`] if it was offboarded:
    /// offboarding cannot be undone.
    pub async fn enable_identity(&self, name: &str, now: i64) -> Result<Identity, IdentityError> {
        self.set_status(name, IdentityStatus::Active, now).await
    }

    async fn set_status(
        &self,
        name: &str,
        status: IdentityStatus,
        now: i64,
    ) -> Result<Identity, IdentityError> {
        let identity = self.identity(name).await?;
        let offboarded = || IdentityError::IdentityOffboarded {
            name: identity.name.clone(),
        };
        if identity.status == IdentityStatus::Offboarded {
            return Err(offboarded());
        }
        let write = async {
            if self
                .store()
                .set_identity_status(&identity.id, status.as_str(), now)
                .await?
            {
                return Ok(());
            }
            // Unchanged: already in that status, or offboarded meanwhile.
            match self.store().identity_by_id(&identity.id).await? {
                Some(r) if r.status == status.as_str() => Ok(()),
                Some(r) if r.status == IdentityStatus::Offboarded.as_str() => Err(offboarded()),
                _ => Err(IdentityError::identity_not_found(name)),
            }
        };
        match self.tokens() {
            Some(tokens) => {
                tokens
                    .apply_status(&identity.id, status == IdentityStatus::Active, write)
                    .await?
            }
            None => write.await?,
        }
        tracing::info!(identity = %identity.name, status = %status, "identity status changed");
        self.invalidate_keys();
        Ok(Identity { status, ..identity })
    }

    /// Offboards an identity, irreversibly, in one store transaction: its
    /// status becomes `offboarded`, every unrevoked API key is revoked,
    /// every pending or active grant is revoked and every standing role
    /// assignment removed;
    /// its access tokens are refused from then on (at once on this
    /// instance's attached tokens, at the next refresh elsewhere). It can
    /// never be enabled again nor receive credentials, and its name is never
    /// reused. Offboarding an offboarded identity succeeds (and revokes
    /// anything left).
    pub async fn offboard_identity(
        &self,
        name: &str,
        now: i64,
    ) -> Result<OffboardSummary, IdentityError> {
        let identity = self.identity(name).await?;
        let write = async {
            self.store()
                .offboard_identity(&identity.id, now)
                .await?
                .ok_or_else(|| IdentityError::identity_not_found(name))
        };
        let summary = match self.tokens() {
            Some(tokens) => tokens.apply_status(&identity.id, false, write).await?,
            None => write.await?,
        };
        let previous_status = summary
            .previous_status
            .parse()
            .map_err(|_| CorruptRecord("stored identity has an unknown status"))?;
        tracing::warn!(
            identity = %identity.name,
            id = %identity.id,
            keys_revoked = summary.keys_revoked,
            grants_revoked = summary.grants_revoked,
            roles_removed = summary.roles_removed,
            "identity offboarded"
        );
        self.invalidate_keys();
        self.invalidate_entitlements();
        Ok(OffboardSummary {
            identity_id: identity.id,
            identity_name: identity.name,
            previous_status,
            keys_revoked: summary.keys_revoked,
            grants_revoked: summary.grants_revoked,
            roles_removed: summary.roles_removed,
        })
    }
}

/// Why a key cannot be rotated at `now`, if it cannot.
fn not_rotatable(key: &ApiKeyRecord, now: i64) -> Option<&'static str> {
    if key.revoked_at.is_some() {
        Some("it is revoked")
    } else if key.replaced_by.is_some() {
        Some("it was already rotated")
    } else if key.expires_at <= now {
        Some("it has expired")
    } else {
        None
    }
}
