//! The audit writer's own PostgreSQL connection: blocking calls made from
//! the writer's thread, with no pool and no thread in between.
//!
//! The appender owns a current-thread tokio runtime and one connection
//! opened on it. Each call is `block_on` on the caller's thread, so the
//! caller drives the socket itself: no hop to a runtime worker per
//! statement. A batch is one multi-row `INSERT ... SELECT FROM UNNEST(...)`
//! of column arrays (group commit), prepared once per connection and sent
//! as a single statement: PostgreSQL runs it in a transaction of its own,
//! committed (with `synchronous_commit = on`, set when connecting) before
//! it answers, so the batch is durable when `append` returns, and all of
//! it or none of it is written.

use std::future::Future;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use tokio::runtime::{Builder, Handle, Runtime};

use super::PgBackend;
use crate::StoreError;
use crate::audit::AuditEntryRow;

/// One statement for the whole batch: the columns arrive as arrays, and
/// `WITH ORDINALITY ... ORDER BY` assigns ids in the batch's order. The
/// batch first takes the audit order lock shared (writers never wait for
/// each other), before any id is drawn, and holds it until its commit is
/// durable and visible: a search that takes the lock exclusively sees no
/// batch half way (see `super::audit::AUDIT_ORDER_LOCK`).
const INSERT: &str = "WITH in_order AS (SELECT pg_advisory_xact_lock_shared($13)) \
     INSERT INTO audit_entries (replica, seq, checkpoint, time, line, kind, \
     identity, model, decision, action, status, bodies_expire) \
     SELECT replica, seq, checkpoint, time, line, kind, identity, model, decision, action, \
     status, bodies_expire \
     FROM UNNEST($1::text[], $2::bigint[], $3::bool[], $4::bigint[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[]) \
     WITH ORDINALITY AS t(replica, seq, checkpoint, time, line, kind, identity, model, \
     decision, action, status, bodies_expire, ord) CROSS JOIN in_order ORDER BY ord";

const TAIL: &str = "SELECT line FROM audit_entries WHERE replica = $1 AND NOT checkpoint \
     ORDER BY seq DESC LIMIT 1";

/// Every line of `replica`'s chain from the record the last checkpoint
/// covers (or from that checkpoint, if its record is gone; or from the
/// start, if there is no checkpoint) to the end, in written order.
const UNSIGNED_TAIL: &str = "WITH last_cp AS (SELECT id, seq FROM audit_entries \
     WHERE replica = $1 AND checkpoint ORDER BY id DESC LIMIT 1) \
     SELECT line FROM audit_entries WHERE replica = $1 AND id >= COALESCE(\
     (SELECT r.id FROM audit_entries r, last_cp WHERE r.replica = $1 AND NOT r.checkpoint \
     AND r.seq = last_cp.seq AND r.id < last_cp.id), (SELECT id FROM last_cp), 0) ORDER BY id";

const DISCARD: &str = "DELETE FROM audit_entries WHERE replica = $1 AND seq > $2";

/// [`DISCARD`], only while `$3` holds the chain's replica id: a writer
/// that lost its id deletes nothing another wrote.
const DISCARD_HELD: &str = "DELETE FROM audit_entries WHERE replica = $1 AND seq > $2 \
     AND EXISTS (SELECT 1 FROM replica_leases WHERE replica_id = $1 AND holder = $3)";

/// How long opening the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `application_name` of the audit connection (in `pg_stat_activity`).
pub(crate) const APPLICATION_NAME: &str = "modelgate-audit";

/// A runtime of the caller's own and one connection on it, reopened on
/// the next call after it is lost.
pub(crate) struct PgAuditAppender {
    runtime: Option<Runtime>,
    options: PgConnectOptions,
    conn: Option<PgConnection>,
}

impl std::fmt::Debug for PgAuditAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAuditAppender")
            .field("connected", &self.conn.is_some())
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Opens the audit writer's connection (blocking until it is up).
    pub(crate) fn audit_appender(&self) -> Result<PgAuditAppender, StoreError> {
        const OP: &str = "open audit connection";
        let runtime = Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Backend {
                operation: OP,
                message: format!("start the audit connection's runtime: {}", e.kind()),
            })?;
        let mut appender = PgAuditAppender {
            runtime: Some(runtime),
            options: (*self.connect).clone().application_name(APPLICATION_NAME),
            conn: None,
        };
        appender.connect(OP)?;
        Ok(appender)
    }
}

/// Whether `err` leaves the connection unusable: anything but an error the
/// server reported for one statement (a conflict, a failed check), and
/// among those the connection exceptions (class 08) and operator
/// intervention (class 57: the backend was terminated, the server shuts
/// down).
fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .is_none_or(|code| code.starts_with("08") || code.starts_with("57")),
        _ => true,
    }
}

impl PgAuditAppender {
    /// Runs `fut` to completion on the appender's runtime, driven by the
    /// calling thread. Called (against the contract) from inside an async
    /// runtime, where `block_on` would panic, it runs on a scoped thread
    /// instead: correct, only slower.
    fn block_on<F: Future + Send>(runtime: &Runtime, fut: F) -> F::Output
    where
        F::Output: Send,
    {
        if Handle::try_current().is_err() {
            return runtime.block_on(fut);
        }
        std::thread::scope(|scope| match scope.spawn(|| runtime.block_on(fut)).join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }

    /// Opens the connection (with `synchronous_commit = on`) unless it is
    /// open: at the start, and on the call after one was lost.
    fn connect(&mut self, operation: &'static str) -> Result<(), StoreError> {
        let Some(runtime) = &self.runtime else {
            return Err(StoreError::Backend {
                operation,
                message: "the audit connection is closed".to_owned(),
            });
        };
        if self.conn.is_none() {
            let options = &self.options;
            let opened = Self::block_on(runtime, async {
                let mut conn =
                    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options))
                        .await
                        .map_err(|_| StoreError::Backend {
                            operation,
                            message: "timed out connecting to the audit database".to_owned(),
                        })?
                        .map_err(|e| StoreError::from_sqlx(operation, e))?;
                // Durable on return whatever the server's or role's default.
                conn.execute("SET synchronous_commit = on")
                    .await
                    .map_err(|e| StoreError::from_sqlx(operation, e))?;
                Ok::<_, StoreError>(conn)
            })?;
            self.conn = Some(opened);
        }
        Ok(())
    }

    /// The runtime and the open connection, for one call.
    fn parts(
        &mut self,
        operation: &'static str,
    ) -> Result<(&Runtime, &mut PgConnection), StoreError> {
        self.connect(operation)?;
        match (&self.runtime, self.conn.as_mut()) {
            (Some(runtime), Some(conn)) => Ok((runtime, conn)),
            _ => Err(StoreError::Backend {
                operation,
                message: "the audit connection is closed".to_owned(),
            }),
        }
    }

    /// The outcome of one call; a lost connection is dropped (the next
    /// call opens another) and named in the error.
    fn finish<T>(
        &mut self,
        operation: &'static str,
        result: Result<T, sqlx::Error>,
    ) -> Result<T, StoreError> {
        match result {
            Ok(value) => Ok(value),
            Err(err) if connection_lost(&err) => {
                self.conn = None;
                let cause = StoreError::from_sqlx(operation, err);
                Err(StoreError::Backend {
                    operation,
                    message: format!(
                        "the audit connection was lost ({cause}); the next call reconnects"
                    ),
                })
            }
            Err(err) => Err(StoreError::from_sqlx(operation, err)),
        }
    }

    /// Inserts `rows` in one statement (one transaction), committed and
    /// synced before it returns. A record whose `(replica, seq)` is taken
    /// fails the whole batch with [`StoreError::Conflict`].
    pub(crate) fn append(&mut self, rows: &[AuditEntryRow]) -> Result<(), StoreError> {
        const OP: &str = "append audit entries";
        if rows.is_empty() {
            return Ok(());
        }
        let text = |f: fn(&AuditEntryRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
        let replica: Vec<&str> = rows.iter().map(|r| r.replica.as_str()).collect();
        let seq: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let checkpoint: Vec<bool> = rows.iter().map(|r| r.checkpoint).collect();
        let time: Vec<i64> = rows.iter().map(|r| r.time).collect();
        let line: Vec<&str> = rows.iter().map(|r| r.line.as_str()).collect();
        let kind = text(|r| r.kind.as_deref());
        let identity = text(|r| r.identity.as_deref());
        let model = text(|r| r.model.as_deref());
        let decision = text(|r| r.decision.as_deref());
        let action = text(|r| r.action.as_deref());
        let status: Vec<Option<i64>> = rows.iter().map(|r| r.status).collect();
        let expire: Vec<Option<i64>> = rows.iter().map(|r| r.bodies_expire).collect();
        let (runtime, conn) = self.parts(OP)?;
        let query = sqlx::query(INSERT)
            .bind(replica)
            .bind(seq)
            .bind(checkpoint)
            .bind(time)
            .bind(line)
            .bind(kind)
            .bind(identity)
            .bind(model)
            .bind(decision)
            .bind(action)
            .bind(status)
            .bind(expire)
            .bind(super::audit::AUDIT_ORDER_LOCK);
        let result = Self::block_on(runtime, query.execute(conn));
        self.finish(OP, result).map(drop)
    }

    /// The last record line of `replica`'s chain, if any.
    pub(crate) fn tail(&mut self, replica: &str) -> Result<Option<String>, StoreError> {
        const OP: &str = "read audit tail";
        let (runtime, conn) = self.parts(OP)?;
        let query = sqlx::query_scalar(TAIL).bind(replica);
        let result = Self::block_on(runtime, query.fetch_optional(conn));
        self.finish(OP, result)
    }

    /// The lines of `replica`'s chain from its last checkpoint on (see
    /// [`UNSIGNED_TAIL`]).
    pub(crate) fn unsigned_tail(&mut self, replica: &str) -> Result<Vec<String>, StoreError> {
        const OP: &str = "read audit lines after the last checkpoint";
        let (runtime, conn) = self.parts(OP)?;
        let query = sqlx::query_scalar(UNSIGNED_TAIL).bind(replica);
        let result = Self::block_on(runtime, query.fetch_all(conn));
        self.finish(OP, result)
    }

    /// Deletes `replica`'s entries with a seq above `seq`; how many.
    pub(crate) fn discard_after(
        &mut self,
        replica: &str,
        seq: i64,
        holder: Option<&str>,
    ) -> Result<u64, StoreError> {
        const OP: &str = "discard audit entries";
        let (runtime, conn) = self.parts(OP)?;
        let query = match holder {
            Some(holder) => sqlx::query(DISCARD_HELD)
                .bind(replica)
                .bind(seq)
                .bind(holder),
            None => sqlx::query(DISCARD).bind(replica).bind(seq),
        };
        let result = Self::block_on(runtime, query.execute(conn));
        self.finish(OP, result).map(|done| done.rows_affected())
    }
}

impl Drop for PgAuditAppender {
    fn drop(&mut self) {
        let conn = self.conn.take();
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        // Say goodbye to the server when this thread may block; inside an
        // async runtime neither that nor a blocking shutdown is allowed.
        if let Some(conn) = conn
            && Handle::try_current().is_err()
        {
            // The timer is made inside the runtime (it needs its clock).
            let _closed = runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(1), conn.close()).await
            });
        }
        runtime.shutdown_background();
    }
}

#[cfg(test)]
mod tests {
    use crate::Backend;

    #[tokio::test]
    async fn the_connection_commits_synchronously_whatever_the_database_default() {
        let (_dir, path) = crate::tests::temp_db();
        let Some(options) = crate::tests::postgres_test_options(&path).await else {
            return; // PostgreSQL only
        };
        let store = crate::Store::open_postgres(&options, crate::SchemaPolicy::Migrate)
            .await
            .unwrap();
        let Backend::Postgres(backend) = &store.backend else {
            unreachable!("opened as postgres")
        };
        backend
            .execute_raw(
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', \
                 current_database()); END $$",
            )
            .await
            .unwrap();
        let mut appender = backend.audit_appender().unwrap();
        let (runtime, conn) = appender.parts("test").unwrap();
        let show = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(conn);
        let setting: String = super::PgAuditAppender::block_on(runtime, show).unwrap();
        assert_eq!(setting, "on");
    }
}
