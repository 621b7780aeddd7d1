//! Authenticating presented API keys, and the buffered usage record.

use std::time::Duration;

use super::key_cache::CachedKey;
use super::{IdentityService, UsageBuffer};
use crate::apikey::parse_api_key;
use crate::error::{AuthError, IdentityError};
use crate::identity::Identity;
use crate::principal::{AuthMethod, Principal};
use modelgate_types::IdentityStatus;

impl IdentityService {
    /// Turns a presented API key into a [`Principal`].
    ///
    /// The format and checksum are checked first, so a malformed value is
    /// refused ([`AuthError::Malformed`]) without touching the store. Then:
    /// unknown hash → `Unknown` (with the key cache, remembered: the same
    /// unknown key again is refused without a store lookup until the next
    /// refresh or a key issued through this service), revoked → `Revoked`, `expires_at <= now` →
    /// `Expired`, identity not active → `IdentityDisabled`. A success is
    /// noted in memory; [`IdentityService::flush_usage`] writes it. With
    /// access tokens attached, refused with `StateStale` (before any
    /// lookup) while their staleness bound is exceeded.
    pub async fn authenticate_api_key(
        &self,
        presented: &str,
        now: i64,
    ) -> Result<Principal, AuthError> {
        let hash = parse_api_key(presented).map_err(AuthError::Malformed)?;
        if let Some(tokens) = self.tokens() {
            // Past the staleness bound a revocation may not have reached
            // the key cache: authenticate nobody.
            tokens.check_fresh()?;
        }
        let cached = self.key_cache().and_then(|cache| cache.get(&hash));
        let key = match cached {
            Some(key) => key,
            None => {
                if self
                    .key_cache()
                    .is_some_and(|cache| cache.is_unknown(&hash))
                {
                    return Err(AuthError::Unknown);
                }
                let generation = self.key_cache().map(|c| c.generation());
                let Some((key, identity)) = self.store().api_key_by_hash(&hash).await? else {
                    if let (Some(cache), Some(generation)) = (self.key_cache(), generation) {
                        cache.insert_unknown(generation, hash);
                    }
                    return Err(AuthError::Unknown);
                };
                let identity = Identity::from_record(identity)?;
                let entry = CachedKey {
                    key_id: key.id,
                    expires_at: key.expires_at,
                    revoked: key.revoked_at.is_some(),
                    identity_id: identity.id,
                    identity_name: identity.name,
                    kind: identity.kind,
                    owner: identity.owner,
                    environment: identity.environment,
                    status: identity.status,
                };
                if let (Some(cache), Some(generation)) = (self.key_cache(), generation) {
                    cache.insert(generation, hash, entry.clone());
                }
                entry
            }
        };
        if key.revoked {
            tracing::debug!(key_id = %key.key_id, "revoked api key presented");
            return Err(AuthError::Revoked);
        }
        if key.expires_at <= now {
            tracing::debug!(key_id = %key.key_id, "expired api key presented");
            return Err(AuthError::Expired);
        }
        if key.status != IdentityStatus::Active {
            tracing::debug!(key_id = %key.key_id, identity = %key.identity_name, "key of inactive identity presented");
            return Err(AuthError::IdentityDisabled);
        }
        self.note_use(&key.key_id, &key.identity_id, now);
        Ok(Principal {
            identity_id: key.identity_id,
            identity_name: key.identity_name,
            kind: key.kind,
            owner: key.owner,
            environment: key.environment,
            credential_id: key.key_id,
            auth_method: AuthMethod::ApiKey,
            delegation: Vec::new(),
            scope: None,
        })
    }

    /// Remembers the latest use of API key `key_id` by `identity_id` until
    /// the next flush, which moves the key's and the identity's
    /// `last_used_at`.
    fn note_use(&self, key_id: &str, identity_id: &str, at: i64) {
        let mut usage = self.usage();
        match usage.keys.get_mut(key_id) {
            Some((_, last)) => *last = (*last).max(at),
            None => {
                usage
                    .keys
                    .insert(key_id.to_owned(), (identity_id.to_owned(), at));
            }
        }
    }

    /// Remembers the latest use by `identity_id` of a credential that is not
    /// an API key (an access token, a client certificate) until the next
    /// flush, which moves the identity's `last_used_at`. Authenticating an
    /// API key notes its use itself; whoever verifies the others calls
    /// this.
    pub fn note_identity_use(&self, identity_id: &str, at: i64) {
        let mut usage = self.usage();
        match usage.identities.get_mut(identity_id) {
            Some(last) => *last = (*last).max(at),
            None => {
                usage.identities.insert(identity_id.to_owned(), at);
            }
        }
    }

    /// Number of keys and identities with uses not yet written to the
    /// store.
    pub fn pending_usage(&self) -> usize {
        let usage = self.usage();
        usage.keys.len() + usage.identities.len()
    }

    /// Writes buffered uses to the store in one transaction and returns
    /// how many keys and identities were updated. On failure the uses go
    /// back into the buffer for the next attempt.
    pub async fn flush_usage(&self) -> Result<usize, IdentityError> {
        let taken: UsageBuffer = std::mem::take(&mut *self.usage());
        if taken.keys.is_empty() && taken.identities.is_empty() {
            return Ok(0);
        }
        let batch: Vec<(Option<String>, String, i64)> = taken
            .keys
            .iter()
            .map(|(key, (identity, at))| (Some(key.clone()), identity.clone(), *at))
            .chain(
                taken
                    .identities
                    .iter()
                    .map(|(identity, at)| (None, identity.clone(), *at)),
            )
            .collect();
        match self.store().record_key_use(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(err) => {
                let mut usage = self.usage();
                for (key, (identity, at)) in taken.keys {
                    let entry = usage.keys.entry(key).or_insert((identity, at));
                    entry.1 = entry.1.max(at);
                }
                for (identity, at) in taken.identities {
                    let entry = usage.identities.entry(identity).or_insert(at);
                    *entry = (*entry).max(at);
                }
                Err(err.into())
            }
        }
    }

    /// Spawns a task on the current tokio runtime that calls
    /// [`IdentityService::flush_usage`] every `every` (at least one second),
    /// logging failures. Abort the handle at shutdown, then flush once more.
    pub fn spawn_usage_flusher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        let every = every.max(Duration::from_secs(1));
        tokio::spawn(async move {
            let start = tokio::time::Instant::now() + every;
            let mut ticks = tokio::time::interval_at(start, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = service.flush_usage().await {
                    tracing::warn!(error = %err, "could not record api key usage; will retry");
                }
            }
        })
    }
}
