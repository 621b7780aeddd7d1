//! An in-memory cache of API keys the data plane has seen, so that a
//! request authenticated by an API key costs no store round trip.
//!
//! Entries are dropped when the store's state revision changes (every
//! revocation, rotation, status change or offboarding bumps it; the gateway
//! refreshes every `tokens.sync_interval`) and at once for changes made
//! through this process. Expiry is checked on every use. An entry read from
//! the store before a drop is not inserted after it (a generation counter),
//! so a stale read cannot outlive an invalidation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use modelgate_types::{IdentityKind, IdentityStatus};

/// Most keys kept; when full, the cache starts over.
const CAPACITY: usize = 50_000;

/// What authentication needs of a key and its identity. No secret: the map
/// is keyed by the key's SHA-256, which the store holds too.
#[derive(Clone, Debug)]
pub(crate) struct CachedKey {
    pub key_id: String,
    pub expires_at: i64,
    pub revoked: bool,
    pub identity_id: String,
    pub identity_name: String,
    pub kind: IdentityKind,
    pub owner: String,
    pub environment: String,
    pub status: IdentityStatus,
}

/// The cache.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    entries: RwLock<HashMap<[u8; 32], CachedKey>>,
    generation: AtomicU64,
    revision: RwLock<Option<i64>>,
}

impl KeyCache {
    /// The entry for `hash`, if cached.
    pub fn get(&self, hash: &[u8; 32]) -> Option<CachedKey> {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hash)
            .cloned()
    }

    /// The current generation; pass it back to [`KeyCache::insert`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Inserts an entry read from the store while `generation` was current.
    pub fn insert(&self, generation: u64, hash: [u8; 32], entry: CachedKey) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(hash, entry);
    }

    /// Drops every entry.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// Drops every entry if the store's revision moved since the last call.
    pub fn observe_revision(&self, revision: i64) {
        let mut seen = self
            .revision
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *seen != Some(revision) {
            *seen = Some(revision);
            self.clear();
        }
    }
}
