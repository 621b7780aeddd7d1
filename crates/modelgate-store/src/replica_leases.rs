//! Replica leases on the [`Store`]: which process holds each replica id.
//!
//! A replica id names one audit chain, and a chain has one writer. A
//! process claims its id before it writes, renews the claim while it runs
//! and releases it when it stops; a second process claiming a live id is
//! refused. Times are the database's clock (unix milliseconds), so hosts
//! whose clocks differ agree on when a lease expires. The store records
//! claims; deciding whether a holder is gone (its process no longer runs
//! on this host) belongs to the caller.

use crate::{Store, StoreError};

/// One process's claim on a replica id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLeaseRecord {
    /// The replica id.
    pub replica_id: String,
    /// An id the holding process drew at start (random, never reused).
    pub holder: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id on that host.
    pub pid: i64,
    /// When the holder first claimed the id (unix ms).
    pub acquired_at_ms: i64,
    /// When the holder last renewed the claim (unix ms).
    pub renewed_at_ms: i64,
    /// When the claim lapses unless renewed (unix ms).
    pub expires_at_ms: i64,
}

/// A claim to make: who asks, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct LeaseClaim<'a> {
    /// The replica id claimed.
    pub replica_id: &'a str,
    /// The claiming process's holder id.
    pub holder: &'a str,
    /// Its host name.
    pub host: &'a str,
    /// Its process id.
    pub pid: i64,
    /// How long the claim lasts unless renewed, milliseconds.
    pub ttl_ms: i64,
    /// A holder whose live claim may be replaced all the same (the caller
    /// knows that process is gone).
    pub replaces: Option<&'a str>,
}

/// What a claim came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The id is this process's until `expires_at_ms`.
    Acquired {
        /// When the claim lapses unless renewed (unix ms).
        expires_at_ms: i64,
    },
    /// Another live process holds the id.
    Held {
        /// Its claim.
        by: ReplicaLeaseRecord,
        /// The database's time when this was read (unix ms).
        now_ms: i64,
    },
}

/// Every claim in the store, and the database's time they were read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaLeases {
    /// The database's time (unix ms).
    pub now_ms: i64,
    /// Claims by replica id; a claim whose `expires_at_ms` is at or before
    /// `now_ms` has lapsed (its process stopped renewing it).
    pub leases: Vec<ReplicaLeaseRecord>,
}

impl ReplicaLeases {
    /// The claims that have not lapsed.
    pub fn live(&self) -> impl Iterator<Item = &ReplicaLeaseRecord> {
        self.leases
            .iter()
            .filter(move |l| l.expires_at_ms > self.now_ms)
    }
}

impl Store {
    /// Claims `claim.replica_id` for `claim.holder`: granted when the id is
    /// free, its claim has lapsed, the holder already holds it, or it is
    /// held by `claim.replaces`; otherwise the live claim is returned.
    /// Atomic: of two processes claiming one id at once, one is refused.
    pub async fn claim_replica(&self, claim: LeaseClaim<'_>) -> Result<LeaseOutcome, StoreError> {
        on_backend!(self, b => b.claim_replica(claim).await)
    }

    /// Extends `holder`'s claim on `replica_id` by `ttl_ms` from now, even
    /// if it lapsed meanwhile (nobody else claimed it). `false` if another
    /// process holds the id now, or nobody does: the claim is lost.
    pub async fn renew_replica(
        &self,
        replica_id: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.renew_replica(replica_id, holder, ttl_ms).await)
    }

    /// Gives up `holder`'s claim on `replica_id` (nothing if it holds none).
    pub async fn release_replica(&self, replica_id: &str, holder: &str) -> Result<(), StoreError> {
        on_backend!(self, b => b.release_replica(replica_id, holder).await)
    }

    /// Gives `replica_id` back from `holder` to the claim `to` it replaced,
    /// as it was (a lapsed claim stays lapsed): if that process was only
    /// cut off, its next renewal finds its own claim and it goes on.
    /// Nothing if `holder` no longer holds the id.
    pub async fn hand_back_replica(
        &self,
        holder: &str,
        to: &ReplicaLeaseRecord,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.hand_back_replica(holder, to).await)
    }

    /// Every claim, lapsed or not, by replica id.
    pub async fn replica_leases(&self) -> Result<ReplicaLeases, StoreError> {
        on_backend!(self, b => b.replica_leases().await)
    }
}
