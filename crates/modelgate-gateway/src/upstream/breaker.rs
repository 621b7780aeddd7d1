//! A circuit breaker per upstream: after `threshold` consecutive failures the
//! upstream is skipped for `cooldown`, then one trial request decides whether
//! it closes again or stays open for another cooldown.
//!
//! Every admitted request holds a [`Permit`]. Its outcome is recorded by
//! [`Permit::success`] or [`Permit::failure`]; a permit dropped without
//! either (a 429, a request that could not be built or translated, a caller
//! that went away mid-request) is neutral: the state does not change, and a
//! trial's slot is given back, so the next request is the trial.
//!
//! The breaker is closed, open (cooling down, or cooled down and waiting
//! for a trial) or trying (the trial in flight); [`Breaker::is_open`] is true
//! while it is not closed, which is what the `modelgate_upstream_circuit_open`
//! gauge shows (the forward stage sets it on each transition).

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
    phase: Phase,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Requests pass.
    #[default]
    Closed,
    /// Skipped until the instant; after it, the next request is a trial.
    Open(Instant),
    /// The one trial request is in flight; others are skipped.
    Trying,
}

/// What the breaker says about sending a request now.
#[derive(Debug)]
pub enum Admission<'a> {
    /// Closed: send.
    Allowed(Permit<'a>),
    /// Cooldown over: send this one request as the trial.
    Trial(Permit<'a>),
    /// Open: skip; retry after this long.
    Rejected(Duration),
}

/// A change of state the caller should make visible (gauge, log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed.
    None,
    /// The breaker opened (threshold reached, or the trial failed).
    Opened,
    /// The breaker closed (a healthy answer while it was not closed).
    Closed,
}

/// One admitted request's hold on the breaker. Dropping it without
/// recording an outcome is neutral (and gives back a trial's slot).
#[derive(Debug)]
#[must_use = "dropping a permit at once records nothing"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    trial: bool,
    settled: bool,
}

impl Permit<'_> {
    /// Whether this request is the trial after a cooldown.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// Records a healthy answer: the breaker closes.
    pub fn success(mut self) -> Transition {
        self.settled = true;
        let mut state = self.breaker.lock();
        let was_closed = state.phase == Phase::Closed;
        *state = State::default();
        if was_closed {
            Transition::None
        } else {
            Transition::Closed
        }
    }

    /// Records a failure at `now`: counts toward the threshold while
    /// closed, reopens the breaker when this was the trial. A request
    /// admitted before the breaker opened changes nothing once it is open.
    pub fn failure(mut self, now: Instant) -> Transition {
        self.settled = true;
        let breaker = self.breaker;
        let mut state = breaker.lock();
        match state.phase {
            Phase::Closed => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                if state.consecutive_failures >= breaker.threshold {
                    state.phase = Phase::Open(now + breaker.cooldown);
                    Transition::Opened
                } else {
                    Transition::None
                }
            }
            Phase::Trying if self.trial => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                state.phase = Phase::Open(now + breaker.cooldown);
                Transition::Opened
            }
            Phase::Open(_) | Phase::Trying => Transition::None,
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.settled || !self.trial {
            return;
        }
        let mut state = self.breaker.lock();
        if state.phase == Phase::Trying {
            // Neutral: the cooldown is still over, the next request trials.
            state.phase = Phase::Open(Instant::now());
        }
    }
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
    pub fn admit(&self, now: Instant) -> Admission<'_> {
        let mut state = self.lock();
        let permit = |trial| Permit {
            breaker: self,
            trial,
            settled: false,
        };
        match state.phase {
            Phase::Closed => Admission::Allowed(permit(false)),
            Phase::Open(until) if now < until => Admission::Rejected(until - now),
            Phase::Trying => Admission::Rejected(self.cooldown),
            Phase::Open(_) => {
                state.phase = Phase::Trying;
                Admission::Trial(permit(true))
            }
        }
    }

    /// Whether the breaker is open: not closed (cooling down, waiting for a
    /// trial, or trying one).
    pub fn is_open(&self) -> bool {
        self.lock().phase != Phase::Closed
    }
}

#[cfg(test)]
#[path = "breaker_tests.rs"]
mod tests;
