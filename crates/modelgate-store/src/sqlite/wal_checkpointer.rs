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
//!
//! A failed checkpoint (a full disk, a file-size limit) hands checkpoints
//! back to SQLite on the writer's commits while it lasts; the thread keeps
//! trying, at most every [`CheckpointPolicy::retry_interval`], and when one
//! succeeds the writer's commits stop checkpointing again. Only a thread
//! that is gone (it panicked) leaves them with the writer for good.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::connections::WAL_AUTOCHECKPOINT_PAGES;

/// When checkpoints run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointPolicy {
    /// Least time between two background checkpoints (each syncs the
    /// database file).
    pub(crate) min_interval: Duration,
    /// WAL frames beyond which the writer checkpoints itself.
    pub(crate) writer_bound_frames: i64,
    /// Least time between two attempts while checkpoints fail.
    pub(crate) retry_interval: Duration,
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
            retry_interval: Duration::from_secs(1),
        }
    }
}

/// What the thread and the writer share.
#[derive(Debug, Default)]
struct Shared {
    /// Frames in the WAL when the last checkpoint ran (-1 before the
    /// first): how far it is from starting over.
    frames: AtomicI64,
    /// The last checkpoint failed: the writer's commits checkpoint.
    failing: AtomicBool,
}

/// The writer's handle on the checkpoint thread.
pub(crate) struct WalCheckpointer {
    wake: Option<SyncSender<()>>,
    shared: Arc<Shared>,
    /// Whether the writer's connection checkpoints on its commits now.
    writer_checkpoints: bool,
    policy: CheckpointPolicy,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for WalCheckpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalCheckpointer")
            .field("frames", &self.shared.frames.load(Ordering::Relaxed))
            .field("writer_checkpoints", &self.writer_checkpoints)
            .finish_non_exhaustive()
    }
}

/// One checkpoint: `(busy, frames in the WAL, frames copied)`.
type Checkpoint = Box<dyn FnMut() -> rusqlite::Result<(i64, i64, i64)> + Send>;

impl WalCheckpointer {
    /// Starts the thread on `conn`, a connection of its own.
    pub(crate) fn start(
        conn: Connection,
        policy: CheckpointPolicy,
    ) -> std::io::Result<WalCheckpointer> {
        Self::start_with(Box::new(move || checkpoint(&conn)), policy)
    }

    /// Starts the thread running `checkpoint` (tests inject failures).
    fn start_with(checkpoint: Checkpoint, policy: CheckpointPolicy) -> std::io::Result<Self> {
        let (wake, woken) = sync_channel(1);
        let shared = Arc::new(Shared {
            frames: AtomicI64::new(-1),
            failing: AtomicBool::new(false),
        });
        let seen = shared.clone();
        let thread = std::thread::Builder::new()
            .name("audit-checkpoint".into())
            .spawn(move || run(checkpoint, &woken, &seen, policy))?;
        Ok(WalCheckpointer {
            wake: Some(wake),
            shared,
            writer_checkpoints: false,
            policy,
            thread: Some(thread),
        })
    }

    /// After a commit on the writer's connection: wakes the thread, or,
    /// past the bound, checkpoints on `writer` (blocking). While the
    /// thread's checkpoints fail, the writer's commits checkpoint.
    pub(crate) fn after_commit(&mut self, writer: &Connection) -> rusqlite::Result<()> {
        let Some(wake) = &self.wake else {
            return Ok(());
        };
        let failing = self.shared.failing.load(Ordering::Acquire);
        if failing != self.writer_checkpoints {
            let pages = if failing { WAL_AUTOCHECKPOINT_PAGES } else { 0 };
            writer.pragma_update(None, "wal_autocheckpoint", pages)?;
            self.writer_checkpoints = failing;
        }
        if !failing && self.shared.frames.load(Ordering::Acquire) > self.policy.writer_bound_frames
        {
            // The length before the WAL starts over (at the next commit,
            // since this copied everything): the next commit checkpoints
            // once more and reads the new, short length.
            let (_, log, _) = checkpoint(writer)?;
            self.shared.frames.store(log, Ordering::Release);
            return Ok(());
        }
        if let Err(TrySendError::Disconnected(())) = wake.try_send(()) {
            // The thread is gone (it panicked): hand checkpoints back to
            // SQLite on the writer's own commits, for good.
            self.wake = None;
            if !self.writer_checkpoints {
                writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
                self.writer_checkpoints = true;
            }
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

fn run(
    mut checkpoint: Checkpoint,
    woken: &Receiver<()>,
    shared: &Shared,
    policy: CheckpointPolicy,
) {
    let mut last: Option<Instant> = None;
    while woken.recv().is_ok() {
        // At most one checkpoint per interval (a longer one while they
        // fail); wake-ups meanwhile are covered by it. A closed channel
        // (the writer is gone) ends it.
        let failing = shared.failing.load(Ordering::Acquire);
        let interval = if failing {
            policy.retry_interval
        } else {
            policy.min_interval
        };
        if let Some(deadline) = last.map(|t| t + interval) {
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
        match checkpoint() {
            // The WAL's length, not what is left to copy: a WAL always
            // copied but never started over still grows.
            Ok((_, log, _)) => {
                shared.frames.store(log, Ordering::Release);
                if failing {
                    shared.failing.store(false, Ordering::Release);
                    tracing::info!(
                        "audit: WAL checkpoints succeed again; back on their own thread"
                    );
                }
            }
            Err(err) => {
                if !failing {
                    shared.failing.store(true, Ordering::Release);
                    tracing::warn!(error = %err, "audit: WAL checkpoint failed; the writer's commits checkpoint until one succeeds");
                }
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
        let Backend::Sqlite(backend) = &store.backend else {
            unreachable!("opened as sqlite")
        };
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
                ..CheckpointPolicy::default()
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
                ..CheckpointPolicy::default()
            },
        )
        .await;
        // Without it: ~7.5 MB. A few commits may land before the first
        // count.
        assert!(wal < 1 << 20, "WAL grew to {wal} bytes");
    }

    /// The writer's `wal_autocheckpoint` after a commit, once the
    /// thread's state is `failing` (the thread runs on its own time).
    fn settle(
        ckpt: &mut super::WalCheckpointer,
        writer: &rusqlite::Connection,
        failing: bool,
    ) -> i64 {
        for _ in 0..500 {
            ckpt.after_commit(writer).unwrap();
            if ckpt
                .shared
                .failing
                .load(std::sync::atomic::Ordering::Acquire)
                == failing
            {
                ckpt.after_commit(writer).unwrap();
                return writer
                    .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the checkpoint thread never reported failing = {failing}");
    }

    #[test]
    fn checkpoints_return_to_their_thread_after_a_failure() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        let dir = tempfile::tempdir().unwrap();
        let writer = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        // A disk that is full until `fail` is cleared.
        let fail = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(AtomicUsize::new(0));
        let (failing, counted) = (fail.clone(), calls.clone());
        let mut ckpt = super::WalCheckpointer::start_with(
            Box::new(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                if failing.load(Ordering::SeqCst) {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                        None,
                    ))
                } else {
                    Ok((0, 10, 10))
                }
            }),
            CheckpointPolicy {
                min_interval: Duration::from_millis(1),
                writer_bound_frames: 1 << 20,
                retry_interval: Duration::from_millis(20),
            },
        )
        .unwrap();

        // Failing: the writer's commits checkpoint, and the thread is
        // still there, trying again.
        assert_eq!(
            settle(&mut ckpt, &writer, true),
            super::WAL_AUTOCHECKPOINT_PAGES
        );
        let tried = calls.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        ckpt.after_commit(&writer).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            calls.load(Ordering::SeqCst) > tried,
            "the thread stopped trying"
        );

        // The disk recovers: checkpoints go back to the thread, and the
        // writer's commits stop checkpointing.
        fail.store(false, Ordering::SeqCst);
        assert_eq!(settle(&mut ckpt, &writer, false), 0);
        assert!(ckpt.wake.is_some());
    }
}
