//! Waiting for the state revision to move, so that a replica re-reads its
//! caches at once instead of at its next poll.
//!
//! On PostgreSQL every move of the revision is announced on the channel
//! `modelgate_state` when its transaction commits (a trigger, migration
//! `0002_replicas`); a [`StateWatch`] listens on a connection of its own
//! (`application_name` `modelgate-state-watch`), reopened with backoff after
//! a loss. Notifications are not queued for a listener that is not
//! connected, so after every reconnection the watch reports one change: the
//! caller re-reads and misses nothing that happened meanwhile.
//!
//! On SQLite nothing announces a change (another process, the CLI, writes
//! the file directly): the watch never fires and the poll is the only way
//! a change made elsewhere is seen.

use crate::Store;

/// Wakes its holder when the state revision may have moved. Bursts
/// coalesce: any number of changes between two calls of
/// [`StateWatch::changed`] make it return once. Dropping the watch closes
/// its connection.
#[derive(Debug)]
pub struct StateWatch {
    /// Bumped by the listening task on every notification and after every
    /// reconnection; `None` when nothing ever announces a change.
    changes: Option<tokio::sync::watch::Receiver<u64>>,
}

impl StateWatch {
    /// A watch that never fires (SQLite).
    pub(crate) fn never() -> StateWatch {
        StateWatch { changes: None }
    }

    /// A watch fed by a task that bumps `changes`.
    pub(crate) fn fed_by(changes: tokio::sync::watch::Receiver<u64>) -> StateWatch {
        StateWatch {
            changes: Some(changes),
        }
    }

    /// Returns when the revision may have moved since the last call (or
    /// since the watch was opened): a notification arrived, or the
    /// listening connection was reopened and notifications may have been
    /// missed. Never returns on a backend without notifications. Cancel
    /// safe.
    pub async fn changed(&mut self) {
        match &mut self.changes {
            Some(changes) => {
                if changes.changed().await.is_err() {
                    // The listening task is gone (it only ends when the
                    // watch is dropped): nothing will fire again.
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    }
}

impl Store {
    /// Opens a watch on the state revision (see [`StateWatch`]). On
    /// PostgreSQL the listening connection is opened before this returns
    /// when the server answers, so a change committed after it returns is
    /// reported; if the server does not answer, the watch keeps trying in
    /// the background (logging the failure) and reports one change once it
    /// is connected.
    pub async fn watch_state(&self) -> StateWatch {
        on_backend!(self, b => b.watch_state().await)
    }
}
