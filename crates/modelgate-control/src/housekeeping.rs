//! Periodic writes to the shared store, each run once per interval across
//! every replica of the store, and this replica's own buffered
//! credential-use times.
//!
//! Shared (claimed through [`modelgate_store::Store::claim_housekeeping`],
//! so one replica runs each per interval and two runs never overlap):
//! retiring expired signing keys, pruning expired revocation and
//! issued-token records, recording grant expiries in the audit log (on the
//! chain of the replica that ran it), pruning old shared rate-limit
//! windows, and pruning expired audit bodies.
//!
//! Per replica (not claimed): the state sync (`state_sync`, this
//! replica's caches), writing the credential-use times this replica
//! buffered, and its own audit chain's refusal summaries and checkpoints
//! (the audit trail's).

use std::time::Duration;

use modelgate_types::clock::{now_ms, unix_now};

use crate::Control;

/// A housekeeping task run once per interval across replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedTask {
    /// Moves `previous` signing keys whose verification window closed to
    /// `retired`.
    RetireSigningKeys,
    /// Deletes revocation and issued-token records of expired tokens.
    PruneRevocations,
    /// Records `grant.expire` for every grant that ran out since the
    /// previous run (whichever replica ran it).
    RecordGrantExpiries,
    /// Drops the bodies of audit lines whose retention is over.
    PruneAuditBodies,
    /// Deletes shared rate-limit windows older than the previous one (no
    /// sliding estimate reads them any more).
    PruneRateWindows,
}

impl SharedTask {
    /// The task's name in `housekeeping_runs`.
    pub fn name(self) -> &'static str {
        match self {
            SharedTask::RetireSigningKeys => "signing_keys.retire",
            SharedTask::PruneRevocations => "revocations.prune",
            SharedTask::RecordGrantExpiries => "grants.record_expiries",
            SharedTask::PruneAuditBodies => "audit.prune_bodies",
            SharedTask::PruneRateWindows => "rate_windows.prune",
        }
    }
}

/// The tasks run every `server.housekeeping_interval`.
const EVERY_HOUSEKEEPING: [SharedTask; 4] = [
    SharedTask::RetireSigningKeys,
    SharedTask::PruneRevocations,
    SharedTask::RecordGrantExpiries,
    SharedTask::PruneRateWindows,
];

impl Control {
    /// Runs the shared tasks: every `server.housekeeping_interval` signing
    /// key retirement, revocation pruning and grant expiries, and every
    /// `audit.prune_interval` audit body pruning, each only when this
    /// replica wins the task's claim for the interval.
    pub fn spawn_housekeeping(&self) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            let started = unix_now();
            let mut tick = tokio::time::interval(control.housekeeping_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut prune_tick = tokio::time::interval(control.audit_prune_interval);
            prune_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first housekeeping runs one interval after the start.
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        for task in EVERY_HOUSEKEEPING {
                            control.run_shared(task, control.housekeeping_interval, started).await;
                        }
                    }
                    _ = prune_tick.tick() => {
                        control
                            .run_shared(SharedTask::PruneAuditBodies, control.audit_prune_interval, started)
                            .await;
                    }
                }
            }
        })
    }

    /// Runs `task` if this replica wins its claim for the `interval`
    /// (`started`: when this replica started, the start of the grant
    /// expiry window when the task never ran). Returns whether it ran.
    pub async fn run_shared(&self, task: SharedTask, interval: Duration, started: i64) -> bool {
        let core = &self.core;
        let now = unix_now();
        let claim = match core
            .store
            .claim_housekeeping(task.name(), interval, &self.replica, now)
            .await
        {
            Ok(Some(claim)) => claim,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, task = task.name(), "housekeeping: could not claim the task");
                return false;
            }
        };
        match task {
            SharedTask::RetireSigningKeys => match core.tokens.retire_signing_keys(now).await {
                Ok(retired) if !retired.is_empty() => {
                    tracing::info!(?retired, "signing keys retired")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not retire signing keys"),
            },
            SharedTask::PruneRevocations => {
                if let Err(e) = core.tokens.prune_revocations(now).await {
                    tracing::warn!(error = %e, "could not prune expired token records");
                }
            }
            SharedTask::RecordGrantExpiries => {
                let since = claim.previous_run_at().unwrap_or(started);
                if self.record_grant_expiries(since, now).await.is_none() {
                    // Not all recorded (say this replica's chain cannot
                    // write): the next claim, here or on another replica,
                    // covers this window again. Already recorded ones may
                    // then be recorded twice; none is lost.
                    if let Err(e) = core
                        .store
                        .rewind_housekeeping(task.name(), now, claim.previous_run_at())
                        .await
                    {
                        tracing::warn!(error = %e, "housekeeping: could not rewind grant expiries");
                    }
                }
            }
            SharedTask::PruneRateWindows => {
                let previous =
                    modelgate_store::window_start(now_ms()) - modelgate_store::RATE_WINDOW_SECONDS;
                if let Err(e) = core.store.prune_rate_windows(previous).await {
                    tracing::warn!(error = %e, "could not prune old rate-limit windows");
                }
            }
            SharedTask::PruneAuditBodies => {
                match modelgate_core::audit::prune_expired_bodies(&core.store, now_ms()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(lines = n, "audit: expired bodies pruned"),
                    Err(err) => tracing::warn!(error = %err, "audit: could not prune bodies"),
                }
            }
        }
        claim.release().await;
        true
    }

    /// Writes this replica's buffered credential-use times to the store
    /// every `every` (per replica: the buffer is this process's).
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
