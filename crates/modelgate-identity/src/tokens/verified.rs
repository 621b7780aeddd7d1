//! A bounded memo of tokens whose signature and static claims already
//! verified, keyed by the SHA-256 of the token (the token itself is not
//! kept). A token presented again skips the signature check, the costly
//! part; everything that can change with time or state (signing key still
//! usable, `exp`, `nbf`/`iat`, revoked `jti` or family, inactive identity) is
//! checked on every use.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use ring::digest::{SHA256, digest};

use crate::principal::Principal;
use crate::signing::CLOCK_LEEWAY_SECS;

/// What verified once and cannot change for the same token bytes.
pub(crate) struct Verified {
    /// The signing key it verified with.
    pub kid: String,
    /// `exp`.
    pub exp: i64,
    /// The later of `nbf` and `iat`.
    pub not_before: i64,
    /// The token family (`fam`, or the `jti` when absent).
    pub family: String,
    /// The principal the claims describe.
    pub principal: Principal,
}

pub(crate) type Digest = [u8; 32];

/// SHA-256 of a token.
pub(crate) fn token_digest(token: &str) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

pub(crate) struct VerifiedTokens {
    capacity: usize,
    map: RwLock<HashMap<Digest, Arc<Verified>>>,
}

impl VerifiedTokens {
    pub(crate) fn new(capacity: usize) -> VerifiedTokens {
        VerifiedTokens {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    pub(crate) fn get(&self, key: &Digest) -> Option<Arc<Verified>> {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Remembers a verified token. When full, drops expired entries first,
    /// and everything if that is not enough.
    pub(crate) fn insert(&self, key: Digest, verified: Arc<Verified>, now: i64) {
        if !self.enabled() {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.capacity {
            map.retain(|_, v| now < v.exp.saturating_add(CLOCK_LEEWAY_SECS));
            if map.len() >= self.capacity {
                map.clear();
            }
        }
        map.insert(key, verified);
    }

    pub(crate) fn len(&self) -> usize {
        self.map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
