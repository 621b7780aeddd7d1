//! `modelgate audit export --since --until`: copies the records (and the
//! checkpoints among them) of a time range into a self-contained file that
//! [`crate::verify()`] checks offline with nothing but the public key.
//!
//! The exporter verifies its source as it reads it (it refuses to sign over
//! a log that was tampered with), keeps reading past the range until a
//! checkpoint covers the last exported record where one exists, and closes
//! the file with a seal signed by the audit key. The seal is what makes a
//! truncated export detectable even when it is cut right after a checkpoint.

use std::io::{self, Write};

use crate::checkpoint::{AuditPublicKey, AuditSigner};
use crate::digest::Digest;
use crate::error::AuditError;
use crate::line::{LineKind, line_kind};
use crate::seal::{EXPORT_FORMAT, ExportHeader, Seal};
use crate::verify::ChainVerifier;
use crate::verify_error::VerifyError;

/// The time range of an export, unix ms: `since` included, `until`
/// excluded; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportRange {
    /// First time included.
    pub since: Option<i64>,
    /// First time excluded.
    pub until: Option<i64>,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Records written.
    pub records: u64,
    /// Checkpoints written.
    pub checkpoints: u64,
    /// Seq of the record before the first exported one.
    pub anchor_seq: u64,
    /// Seq of the last exported record.
    pub last_seq: u64,
    /// Records signed by the seal alone: after the source's last checkpoint.
    pub sealed_unchecked: u64,
}

struct Writer<W: Write> {
    out: W,
    header: Option<ExportHeader>,
    summary: ExportSummary,
}

impl<W: Write> Writer<W> {
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")
    }

    fn start(&mut self, header: ExportHeader) -> io::Result<()> {
        self.line(&header.to_line())?;
        self.summary.anchor_seq = header.anchor_seq;
        self.summary.last_seq = header.anchor_seq;
        self.header = Some(header);
        Ok(())
    }
}

/// Exports the records of `range` from `lines` (a log's lines, oldest first,
/// e.g. [`crate::LogLines`]) to `out`, sealed with `signer`. Checkpoints in
/// the source are checked against `signer`'s key and `trusted` (earlier
/// audit keys).
pub fn export<I, W>(
    lines: I,
    range: ExportRange,
    signer: &AuditSigner,
    trusted: &[AuditPublicKey],
    out: W,
) -> Result<ExportSummary, AuditError>
where
    I: IntoIterator<Item = io::Result<Vec<u8>>>,
    W: Write,
{
    let mut keys = trusted.to_vec();
    keys.push(signer.public_key().clone());
    let mut chain = ChainVerifier::new(&keys, None, None);
    let mut w = Writer {
        out,
        header: None,
        summary: ExportSummary::default(),
    };
    // Chain position just before the range (for an empty export).
    let mut before: Option<(u64, Digest)> = None;
    let mut last_hash = Digest::ZERO;
    let mut past_range = false;
    for (i, line) in lines.into_iter().enumerate() {
        let line_no = i as u64 + 1;
        let line = line?;
        match line_kind(&line) {
            LineKind::Record => {
                let (prev, head) = chain.record(line_no, &line)?;
                before.get_or_insert((head.seq - 1, prev));
                if past_range {
                    // Only reading on to find a checkpoint over the range.
                } else if range.until.is_some_and(|until| head.time >= until) {
                    past_range = true;
                } else if range.since.is_some_and(|since| head.time < since) {
                    before = Some((head.seq, head.hash));
                } else {
                    if w.header.is_none() {
                        let replica = replica_of(&chain)?;
                        w.start(header(replica, range, (head.seq - 1, prev)))?;
                    }
                    w.line(&line)?;
                    w.summary.records += 1;
                    w.summary.last_seq = head.seq;
                    last_hash = head.hash;
                }
            }
            LineKind::Checkpoint => {
                chain.checkpoint(line_no, &line)?;
                if w.header.is_some() && !past_range {
                    w.line(&line)?;
                    w.summary.checkpoints += 1;
                }
            }
            _ => {
                return Err(VerifyError::Malformed {
                    line: line_no,
                    reason: "not a record or checkpoint".into(),
                }
                .into());
            }
        }
        if past_range && chain.signed_seq() >= w.summary.last_seq {
            break;
        }
    }
    if w.header.is_none() {
        let replica = replica_of(&chain)?;
        let anchor = before.ok_or_else(|| AuditError::Decode("the audit log is empty".into()))?;
        w.start(header(replica, range, anchor))?;
        last_hash = anchor.1;
    }
    let summary = seal(&mut w, &chain, last_hash, signer)?;
    w.out.flush()?;
    Ok(summary)
}

fn header(replica: String, range: ExportRange, anchor: (u64, Digest)) -> ExportHeader {
    ExportHeader {
        format: EXPORT_FORMAT.into(),
        replica,
        since: range.since,
        until: range.until,
        anchor_seq: anchor.0,
        anchor_hash: anchor.1,
    }
}

fn replica_of(chain: &ChainVerifier<'_>) -> Result<String, AuditError> {
    chain
        .replica()
        .map(str::to_owned)
        .ok_or_else(|| AuditError::Decode("no replica id in the log".into()))
}

fn seal<W: Write>(
    w: &mut Writer<W>,
    chain: &ChainVerifier<'_>,
    head_hash: Digest,
    signer: &AuditSigner,
) -> Result<ExportSummary, AuditError> {
    let Some(header) = w.header.clone() else {
        return Err(AuditError::Decode("no export header".into()));
    };
    let time = modelgate_types::clock::now_ms();
    let sealed = Seal {
        replica: header.replica.clone(),
        since: header.since,
        until: header.until,
        anchor_seq: header.anchor_seq,
        anchor_hash: header.anchor_hash,
        last_seq: w.summary.last_seq,
        head: head_hash,
        records: w.summary.records,
        checkpoints: w.summary.checkpoints,
        time,
        key_id: String::new(),
        signature: Vec::new(),
    }
    .sign(signer);
    w.line(&sealed.to_line())?;
    let mut summary = w.summary.clone();
    summary.sealed_unchecked = summary.last_seq.saturating_sub(chain.signed_seq());
    Ok(summary)
}
