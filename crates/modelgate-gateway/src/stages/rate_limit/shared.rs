//! Rate limits shared by every replica on one store: each replica spends,
//! in memory, allotments it takes from the store's counter of the window
//! ([`Store::take_rate_allotment`]), so a per-minute limit holds across
//! replicas without a store round trip per request.
//!
//! Per identity and kind (requests, tokens) a replica holds the unspent
//! part of its current allotment. A request spends one from it; a call is
//! admitted on tokens while any token allotment is unspent, and the tokens
//! it used are taken from the allotment when it ends, what the allotment
//! cannot cover being charged to the store directly. An empty allotment is
//! refilled from the store (one store call per identity and kind at a time
//! in a replica; others wait for it). A new window drops what is left of
//! the old allotment. When the store grants nothing, the refusal is kept
//! until its retry-after, so refused requests do not reach the store either.
//!
//! An allotment is at most `ceiling / 20` (at least 1) and at most an
//! eighth of the room the window has left: far from the limit a replica
//! calls the store about 20 times a window per identity and kind at full
//! rate; near it, allotments shrink so what other replicas hold unspent
//! (which can refuse a request early) shrinks too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use modelgate_store::{
    AllotmentAsk, AllotmentGrant, RATE_WINDOW_SECONDS, RateKind, Store, StoreError,
    sliding_estimate, window_start,
};

use super::limiter::{Exceeded, Limits};

/// An allotment is at most this share of the ceiling.
pub const CEILING_SHARE: u64 = 20;
/// ... and at most this share of the room the window has left.
pub const ROOM_SHARE: u64 = 8;

/// Why the shared limiter refused a call.
#[derive(Debug)]
pub enum Refused {
    /// A limit is reached.
    Exceeded(Exceeded),
    /// An allotment was needed and the store could not be reached.
    Unavailable(StoreError),
}

/// A refusal kept until the window has room again.
#[derive(Debug, Clone, Copy)]
struct Block {
    ceiling: u64,
    until_ms: i64,
}

/// What a replica holds of one identity's limit of one kind.
#[derive(Debug, Default)]
struct Held {
    /// The window the allotment belongs to.
    window: i64,
    unspent: u64,
    block: Option<Block>,
}

impl Held {
    /// Moves to `window` if it is newer, dropping the old allotment.
    fn roll(&mut self, window: i64) {
        if window > self.window {
            self.window = window;
            self.unspent = 0;
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    held: Mutex<Held>,
    /// Held while this replica takes an allotment from the store, or
    /// charges an overrun to it.
    refill: Arc<tokio::sync::Mutex<()>>,
}

/// One identity's slots.
#[derive(Debug, Default)]
struct Slots {
    requests: Arc<Slot>,
    tokens: Arc<Slot>,
}

impl Slots {
    fn of(&self, kind: RateKind) -> Arc<Slot> {
        Arc::clone(match kind {
            RateKind::Requests => &self.requests,
            RateKind::Tokens => &self.tokens,
        })
    }
}

/// The limiter over a shared store (see the module docs).
#[derive(Debug)]
pub struct SharedRateLimiter {
    store: Store,
    by_identity: Mutex<HashMap<String, Slots>>,
}

impl SharedRateLimiter {
    /// A limiter taking its allotments from `store`.
    pub fn new(store: Store) -> SharedRateLimiter {
        SharedRateLimiter {
            store,
            by_identity: Mutex::default(),
        }
    }

    /// Admits one call of `identity` under `limits` at `now_ms` (unix ms),
    /// spending one request, or says why not. Reaches the store only when
    /// an allotment is empty.
    pub async fn admit(&self, identity: &str, limits: Limits, now_ms: i64) -> Result<(), Refused> {
        if let Some(ceiling) = limits.tokens {
            self.spend(identity, RateKind::Tokens, ceiling, 0, now_ms)
                .await?;
        }
        if let Some(ceiling) = limits.requests {
            self.spend(identity, RateKind::Requests, u64::from(ceiling), 1, now_ms)
                .await?;
        }
        Ok(())
    }

    /// Takes the `tokens` a finished call of `identity` used from the
    /// replica's token allotment; returns what it could not cover, which
    /// the caller charges to the store ([`SharedRateLimiter::charge_excess`]).
    pub fn spend_tokens(&self, identity: &str, tokens: u64, now_ms: i64) -> u64 {
        let slot = self.slot(identity, RateKind::Tokens);
        let mut held = slot.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.roll(window_start(now_ms));
        let covered = tokens.min(held.unspent);
        held.unspent -= covered;
        tokens - covered
    }

    /// Charges `excess` tokens of `identity` to the store's window. The
    /// replica takes no token allotment for `identity` meanwhile (from the
    /// moment this is called: the turn is taken before the first await),
    /// so its next allotment is computed with its overrun counted.
    pub fn charge_excess(
        &self,
        identity: &str,
        excess: u64,
        now_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send + 'static {
        let slot = self.slot(identity, RateKind::Tokens);
        let turn = Arc::clone(&slot.refill).try_lock_owned().ok();
        let (store, identity) = (self.store.clone(), identity.to_owned());
        async move {
            let _turn = match turn {
                Some(turn) => turn,
                None => slot.refill.clone().lock_owned().await,
            };
            store
                .charge_rate_window(&identity, RateKind::Tokens, excess, now_ms)
                .await
        }
    }

    /// Spends `spend` (0 or 1) of the identity's `kind` allotment, taking a
    /// new one from the store if it is empty.
    async fn spend(
        &self,
        identity: &str,
        kind: RateKind,
        ceiling: u64,
        spend: u64,
        now_ms: i64,
    ) -> Result<(), Refused> {
        let slot = self.slot(identity, kind);
        let window = window_start(now_ms);
        if let Some(done) = from_held(&slot, kind, ceiling, spend, window, now_ms) {
            return done;
        }
        let _turn = slot.refill.lock().await;
        // Another call may have refilled it while this one waited.
        if let Some(done) = from_held(&slot, kind, ceiling, spend, window, now_ms) {
            return done;
        }
        let ask = AllotmentAsk {
            identity_id: identity,
            kind,
            ceiling,
            most: (ceiling / CEILING_SHARE).max(1),
            room_share: ROOM_SHARE,
            now_ms,
        };
        let grant = self
            .store
            .take_rate_allotment(&ask)
            .await
            .map_err(Refused::Unavailable)?;
        let mut held = slot.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.roll(grant.window_start);
        if grant.granted == 0 {
            let retry_after = retry_after(&grant, ceiling, now_ms);
            held.block = Some(Block {
                ceiling,
                until_ms: now_ms.saturating_add(retry_after as i64 * 1000),
            });
            return Err(exceeded(kind, ceiling, retry_after));
        }
        held.block = None;
        if grant.window_start == held.window {
            held.unspent = held.unspent.saturating_add(grant.granted - spend);
        }
        Ok(())
    }

    fn slot(&self, identity: &str, kind: RateKind) -> Arc<Slot> {
        let mut map = self
            .by_identity
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Looked up by reference first: no allocation on the hot path.
        match map.get(identity) {
            Some(slots) => slots.of(kind),
            None => map.entry(identity.to_owned()).or_default().of(kind),
        }
    }
}

/// The call's fate from what the replica holds: `Some(Ok)` spent,
/// `Some(Err)` refused (a refusal kept from the store), `None`: the store
/// must be asked.
fn from_held(
    slot: &Slot,
    kind: RateKind,
    ceiling: u64,
    spend: u64,
    window: i64,
    now_ms: i64,
) -> Option<Result<(), Refused>> {
    let mut held = slot.held.lock().unwrap_or_else(PoisonError::into_inner);
    held.roll(window);
    if let Some(block) = held.block {
        if block.ceiling == ceiling && now_ms < block.until_ms {
            let seconds = (block.until_ms - now_ms + 999) / 1000;
            return Some(Err(exceeded(kind, ceiling, seconds.max(1) as u64)));
        }
        held.block = None;
    }
    if held.unspent > 0 {
        held.unspent -= spend;
        return Some(Ok(()));
    }
    None
}

fn exceeded(kind: RateKind, ceiling: u64, retry_after: u64) -> Refused {
    Refused::Exceeded(Exceeded {
        limit: kind.as_str(),
        ceiling,
        retry_after,
    })
}

/// Seconds until the window the store answered with has room for one more
/// (at least 1, at most two windows), if nothing more is taken meanwhile.
fn retry_after(grant: &AllotmentGrant, ceiling: u64, now_ms: i64) -> u64 {
    let span = 2 * RATE_WINDOW_SECONDS as u64;
    for s in 1..=span {
        let at = now_ms + s as i64 * 1000;
        let window = window_start(at);
        let estimate = if window == grant.window_start {
            sliding_estimate(window, grant.previous_used, grant.current_used, at)
        } else if window == grant.window_start + RATE_WINDOW_SECONDS {
            sliding_estimate(window, grant.current_used, 0, at)
        } else {
            0.0
        };
        if ceiling as f64 - estimate >= 1.0 {
            return s;
        }
    }
    span
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
