//! Keeping this replica in step with the store: revocations, identity
//! status and signing keys that the CLI or other replicas changed,
//! retiring expired signing keys, pruning expired revocations, recording
//! grant expiries, and writing buffered credential-use times.

use std::time::{Duration, Instant};

use modelgate_types::clock::unix_now;

use crate::Control;

impl Control {
    /// Re-reads revocations, identity status and signing keys (every
    /// `tokens.sync_interval`; a replica whose last successful sync is
    /// older than `tokens.max_staleness` authenticates nobody); retires expired signing keys, prunes
    /// expired revocations and records grant expiries (every
    /// `server.housekeeping_interval`).
    pub fn spawn_state_sync(&self) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            let core = &control.core;
            let mut tick = tokio::time::interval(control.sync_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_housekeeping = Instant::now();
            let mut expiries_until = unix_now();
            loop {
                tick.tick().await;
                let now = unix_now();
                if let Err(e) = core.identity.refresh(now).await {
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
                if last_housekeeping.elapsed() >= control.housekeeping_interval {
                    last_housekeeping = Instant::now();
                    match core.tokens.retire_signing_keys(now).await {
                        Ok(retired) if !retired.is_empty() => {
                            tracing::info!(?retired, "signing keys retired")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not retire signing keys"),
                    }
                    if let Err(e) = core.tokens.prune_revocations(now).await {
                        tracing::warn!(error = %e, "could not prune expired token records");
                    }
                    control.record_grant_expiries(expiries_until, now).await;
                    expiries_until = now;
                }
            }
        })
    }

    /// Writes buffered credential-use times to the store every `every`.
    pub fn spawn_usage_flusher(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let identity = self.core.identity.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = identity.flush_usage().await {
                    tracing::warn!(error = %e, "could not record last key use");
                }
            }
        })
    }
}
