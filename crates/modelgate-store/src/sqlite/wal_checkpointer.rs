//! Folds the WAL back into the database file on a thread of its own, so
//! that the audit writer's commits never wait for it.
//!
//! SQLite checkpoints on the committing connection by default: every 8,192
//! WAL pages the audit writer's commit also copied the WAL into the
//! database file and synced it, a ~15 ms pause for every admit waiting on
//! that commit (the gateway's p99.9 under load). Here the writer's
//! connection has automatic checkpoints off and wakes this thread after its
//! commits instead; the thread runs passive checkpoints (which never block
//! the writer) at most every [`CheckpointPolicy::min_interval`].
//!
//! A passive checkpoint copies the frames written before it started. SQLite
//! starts the WAL over from its beginning only when a checkpoint has copied
//! every frame, so a writer that never pauses could keep the WAL growing.
//! The bound: once the last checkpoint saw more than
//! [`CheckpointPolicy::writer_bound_frames`] frames, the writer runs one
//! itself after its commit (nothing else appends then, so it completes and
//! the WAL starts over).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::WAL_AUTOCHECKPOINT_PAGES;

/// When checkpoints run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointPolicy {
    /// Least time between two background checkpoints (each syncs the
    /// database file).
    pub(crate) min_interval: Duration,
    /// WAL frames beyond which the writer checkpoints itself.
    pub(crate) writer_bound_frames: i64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            min_interval: Duration::from_millis(20),
            // The pool's autocheckpoint (8,192 pages of 4 KiB: a ~32 MiB
            // WAL), as with SQLite's own checkpoints before. Under sustained load passive checkpoints
            // rarely catch up, so this is when the WAL starts over. Every
            // 20 ms against 100 ms, and this bound against 32,768, were
            // measured with the load harness (BENCHMARKS.md).
            writer_bound_frames: WAL_AUTOCHECKPOINT_PAGES,
        }
    }
}

/// The writer's handle on the checkpoint thread.
pub(crate) struct WalCheckpointer {
    wake: Option<SyncSender<()>>,
    /// Frames in the WAL when the last checkpoint ran (-1 before the
    /// first): how far it is from starting over.
    frames: Arc<AtomicI64>,
    policy: CheckpointPolicy,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WalCheckpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalCheckpointer")
            .field("frames", &self.frames.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl WalCheckpointer {
    /// Starts the thread on `conn`, a connection of its own.
    pub(crate) fn start(
        conn: Connection,
        policy: CheckpointPolicy,
    ) -> std::io::Result<WalCheckpointer> {
        let (wake, woken) = sync_channel(1);
        let frames = Arc::new(AtomicI64::new(-1));
        let seen = frames.clone();
        let thread = std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || run(&conn, &woken, &seen, policy.min_interval))?;
        Ok(WalCheckpointer {
            wake: Some(wake),
            frames,
            policy,
            thread: Some(thread),
        })
    }

    /// After a commit on the writer's connection: wakes the thread, or,
    /// past the bound, checkpoints on `writer` (blocking).
    pub(crate) fn after_commit(&mut self, writer: &Connection) -> rusqlite::Result<()> {
        let Some(wake) = &self.wake else {
            return Ok(());
        };
        if self.frames.load(Ordering::Acquire) > self.policy.writer_bound_frames {
            // The length before the WAL starts over (at the next commit,
            // since this copied everything): the next commit checkpoints
            // once more and reads the new, short length.
            let (_, log, _) = checkpoint(writer)?;
            self.frames.store(log, Ordering::Release);
            return Ok(());
        }
        if let Err(TrySendError::Disconnected(())) = wake.try_send(()) {
            // The thread is gone (a checkpoint failed and it stopped): hand
            // checkpoints back to SQLite on the writer's own commits, as
            // before the thread existed.
            self.wake = None;
            writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        }
        Ok(())
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A passive checkpoint: `(busy, frames in the WAL, frames copied)`.
fn checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}

fn run(conn: &Connection, woken: &Receiver<()>, frames: &AtomicI64, min_interval: Duration) {
    let mut last: Option<Instant> = None;
    while woken.recv().is_ok() {
        // At most one checkpoint per interval; wake-ups meanwhile are
        // covered by it. A closed channel (the writer is gone) ends it.
        if let Some(deadline) = last.map(|t| t + min_interval) {
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match woken.recv_timeout(deadline - now) {
                    Ok(()) => {}
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
        while woken.try_recv().is_ok() {}
        last = Some(Instant::now());
        match checkpoint(conn) {
            // The WAL's length, not what is left to copy: a WAL always
            // copied but never started over still grows.
            Ok((_, log, _)) => frames.store(log, Ordering::Release),
            Err(err) => {
                tracing::warn!(error = %err, "audit: WAL checkpoint failed; SQLite checkpoints on the writer's commits from now on");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::CheckpointPolicy;
    use crate::{AuditEntryRow, Backend, Store};

    fn row(seq: i64) -> AuditEntryRow {
        AuditEntryRow {
            replica: "r1".into(),
            seq,
            time: seq,
            line: "x".repeat(700),
            kind: Some("request".into()),
            identity: Some("svc".into()),
            ..AuditEntryRow::default()
        }
    }

    /// Appends `n` one-row batches with `policy`; the WAL file's size after.
    async fn wal_after(n: i64, policy: CheckpointPolicy) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let store = Store::open_sqlite(&path).await.unwrap();
        let Backend::Sqlite(backend) = &store.backend;
        let mut appender = backend.audit_appender_with(policy).unwrap();
        for seq in 1..=n {
            appender.append(&[row(seq)]).unwrap();
        }
        assert_eq!(appender.tail("r1").unwrap().map(|l| l.len()), Some(700));
        drop(appender);
        let wal = std::fs::metadata(dir.path().join("w.db-wal")).map_or(0, |m| m.len());
        // Every row is there, whoever checkpointed.
        assert_eq!(
            store.audit_lines("r1", 0, 10_000).await.unwrap().len(),
            n as usize
        );
        wal
    }

    #[tokio::test]
    async fn background_checkpoints_keep_the_wal_from_growing() {
        // Without checkpoints 1,000 commits of ~6 pages each would leave a
        // WAL of ~24 MB.
        let wal = wal_after(
            1_000,
            CheckpointPolicy {
                min_interval: Duration::from_millis(1),
                writer_bound_frames: 256,
            },
        )
        .await;
        assert!(wal < 4 << 20, "WAL grew to {wal} bytes");
    }

    #[tokio::test]
    async fn past_the_bound_the_writer_checkpoints_itself() {
        // The thread checkpoints once and then not for an hour; with a
        // bound of zero frames the writer checkpoints after every commit,
        // so the WAL starts over each time.
        let wal = wal_after(
            300,
            CheckpointPolicy {
                min_interval: Duration::from_secs(3600),
                writer_bound_frames: 0,
            },
        )
        .await;
        // Without it: ~7.5 MB. A few commits may land before the first
        // count.
        assert!(wal < 1 << 20, "WAL grew to {wal} bytes");
    }
}
