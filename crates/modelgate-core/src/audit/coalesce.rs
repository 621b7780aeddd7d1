//! Refusals of callers that are not authenticated (a failed
//! authentication, a source over its failed-authentication budget),
//! coalesced per source, surface and reason per interval
//! (`[audit] refusal_coalesce_interval`), so a flood of bad credentials
//! cannot turn into a flood of audit writes.
//!
//! The first refusal of a key in an interval is written on its own, as
//! before, and opens the interval; the rest are only counted. When the
//! interval ends, one `refusal.summary` control record carries the count
//! (and the first and last time) into the chain; at shutdown every open
//! count is written. Memory is bounded: past `max_keys` open keys (or as
//! many summaries waiting to be written), a refusal is written on its own
//! rather than counted, so no count is ever dropped.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use modelgate_audit::{AuditEvent, ControlRecord};

/// What refusals are counted together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefusalKey {
    /// The caller's source address.
    pub source: IpAddr,
    /// Where it was refused: `model_api` or `token`.
    pub surface: &'static str,
    /// Why (`unauthenticated`, `auth_limited`, `invalid_client`, ...).
    pub reason: &'static str,
}

/// What to do with one refusal's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coalesced {
    /// Write it on its own (the first of its key in the interval, or
    /// coalescing is off or full).
    WriteOwn,
    /// Counted into the interval's summary; write nothing now.
    Counted,
}

/// The refusals of one key in one interval beyond the one written.
#[derive(Debug, Clone, Copy)]
struct Tally {
    opened_ms: i64,
    count: u64,
    first_ms: i64,
    last_ms: i64,
}

/// A count due to be written: one `refusal.summary` record.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    key: RefusalKey,
    tally: Tally,
}

impl Summary {
    /// Refusals this summary stands for.
    pub fn count(&self) -> u64 {
        self.tally.count
    }

    /// The summary's record.
    pub fn event(&self, interval: Duration) -> AuditEvent {
        let source = self.key.source.to_string();
        let t = &self.tally;
        let detail = BTreeMap::from([
            ("source".to_owned(), source.clone()),
            ("surface".to_owned(), self.key.surface.to_owned()),
            ("reason".to_owned(), self.key.reason.to_owned()),
            ("count".to_owned(), t.count.to_string()),
            ("first_ms".to_owned(), t.first_ms.to_string()),
            ("last_ms".to_owned(), t.last_ms.to_string()),
            ("interval_start_ms".to_owned(), t.opened_ms.to_string()),
            ("interval_ms".to_owned(), interval.as_millis().to_string()),
        ]);
        AuditEvent::Control(ControlRecord {
            action: "refusal.summary".to_owned(),
            actor: None,
            target: Some(source),
            outcome: "refused".to_owned(),
            detail,
        })
    }

    fn merge(&mut self, other: &Summary) {
        let (a, b) = (&mut self.tally, &other.tally);
        a.count += b.count;
        a.first_ms = a.first_ms.min(b.first_ms);
        a.last_ms = a.last_ms.max(b.last_ms);
        a.opened_ms = a.opened_ms.min(b.opened_ms);
    }
}

#[derive(Debug, Default)]
struct State {
    open: HashMap<RefusalKey, Tally>,
    /// Ended intervals with counts not yet written (merged per key).
    ended: HashMap<RefusalKey, Summary>,
}

/// The open intervals of every key refused lately.
#[derive(Debug)]
pub struct RefusalCoalescer {
    interval: Duration,
    interval_ms: i64,
    max_keys: usize,
    state: Mutex<State>,
}

impl RefusalCoalescer {
    /// Coalesces over `interval` (zero: never), tracking at most
    /// `max_keys` keys.
    pub fn new(interval: Duration, max_keys: usize) -> Self {
        Self {
            interval,
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            max_keys,
            state: Mutex::new(State::default()),
        }
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes one refusal of `key` at `now_ms` (unix ms): whether its record
    /// is written on its own or counted.
    pub fn note(&self, key: RefusalKey, now_ms: i64) -> Coalesced {
        if self.interval_ms == 0 {
            return Coalesced::WriteOwn;
        }
        let mut state = self.lock();
        let State { open, ended } = &mut *state;
        if let Some(tally) = open.get_mut(&key) {
            if now_ms < tally.opened_ms.saturating_add(self.interval_ms) {
                if tally.count == 0 {
                    tally.first_ms = now_ms;
                }
                tally.count += 1;
                tally.last_ms = now_ms;
                return Coalesced::Counted;
            }
            // The interval is over and not yet flushed: keep its count for
            // the summary and open a new one with this refusal.
            let done = std::mem::replace(tally, Tally::opened(now_ms));
            if done.count > 0 {
                let summary = Summary { key, tally: done };
                ended
                    .entry(key)
                    .and_modify(|s| s.merge(&summary))
                    .or_insert(summary);
            }
            return Coalesced::WriteOwn;
        }
        if open.len() < self.max_keys && ended.len() < self.max_keys {
            open.insert(key, Tally::opened(now_ms));
        }
        Coalesced::WriteOwn
    }

    /// Takes the counts whose interval ended by `now_ms` (every count when
    /// `now_ms` is `None`: shutdown), forgetting keys with nothing counted.
    pub fn take_due(&self, now_ms: Option<i64>) -> Vec<Summary> {
        let mut state = self.lock();
        let State { open, ended } = &mut *state;
        let mut due = std::mem::take(ended);
        let interval = self.interval_ms;
        open.retain(|key, tally| {
            let over = now_ms.is_none_or(|now| now >= tally.opened_ms.saturating_add(interval));
            if over && tally.count > 0 {
                let summary = Summary {
                    key: *key,
                    tally: *tally,
                };
                due.entry(*key)
                    .and_modify(|s| s.merge(&summary))
                    .or_insert(summary);
            }
            !over
        });
        due.into_values().collect()
    }

    /// Puts back a summary that could not be written, for the next flush.
    pub fn put_back(&self, summary: Summary) {
        let mut state = self.lock();
        state
            .ended
            .entry(summary.key)
            .and_modify(|s| s.merge(&summary))
            .or_insert(summary);
    }
}

impl Tally {
    fn opened(now_ms: i64) -> Tally {
        Tally {
            opened_ms: now_ms,
            count: 0,
            first_ms: now_ms,
            last_ms: now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn key(source: &str, reason: &'static str) -> RefusalKey {
        RefusalKey {
            source: source.parse().unwrap(),
            surface: "model_api",
            reason,
        }
    }

    fn total(summaries: &[Summary]) -> u64 {
        summaries.iter().map(Summary::count).sum()
    }

    #[test]
    fn the_first_is_written_and_the_rest_counted_until_the_interval_ends() {
        let c = RefusalCoalescer::new(Duration::from_secs(10), 100);
        let a = key("192.0.2.1", "unauthenticated");
        assert_eq!(c.note(a, T0), Coalesced::WriteOwn);
        for i in 1..=5 {
            assert_eq!(c.note(a, T0 + i), Coalesced::Counted);
        }
        // Another reason, another source: written on their own.
        assert_eq!(
            c.note(key("192.0.2.1", "auth_limited"), T0),
            Coalesced::WriteOwn
        );
        assert_eq!(
            c.note(key("192.0.2.2", "unauthenticated"), T0),
            Coalesced::WriteOwn
        );
        assert!(c.take_due(Some(T0 + 9_999)).is_empty());
        let due = c.take_due(Some(T0 + 10_000));
        assert_eq!(due.len(), 1, "keys with nothing counted write no summary");
        assert_eq!(total(&due), 5);
        let AuditEvent::Control(record) = due[0].event(Duration::from_secs(10)) else {
            panic!("a control record");
        };
        assert_eq!(record.action, "refusal.summary");
        assert_eq!(record.detail["count"], "5");
        assert_eq!(record.detail["first_ms"], (T0 + 1).to_string());
        assert_eq!(record.detail["last_ms"], (T0 + 5).to_string());
        // The next refusal opens a new interval.
        assert_eq!(c.note(a, T0 + 10_001), Coalesced::WriteOwn);
    }

    #[test]
    fn a_late_flush_loses_no_count() {
        let c = RefusalCoalescer::new(Duration::from_secs(1), 100);
        let a = key("192.0.2.1", "unauthenticated");
        c.note(a, T0);
        c.note(a, T0 + 1);
        c.note(a, T0 + 2);
        // The interval ended, the flush has not run, a refusal arrives.
        assert_eq!(c.note(a, T0 + 1_500), Coalesced::WriteOwn);
        assert_eq!(c.note(a, T0 + 1_600), Coalesced::Counted);
        assert_eq!(total(&c.take_due(None)), 3, "2 ended + 1 open at shutdown");
        assert!(c.take_due(None).is_empty());
    }

    #[test]
    fn a_summary_that_failed_is_written_with_the_next() {
        let c = RefusalCoalescer::new(Duration::from_secs(1), 100);
        let a = key("192.0.2.1", "unauthenticated");
        c.note(a, T0);
        c.note(a, T0 + 1);
        let due = c.take_due(Some(T0 + 1_000));
        c.put_back(due[0]);
        c.note(a, T0 + 1_001);
        c.note(a, T0 + 1_002);
        let due = c.take_due(Some(T0 + 2_001));
        assert_eq!(due.len(), 1, "merged per key");
        assert_eq!(total(&due), 2);
    }

    #[test]
    fn past_the_cap_refusals_are_written_not_dropped() {
        let c = RefusalCoalescer::new(Duration::from_secs(10), 3);
        for i in 0..3 {
            c.note(key(&format!("192.0.2.{i}"), "unauthenticated"), T0);
        }
        let extra = key("198.51.100.1", "unauthenticated");
        assert_eq!(c.note(extra, T0), Coalesced::WriteOwn);
        assert_eq!(c.note(extra, T0 + 1), Coalesced::WriteOwn, "not tracked");
        assert_eq!(c.lock().open.len(), 3);
    }

    #[test]
    fn a_zero_interval_writes_every_refusal() {
        let c = RefusalCoalescer::new(Duration::ZERO, 3);
        let a = key("192.0.2.1", "unauthenticated");
        assert_eq!(c.note(a, T0), Coalesced::WriteOwn);
        assert_eq!(c.note(a, T0), Coalesced::WriteOwn);
    }
}
