//! The store as an audit sink: each batch is one transaction of lines (with
//! search columns copied from the record), committed with a synced WAL.
//!
//! The audit writer runs on its own thread, so the sink may block on the
//! runtime to use the async store.

use modelgate_audit::{AuditEvent, AuditSink, Entry, Record, SinkError, decode_record};
use modelgate_store::{AuditEntryRow, Store};
use tokio::runtime::Handle;

/// Writes `replica`'s chain into the store.
pub struct StoreAuditSink {
    store: Store,
    replica: String,
    runtime: Handle,
    staged: Vec<AuditEntryRow>,
}

impl StoreAuditSink {
    /// A sink for `replica`'s chain; `runtime` runs the store's queries.
    pub fn new(store: Store, replica: impl Into<String>, runtime: Handle) -> Self {
        Self {
            store,
            replica: replica.into(),
            runtime,
            staged: Vec::new(),
        }
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
        self.runtime
            .block_on(self.store.append_audit_entries(&rows))
            .map_err(|e| self.fail(e))
    }

    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        let line = self
            .runtime
            .block_on(self.store.audit_tail(&self.replica))
            .map_err(|e| self.fail(e))?;
        line.map(|l| decode_record(l.as_bytes()))
            .transpose()
            .map_err(|e| SinkError::corrupt("store", e.to_string()))
    }

    fn discard_after(&mut self, seq: u64) -> Result<(), SinkError> {
        self.staged.clear();
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        self.runtime
            .block_on(self.store.discard_audit_after(&self.replica, seq))
            .map(|_| ())
            .map_err(|e| self.fail(e))
    }
}
