//! Housekeeping that runs once per interval across every replica of one
//! store: a replica claims a task before running it, and only the claim
//! that moves the task's `housekeeping_runs` row forward wins.
//!
//! On PostgreSQL a claim first takes a session-level advisory lock for the
//! task (`pg_try_advisory_lock(class, task key)`, the two-integer key
//! space, which never meets the migrator's single-`bigint` lock) on a
//! pooled connection held until the claim is released: two runs of one
//! task never overlap, and a holder that dies releases the lock by its
//! connection closing. Then a conditional upsert moves `last_run_at` to
//! now only if it is at least one interval old. On SQLite the conditional
//! upsert alone, in one write transaction (`BEGIN IMMEDIATE` serialises
//! writers, across processes too).

use std::time::Duration;

use crate::{Store, StoreError};

/// A won claim on a housekeeping task: this replica runs it now. Release it
/// ([`HousekeepingClaim::release`]) when the run is over; on PostgreSQL a
/// claim dropped without release closes its connection, which releases the
/// lock too.
#[derive(Debug)]
pub struct HousekeepingClaim {
    /// When the task last ran before this claim (unix seconds), `None` the
    /// first time.
    previous_run_at: Option<i64>,
    /// The advisory lock held for the run (PostgreSQL).
    lock: Option<crate::postgres::PgHousekeepingLock>,
}

impl HousekeepingClaim {
    /// A claim holding `lock` (if any) after a run at `previous_run_at`.
    fn new(
        previous_run_at: Option<i64>,
        lock: Option<crate::postgres::PgHousekeepingLock>,
    ) -> HousekeepingClaim {
        HousekeepingClaim {
            previous_run_at,
            lock,
        }
    }

    /// When the task last ran before this claim (unix seconds): the end of
    /// the window the previous run covered. `None` if it never ran.
    pub fn previous_run_at(&self) -> Option<i64> {
        self.previous_run_at
    }

    /// Ends the run: releases the lock (PostgreSQL) and returns its
    /// connection to the pool.
    pub async fn release(mut self) {
        if let Some(lock) = self.lock.take() {
            lock.release().await;
        }
    }
}

impl Store {
    /// Claims housekeeping `task` for `replica` at `now` (unix seconds):
    /// `Some` if this call wins the task's run for this interval (the task
    /// last ran at or before `now - interval`, or never), after which the
    /// task's row names `replica` and `now`; `None` if another replica ran
    /// it within the interval, or (PostgreSQL) holds its lock right now,
    /// however old its run. Intervals are counted in whole seconds.
    pub async fn claim_housekeeping(
        &self,
        task: &str,
        interval: Duration,
        replica: &str,
        now: i64,
    ) -> Result<Option<HousekeepingClaim>, StoreError> {
        let interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
        let due_before = now.saturating_sub(interval);
        Ok(match &self.backend {
            crate::Backend::Sqlite(b) => b
                .claim_housekeeping(task, due_before, replica, now)
                .await?
                .map(|previous| HousekeepingClaim::new(previous, None)),
            crate::Backend::Postgres(b) => b
                .claim_housekeeping(task, due_before, replica, now)
                .await?
                .map(|(previous, lock)| HousekeepingClaim::new(previous, Some(lock))),
        })
    }

    /// Undoes the claim of `task` made at `claimed_at` (the `now` it was
    /// claimed with), putting its last run back to `to` (`None`: never
    /// ran), so that the next claim covers what a failed run did not. A
    /// later claim is left as it is.
    pub async fn rewind_housekeeping(
        &self,
        task: &str,
        claimed_at: i64,
        to: Option<i64>,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.rewind_housekeeping(task, claimed_at, to).await)
    }

    /// When `task` last ran and which replica ran it, if it ever ran.
    pub async fn housekeeping_last_run(
        &self,
        task: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        on_backend!(self, b => b.housekeeping_last_run(task).await)
    }
}
