//! Leaked keys: a live `mgk_` key found where it must never be (a prompt)
//! is revoked at once.

use super::IdentityService;
use crate::apikey::parse_api_key;
use crate::error::IdentityError;

/// A key revoked because it leaked. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakedKey {
    /// The key's id.
    pub key_id: String,
    /// The identity that held it.
    pub identity: String,
    /// Whether this call revoked it (false: it was already revoked).
    pub revoked_now: bool,
}

impl IdentityService {
    /// Looks up `presented` (a key found in a prompt); if it is a key of
    /// this gateway, revokes it. `None` for text that is not a known key.
    pub async fn revoke_leaked_key(
        &self,
        presented: &str,
        now: i64,
    ) -> Result<Option<LeakedKey>, IdentityError> {
        let Ok(hash) = parse_api_key(presented) else {
            return Ok(None);
        };
        let Some((key, identity)) = self.store().api_key_by_hash(&hash).await? else {
            return Ok(None);
        };
        let already = key.revoked_at.is_some();
        if !already {
            self.revoke_key(&key.id, now).await?;
        }
        Ok(Some(LeakedKey {
            key_id: key.id,
            identity: identity.name,
            revoked_now: !already,
        }))
    }
}
