//! This process's claim on its replica id in the store.
//!
//! A replica id names one audit chain, and a chain must have one writer:
//! two processes appending to one chain would fork it. So a process claims
//! its id before it opens its chain, renews the claim every third of
//! `server.replica_lease` while it runs, and gives it up when it stops. A
//! second process asking for a live id is refused, and says who holds it.
//! A claim left by a process that is gone lapses after the lease; sooner
//! when the holder was this host and its process no longer runs (a restart
//! after a crash need not wait).

use std::sync::Arc;
use std::time::Duration;

use modelgate_store::{LeaseClaim, LeaseOutcome, ReplicaLeaseRecord, Store, StoreError};
use tokio::sync::watch;

/// Why this process could not claim its replica id.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another running process holds it.
    #[error(
        "replica id \"{replica_id}\" is held by another running process (host {host}, pid {pid}, \
         renewed {renewed_ago_s}s ago; the claim lapses in {expires_in_s}s unless renewed): \
         give this replica its own server.replica_id, or stop the other one; a replica that \
         was killed frees its id when its claim lapses"
    )]
    Held {
        /// The id asked for.
        replica_id: String,
        /// The holder's host.
        host: String,
        /// The holder's process id.
        pid: i64,
        /// Seconds since it renewed.
        renewed_ago_s: i64,
        /// Seconds until its claim lapses.
        expires_in_s: i64,
    },
    /// The store could not be asked.
    #[error("cannot claim replica id \"{replica_id}\" in the store: {source}")]
    Store {
        /// The id asked for.
        replica_id: String,
        /// Why.
        source: StoreError,
    },
    /// No random holder id could be drawn.
    #[error("cannot draw a holder id: {0}")]
    Random(String),
}

/// A claimed replica id, renewed by [`ReplicaLease::spawn_renewal`].
#[derive(Clone)]
pub struct ReplicaLease {
    store: Store,
    replica_id: String,
    holder: String,
    ttl: Duration,
    lost: Arc<watch::Sender<bool>>,
    renewal: Arc<std::sync::Mutex<Option<tokio::task::AbortHandle>>>,
}

impl std::fmt::Debug for ReplicaLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaLease")
            .field("replica_id", &self.replica_id)
            .finish_non_exhaustive()
    }
}

/// This host's name, as the store records a holder's (at most 255
/// characters).
pub fn host_name() -> String {
    modelgate_config::replica::host_name()
        .chars()
        .take(255)
        .collect()
}

/// What tells this process apart from any other that ever ran with its
/// pid: the kernel's boot id, its pid namespace, and its start time (clock
/// ticks since boot). `None` without `/proc`.
fn process_identity() -> Option<(String, String, u64)> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let started = start_time("self")?;
    Some((
        boot.trim().to_owned(),
        namespace.to_string_lossy().into_owned(),
        started,
    ))
}

/// The start time (field 22 of `/proc/PID/stat`) of process `pid`.
fn start_time(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A new holder id: random, then this process's identity, so that another
/// process of the same host and pid namespace can tell whether the holder
/// still runs ([`holder_is_gone`]).
fn new_holder() -> Result<String, LeaseError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| LeaseError::Random(e.to_string()))?;
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(match process_identity() {
        Some((boot, namespace, started)) => format!("{random}|{boot}|{namespace}|{started}"),
        None => random,
    })
}

/// Whether `holder`'s process is known to be gone: it ran on this host, in
/// this boot and this pid namespace, and no process with its pid and start
/// time runs now. Anything else (another host; containers that share a host
/// name but not a pid namespace; no `/proc`) is unknown, so not gone: its
/// claim must lapse.
pub fn holder_is_gone(holder: &ReplicaLeaseRecord, host: &str) -> bool {
    if holder.host != host || host.is_empty() {
        return false;
    }
    let mut parts = holder.holder.split('|').skip(1);
    let (Some(boot), Some(namespace), Some(started)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some((my_boot, my_namespace, _)) = process_identity() else {
        return false;
    };
    if boot != my_boot || namespace != my_namespace {
        return false;
    }
    let Ok(started) = started.parse::<u64>() else {
        return false;
    };
    start_time(&holder.pid.to_string()) != Some(started)
}

impl ReplicaLease {
    /// Claims `replica_id` for this process for `ttl`.
    pub async fn claim(
        store: &Store,
        replica_id: &str,
        ttl: Duration,
    ) -> Result<ReplicaLease, LeaseError> {
        let holder = new_holder()?;
        let host = host_name();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let mut claim = LeaseClaim {
            replica_id,
            holder: &holder,
            host: &host,
            pid: i64::from(std::process::id()),
            ttl_ms,
            replaces: None,
        };
        let store_error = |source| LeaseError::Store {
            replica_id: replica_id.to_owned(),
            source,
        };
        let mut outcome = store.claim_replica(claim).await.map_err(store_error)?;
        if let LeaseOutcome::Held { by, .. } = &outcome
            && holder_is_gone(by, &host)
        {
            tracing::info!(
                replica_id,
                pid = by.pid,
                "the process that held this replica id on this host is gone; taking the id over"
            );
            let gone = by.holder.clone();
            claim.replaces = Some(&gone);
            outcome = store.claim_replica(claim).await.map_err(store_error)?;
        }
        match outcome {
            LeaseOutcome::Acquired { .. } => {
                let lease = ReplicaLease {
                    store: store.clone(),
                    replica_id: replica_id.to_owned(),
                    holder,
                    ttl,
                    lost: Arc::new(watch::channel(false).0),
                    renewal: Arc::default(),
                };
                // Renewed from now on: a slow start must not let it lapse.
                let renewal = lease.spawn_renewal().abort_handle();
                *lease
                    .renewal
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(renewal);
                Ok(lease)
            }
            LeaseOutcome::Held { by, now_ms } => Err(LeaseError::Held {
                replica_id: replica_id.to_owned(),
                host: by.host,
                pid: by.pid,
                renewed_ago_s: (now_ms - by.renewed_at_ms).max(0) / 1000,
                expires_in_s: ((by.expires_at_ms - now_ms).max(0) + 999) / 1000,
            }),
        }
    }

    /// Like [`ReplicaLease::claim`], asking again for up to `wait` while
    /// another process holds the id (a command finishing with chain `cli`,
    /// a replica sealing a chain for a moment).
    pub async fn claim_within(
        store: &Store,
        replica_id: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<ReplicaLease, LeaseError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match ReplicaLease::claim(store, replica_id, ttl).await {
                Err(LeaseError::Held { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    /// The id held.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }

    /// This process's holder id in the store.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long the claim lasts unless renewed.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Renews the claim every third of the lease (from the claim on, until
    /// [`ReplicaLease::release`]). A renewal the store cannot answer is retried every second
    /// (the claim is renewed even if it lapsed meanwhile, as long as
    /// nobody else took the id); a renewal that finds another holder marks
    /// the claim lost ([`ReplicaLease::lost`]).
    fn spawn_renewal(&self) -> tokio::task::JoinHandle<()> {
        let lease = self.clone();
        tokio::spawn(async move {
            let ttl_ms = i64::try_from(lease.ttl.as_millis()).unwrap_or(i64::MAX);
            let every = lease.ttl / 3;
            // After a failure, ask again soon: a store that comes back is
            // told at once that this holder lives.
            let retry = every.min(Duration::from_secs(1));
            let mut wait = every;
            loop {
                tokio::time::sleep(wait).await;
                match lease
                    .store
                    .renew_replica(&lease.replica_id, &lease.holder, ttl_ms)
                    .await
                {
                    Ok(true) => wait = every,
                    Ok(false) => {
                        tracing::error!(
                            replica_id = %lease.replica_id,
                            "another process holds this replica id now (this one could not renew \
                             its claim within server.replica_lease); stopping, so that the chain \
                             keeps one writer"
                        );
                        lease.lost.send_replace(true);
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(
                            replica_id = %lease.replica_id,
                            error = %e,
                            "cannot renew this replica's claim on its id; retrying"
                        );
                        wait = retry;
                    }
                }
            }
        })
    }

    /// Resolves once another process holds this id (never while the claim
    /// holds).
    pub async fn lost(&self) {
        let mut rx = self.lost.subscribe();
        let _ = rx.wait_for(|lost| *lost).await;
    }

    /// Whether the claim was lost.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Stops renewing and gives the id back to the claim it replaced, as
    /// that claim was (see [`Store::hand_back_replica`]).
    pub async fn hand_back(&self, to: &ReplicaLeaseRecord) {
        self.stop_renewing();
        if let Err(e) = self.store.hand_back_replica(&self.holder, to).await {
            tracing::warn!(
                replica_id = %self.replica_id,
                error = %e,
                "cannot hand a replica id back; it is free when this claim lapses"
            );
        }
    }

    fn stop_renewing(&self) {
        if let Some(renewal) = self
            .renewal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            renewal.abort();
        }
    }

    /// Stops renewing and gives the id up (at a clean stop, after the
    /// chain's last write).
    pub async fn release(&self) {
        self.stop_renewing();
        if let Err(e) = self
            .store
            .release_replica(&self.replica_id, &self.holder)
            .await
        {
            tracing::warn!(
                replica_id = %self.replica_id,
                error = %e,
                "cannot release this replica's id; it is free when its claim lapses"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(host: &str, pid: i64) -> ReplicaLeaseRecord {
        ReplicaLeaseRecord {
            replica_id: "gw".into(),
            holder: "h".into(),
            host: host.into(),
            pid,
            acquired_at_ms: 0,
            renewed_at_ms: 0,
            expires_at_ms: 0,
        }
    }

    fn holder_of(started: u64) -> String {
        let (boot, namespace, _) = process_identity().unwrap();
        format!("abc|{boot}|{namespace}|{started}")
    }

    #[test]
    fn only_a_holder_of_this_host_and_namespace_whose_process_is_gone_is_gone() {
        let me = i64::from(std::process::id());
        let my_start = start_time("self").unwrap();
        let mut alive = record("here", me);
        alive.holder = holder_of(my_start);
        // This very process: alive.
        assert!(!holder_is_gone(&alive, "here"));
        // Its pid taken by another process since (another start time).
        let mut reused = record("here", me);
        reused.holder = holder_of(my_start + 1);
        assert!(holder_is_gone(&reused, "here"));
        // No such pid here.
        let mut vanished = record("here", i64::from(i32::MAX));
        vanished.holder = holder_of(1);
        assert!(holder_is_gone(&vanished, "here"));
        // Another host, or no identity (an older release): unknown.
        assert!(!holder_is_gone(&vanished, "there"));
        let mut other_host = vanished.clone();
        other_host.host = "there".into();
        assert!(!holder_is_gone(&other_host, "here"));
        let bare = record("here", i64::from(i32::MAX));
        assert!(!holder_is_gone(&bare, "here"));
        // The same host name in another pid namespace (containers on the
        // host network): unknown, even for a pid not seen here.
        let mut elsewhere = vanished.clone();
        let (boot, _, _) = process_identity().unwrap();
        elsewhere.holder = format!("abc|{boot}|pid:[1]|1");
        assert!(!holder_is_gone(&elsewhere, "here"));
    }
}
