//! The budget of failed authentications per source
//! (`[limits] failed_auth_per_source`), shared by the model APIs and the
//! token endpoint.
//!
//! A token bucket per source, kept as one number (the generic cell rate
//! algorithm): the time at which the source's budget is full again. Each
//! failed authentication moves it one refill period (`60 s / per_minute`)
//! later; a source whose time lies more than `burst - 1` periods ahead has
//! no failure left, and its next credential is refused before it is looked
//! up, until the time comes close enough again. Successes cost nothing.
//!
//! The per-role rate limiter of the data plane (`stages/rate_limit`) counts
//! requests per identity in minute windows and never forgets an identity;
//! that suits a bounded set of known identities, not addresses an attacker
//! chooses, so this one is keyed by address, holds one `i64` per source,
//! forgets sources whose budget is full again, and never tracks more than
//! `max_sources`: at the cap it drops every source back at a full budget
//! and, if that frees less than an eighth of the room, the eighth closest
//! to a full budget, so the work per new source stays constant on average.
//! IPv6 sources are counted per /64, the block one host usually holds.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use modelgate_config::FailedAuthLimit;

use crate::AuthFailure;

/// A source over its budget: seconds until it has a failure left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget {
    /// Seconds until a credential from the source is checked again.
    pub retry_after: u64,
}

/// The failed-authentication budgets of the sources seen.
#[derive(Debug)]
pub struct FailedAuthLimiter {
    settings: FailedAuthLimit,
    /// Refill period per failure, ms.
    period_ms: i64,
    /// Per source: when its budget is full again (unix ms).
    full_at: Mutex<HashMap<IpAddr, i64>>,
    /// How many sources are tracked (read without the lock).
    tracked: AtomicUsize,
}

/// Whether `failure` spends the source's budget: a credential was
/// presented and refused (not missing, and not unchecked because the
/// store or the state sync failed).
pub fn spends_budget(failure: &AuthFailure) -> bool {
    !matches!(failure, AuthFailure::Missing) && !failure.is_unavailable()
}

/// The key a source is counted under: the address, or its /64 for IPv6.
fn key_of(addr: IpAddr) -> IpAddr {
    match addr.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    }
}

impl FailedAuthLimiter {
    /// A limiter with `settings` (off when `burst` is 0).
    pub fn new(settings: FailedAuthLimit) -> Self {
        let per_minute = i64::from(settings.per_minute.max(1));
        Self {
            settings,
            period_ms: (60_000 / per_minute).max(1),
            full_at: Mutex::new(HashMap::new()),
            tracked: AtomicUsize::new(0),
        }
    }

    /// How far ahead a source's time may lie and still have a failure left.
    fn tolerance_ms(&self) -> i64 {
        i64::from(self.settings.burst.saturating_sub(1)) * self.period_ms
    }

    /// Number of sources tracked now.
    pub fn tracked(&self) -> usize {
        self.tracked.load(Ordering::Relaxed)
    }

    /// Whether a credential from `source` may be checked at `now_ms`
    /// (unix ms), or the source has spent its budget. Costs nothing while
    /// no source has failed, and one map lookup otherwise.
    pub fn check(&self, source: IpAddr, now_ms: i64) -> Result<(), OverBudget> {
        if !self.settings.enabled() || self.tracked() == 0 {
            return Ok(());
        }
        let map = self.full_at.lock().unwrap_or_else(|e| e.into_inner());
        let Some(&full_at) = map.get(&key_of(source)) else {
            return Ok(());
        };
        let ahead = full_at - now_ms - self.tolerance_ms();
        if ahead <= 0 {
            return Ok(());
        }
        Err(OverBudget {
            retry_after: u64::try_from((ahead + 999) / 1000).unwrap_or(1),
        })
    }

    /// Spends one failure of `source`'s budget at `now_ms`.
    pub fn failed(&self, source: IpAddr, now_ms: i64) {
        if !self.settings.enabled() {
            return;
        }
        let key = key_of(source);
        let ceiling = now_ms + i64::from(self.settings.burst) * self.period_ms;
        let mut map = self.full_at.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(&key) && map.len() >= self.settings.max_sources {
            self.make_room(&mut map, now_ms);
        }
        let full_at = map.entry(key).or_insert(now_ms);
        *full_at = ((*full_at).max(now_ms) + self.period_ms).min(ceiling);
        self.tracked.store(map.len(), Ordering::Relaxed);
    }

    /// Frees room at the cap: sources back at a full budget first, then, if
    /// that frees less than an eighth of `max_sources`, the eighth whose
    /// budget is fullest.
    fn make_room(&self, map: &mut HashMap<IpAddr, i64>, now_ms: i64) {
        map.retain(|_, full_at| *full_at > now_ms);
        let room = (self.settings.max_sources / 8).max(1);
        let free = self.settings.max_sources.saturating_sub(map.len());
        if free >= room {
            return;
        }
        let mut times: Vec<i64> = map.values().copied().collect();
        let evict = (room - free).min(times.len());
        if evict == 0 {
            return;
        }
        let (_, nth, _) = times.select_nth_unstable(evict - 1);
        let threshold = *nth;
        let mut left = evict;
        map.retain(|_, full_at| {
            if left > 0 && *full_at <= threshold {
                left -= 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use modelgate_identity::AuthError;

    const T0: i64 = 1_800_000_000_000;

    fn limiter(burst: u32, per_minute: u32, max_sources: usize) -> FailedAuthLimiter {
        FailedAuthLimiter::new(FailedAuthLimit {
            burst,
            per_minute,
            max_sources,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_is_refused_after_its_burst_and_others_are_not() {
        let l = limiter(5, 60, 100);
        let a = ip("192.0.2.1");
        for _ in 0..5 {
            assert!(l.check(a, T0).is_ok());
            l.failed(a, T0);
        }
        let refused = l.check(a, T0).unwrap_err();
        assert_eq!(refused.retry_after, 1, "one failure back per second");
        assert!(l.check(ip("192.0.2.2"), T0).is_ok(), "another source");
        // One period later one failure is allowed again, and only one.
        assert!(l.check(a, T0 + 1000).is_ok());
        l.failed(a, T0 + 1000);
        assert!(l.check(a, T0 + 1000).is_err());
        // Long after, the full burst is back.
        assert!(l.check(a, T0 + 60_000).is_ok());
    }

    #[test]
    fn retry_after_reaches_the_next_allowed_failure() {
        let l = limiter(2, 10, 100); // one back per 6 s
        let a = ip("192.0.2.1");
        l.failed(a, T0);
        l.failed(a, T0);
        assert_eq!(l.check(a, T0).unwrap_err().retry_after, 6);
        assert!(l.check(a, T0 + 5_999).is_err());
        assert!(l.check(a, T0 + 6_000).is_ok());
    }

    #[test]
    fn ipv6_sources_share_their_64() {
        let l = limiter(1, 1, 100);
        l.failed(ip("2001:db8:1:2::1"), T0);
        assert!(l.check(ip("2001:db8:1:2::ffff"), T0).is_err());
        assert!(l.check(ip("2001:db8:1:3::1"), T0).is_ok());
    }

    #[test]
    fn rotating_sources_cannot_grow_memory_past_the_cap() {
        let cap = 1000;
        let l = limiter(3, 1, cap);
        for i in 0..50_000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            l.failed(addr, T0 + i64::from(i));
            assert!(l.tracked() <= cap, "{} sources tracked", l.tracked());
        }
        assert!(l.full_at.lock().unwrap().len() <= cap);
        // The most recent attacker addresses are still limited.
        let recent = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + 49_999));
        l.failed(recent, T0 + 50_000);
        l.failed(recent, T0 + 50_000);
        assert!(l.check(recent, T0 + 50_000).is_err());
    }

    #[test]
    fn sources_back_at_a_full_budget_are_forgotten_first() {
        let l = limiter(2, 60, 4);
        for i in 0..4u8 {
            l.failed(ip(&format!("192.0.2.{i}")), T0);
        }
        // An hour later all four are back at full budget: room is made by
        // dropping them, not by a victim still over its budget.
        let busy = ip("198.51.100.1");
        l.failed(busy, T0 + 3_600_000);
        l.failed(busy, T0 + 3_600_000);
        assert_eq!(l.tracked(), 1);
        assert!(l.check(busy, T0 + 3_600_000).is_err());
    }

    #[test]
    fn off_costs_nothing_and_limits_nothing() {
        let l = limiter(0, 10, 10);
        for _ in 0..100 {
            l.failed(ip("192.0.2.1"), T0);
        }
        assert_eq!(l.tracked(), 0);
        assert!(l.check(ip("192.0.2.1"), T0).is_ok());
    }

    #[test]
    fn only_refused_credentials_spend_the_budget() {
        assert!(!spends_budget(&AuthFailure::Missing));
        assert!(spends_budget(&AuthFailure::Ambiguous));
        assert!(spends_budget(&AuthFailure::Refused(AuthError::Unknown)));
        assert!(!spends_budget(&AuthFailure::Refused(AuthError::StateStale)));
    }
}
