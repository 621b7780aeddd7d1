//! Shared rate-limit counters on the [`Store`]: what the replicas of one
//! gateway have taken from an identity's per-minute limit, per window
//! (unix seconds, a multiple of 60), so that a limit holds across replicas.
//!
//! A replica takes an *allotment* (a number of requests or tokens) from the
//! counter and spends it in memory; the counter only grows, so the sum of
//! the allotments of a window never exceeds what the limit leaves. The
//! window's load is the sliding estimate the gateway's in-process limiter
//! uses: the previous window's `used`, weighted by how much of it still lies
//! within the last sixty seconds, plus the current window's.

use crate::{Store, StoreError};

/// Window length, seconds.
pub const RATE_WINDOW_SECONDS: i64 = 60;

/// Which per-minute limit a counter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateKind {
    /// Requests per minute.
    Requests,
    /// Tokens (in + out) per minute.
    Tokens,
}

impl RateKind {
    /// The `kind` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            RateKind::Requests => "requests",
            RateKind::Tokens => "tokens",
        }
    }
}

/// One request for an allotment ([`Store::take_rate_allotment`]).
#[derive(Debug, Clone, Copy)]
pub struct AllotmentAsk<'a> {
    /// The identity whose limit it is.
    pub identity_id: &'a str,
    /// Which limit.
    pub kind: RateKind,
    /// The limit per window.
    pub ceiling: u64,
    /// At most this much is granted.
    pub most: u64,
    /// And at most the room left (`ceiling - estimate`, rounded down)
    /// divided by this (at least 1 while any room is left): allotments
    /// shrink as the limit nears. 1 grants up to all the room.
    pub room_share: u64,
    /// Now, unix milliseconds.
    pub now_ms: i64,
}

/// What [`Store::take_rate_allotment`] granted, and the window's counts
/// after it (for a retry-after when nothing was granted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AllotmentGrant {
    /// How much was granted (0: the limit is reached).
    pub granted: u64,
    /// The window it was taken from (unix seconds, a multiple of 60).
    pub window_start: i64,
    /// The previous window's `used`.
    pub previous_used: u64,
    /// The current window's `used`, the grant included.
    pub current_used: u64,
}

/// The start of the window holding `now_ms` (unix seconds).
pub fn window_start(now_ms: i64) -> i64 {
    let now = now_ms.div_euclid(1000);
    now - now.rem_euclid(RATE_WINDOW_SECONDS)
}

/// The sliding estimate at `now_ms` of a window starting at `window_start`
/// with counts `previous` and `current`.
pub fn sliding_estimate(window_start: i64, previous: u64, current: u64, now_ms: i64) -> f64 {
    let span_ms = RATE_WINDOW_SECONDS * 1000;
    let into = (now_ms - window_start * 1000).clamp(0, span_ms) as f64;
    let weight = (span_ms as f64 - into) / span_ms as f64;
    previous as f64 * weight + current as f64
}

/// What `ask` is granted over a window whose counts are `previous` and
/// `current`: `min(most, room / room_share)`, at least 1 while the room is
/// at least 1, where room is `ceiling - estimate` rounded down (0 if the
/// estimate reached the ceiling). The same arithmetic on both backends.
pub(crate) fn grant_for(ask: &AllotmentAsk<'_>, window: i64, previous: u64, current: u64) -> u64 {
    let estimate = sliding_estimate(window, previous, current, ask.now_ms);
    let room = ask.ceiling as f64 - estimate;
    if room < 1.0 {
        return 0;
    }
    // `room` is below 2^64 (ceiling is a u64); floor keeps estimate +
    // grant within the ceiling.
    let room = room.floor() as u64;
    let share = (room / ask.room_share.max(1)).max(1);
    ask.most.min(share).min(room)
}

impl Store {
    /// Takes an allotment from the identity's counter for the window
    /// holding `ask.now_ms`, atomically: the window's row is locked (its
    /// only writer at a time), its sliding estimate computed, the grant
    /// ([`AllotmentAsk`] says how much) added to its `used`. Concurrent
    /// takers, in this process or others, never get more in total than
    /// the ceiling leaves.
    pub async fn take_rate_allotment(
        &self,
        ask: &AllotmentAsk<'_>,
    ) -> Result<AllotmentGrant, StoreError> {
        on_backend!(self, b => b.take_rate_allotment(ask).await)
    }

    /// Adds `amount` to the identity's counter for the window holding
    /// `now_ms`, whatever the ceiling: what a finished call used beyond the
    /// allotment its replica held, so the counter never under-counts.
    pub async fn charge_rate_window(
        &self,
        identity_id: &str,
        kind: RateKind,
        amount: u64,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if amount == 0 {
            return Ok(());
        }
        let amount = i64::try_from(amount).unwrap_or(i64::MAX);
        on_backend!(self, b => b.charge_rate_window(identity_id, kind, amount, now_ms).await)
    }

    /// The identity's counter for the window starting at `window_start`
    /// (0 if it has none).
    pub async fn rate_window_used(
        &self,
        identity_id: &str,
        kind: RateKind,
        window_start: i64,
    ) -> Result<u64, StoreError> {
        on_backend!(self, b => b.rate_window_used(identity_id, kind, window_start).await)
    }

    /// Deletes the counters of windows that started before `before` (unix
    /// seconds); returns how many. Housekeeping passes the start of the
    /// previous window: older ones no longer weigh in any estimate.
    pub async fn prune_rate_windows(&self, before: i64) -> Result<u64, StoreError> {
        on_backend!(self, b => b.prune_rate_windows(before).await)
    }
}

/// Reads a `used` column (never negative: the schema checks it).
pub(crate) fn used(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A grant as the `used` column stores it.
pub(crate) fn as_column(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window start (a multiple of 60).
    const W: i64 = 1_800_000_000;

    fn ask(ceiling: u64, most: u64, room_share: u64, now_ms: i64) -> AllotmentAsk<'static> {
        AllotmentAsk {
            identity_id: "idn_1",
            kind: RateKind::Requests,
            ceiling,
            most,
            room_share,
            now_ms,
        }
    }

    #[test]
    fn grants_shrink_as_the_limit_nears_and_stop_at_it() {
        let at = W * 1000;
        assert_eq!(grant_for(&ask(100, 5, 8, at), W, 0, 0), 5);
        assert_eq!(grant_for(&ask(100, 5, 8, at), W, 0, 80), 2);
        assert_eq!(grant_for(&ask(100, 5, 8, at), W, 0, 99), 1);
        assert_eq!(grant_for(&ask(100, 5, 8, at), W, 0, 100), 0);
        assert_eq!(grant_for(&ask(100, 50, 1, at), W, 0, 70), 30);
    }

    #[test]
    fn the_previous_window_weighs_as_it_slides_out() {
        // 30 s in: half of the previous 100 still counts.
        let at = W * 1000 + 30_000;
        assert_eq!(grant_for(&ask(100, 100, 1, at), W, 100, 0), 50);
        // 0.5 of 99 = 49.5: room 50.5, floor 50.
        assert_eq!(grant_for(&ask(100, 100, 1, at), W, 99, 0), 50);
        assert_eq!(window_start(at), W);
    }
}
