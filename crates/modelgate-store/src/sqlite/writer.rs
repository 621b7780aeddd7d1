//! The SQLite backend's writer: one thread with a connection of its own,
//! running the store's writes one after another in the order they arrive.
//!
//! SQLite has one write lock. Writers on several pooled connections wait
//! for it in SQLite's busy handler, which sleeps longer on each try and
//! serves no one in order: the pool bench put the p99 of the token
//! endpoint's store work at 0.1-0.6 s with 16-64 concurrent exchanges
//! (BENCHMARKS.md, "Store pool"). A queue in the process instead (a
//! mutex before the blocking pool) was fair but added a thread handoff
//! inside the critical section and cut throughput. This thread stays hot
//! under load and takes the next write as soon as one commits.
//!
//! The audit writer's own connection still meets this one at SQLite's
//! lock; it writes in large batches, rarely.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use crate::StoreError;

/// A write, with the sender of its result inside.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The writer thread's queue; closing it ends the thread.
#[derive(Debug)]
pub(crate) struct Writer {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
}

impl Writer {
    /// Starts the thread on `conn`.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("modelgate-sqlite-writer".to_owned())
            .spawn(move || serve(conn, queue))?;
        Ok(Writer {
            jobs: Mutex::new(Some(jobs)),
        })
    }

    /// Runs `f` on the writer's connection after the writes queued before
    /// it. `f` writes one autocommit statement or manages a transaction of
    /// its own.
    pub(crate) async fn run<T, F>(&self, operation: &'static str, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            // The caller may have gone away; the write is done either way.
            let _ = done.send(f(conn));
        });
        let queued = match &*self.jobs.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        if !queued {
            return Err(StoreError::Backend {
                operation,
                message: "the store has been closed".to_owned(),
            });
        }
        match result.await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Backend {
                operation,
                message: "the store operation did not complete".to_owned(),
            }),
        }
    }

    /// Refuses new writes; the thread finishes those queued, then ends.
    pub(crate) fn close(&self) {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

fn serve(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        // A write that panics fails alone (its caller gets "did not
        // complete"); the thread goes on with the next.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
        // A transaction left open (by a panic) must not hold the lock.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        (dir, Writer::start(conn).unwrap())
    }

    fn count(conn: &mut Connection) -> Result<i64, StoreError> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .map_err(|e| StoreError::from_rusqlite("count", e))
    }

    #[tokio::test]
    async fn a_write_that_panics_fails_alone_and_its_transaction_is_undone() {
        let (_dir, w) = writer();
        let err = w
            .run("panics", |conn| -> Result<(), StoreError> {
                conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
                    .unwrap();
                panic!("a bug in a write");
            })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not complete"), "{err}");
        w.run("insert", |conn| {
            conn.execute("INSERT INTO t VALUES (2)", [])
                .map_err(|e| StoreError::from_rusqlite("insert", e))
        })
        .await
        .unwrap();
        assert_eq!(w.run("count", count).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn writes_run_in_the_order_they_were_queued_and_close_refuses_more() {
        let (_dir, w) = writer();
        let pending: Vec<_> = (0..50)
            .map(|v| {
                w.run("insert", move |conn| {
                    conn.execute("INSERT INTO t VALUES (?)", [v])
                        .map_err(|e| StoreError::from_rusqlite("insert", e))
                })
            })
            .collect();
        for write in pending {
            write.await.unwrap();
        }
        let order: Vec<i64> = w
            .run("read", |conn| {
                let mut stmt = conn.prepare("SELECT v FROM t ORDER BY rowid").unwrap();
                let rows = stmt.query_map([], |r| r.get(0)).unwrap();
                Ok(rows.map(Result::unwrap).collect())
            })
            .await
            .unwrap();
        assert_eq!(order, (0..50).collect::<Vec<i64>>());
        w.close();
        let err = w.run("after close", count).await.unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
    }
}
