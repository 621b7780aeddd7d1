//! Keeping this replica's caches in step with the store: revocations,
//! identity status, signing keys, roles and grants that the CLI or other
//! replicas changed. A per-replica duty: every replica re-reads for itself.

use std::time::{Duration, Instant};

use modelgate_types::clock::unix_now;

use crate::Control;

/// The shortest time between two re-reads woken by notifications: a
/// stream of changes costs at most one re-read per gap (those announced
/// meanwhile coalesce into the next), and a quiet store's first change is
/// read at once.
const NOTIFIED_GAP: Duration = Duration::from_millis(100);

impl Control {
    /// Re-reads revocations, identity status, signing keys, roles and
    /// grants when the store's state revision moved: at once when the store
    /// announces a change (PostgreSQL's notifications; bursts coalesce, at
    /// most one such re-read per 100 ms, and a reconnected listener counts
    /// as one change), and
    /// in any case every `tokens.sync_interval` (the poll, the only way on
    /// SQLite). A replica whose last successful sync is older than
    /// `tokens.max_staleness` authenticates nobody; only a successful
    /// refresh counts as a sync, whatever woke it.
    pub fn spawn_state_sync(&self) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            let core = &control.core;
            // Opened before the first refresh: a change committed after it
            // is either read by that refresh or announced.
            let mut watch = core.store.watch_state().await;
            let mut tick = tokio::time::interval(control.sync_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_read = Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = watch.changed() => {
                        let since = last_read.elapsed();
                        if since < NOTIFIED_GAP {
                            tokio::time::sleep(NOTIFIED_GAP - since).await;
                        }
                        // The poll counts from this re-read.
                        tick.reset();
                    }
                }
                last_read = Instant::now();
                if let Err(e) = core.identity.refresh(unix_now()).await {
                    let stale = core.tokens.is_stale();
                    tracing::warn!(
                        error = %e,
                        since_last_sync_ms = core.tokens.since_last_sync().as_millis() as u64,
                        stale,
                        "could not refresh revocations and signing keys{}",
                        if stale {
                            "; authentication is refused until a sync succeeds (tokens.max_staleness)"
                        } else {
                            ""
                        }
                    );
                }
            }
        })
    }
}
