//! The audit writer's own SQLite connection: blocking calls made straight
//! from the writer's thread, with no pool and no async worker in between.
//!
//! A batch through the pool was seven or so round trips to sqlx's worker
//! thread (acquire, `BEGIN`, the inserts, `COMMIT`), each a thread wake-up;
//! under load the switching cost more CPU than SQLite's own work. Here a
//! batch is one immediate transaction of cached prepared inserts and a
//! synced commit, on the caller's thread.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::SqliteBackend;
use super::wal_checkpointer::{CheckpointPolicy, WalCheckpointer};
use crate::StoreError;
use crate::audit::AuditEntryRow;

const INSERT: &str = "INSERT INTO audit_entries (replica, seq, checkpoint, time, line, kind, \
     identity, model, decision, action, status, bodies_expire) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const TAIL: &str = "SELECT line FROM audit_entries WHERE replica = ?1 AND checkpoint = 0 \
     ORDER BY seq DESC LIMIT 1";

/// Every line of `replica`'s chain from the record the last checkpoint
/// covers (or from that checkpoint, if its record is gone; or from the
/// start, if there is no checkpoint) to the end, in written order.
const UNSIGNED_TAIL: &str = "WITH last_cp AS (SELECT id, seq FROM audit_entries \
     WHERE replica = ?1 AND checkpoint = 1 ORDER BY id DESC LIMIT 1) \
     SELECT line FROM audit_entries WHERE replica = ?1 AND id >= COALESCE(\
     (SELECT r.id FROM audit_entries r, last_cp WHERE r.replica = ?1 AND r.checkpoint = 0 \
     AND r.seq = last_cp.seq AND r.id < last_cp.id), (SELECT id FROM last_cp), 0) ORDER BY id";

const DISCARD: &str = "DELETE FROM audit_entries WHERE replica = ?1 AND seq > ?2";

/// [`DISCARD`], only while `?3` holds the chain's replica id.
const DISCARD_HELD: &str = "DELETE FROM audit_entries WHERE replica = ?1 AND seq > ?2 \
     AND EXISTS (SELECT 1 FROM replica_leases WHERE replica_id = ?1 AND holder = ?3)";

/// One connection to the store's database file, owned by one thread, and
/// the thread that checkpoints the WAL for it.
pub(crate) struct SqliteAuditAppender {
    conn: Connection,
    checkpointer: WalCheckpointer,
}

impl std::fmt::Debug for SqliteAuditAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteAuditAppender")
            .finish_non_exhaustive()
    }
}

impl SqliteBackend {
    /// Opens a connection of its own to the (already migrated) database.
    pub(crate) fn audit_appender(&self) -> Result<SqliteAuditAppender, StoreError> {
        self.audit_appender_with(CheckpointPolicy::default())
    }

    /// [`Self::audit_appender`] with explicit checkpoint settings.
    pub(crate) fn audit_appender_with(
        &self,
        policy: CheckpointPolicy,
    ) -> Result<SqliteAuditAppender, StoreError> {
        const OP: &str = "open audit connection";
        let err = |e| StoreError::from_rusqlite(OP, e);
        let conn = self.own_connection().map_err(err)?;
        // The pool's settings (FULL: every commit is durable when it
        // returns), except that commits never checkpoint: the checkpoint
        // thread does.
        conn.execute_batch(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(err)?;
        conn.set_prepared_statement_cache_capacity(8);
        let checkpointer = WalCheckpointer::start(self.own_connection().map_err(err)?, policy)
            .map_err(|e| StoreError::Backend {
                operation: OP,
                message: format!("start the WAL checkpoint thread: {}", e.kind()),
            })?;
        Ok(SqliteAuditAppender { conn, checkpointer })
    }
}

impl SqliteAuditAppender {
    /// Inserts `rows` in one transaction, synced before it returns. A
    /// record whose `(replica, seq)` is taken fails the whole batch with
    /// [`StoreError::Conflict`].
    pub(crate) fn append(&mut self, rows: &[AuditEntryRow]) -> Result<(), StoreError> {
        const OP: &str = "append audit entries";
        let err = |e| StoreError::from_rusqlite(OP, e);
        // IMMEDIATE: take the write lock up front (waiting up to the busy
        // timeout) rather than fail on upgrading a read lock mid-batch.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut insert = tx.prepare_cached(INSERT).map_err(err)?;
            for r in rows {
                insert
                    .execute(rusqlite::params![
                        r.replica,
                        r.seq,
                        i64::from(r.checkpoint),
                        r.time,
                        r.line,
                        r.kind,
                        r.identity,
                        r.model,
                        r.decision,
                        r.action,
                        r.status,
                        r.bodies_expire,
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)?;
        // The batch is durable; a failed checkpoint does not undo that, and
        // the next commit tries again.
        if let Err(e) = self.checkpointer.after_commit(&self.conn) {
            tracing::warn!(error = %e, "audit: WAL checkpoint failed");
        }
        Ok(())
    }

    /// The last record line of `replica`'s chain, if any.
    pub(crate) fn tail(&mut self, replica: &str) -> Result<Option<String>, StoreError> {
        const OP: &str = "read audit tail";
        self.conn
            .prepare_cached(TAIL)
            .and_then(|mut query| query.query_row([replica], |row| row.get(0)).optional())
            .map_err(|e| StoreError::from_rusqlite(OP, e))
    }

    /// The lines of `replica`'s chain from its last checkpoint on (see
    /// [`UNSIGNED_TAIL`]).
    pub(crate) fn unsigned_tail(&mut self, replica: &str) -> Result<Vec<String>, StoreError> {
        const OP: &str = "read audit lines after the last checkpoint";
        let err = |e| StoreError::from_rusqlite(OP, e);
        let mut query = self.conn.prepare_cached(UNSIGNED_TAIL).map_err(err)?;
        let rows = query.query_map([replica], |row| row.get(0)).map_err(err)?;
        rows.collect::<Result<Vec<String>, _>>().map_err(err)
    }

    /// Deletes `replica`'s entries with a seq above `seq`; how many.
    pub(crate) fn discard_after(
        &mut self,
        replica: &str,
        seq: i64,
        holder: Option<&str>,
    ) -> Result<u64, StoreError> {
        const OP: &str = "discard audit entries";
        let n = match holder {
            Some(holder) => self
                .conn
                .execute(DISCARD_HELD, rusqlite::params![replica, seq, holder]),
            None => self.conn.execute(DISCARD, rusqlite::params![replica, seq]),
        }
        .map_err(|e| StoreError::from_rusqlite(OP, e))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use crate::Backend;

    #[tokio::test]
    async fn the_connection_is_durable_and_leaves_checkpoints_to_its_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open_sqlite(&dir.path().join("a.db"))
            .await
            .unwrap();
        let Backend::Sqlite(backend) = &store.backend else {
            unreachable!("opened as sqlite")
        };
        let appender = backend.audit_appender().unwrap();
        let pragma = |name: &str| -> String {
            appender
                .conn
                .query_row(&format!("SELECT CAST(({name}) AS TEXT)"), [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(
            pragma("SELECT journal_mode FROM pragma_journal_mode"),
            "wal"
        );
        // FULL is 2.
        assert_eq!(pragma("SELECT synchronous FROM pragma_synchronous"), "2");
        assert_eq!(pragma("SELECT foreign_keys FROM pragma_foreign_keys"), "1");
        assert_eq!(pragma("SELECT timeout FROM pragma_busy_timeout"), "5000");
        let checkpoint: i64 = appender
            .conn
            .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
            .unwrap();
        assert_eq!(checkpoint, 0);
    }
}
