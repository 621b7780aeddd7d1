//! The SQLite backend's connections: a few rusqlite connections, and every
//! store operation run as one closure on one of them on tokio's blocking
//! pool.
//!
//! One hop to a blocking thread per operation (a transaction of five
//! statements is one hop), never one per statement, and never a blocking
//! call on an async worker: a write can wait for the audit writer's commit
//! (an fsync) behind SQLite's single write lock. Statements are prepared
//! once per connection and cached (`prepare_cached`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::Semaphore;

use super::writer::Writer;
use crate::StoreError;

/// WAL pages after which a pool connection's commit folds the WAL back into
/// the database file (a checkpoint, which syncs that file). The audit
/// writer's connection does not checkpoint on commit: a thread of its own
/// does (`wal_checkpointer`), so this is a backstop for the pool's rare
/// writes. Inline on the audit writer, 8,192 pages meant a ~15 ms pause
/// every few seconds under load, and 2,048 pauses a quarter as long but
/// four times as frequent (BENCHMARKS.md, "WAL checkpoint").
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: i64 = 8192;

/// Prepared statements each connection keeps (rusqlite's default is 16;
/// the store has a few dozen distinct statements).
const STATEMENT_CACHE: usize = 96;

/// How a connection is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read and write, creating the file if it is missing.
    ReadWrite,
    /// Read only: nothing is created or written.
    ReadOnly,
}

/// A bounded set of connections to one database file.
#[derive(Debug)]
pub(crate) struct Connections {
    path: PathBuf,
    access: Access,
    busy_timeout: Duration,
    acquire_timeout: Duration,
    /// One permit per connection that may be open at once.
    permits: Arc<Semaphore>,
    /// Connections not in use; more are opened up to the permits.
    idle: Mutex<Vec<Connection>>,
    /// Every write's thread and connection (`writer`); none when the
    /// file is open read-only.
    writer: Option<Writer>,
}

impl Connections {
    /// Connections to `path`, at most `max` at once; the first is opened
    /// (and the file created, for [`Access::ReadWrite`]) before this returns.
    pub(crate) async fn open(
        path: PathBuf,
        access: Access,
        max: u32,
        busy_timeout: Duration,
        acquire_timeout: Duration,
    ) -> Result<Arc<Connections>, StoreError> {
        const OP: &str = "open sqlite database";
        let writer = match access {
            Access::ReadWrite => {
                // Opened first: it creates the file and sets WAL.
                let target = path.clone();
                let conn = tokio::task::spawn_blocking(move || {
                    connect(&target, access, busy_timeout).op(OP)
                })
                .await
                .map_err(|_| StoreError::Backend {
                    operation: OP,
                    message: "opening the database did not complete".to_owned(),
                })??;
                let writer = Writer::start(conn).map_err(|e| StoreError::Backend {
                    operation: OP,
                    message: format!("start the writer thread: {}", e.kind()),
                })?;
                Some(writer)
            }
            Access::ReadOnly => None,
        };
        let connections = Arc::new(Connections {
            path,
            access,
            busy_timeout,
            acquire_timeout,
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            idle: Mutex::new(Vec::new()),
            writer,
        });
        // Open a reader now, so a bad path or a file that is not a
        // database fails here with the opening's error, not at first use.
        if let Err(err) = connections.run(OP, |_| Ok(())).await {
            connections.close().await;
            return Err(err);
        }
        Ok(connections)
    }

    /// Runs `f` on a connection, on the blocking pool. Waits at most the
    /// acquire timeout for a free connection. For reads: a write goes
    /// through [`Connections::write`] or [`Connections::exclusive`].
    pub(crate) async fn run<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let permit =
            match tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
            {
                Ok(Ok(permit)) => permit,
                Ok(Err(_closed)) => return Err(closed(operation)),
                Err(_elapsed) => {
                    return Err(StoreError::Backend {
                        operation,
                        message: "timed out waiting for a database connection".to_owned(),
                    });
                }
            };
        let this = Arc::clone(self);
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = match this.take() {
                Ok(conn) => conn,
                Err(e) => return Err(StoreError::from_rusqlite(operation, e)),
            };
            let result = f(&mut conn);
            // A transaction left open (an early return past a commit that
            // never ran) was rolled back when its guard dropped; a
            // connection in any other state is not reused.
            if conn.is_autocommit() {
                this.give_back(conn);
            }
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(_) => Err(StoreError::Backend {
                operation,
                message: "the store operation did not complete".to_owned(),
            }),
        }
    }

    /// Runs `f` inside a write transaction (`BEGIN IMMEDIATE`: the write
    /// lock is taken at the start, so two writers never deadlock upgrading
    /// from a read), committed when `f` returns `Ok`. Writers of this
    /// process run one after another on the writer (see `writer`).
    pub(crate) async fn write<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.exclusive(operation, move |conn| {
            in_transaction(conn, TransactionBehavior::Immediate, operation, f)
        })
        .await
    }

    /// Runs `f`, which writes (one autocommit statement, or a transaction
    /// of its own), on the writer's connection, after the writes queued
    /// before it. Every write goes through here or [`Connections::write`].
    pub(crate) async fn exclusive<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(operation, f).await,
            None => Err(StoreError::Backend {
                operation,
                message: "the store is open read-only".to_owned(),
            }),
        }
    }

    /// Runs `f` inside a read transaction (one snapshot for every statement
    /// in `f`).
    pub(crate) async fn read<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.run(operation, move |conn| {
            in_transaction(conn, TransactionBehavior::Deferred, operation, f)
        })
        .await
    }

    /// Closes every idle connection and refuses new operations; operations
    /// under way finish first.
    pub(crate) async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close();
        }
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        drop(idle);
    }

    fn take(&self) -> rusqlite::Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path, self.access, self.busy_timeout),
        }
    }

    fn give_back(&self, conn: Connection) {
        if !self.permits.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

/// Opens a connection to `path` configured for the store.
fn connect(path: &Path, access: Access, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    // NO_MUTEX: a connection is used by one thread at a time (it is
    // taken out of `idle` for the length of an operation).
    let flags = match access {
        Access::ReadWrite => {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        }
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if access == Access::ReadWrite {
        wal_mode(&conn, busy_timeout)?;
        // FULL: a commit is on disk when it returns, which the audit
        // log's acknowledgements rely on (other writes are rare).
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; \
             PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
        ))?;
    }
    Ok(conn)
}

/// Runs `f` in a transaction of `behavior` on `conn`, committed when `f`
/// returns `Ok` (rolled back when its guard drops otherwise).
fn in_transaction<T>(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    operation: &'static str,
    f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn.transaction_with_behavior(behavior).op(operation)?;
    let value = f(&tx)?;
    tx.commit().op(operation)?;
    Ok(value)
}

/// Puts the file in WAL mode (it persists; setting it again is a no-op).
/// On a new file several processes opening it at once race to switch it,
/// and SQLite refuses the loser at once ("database is locked") without
/// its busy handler, to avoid a deadlock: the switch is tried again until
/// the busy timeout.
fn wal_mode(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + busy_timeout;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e),
        }
    }
}

fn closed(operation: &'static str) -> StoreError {
    StoreError::Backend {
        operation,
        message: "the store has been closed".to_owned(),
    }
}

/// `.op(OPERATION)` on a rusqlite result: the store error naming the
/// operation, never a bound value.
pub(crate) trait Op<T> {
    /// Maps the error with [`StoreError::from_rusqlite`].
    fn op(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> Op<T> for rusqlite::Result<T> {
    fn op(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::from_rusqlite(operation, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(dir: &tempfile::TempDir, max: u32) -> Arc<Connections> {
        Connections::open(
            dir.path().join("c.db"),
            Access::ReadWrite,
            max,
            Duration::from_secs(5),
            Duration::from_millis(200),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_failed_write_rolls_back_and_the_connection_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir, 1).await;
        c.write("create", |tx| {
            tx.execute_batch("CREATE TABLE t (v INTEGER)").op("create")
        })
        .await
        .unwrap();
        let err = c
            .write("insert", |tx| {
                tx.execute("INSERT INTO t VALUES (1)", []).op("insert")?;
                Err::<(), _>(StoreError::Conflict("test".to_owned()))
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)));
        let n: i64 = c
            .run("count", |conn| {
                conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .op("count")
            })
            .await
            .unwrap();
        assert_eq!(n, 0, "the failed transaction was rolled back");
    }

    #[tokio::test]
    async fn writers_take_turns_instead_of_failing_on_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        // A 1 ms busy timeout: two write transactions at once on two
        // connections would fail with "database is locked".
        let c = Connections::open(
            dir.path().join("c.db"),
            Access::ReadWrite,
            4,
            Duration::from_millis(1),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        c.write("create", |tx| {
            tx.execute_batch("CREATE TABLE t (v INTEGER)").op("create")
        })
        .await
        .unwrap();
        let mut writers = Vec::new();
        for w in 0..16 {
            let c = Arc::clone(&c);
            writers.push(tokio::spawn(async move {
                c.write("insert", move |tx| {
                    let mut stmt = tx.prepare_cached("INSERT INTO t VALUES (?)").op("insert")?;
                    for v in 0..500 {
                        stmt.execute([w * 1000 + v]).op("insert")?;
                    }
                    Ok(())
                })
                .await
            }));
        }
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let n: i64 = c
            .run("count", |conn| {
                conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .op("count")
            })
            .await
            .unwrap();
        assert_eq!(n, 16 * 500);
    }

    #[tokio::test]
    async fn waiting_for_a_connection_times_out_and_a_closed_set_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir, 1).await;
        let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
        let busy = {
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                c.run("hold", move |_| {
                    let _ = hold_rx.recv();
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let err = c.run("second", |_| Ok(())).await.unwrap_err();
        assert!(err.to_string().contains("timed out waiting"), "{err}");
        hold_tx.send(()).unwrap();
        busy.await.unwrap().unwrap();
        c.close().await;
        let err = c.run("after close", |_| Ok(())).await.unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_file_is_refused_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let err = Connections::open(
            dir.path().join("missing.db"),
            Access::ReadOnly,
            1,
            Duration::from_secs(1),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Backend { .. }), "{err}");
        assert!(!dir.path().join("missing.db").exists());
    }
}
