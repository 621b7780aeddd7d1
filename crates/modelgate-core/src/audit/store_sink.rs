//! The store as an audit sink: each batch is one transaction of lines (with
//! search columns copied from the record), committed with a synced WAL.
//!
//! The audit writer runs on its own thread, and the sink writes through a
//! store connection of its own ([`AuditAppender`]) on that thread: no async
//! pool, no hop to another thread per statement.

use modelgate_audit::{AuditEvent, AuditSink, Entry, Record, SinkError, decode_record};
use modelgate_store::{AuditAppender, AuditEntryRow, Store, StoreError};

/// Writes `replica`'s chain into the store.
pub struct StoreAuditSink {
    appender: AuditAppender,
    replica: String,
    /// The process's claim on `replica` (its lease holder), when it has one.
    holder: Option<String>,
    staged: Vec<AuditEntryRow>,
}

impl std::fmt::Debug for StoreAuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreAuditSink")
            .field("replica", &self.replica)
            .field("staged", &self.staged.len())
            .finish_non_exhaustive()
    }
}

impl StoreAuditSink {
    /// A sink for `replica`'s chain, on a connection of its own to `store`
    /// (a blocking file open).
    pub fn open(store: &Store, replica: impl Into<String>) -> Result<Self, StoreError> {
        Ok(Self {
            appender: store.audit_appender()?,
            replica: replica.into(),
            holder: None,
            staged: Vec::new(),
        })
    }

    /// Held by the process whose claim on the replica id is `holder`: what
    /// it discards after a failed write, it deletes only while it still
    /// holds the id.
    pub fn held_by(mut self, holder: Option<&str>) -> Self {
        self.holder = holder.map(str::to_owned);
        self
    }

    fn fail(&self, err: impl std::fmt::Display) -> SinkError {
        SinkError::Other {
            sink: "store".into(),
            reason: err.to_string(),
        }
    }
}

/// The search columns of a record.
fn row_of(replica: &str, record: &Record, line: &[u8]) -> AuditEntryRow {
    let mut row = AuditEntryRow {
        replica: replica.to_owned(),
        seq: i64::try_from(record.seq).unwrap_or(i64::MAX),
        checkpoint: false,
        time: record.time,
        line: String::from_utf8_lossy(line).into_owned(),
        ..AuditEntryRow::default()
    };
    match &record.event {
        AuditEvent::Request(r) => {
            row.kind = Some("request".into());
            row.identity = r.identity.clone();
            row.model = r.model.clone();
            row.decision = r.decision.clone();
            row.action = r.action.clone();
            row.status = r.status.map(i64::from);
            row.bodies_expire = r.bodies_expire;
        }
        AuditEvent::Control(c) => {
            row.kind = Some("control".into());
            row.identity = c.target.clone().or_else(|| c.actor.clone());
            row.decision = Some(c.outcome.clone());
            row.action = Some(c.action.clone());
        }
    }
    row
}

impl AuditSink for StoreAuditSink {
    fn name(&self) -> &str {
        "store"
    }

    fn required(&self) -> bool {
        true
    }

    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError> {
        for entry in entries {
            let row = match entry {
                Entry::Record { record, line } => row_of(&self.replica, record, line),
                Entry::Checkpoint { checkpoint, line } => AuditEntryRow {
                    replica: self.replica.clone(),
                    seq: i64::try_from(checkpoint.seq).unwrap_or(i64::MAX),
                    checkpoint: true,
                    time: checkpoint.time,
                    line: String::from_utf8_lossy(line).into_owned(),
                    ..AuditEntryRow::default()
                },
            };
            self.staged.push(row);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), SinkError> {
        if self.staged.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.staged);
        self.appender.append(&rows).map_err(|e| self.fail(e))
    }

    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        let line = self
            .appender
            .tail(&self.replica)
            .map_err(|e| self.fail(e))?;
        line.map(|l| decode_record(l.as_bytes()))
            .transpose()
            .map_err(|e| SinkError::corrupt("store", e.to_string()))
    }

    fn load_unsigned_tail(&mut self) -> Result<Option<Vec<Vec<u8>>>, SinkError> {
        let lines = self
            .appender
            .unsigned_tail(&self.replica)
            .map_err(|e| self.fail(e))?;
        Ok(Some(lines.into_iter().map(String::into_bytes).collect()))
    }

    fn discard_after(&mut self, seq: u64) -> Result<(), SinkError> {
        self.staged.clear();
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.appender
            .discard_after_held(&self.replica, seq, self.holder.as_deref())
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }
}
