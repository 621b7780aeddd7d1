//! Claiming a housekeeping task: a read and a conditional upsert in one
//! write transaction.

use rusqlite::OptionalExtension;

use super::SqliteBackend;
use super::connections::Op;
use crate::StoreError;

impl SqliteBackend {
    pub(crate) async fn claim_housekeeping(
        &self,
        task: &str,
        due_before: i64,
        replica: &str,
        now: i64,
    ) -> Result<Option<Option<i64>>, StoreError> {
        const OP: &str = "claim housekeeping";
        let (task, replica) = (task.to_owned(), replica.to_owned());
        // Read, then write, inside one `BEGIN IMMEDIATE` transaction: the
        // write lock is held from the start, so no other writer (in this
        // process or another) claims between the two.
        self.conns
            .write(OP, move |tx| {
                let previous: Option<i64> = tx
                    .prepare_cached("SELECT last_run_at FROM housekeeping_runs WHERE task = ?1")
                    .and_then(|mut stmt| stmt.query_row([&task], |row| row.get(0)).optional())
                    .op(OP)?;
                if previous.is_some_and(|at| at > due_before) {
                    return Ok(None);
                }
                tx.prepare_cached(
                    "INSERT INTO housekeeping_runs (task, last_run_at, run_by) VALUES (?1, ?2, ?3)
                     ON CONFLICT (task) DO UPDATE
                     SET last_run_at = excluded.last_run_at, run_by = excluded.run_by",
                )
                .and_then(|mut stmt| stmt.execute(rusqlite::params![task, now, replica]))
                .op(OP)?;
                Ok(Some(previous))
            })
            .await
    }

    pub(crate) async fn rewind_housekeeping(
        &self,
        task: &str,
        claimed_at: i64,
        to: Option<i64>,
    ) -> Result<(), StoreError> {
        const OP: &str = "rewind housekeeping";
        let task = task.to_owned();
        self.conns
            .write(OP, move |tx| {
                let sql = match to {
                    Some(_) => {
                        "UPDATE housekeeping_runs SET last_run_at = ?3 \
                         WHERE task = ?1 AND last_run_at = ?2"
                    }
                    None => "DELETE FROM housekeeping_runs WHERE task = ?1 AND last_run_at = ?2",
                };
                let mut stmt = tx.prepare_cached(sql).op(OP)?;
                match to {
                    Some(to) => stmt.execute(rusqlite::params![task, claimed_at, to]),
                    None => stmt.execute(rusqlite::params![task, claimed_at]),
                }
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn housekeeping_last_run(
        &self,
        task: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        const OP: &str = "read housekeeping run";
        let task = task.to_owned();
        self.conns
            .read(OP, move |conn| {
                conn.prepare_cached(
                    "SELECT last_run_at, run_by FROM housekeeping_runs WHERE task = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([&task], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .op(OP)
            })
            .await
    }
}
