//! An in-memory cache of API keys the data plane has seen, so that a
//! request authenticated by an API key costs no store round trip.
//!
//! Entries are dropped when the store's state revision changes (every
//! revocation, rotation, status change or offboarding bumps it; the gateway
//! refreshes every `tokens.sync_interval`) and at once for changes made
//! through this process. Expiry is checked on every use. An entry read from
//! the store before a drop is not inserted after it (a generation counter),
//! so a stale read cannot outlive an invalidation.
//!
//! It also remembers well-formed keys the store did not know
//! ([`KeyMisses`], bounded), so presenting the same unknown key again costs
//! no store lookup. Inserting a key moves no state revision, so misses are
//! dropped at every refresh (not only when the revision moved), and a key
//! issued through this process is forgotten as a miss at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use modelgate_types::{IdentityKind, IdentityStatus};

use super::key_misses::KeyMisses;

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
    misses: Mutex<KeyMisses>,
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

    /// Whether `hash` is a remembered miss: the store did not know it.
    pub fn is_unknown(&self, hash: &[u8; 32]) -> bool {
        self.misses().contains(hash)
    }

    /// Remembers that the store did not know `hash` when read while
    /// `generation` was current.
    pub fn insert_unknown(&self, generation: u64, hash: [u8; 32]) {
        let mut misses = self.misses();
        if self.generation.load(Ordering::Acquire) == generation {
            misses.insert(hash);
        }
    }

    /// Forgets `hash` as a miss (a key with this hash was just created); a
    /// lookup already in flight cannot put it back.
    pub fn forget_unknown(&self, hash: &[u8; 32]) {
        let mut misses = self.misses();
        self.generation.fetch_add(1, Ordering::AcqRel);
        misses.remove(hash);
    }

    /// Forgets every miss; a lookup already in flight cannot put one back.
    pub fn clear_unknown(&self) {
        let mut misses = self.misses();
        self.generation.fetch_add(1, Ordering::AcqRel);
        misses.clear();
    }

    /// Drops every entry and every miss.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        drop(entries);
        self.misses().clear();
    }

    /// The misses; a poisoned lock is still usable (every update leaves
    /// the set consistent or merely smaller).
    fn misses(&self) -> std::sync::MutexGuard<'_, KeyMisses> {
        self.misses.lock().unwrap_or_else(PoisonError::into_inner)
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
