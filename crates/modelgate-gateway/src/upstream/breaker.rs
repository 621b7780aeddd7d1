//! A circuit breaker per upstream: after `threshold` consecutive failures the
//! upstream is skipped for `cooldown`, then one trial request decides whether
//! it closes again or stays open for another cooldown.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The state of one upstream's breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// What the breaker says about sending a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: send.
    Allowed,
    /// Cooldown over: send this one request as the trial.
    Trial,
    /// Open: skip; retry after this long.
    Rejected(Duration),
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cooldown,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state stays usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a request may be sent at `now`.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.lock();
        match state.open_until {
            None => Admission::Allowed,
            Some(until) if now < until => Admission::Rejected(until - now),
            Some(_) if state.trial_in_flight => Admission::Rejected(self.cooldown),
            Some(_) => {
                state.trial_in_flight = true;
                Admission::Trial
            }
        }
    }

    /// Records a healthy answer: the breaker closes.
    pub fn success(&self) {
        let mut state = self.lock();
        *state = State::default();
    }

    /// Records a failure at `now`; returns true if this opened the breaker.
    pub fn failure(&self, now: Instant) -> bool {
        let mut state = self.lock();
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        let trial_failed = state.trial_in_flight;
        if trial_failed || state.consecutive_failures >= self.threshold {
            let was_open = state.open_until.is_some() && !trial_failed;
            state.open_until = Some(now + self.cooldown);
            state.trial_in_flight = false;
            return !was_open;
        }
        false
    }

    /// Whether the breaker is open (skipping the upstream) at `now`.
    pub fn is_open(&self, now: Instant) -> bool {
        matches!(self.lock().open_until, Some(until) if now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_trials() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(b.admit(t0), Admission::Allowed);
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert!(b.failure(t0), "third failure opens");
        assert!(matches!(b.admit(t0), Admission::Rejected(d) if d == Duration::from_secs(10)));
        assert!(b.is_open(t0));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(b.admit(later), Admission::Trial);
        assert!(
            matches!(b.admit(later), Admission::Rejected(_)),
            "one trial at a time"
        );
        b.success();
        assert_eq!(b.admit(later), Admission::Allowed);
    }

    #[test]
    fn failed_trial_reopens() {
        let b = Breaker::new(1, Duration::from_secs(5));
        let t0 = Instant::now();
        b.failure(t0);
        let t1 = t0 + Duration::from_secs(6);
        assert_eq!(b.admit(t1), Admission::Trial);
        b.failure(t1);
        assert!(matches!(b.admit(t1), Admission::Rejected(_)));
        assert!(b.is_open(t1 + Duration::from_secs(4)));
        assert!(!b.is_open(t1 + Duration::from_secs(6)));
    }

    #[test]
    fn success_resets_count() {
        let b = Breaker::new(2, Duration::from_secs(5));
        let t0 = Instant::now();
        b.failure(t0);
        b.success();
        assert!(!b.failure(t0));
        assert_eq!(b.admit(t0), Admission::Allowed);
    }
}
