//! Signing the chains that stopped replicas left unsigned.
//!
//! A replica killed between two checkpoints leaves records after its last
//! one. If it restarts under its id, its own writer checks and signs them;
//! if it never does (a replaced pod has a new host name), a live replica
//! takes that chain's id for a moment (its lease: the chain still has one
//! writer), checks the tail against the last checkpoint and signs it.
//!
//! Only a chain whose writer is known to be gone is touched: its claim's
//! holder ran on this host and its process no longer runs, or this replica
//! has watched the claim go unrenewed for two lease periods while the
//! store answered (a live holder renews every third of one, and every
//! second after a failure). A lapsed claim alone is not enough: after a
//! database outage every claim has lapsed while its holders live. A chain
//! with no claim at all is left alone: a replica of a release before
//! leases may be writing it. Of several replicas looking at once, the
//! lease lets one in.

use std::collections::{HashMap, HashSet};

use modelgate_core::audit::ChainSeal;
use modelgate_core::replica_lease::{LeaseError, ReplicaLease, holder_is_gone, host_name};
use modelgate_store::{ChainHead, ReplicaLeaseRecord};

use crate::Control;

/// A claim seen unrenewed: by whom, renewed when, first seen so (all on
/// the database's clock).
struct Unrenewed {
    holder: String,
    renewed_at_ms: i64,
    since_ms: i64,
}

/// What the sealer remembers between passes.
#[derive(Default)]
struct SealerState {
    /// Chains whose tail does not verify: reported once, left as evidence
    /// (docs/audit.md, "A changed tail is a fault").
    faulted: HashSet<String>,
    /// Lapsed claims, by replica id.
    unrenewed: HashMap<String, Unrenewed>,
}

impl Control {
    /// Looks for chains left unsigned every `server.housekeeping_interval`.
    pub fn spawn_chain_sealer(&self) -> tokio::task::JoinHandle<()> {
        let control = self.clone();
        tokio::spawn(async move {
            let mut state = SealerState::default();
            let host = host_name();
            let mut tick = tokio::time::interval(control.housekeeping_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                control.seal_left_chains(&mut state, &host).await;
            }
        })
    }

    /// Signs the tail of every chain that ends unsigned and whose writer is
    /// known to be gone.
    async fn seal_left_chains(&self, state: &mut SealerState, host: &str) {
        let core = &self.core;
        let (heads, leases) = match (
            core.store.audit_chain_heads().await,
            core.store.replica_leases().await,
        ) {
            (Ok(heads), Ok(leases)) => (heads, leases),
            (Err(e), _) | (_, Err(e)) => {
                // Nothing was observed: what was seen before no longer
                // counts as watched while the store answered.
                state.unrenewed.clear();
                tracing::debug!(error = %e, "cannot list audit chains to seal");
                return;
            }
        };
        let ttl_ms = i64::try_from(core.lease.ttl().as_millis()).unwrap_or(i64::MAX);
        let own = core.lease.replica_id();
        let mut due = Vec::new();
        for head in &heads {
            if head.signed || head.replica == own || state.faulted.contains(&head.replica) {
                continue;
            }
            let Some(lease) = leases.leases.iter().find(|l| l.replica_id == head.replica) else {
                continue;
            };
            if writer_is_gone(state, lease, leases.now_ms, ttl_ms, host) {
                due.push((head.clone(), lease.clone()));
            }
        }
        state
            .unrenewed
            .retain(|replica, _| heads.iter().any(|h| &h.replica == replica && !h.signed));
        for (head, left) in due {
            self.seal_chain(&head, &left, state).await;
        }
    }

    /// Claims `head`'s id, signs its tail, and gives the id back to the
    /// claim it found (`left`), as it was: if that writer was only cut off
    /// from the store, it renews its own claim and goes on.
    async fn seal_chain(
        &self,
        head: &ChainHead,
        left: &ReplicaLeaseRecord,
        state: &mut SealerState,
    ) {
        let core = &self.core;
        let lease = match ReplicaLease::claim(&core.store, &head.replica, core.lease.ttl()).await {
            Ok(lease) => lease,
            Err(LeaseError::Held { .. }) => return,
            Err(e) => {
                tracing::warn!(chain = %head.replica, error = %e, "cannot claim a chain to seal it");
                return;
            }
        };
        state.unrenewed.remove(&head.replica);
        match core.audit.seal_chain(&head.replica, lease.holder()).await {
            Ok(ChainSeal::Sealed { last_seq }) => tracing::info!(
                chain = %head.replica,
                last_seq,
                "signed the tail of a chain whose replica stopped without its last checkpoint"
            ),
            Ok(ChainSeal::Faulted(reason)) => {
                tracing::error!(
                    chain = %head.replica,
                    %reason,
                    "a stopped replica's chain does not verify against its last checkpoint; \
                     left unsigned as evidence"
                );
                state.faulted.insert(head.replica.clone());
            }
            Ok(ChainSeal::Unavailable) => {
                tracing::debug!(chain = %head.replica, "the store is unavailable; sealing later")
            }
            Err(e) => {
                tracing::warn!(chain = %head.replica, error = %e, "cannot seal a stopped replica's chain")
            }
        }
        lease.hand_back(left).await;
    }
}

/// Whether `lease`'s holder is known to be gone at `now_ms`: a process of
/// this host that no longer runs, or a claim watched unrenewed for two
/// lease periods (`ttl_ms`) of passes that all reached the store.
fn writer_is_gone(
    state: &mut SealerState,
    lease: &ReplicaLeaseRecord,
    now_ms: i64,
    ttl_ms: i64,
    host: &str,
) -> bool {
    if holder_is_gone(lease, host) {
        return true;
    }
    if lease.expires_at_ms > now_ms {
        state.unrenewed.remove(&lease.replica_id);
        return false;
    }
    let seen = state
        .unrenewed
        .entry(lease.replica_id.clone())
        .or_insert_with(|| Unrenewed {
            holder: lease.holder.clone(),
            renewed_at_ms: lease.renewed_at_ms,
            since_ms: now_ms,
        });
    if seen.holder != lease.holder || seen.renewed_at_ms != lease.renewed_at_ms {
        *seen = Unrenewed {
            holder: lease.holder.clone(),
            renewed_at_ms: lease.renewed_at_ms,
            since_ms: now_ms,
        };
        return false;
    }
    now_ms - seen.since_ms >= ttl_ms.saturating_mul(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(host: &str, pid: i64, renewed_at_ms: i64, expires_at_ms: i64) -> ReplicaLeaseRecord {
        ReplicaLeaseRecord {
            replica_id: "b".into(),
            holder: "h".into(),
            host: host.into(),
            pid,
            acquired_at_ms: 0,
            renewed_at_ms,
            expires_at_ms,
        }
    }

    #[test]
    fn a_lapsed_claim_counts_as_gone_only_after_two_lease_periods_unrenewed() {
        let mut state = SealerState::default();
        let ttl = 15_000;
        // Another host: live, then lapsed (as after a database outage).
        let live = lease("elsewhere", 1, 0, 15_000);
        assert!(!writer_is_gone(&mut state, &live, 10_000, ttl, "here"));
        let lapsed = lease("elsewhere", 1, 0, 15_000);
        assert!(!writer_is_gone(&mut state, &lapsed, 20_000, ttl, "here"));
        assert!(!writer_is_gone(&mut state, &lapsed, 49_999, ttl, "here"));
        // The holder renews: the watch starts again.
        let renewed = lease("elsewhere", 1, 50_000, 45_000);
        assert!(!writer_is_gone(&mut state, &renewed, 50_000, ttl, "here"));
        assert!(!writer_is_gone(&mut state, &renewed, 79_999, ttl, "here"));
        assert!(writer_is_gone(&mut state, &renewed, 80_000, ttl, "here"));
        // A pass that could not reach the store clears what was watched.
        state.unrenewed.clear();
        assert!(!writer_is_gone(&mut state, &renewed, 90_000, ttl, "here"));
    }

    #[test]
    fn a_holder_without_a_known_process_waits_for_two_lease_periods() {
        // A claim whose holder names no process identity (or another pid
        // namespace) is never gone at once, even on this host with a pid
        // that does not run here.
        let mut state = SealerState::default();
        let bare = lease("here", i64::from(i32::MAX), 0, 1);
        assert!(!writer_is_gone(&mut state, &bare, 10, 15_000, "here"));
        assert!(writer_is_gone(&mut state, &bare, 30_010, 15_000, "here"));
    }
}
