//! When this replica last synced its shared state with the store, on a
//! monotonic clock (wall-clock jumps change nothing), and the bound past
//! which that state counts as stale.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `max_ms` value meaning "no bound".
const UNBOUNDED: u64 = 0;

/// The last successful sync, as milliseconds since `start`, and the bound.
pub(super) struct SyncClock {
    start: Instant,
    synced_ms: AtomicU64,
    max_ms: AtomicU64,
}

impl SyncClock {
    /// Synced now, no bound.
    pub(super) fn new() -> SyncClock {
        SyncClock {
            start: Instant::now(),
            synced_ms: AtomicU64::new(0),
            max_ms: AtomicU64::new(UNBOUNDED),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Notes a successful sync, now.
    pub(super) fn note_synced(&self) {
        self.synced_ms
            .fetch_max(self.elapsed_ms(), Ordering::AcqRel);
    }

    /// Sets the bound (`None`: none; zero counts as one millisecond).
    pub(super) fn set_max(&self, bound: Option<Duration>) {
        let ms = bound.map_or(UNBOUNDED, |d| {
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        self.max_ms.store(ms, Ordering::Release);
    }

    /// Time since the last successful sync.
    pub(super) fn since_sync(&self) -> Duration {
        let synced = self.synced_ms.load(Ordering::Acquire);
        Duration::from_millis(self.elapsed_ms().saturating_sub(synced))
    }

    /// Whether the last successful sync is older than the bound.
    pub(super) fn is_stale(&self) -> bool {
        let max = self.max_ms.load(Ordering::Acquire);
        max != UNBOUNDED && self.since_sync() > Duration::from_millis(max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_only_past_a_bound() {
        let clock = SyncClock::new();
        clock.note_synced();
        assert!(!clock.is_stale(), "no bound by default");
        clock.set_max(Some(Duration::ZERO));
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.is_stale());
        clock.note_synced();
        assert!(!clock.is_stale());
        assert!(clock.since_sync() < Duration::from_secs(1));
        clock.set_max(None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!clock.is_stale());
    }
}
