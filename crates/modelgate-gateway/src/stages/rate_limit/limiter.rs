//! Per-identity request and token rate limits (per minute), from the roles
//! that cover a call.
//!
//! A sliding-window counter per identity: this minute's count plus the last
//! minute's, weighted by how much of it still lies within the last sixty
//! seconds. Requests are counted when admitted; tokens when the call ends
//! (the output is not known before), so a token limit refuses the next
//! request once the window's tokens reach it. One process's view: the
//! gateway uses it on SQLite (one gateway per file); replicas on
//! PostgreSQL share their counters through the store (`shared.rs`).

use std::collections::HashMap;
use std::sync::Mutex;

/// Window length, seconds.
const WINDOW: i64 = 60;

/// The limits that apply to one call (`None`: unlimited).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests per minute.
    pub requests: Option<u32>,
    /// Tokens (in + out) per minute.
    pub tokens: Option<u64>,
}

/// Which limit refused a request, and when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exceeded {
    /// `requests` or `tokens`.
    pub limit: &'static str,
    /// The configured ceiling.
    pub ceiling: u64,
    /// Seconds until a request would be admitted.
    pub retry_after: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counter {
    /// Start of the current window (unix seconds, a multiple of 60).
    window: i64,
    current: u64,
    previous: u64,
}

impl Counter {
    /// Moves the windows forward to `now`.
    fn roll(&mut self, now: i64) {
        let window = now - now.rem_euclid(WINDOW);
        if window == self.window {
            return;
        }
        self.previous = if window - self.window == WINDOW {
            self.current
        } else {
            0
        };
        self.current = 0;
        self.window = window;
    }

    /// The sliding estimate at `now_ms`.
    fn estimate(&self, now_ms: i64) -> f64 {
        let into = (now_ms - self.window * 1000).clamp(0, WINDOW * 1000) as f64 / 1000.0;
        let weight = (WINDOW as f64 - into) / WINDOW as f64;
        self.previous as f64 * weight + self.current as f64
    }

    /// Seconds until the estimate is below `ceiling` (at least 1).
    fn retry_after(&self, now_ms: i64, ceiling: u64) -> u64 {
        for s in 1..=2 * WINDOW as u64 {
            let mut later = *self;
            let at = now_ms + s as i64 * 1000;
            later.roll(at.div_euclid(1000));
            if later.estimate(at) < ceiling as f64 {
                return s;
            }
        }
        2 * WINDOW as u64
    }
}

#[derive(Debug, Default)]
struct Usage {
    requests: Counter,
    tokens: Counter,
}

/// The counters of every identity seen.
#[derive(Debug, Default)]
pub struct RateLimiter {
    by_identity: Mutex<HashMap<String, Usage>>,
}

impl RateLimiter {
    /// Admits one request of `identity` under `limits` at `now_ms` (unix
    /// ms), counting it, or says which limit refuses it.
    pub fn admit(&self, identity: &str, limits: Limits, now_ms: i64) -> Result<(), Exceeded> {
        if limits == Limits::default() {
            return Ok(());
        }
        let now = now_ms.div_euclid(1000);
        let mut map = self
            .by_identity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let usage = map.entry(identity.to_owned()).or_default();
        usage.requests.roll(now);
        usage.tokens.roll(now);
        if let Some(ceiling) = limits.tokens
            && usage.tokens.estimate(now_ms) >= ceiling as f64
        {
            return Err(Exceeded {
                limit: "tokens",
                ceiling,
                retry_after: usage.tokens.retry_after(now_ms, ceiling),
            });
        }
        if let Some(ceiling) = limits.requests {
            let ceiling = u64::from(ceiling);
            if usage.requests.estimate(now_ms) + 1.0 > ceiling as f64 {
                return Err(Exceeded {
                    limit: "requests",
                    ceiling,
                    retry_after: usage.requests.retry_after(now_ms, ceiling),
                });
            }
        }
        usage.requests.current += 1;
        Ok(())
    }

    /// Adds the tokens a finished call of `identity` used.
    pub fn charge_tokens(&self, identity: &str, tokens: u64, now_ms: i64) {
        if tokens == 0 {
            return;
        }
        let mut map = self
            .by_identity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let usage = map.entry(identity.to_owned()).or_default();
        usage.tokens.roll(now_ms.div_euclid(1000));
        usage.tokens.current = usage.tokens.current.saturating_add(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000; // a window start, in ms

    #[test]
    fn the_n_plus_first_request_is_refused_with_a_retry_after() {
        let limiter = RateLimiter::default();
        let limits = Limits {
            requests: Some(3),
            tokens: None,
        };
        for i in 0..3 {
            assert!(limiter.admit("a", limits, T0 + i * 1000).is_ok());
        }
        let refused = limiter.admit("a", limits, T0 + 5000).unwrap_err();
        assert_eq!(refused.limit, "requests");
        assert!(refused.retry_after >= 1 && refused.retry_after <= 120);
        // Another identity is not affected.
        assert!(limiter.admit("b", limits, T0 + 5000).is_ok());
        // Once the window has slid past, requests pass again.
        assert!(limiter.admit("a", limits, T0 + 125_000).is_ok());
    }

    #[test]
    fn the_previous_minute_still_counts_while_it_slides_out() {
        let limiter = RateLimiter::default();
        let limits = Limits {
            requests: Some(10),
            tokens: None,
        };
        for i in 0..10 {
            assert!(limiter.admit("a", limits, T0 + 50_000 + i).is_ok());
        }
        // 5 s into the next minute, ~92% of the last one still counts.
        assert!(limiter.admit("a", limits, T0 + 65_000).is_err());
        // 50 s in, 1/6 counts (≈1.7): room again.
        assert!(limiter.admit("a", limits, T0 + 110_000).is_ok());
    }

    #[test]
    fn tokens_refuse_once_the_window_has_used_them() {
        let limiter = RateLimiter::default();
        let limits = Limits {
            requests: None,
            tokens: Some(100),
        };
        assert!(limiter.admit("a", limits, T0).is_ok());
        limiter.charge_tokens("a", 150, T0 + 10);
        let refused = limiter.admit("a", limits, T0 + 20).unwrap_err();
        assert_eq!(refused.limit, "tokens");
        assert_eq!(refused.ceiling, 100);
    }

    #[test]
    fn no_limits_costs_nothing() {
        let limiter = RateLimiter::default();
        for _ in 0..1000 {
            assert!(limiter.admit("a", Limits::default(), T0).is_ok());
        }
        assert!(limiter.by_identity.lock().unwrap().is_empty());
    }
}
