//! Where records go: the [`AuditSink`] trait the writer drives, the batch
//! [`Entry`] it hands over, and a sink for any `Write` (stdout for log
//! shippers).
//!
//! Sinks are driven from one dedicated writer thread (not a runtime worker),
//! so an implementation may block, and a store-backed sink may use
//! `tokio::runtime::Handle::block_on`.

use std::io::Write;

use crate::checkpoint::Checkpoint;
use crate::error::SinkError;
use crate::record::Record;

/// One line of a batch: a record or a checkpoint, typed and serialized.
#[expect(
    clippy::large_enum_variant,
    reason = "records dominate; checkpoints are rare"
)]
#[derive(Debug, Clone)]
pub enum Entry {
    /// A record and its line.
    Record {
        /// The record.
        record: Record,
        /// Its JSON line (no newline).
        line: Vec<u8>,
    },
    /// A checkpoint and its line.
    Checkpoint {
        /// The checkpoint.
        checkpoint: Checkpoint,
        /// Its JSON line (no newline).
        line: Vec<u8>,
    },
}

impl Entry {
    /// The JSON line, without newline.
    pub fn line(&self) -> &[u8] {
        match self {
            Entry::Record { line, .. } | Entry::Checkpoint { line, .. } => line,
        }
    }

    /// The record's seq, or the seq a checkpoint covers.
    pub fn seq(&self) -> u64 {
        match self {
            Entry::Record { record, .. } => record.seq,
            Entry::Checkpoint { checkpoint, .. } => checkpoint.seq,
        }
    }
}

/// A destination for audit entries.
///
/// Contract with the writer:
/// - `write_batch` then `sync`: the batch is acknowledged to callers only
///   once `sync` of every *required* sink returned `Ok`; after that the
///   entries must survive a crash.
/// - A batch that failed anywhere is not acknowledged, and the writer calls
///   `discard_after(head)` on every required sink before writing again:
///   the sink must drop every entry past `head` (records with a greater
///   seq, checkpoints over a greater seq, partial writes) so the chain
///   continues from `head` without duplicates.
/// - `load_tail` gives the last record durably stored (the chain resumes
///   from it); a sink that cannot tell returns `None`.
/// - `load_unsigned_tail` gives the lines the last checkpoint does not
///   cover, for the writer to verify before it signs again; a sink that
///   cannot tell returns `None`.
/// - Entries arrive in chain order; a checkpoint follows the record it
///   covers.
pub trait AuditSink: Send {
    /// Name for logs and errors.
    fn name(&self) -> &str;
    /// Whether a failure of this sink fails the append (fail closed). A sink
    /// that is not required is written after the required ones have synced,
    /// best effort.
    fn required(&self) -> bool;
    /// Writes the entries, in order.
    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError>;
    /// Makes everything written so far durable.
    fn sync(&mut self) -> Result<(), SinkError>;
    /// The last record stored, to resume the chain.
    fn load_tail(&mut self) -> Result<Option<Record>, SinkError>;
    /// Drops every entry past `seq` (see the trait docs) and makes that
    /// durable.
    fn discard_after(&mut self, seq: u64) -> Result<(), SinkError>;
    /// The stored lines from the record the last checkpoint covers (or, if
    /// that record is gone, from the checkpoint; with no checkpoint, from
    /// the first line) to the end, in written order: what the writer
    /// verifies before it signs anything new. `None`: the sink cannot read
    /// back what it wrote (the default).
    fn load_unsigned_tail(&mut self) -> Result<Option<Vec<Vec<u8>>>, SinkError> {
        Ok(None)
    }
}

/// JSON lines to any writer; [`WriterSink::stdout`] for log shippers.
/// Cannot resume a chain or discard, so it is meant to be not required.
pub struct WriterSink<W: Write + Send> {
    name: String,
    writer: W,
    required: bool,
    buf: Vec<u8>,
}

/// JSON lines on standard output.
pub type StdoutSink = WriterSink<std::io::Stdout>;

impl WriterSink<std::io::Stdout> {
    /// Standard output, best effort (not required).
    pub fn stdout() -> Self {
        Self::new("stdout", std::io::stdout(), false)
    }
}

impl<W: Write + Send> WriterSink<W> {
    /// A sink named `name` over `writer`. If `required`, write and flush
    /// errors fail appends; it still cannot resume a chain after a restart
    /// (each run then starts a new chain at seq 1).
    pub fn new(name: impl Into<String>, writer: W, required: bool) -> Self {
        Self {
            name: name.into(),
            writer,
            required,
            buf: Vec::new(),
        }
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.writer
    }
}

impl<W: Write + Send> AuditSink for WriterSink<W> {
    fn name(&self) -> &str {
        &self.name
    }

    fn required(&self) -> bool {
        self.required
    }

    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError> {
        self.buf.clear();
        for entry in entries {
            self.buf.extend_from_slice(entry.line());
            self.buf.push(b'\n');
        }
        self.writer
            .write_all(&self.buf)
            .map_err(|e| SinkError::io(&self.name, e))
    }

    fn sync(&mut self) -> Result<(), SinkError> {
        self.writer
            .flush()
            .map_err(|e| SinkError::io(&self.name, e))
    }

    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        Ok(None)
    }

    fn discard_after(&mut self, _seq: u64) -> Result<(), SinkError> {
        Ok(())
    }
}
