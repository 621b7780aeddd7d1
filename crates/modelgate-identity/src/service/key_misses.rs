//! The negative half of the key cache: hashes of well-formed API keys the
//! store did not know, so that the same unknown key presented again costs no
//! store lookup.
//!
//! Bounded: at [`CAPACITY`] entries the older half is forgotten (insertion
//! order), so a flood of distinct random keys can neither grow memory
//! without bound nor flush the whole set at once. Holds SHA-256 hashes only,
//! never a presented key.

use std::collections::{HashSet, VecDeque};

/// Most unknown keys remembered.
pub(crate) const CAPACITY: usize = 10_000;

/// Remembered misses, oldest first in `order`.
#[derive(Debug, Default)]
pub(crate) struct KeyMisses {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl KeyMisses {
    /// Whether `hash` is a remembered miss.
    pub fn contains(&self, hash: &[u8; 32]) -> bool {
        self.set.contains(hash)
    }

    /// Remembers `hash`; at capacity, first forgets the older half.
    pub fn insert(&mut self, hash: [u8; 32]) {
        if self.set.contains(&hash) {
            return;
        }
        if self.set.len() >= CAPACITY {
            for old in self.order.drain(..CAPACITY / 2) {
                self.set.remove(&old);
            }
        }
        self.set.insert(hash);
        self.order.push_back(hash);
    }

    /// Forgets `hash` (a key with this hash now exists).
    pub fn remove(&mut self, hash: &[u8; 32]) {
        if self.set.remove(hash) {
            self.order.retain(|h| h != hash);
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.set.clear();
        self.order.clear();
    }

    /// Number of remembered misses.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{CAPACITY, KeyMisses};

    fn hash(n: usize) -> [u8; 32] {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&(n as u64).to_le_bytes());
        h
    }

    #[test]
    fn stays_bounded_and_forgets_the_oldest_half() {
        let mut misses = KeyMisses::default();
        for n in 0..CAPACITY {
            misses.insert(hash(n));
        }
        assert_eq!(misses.len(), CAPACITY);
        misses.insert(hash(CAPACITY));
        assert_eq!(misses.len(), CAPACITY / 2 + 1);
        assert!(!misses.contains(&hash(0)));
        assert!(!misses.contains(&hash(CAPACITY / 2 - 1)));
        assert!(misses.contains(&hash(CAPACITY / 2)));
        assert!(misses.contains(&hash(CAPACITY)));
        for n in 0..3 * CAPACITY {
            misses.insert(hash(n));
        }
        assert!(misses.len() <= CAPACITY);
        assert_eq!(misses.order.len(), misses.len());
    }

    #[test]
    fn duplicates_and_removal() {
        let mut misses = KeyMisses::default();
        misses.insert(hash(1));
        misses.insert(hash(1));
        misses.insert(hash(2));
        assert_eq!(misses.len(), 2);
        assert_eq!(misses.order.len(), 2);
        misses.remove(&hash(1));
        assert!(!misses.contains(&hash(1)));
        assert!(misses.contains(&hash(2)));
        assert_eq!(misses.order.len(), 1);
        misses.clear();
        assert_eq!(misses.len(), 0);
    }
}
