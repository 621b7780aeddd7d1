//! [`AuditAppender`]: the audit writer's dedicated, blocking connection.

use crate::audit::AuditEntryRow;
use crate::postgres::PgAuditAppender;
use crate::sqlite::SqliteAuditAppender;
use crate::{Backend, Store, StoreError};

/// A connection of its own for one audit writer thread: every call blocks
/// that thread, none goes through the async pool. Made for the audit log's
/// writer, which owns a thread and commits a batch at a time; do not call it
/// from an async task.
#[derive(Debug)]
pub struct AuditAppender {
    backend: AppenderBackend,
}

#[derive(Debug)]
enum AppenderBackend {
    Sqlite(SqliteAuditAppender),
    /// Boxed: it holds its own runtime and connection options.
    Postgres(Box<PgAuditAppender>),
}

impl Store {
    /// Opens an [`AuditAppender`] on this store's database (a blocking file
    /// open; done once, when the audit log starts).
    pub fn audit_appender(&self) -> Result<AuditAppender, StoreError> {
        let backend = match &self.backend {
            Backend::Sqlite(b) => AppenderBackend::Sqlite(b.audit_appender()?),
            Backend::Postgres(b) => AppenderBackend::Postgres(Box::new(b.audit_appender()?)),
        };
        Ok(AuditAppender { backend })
    }
}

impl AuditAppender {
    /// Appends lines in one transaction, synced to disk before it returns
    /// (`synchronous=FULL`). A record line whose `(replica, seq)` is taken
    /// fails the whole batch with [`StoreError::Conflict`], nothing written.
    pub fn append(&mut self, rows: &[AuditEntryRow]) -> Result<(), StoreError> {
        match &mut self.backend {
            AppenderBackend::Sqlite(a) => a.append(rows),
            AppenderBackend::Postgres(a) => a.append(rows),
        }
    }

    /// The last record line of `replica`'s chain, if any.
    pub fn tail(&mut self, replica: &str) -> Result<Option<String>, StoreError> {
        match &mut self.backend {
            AppenderBackend::Sqlite(a) => a.tail(replica),
            AppenderBackend::Postgres(a) => a.tail(replica),
        }
    }

    /// The lines of `replica`'s chain that the last checkpoint does not
    /// cover, in written order, starting with the record that checkpoint
    /// covers and the checkpoint itself (from the first line if there is
    /// no checkpoint): what the audit writer verifies before it signs
    /// again.
    pub fn unsigned_tail(&mut self, replica: &str) -> Result<Vec<String>, StoreError> {
        match &mut self.backend {
            AppenderBackend::Sqlite(a) => a.unsigned_tail(replica),
            AppenderBackend::Postgres(a) => a.unsigned_tail(replica),
        }
    }

    /// Deletes `replica`'s records with a seq above `seq` and checkpoints
    /// over them; returns how many entries went.
    pub fn discard_after(&mut self, replica: &str, seq: i64) -> Result<u64, StoreError> {
        self.discard_after_held(replica, seq, None)
    }

    /// Like [`AuditAppender::discard_after`], deleting only while `holder`
    /// holds `replica`'s id in the store (with `Some`): a writer that lost
    /// its id to another process deletes nothing that one wrote.
    pub fn discard_after_held(
        &mut self,
        replica: &str,
        seq: i64,
        holder: Option<&str>,
    ) -> Result<u64, StoreError> {
        match &mut self.backend {
            AppenderBackend::Sqlite(a) => a.discard_after(replica, seq, holder),
            AppenderBackend::Postgres(a) => a.discard_after(replica, seq, holder),
        }
    }
}
