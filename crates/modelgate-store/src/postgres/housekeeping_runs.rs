//! Claiming a housekeeping task: a session-level advisory lock held on a
//! pooled connection for the run, and a conditional upsert of the task's
//! row.

use sqlx::Postgres;
use sqlx::pool::PoolConnection;

use super::PgBackend;
use crate::StoreError;

/// The first key of every housekeeping lock (`pg_try_advisory_lock(int4,
/// int4)`; "mghk"). The two-integer key space never meets the single
/// `bigint` key of the migrator's lock (`migrate::MIGRATION_LOCK`).
const LOCK_CLASS: i32 = 0x6d67_686b;

/// The second key of `task`'s lock: FNV-1a of its name (stable across
/// builds and replicas).
fn task_key(task: &str) -> i32 {
    let hash = task.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// A housekeeping task's advisory lock and the connection holding it.
/// Dropped without [`PgHousekeepingLock::release`], it closes the
/// connection (which releases the lock) rather than return a locked
/// connection to the pool.
#[derive(Debug)]
pub(crate) struct PgHousekeepingLock {
    conn: Option<PoolConnection<Postgres>>,
    key: i32,
}

impl PgHousekeepingLock {
    /// Unlocks and returns the connection to the pool (or closes it if
    /// the unlock fails).
    pub(crate) async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked: Result<bool, sqlx::Error> =
                sqlx::query_scalar("SELECT pg_advisory_unlock($1, $2)")
                    .bind(LOCK_CLASS)
                    .bind(self.key)
                    .fetch_one(&mut *conn)
                    .await;
            if !matches!(unlocked, Ok(true)) {
                conn.close_on_drop();
            }
        }
    }
}

impl Drop for PgHousekeepingLock {
    fn drop(&mut self) {
        if let Some(conn) = &mut self.conn {
            conn.close_on_drop();
        }
    }
}

impl PgBackend {
    pub(crate) async fn rewind_housekeeping(
        &self,
        task: &str,
        claimed_at: i64,
        to: Option<i64>,
    ) -> Result<(), StoreError> {
        // Conditional on the claim's own time: a later claim is never undone.
        let query = match to {
            Some(to) => sqlx::query(
                "UPDATE housekeeping_runs SET last_run_at = $3 \
                 WHERE task = $1 AND last_run_at = $2",
            )
            .bind(task)
            .bind(claimed_at)
            .bind(to),
            None => {
                sqlx::query("DELETE FROM housekeeping_runs WHERE task = $1 AND last_run_at = $2")
                    .bind(task)
                    .bind(claimed_at)
            }
        };
        query
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("rewind housekeeping", e))?;
        Ok(())
    }

    pub(crate) async fn claim_housekeeping(
        &self,
        task: &str,
        due_before: i64,
        replica: &str,
        now: i64,
    ) -> Result<Option<(Option<i64>, PgHousekeepingLock)>, StoreError> {
        const OP: &str = "claim housekeeping";
        let key = task_key(task);
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(LOCK_CLASS)
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        if !locked {
            // Another replica is running the task now.
            return Ok(None);
        }
        let mut lock = PgHousekeepingLock {
            conn: Some(conn),
            key,
        };
        let Some(conn) = lock.conn.as_mut() else {
            return Ok(None);
        };
        // The advisory lock orders claimers of this task; the conditional
        // upsert (ON CONFLICT ... WHERE, evaluated on the row it locks)
        // moves the row only when the last run is an interval old, so
        // there is one run per interval even apart from the lock. The CTE
        // reads the previous time in the same statement.
        let won: Option<(Option<i64>,)> = sqlx::query_as(
            "WITH previous AS (SELECT last_run_at FROM housekeeping_runs WHERE task = $1)
             INSERT INTO housekeeping_runs (task, last_run_at, run_by) VALUES ($1, $2, $3)
             ON CONFLICT (task) DO UPDATE
             SET last_run_at = EXCLUDED.last_run_at, run_by = EXCLUDED.run_by
             WHERE housekeeping_runs.last_run_at <= $4
             RETURNING (SELECT last_run_at FROM previous)",
        )
        .bind(task)
        .bind(now)
        .bind(replica)
        .bind(due_before)
        .fetch_optional(&mut **conn)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        match won {
            Some((previous,)) => Ok(Some((previous, lock))),
            None => {
                lock.release().await;
                Ok(None)
            }
        }
    }

    pub(crate) async fn housekeeping_last_run(
        &self,
        task: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        sqlx::query_as("SELECT last_run_at, run_by FROM housekeeping_runs WHERE task = $1")
            .bind(task)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("read housekeeping run", e))
    }
}

#[cfg(test)]
mod tests {
    use super::task_key;

    #[test]
    fn task_keys_are_stable_and_apart() {
        assert_eq!(
            task_key(""),
            i32::from_ne_bytes(0x811c_9dc5_u32.to_ne_bytes())
        );
        assert_ne!(
            task_key("signing_keys.retire"),
            task_key("revocations.prune")
        );
    }
}
