//! The in-memory revocation state that access token verification reads:
//! revoked token ids (and revoked token families, held under the family's
//! id, which is the first token's `jti`) and inactive identities, with the
//! store revision they reflect.
//!
//! Verification never waits on the store. Changes made through the same
//! `AccessTokens` (or an `IdentityService` holding it) apply at once;
//! changes made elsewhere (another replica, the CLI) apply at the next
//! `AccessTokens::refresh` after they bumped the store revision.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use modelgate_store::RevokedTokenRecord;

use crate::error::AuthError;

#[derive(Default)]
struct CacheState {
    /// The store revision this state reflects; `None` before the first load
    /// or after a failed one.
    revision: Option<i64>,
    /// Revoked jti → the token's `exp` (after which the entry is dropped).
    revoked: HashMap<String, i64>,
    /// Ids of identities that are disabled or offboarded.
    inactive: HashSet<String>,
}

/// Revoked token ids and inactive identity ids, as of a store revision.
pub struct RevocationCache {
    state: RwLock<CacheState>,
    /// Held across "write the store, then note the change here" and across
    /// a refresh, so a refresh that read the store before a local change
    /// cannot drop that change from the cache.
    updates: tokio::sync::Mutex<()>,
}

impl fmt::Debug for RevocationCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.read();
        f.debug_struct("RevocationCache")
            .field("revision", &state.revision)
            .field("revoked_tokens", &state.revoked.len())
            .field("inactive_identities", &state.inactive.len())
            .finish()
    }
}

impl RevocationCache {
    pub(crate) fn new() -> RevocationCache {
        RevocationCache {
            state: RwLock::new(CacheState::default()),
            updates: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, CacheState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, CacheState> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store revision the cache reflects (`None` if it never loaded, or
    /// the last reload failed).
    pub fn revision(&self) -> Option<i64> {
        self.read().revision
    }

    /// Whether the token id is revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.read().revoked.contains_key(jti)
    }

    /// Whether the identity (by id) is disabled or offboarded.
    pub fn is_inactive(&self, identity_id: &str) -> bool {
        self.read().inactive.contains(identity_id)
    }

    /// Number of revoked, unexpired token ids held.
    pub fn revoked_count(&self) -> usize {
        self.read().revoked.len()
    }

    /// Number of inactive identities held.
    pub fn inactive_count(&self) -> usize {
        self.read().inactive.len()
    }

    /// The verification check, under one read lock: the token's `jti` and
    /// its family (the first token's `jti`: revoking a family revokes every
    /// member), then the identity.
    pub(crate) fn check(
        &self,
        jti: &str,
        family: &str,
        identity_id: &str,
    ) -> Result<(), AuthError> {
        let state = self.read();
        if state.revoked.contains_key(jti) || state.revoked.contains_key(family) {
            return Err(AuthError::TokenRevoked);
        }
        if state.inactive.contains(identity_id) {
            return Err(AuthError::IdentityDisabled);
        }
        Ok(())
    }

    /// Takes the update lock (see the field's doc).
    pub(crate) async fn lock_updates(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.updates.lock().await
    }

    pub(crate) fn note_revoked(&self, jti: &str, expires_at: i64) {
        let mut state = self.write();
        let held = state.revoked.entry(jti.to_owned()).or_insert(expires_at);
        *held = (*held).max(expires_at);
    }

    pub(crate) fn note_inactive(&self, identity_id: &str) {
        self.write().inactive.insert(identity_id.to_owned());
    }

    pub(crate) fn note_active(&self, identity_id: &str) {
        self.write().inactive.remove(identity_id);
    }

    /// Replaces the whole state with a fresh load at `revision`.
    pub(crate) fn replace(
        &self,
        revision: i64,
        revoked: Vec<RevokedTokenRecord>,
        inactive: Vec<String>,
    ) {
        let mut state = self.write();
        state.revision = Some(revision);
        state.revoked = revoked.into_iter().map(|r| (r.jti, r.expires_at)).collect();
        state.inactive = inactive.into_iter().collect();
    }

    /// Marks the state as not reflecting any revision, so the next refresh
    /// reloads whatever the revision is.
    pub(crate) fn invalidate(&self) {
        self.write().revision = None;
    }

    /// Drops revoked ids of tokens that expired (they are refused anyway).
    pub(crate) fn prune(&self, now: i64) {
        let mut state = self.write();
        if state.revoked.values().any(|exp| *exp <= now) {
            state.revoked.retain(|_, exp| *exp > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_replace_and_prune() {
        let cache = RevocationCache::new();
        assert_eq!(cache.revision(), None);
        cache.note_revoked("a", 100);
        cache.note_inactive("idn_1");
        assert!(matches!(
            cache.check("a", "a", "idn_2"),
            Err(AuthError::TokenRevoked)
        ));
        assert!(matches!(
            cache.check("b", "b", "idn_1"),
            Err(AuthError::IdentityDisabled)
        ));
        assert!(cache.check("b", "b", "idn_2").is_ok());
        // A revoked family refuses every member.
        assert!(matches!(
            cache.check("b", "a", "idn_2"),
            Err(AuthError::TokenRevoked)
        ));
        cache.note_active("idn_1");
        assert!(!cache.is_inactive("idn_1"));
        cache.prune(100);
        assert!(!cache.is_revoked("a"));
        cache.replace(
            7,
            vec![RevokedTokenRecord {
                jti: "c".into(),
                identity_id: "idn_3".into(),
                expires_at: 200,
                revoked_at: 50,
            }],
            vec!["idn_4".into()],
        );
        assert_eq!(cache.revision(), Some(7));
        assert!(cache.is_revoked("c") && cache.is_inactive("idn_4"));
        assert_eq!((cache.revoked_count(), cache.inactive_count()), (1, 1));
        cache.invalidate();
        assert_eq!(cache.revision(), None);
        assert!(format!("{cache:?}").contains("revoked_tokens: 1"));
    }
}
