//! Offline verification: given only a file and the audit public key(s),
//! check every record's hash, the links between records, body commitments,
//! checkpoint and seal signatures, and name the first place where deletion,
//! insertion, reordering, modification or truncation broke the chain.
//!
//! Records are checked on their bytes as written (see `line`): the event is
//! never parsed into typed values, which keeps verification fast.

use std::io::{self, BufRead};

use crate::checkpoint::{AuditPublicKey, Checkpoint};
use crate::digest::Digest;
use crate::line::{LineFault, LineKind, check_record_line, line_kind};
use crate::record::ChainHead;
use crate::seal::{EXPORT_FORMAT, ExportHeader, Seal};
use crate::verify_error::VerifyError;

/// What a successful verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Replica whose chain it is.
    pub replica: Option<String>,
    /// Seq of the first record.
    pub first_seq: Option<u64>,
    /// Seq of the last record.
    pub last_seq: Option<u64>,
    /// Records checked.
    pub records: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Bodies pruned (commitment kept, body gone).
    pub pruned_bodies: u64,
    /// Seq covered by the last valid signature (checkpoint or seal).
    pub last_checkpoint_seq: Option<u64>,
    /// Records after the last signature: intact as far as the file shows,
    /// but not proven (always 0 for a sealed export).
    pub unverified_tail: u64,
    /// Whether the file was an export closed by a valid seal.
    pub sealed: bool,
}

/// The chain state while lines are checked one by one. Shared by
/// [`verify`], [`verify_log`] and the exporter.
pub(crate) struct ChainVerifier<'k> {
    keys: &'k [AuditPublicKey],
    head: Option<ChainHead>,
    signed_seq: u64,
    report: VerifyReport,
    scratch: Vec<u8>,
}

fn malformed(line: u64, reason: impl Into<String>) -> VerifyError {
    VerifyError::Malformed {
        line,
        reason: reason.into(),
    }
}

impl<'k> ChainVerifier<'k> {
    /// A verifier; `anchor` is where the chain is known to start (from an
    /// export header), else the first record or checkpoint sets it.
    pub(crate) fn new(
        keys: &'k [AuditPublicKey],
        anchor: Option<(u64, Digest)>,
        replica: Option<String>,
    ) -> Self {
        let head = anchor.map(|(seq, hash)| ChainHead { seq, hash, time: 0 });
        Self {
            keys,
            signed_seq: anchor.map_or(0, |(seq, _)| seq),
            head,
            report: VerifyReport {
                replica,
                ..VerifyReport::default()
            },
            scratch: Vec::with_capacity(256),
        }
    }

    fn check_replica(&mut self, line: u64, replica: &str) -> Result<(), VerifyError> {
        match &self.report.replica {
            Some(r) if r == replica => Ok(()),
            Some(r) => Err(malformed(
                line,
                format!("replica {replica:?} in a chain of replica {r:?}"),
            )),
            None => {
                self.report.replica = Some(replica.to_owned());
                Ok(())
            }
        }
    }

    /// Checks a record line and links it to the head; returns its `prev`
    /// and the new head.
    pub(crate) fn record(
        &mut self,
        line_no: u64,
        line: &[u8],
    ) -> Result<(Digest, ChainHead), VerifyError> {
        let checked = check_record_line(line, &mut self.scratch).map_err(|fault| match fault {
            LineFault::Malformed(reason) => malformed(line_no, reason),
            LineFault::HashMismatch(seq) => VerifyError::HashMismatch { seq, line: line_no },
            LineFault::BodyMismatch(seq, body) => VerifyError::BodyMismatch {
                seq,
                line: line_no,
                body: body.to_owned(),
            },
        })?;
        let seq = checked.seq;
        let head = match self.head {
            Some(head) => head,
            None => {
                // Headerless log: trust starts at the first record's prev.
                let anchor = seq
                    .checked_sub(1)
                    .ok_or_else(|| malformed(line_no, "seq 0"))?;
                if anchor == 0 && checked.prev != Digest::ZERO {
                    return Err(VerifyError::BrokenLink { seq, line: line_no });
                }
                self.signed_seq = anchor;
                ChainHead {
                    seq: anchor,
                    hash: checked.prev,
                    time: 0,
                }
            }
        };
        if checked.prev != head.hash {
            return Err(VerifyError::BrokenLink { seq, line: line_no });
        }
        // Saturating: an export header may anchor the chain at any seq,
        // u64::MAX included.
        if head.seq.checked_add(1) != Some(seq) {
            return Err(VerifyError::SeqGap {
                seq,
                expected: head.seq.saturating_add(1),
                line: line_no,
            });
        }
        self.check_replica(line_no, &checked.replica)?;
        let new_head = ChainHead {
            seq,
            hash: checked.hash,
            time: checked.time,
        };
        self.head = Some(new_head);
        let report = &mut self.report;
        report.first_seq.get_or_insert(seq);
        report.last_seq = Some(seq);
        report.records += 1;
        report.pruned_bodies += u64::from(checked.pruned);
        Ok((checked.prev, new_head))
    }

    /// Checks a checkpoint line against the keys and the head.
    pub(crate) fn checkpoint(&mut self, line_no: u64, line: &[u8]) -> Result<(), VerifyError> {
        let cp = Checkpoint::from_line(line).map_err(|e| malformed(line_no, e.to_string()))?;
        if !cp.verify(self.keys) {
            return Err(VerifyError::BadCheckpointSignature {
                seq: cp.seq,
                line: line_no,
                key_id: cp.key_id,
            });
        }
        self.check_replica(line_no, &cp.replica)?;
        match self.head {
            None => {
                // Headerless log starting at a checkpoint: a signed anchor.
                self.head = Some(ChainHead {
                    seq: cp.seq,
                    hash: cp.head_hash,
                    time: cp.time,
                });
            }
            Some(head) if head.seq == cp.seq && head.hash == cp.head_hash => {}
            Some(head) if head.seq != cp.seq => {
                // A checkpoint follows the record it covers: records are
                // missing before it, or extra ones were put there.
                return Err(VerifyError::BrokenLink {
                    seq: head.seq.min(cp.seq).saturating_add(1),
                    line: line_no,
                });
            }
            Some(_) => {
                return Err(VerifyError::CheckpointMismatch {
                    seq: cp.seq,
                    line: line_no,
                    from: self.signed_seq.saturating_add(1),
                });
            }
        }
        self.signed_seq = cp.seq;
        self.report.checkpoints += 1;
        self.report.last_checkpoint_seq = Some(cp.seq);
        Ok(())
    }

    /// The replica of the chain, once seen.
    pub(crate) fn replica(&self) -> Option<&str> {
        self.report.replica.as_deref()
    }

    /// The chain head so far.
    pub(crate) fn head(&self) -> Option<ChainHead> {
        self.head
    }

    /// Seq covered by the last valid signature.
    pub(crate) fn signed_seq(&self) -> u64 {
        self.signed_seq
    }

    /// The report, with the unsigned tail counted.
    pub(crate) fn finish(mut self) -> VerifyReport {
        let last = self.report.last_seq.unwrap_or(self.signed_seq);
        self.report.unverified_tail = last.saturating_sub(self.signed_seq);
        self.report
    }
}

/// Verifies an export file (header, records and checkpoints, seal) against
/// the trusted public keys. Any change to the file, and truncation at any
/// point, is an error naming where it is.
pub fn verify<R: BufRead>(
    mut reader: R,
    keys: &[AuditPublicKey],
) -> Result<VerifyReport, VerifyError> {
    let mut buf = Vec::with_capacity(1024);
    let mut line_no = 0u64;
    let mut next_line = |buf: &mut Vec<u8>| -> Result<bool, VerifyError> {
        buf.clear();
        let n = reader
            .read_until(b'\n', buf)
            .map_err(|e: io::Error| VerifyError::Io(e.to_string()))?;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        Ok(n > 0)
    };
    if !next_line(&mut buf)? {
        return Err(malformed(1, "empty file"));
    }
    line_no += 1;
    let header = ExportHeader::from_line(&buf).map_err(|e| malformed(1, e.to_string()))?;
    if header.format != EXPORT_FORMAT {
        return Err(malformed(1, format!("unknown format {:?}", header.format)));
    }
    let mut chain = ChainVerifier::new(
        keys,
        Some((header.anchor_seq, header.anchor_hash)),
        Some(header.replica.clone()),
    );
    while next_line(&mut buf)? {
        line_no += 1;
        match line_kind(&buf) {
            LineKind::Record => {
                chain.record(line_no, &buf)?;
            }
            LineKind::Checkpoint => chain.checkpoint(line_no, &buf)?,
            LineKind::Seal => {
                let seal_line = line_no;
                check_seal(&chain, &header, &buf, seal_line, keys)?;
                if next_line(&mut buf)? {
                    return Err(malformed(line_no + 1, "lines after the seal"));
                }
                let mut report = chain.finish();
                report.last_checkpoint_seq = Some(report.last_seq.unwrap_or(header.anchor_seq));
                report.unverified_tail = 0;
                report.sealed = true;
                return Ok(report);
            }
            LineKind::Header | LineKind::Unknown => {
                return Err(malformed(line_no, "not a record, checkpoint or seal"));
            }
        }
    }
    let report = chain.finish();
    let last_seq = report.last_seq.unwrap_or(header.anchor_seq);
    Err(VerifyError::TailNotCheckpointed {
        last_seq,
        from: (last_seq - report.unverified_tail).saturating_add(1),
        unverified: report.unverified_tail,
    })
}

fn check_seal(
    chain: &ChainVerifier<'_>,
    header: &ExportHeader,
    line: &[u8],
    line_no: u64,
    keys: &[AuditPublicKey],
) -> Result<(), VerifyError> {
    let bad = |reason: &str| VerifyError::BadSeal {
        line: line_no,
        reason: reason.to_owned(),
    };
    let seal = Seal::from_line(line).map_err(|e| bad(&e.to_string()))?;
    if !seal.verify(keys) {
        return Err(bad(&format!(
            "not signed by a trusted key (key id {})",
            seal.key_id
        )));
    }
    if !seal.matches(header) {
        return Err(bad("does not match the header"));
    }
    let head = chain.head().unwrap_or_default();
    if seal.last_seq != head.seq || seal.head != head.hash {
        return Err(bad(&format!(
            "signed up to record {}, the file ends at record {}",
            seal.last_seq, head.seq
        )));
    }
    if seal.records != chain.report.records || seal.checkpoints != chain.report.checkpoints {
        return Err(bad(&format!(
            "signed for {} records and {} checkpoints, the file has {} and {}",
            seal.records, seal.checkpoints, chain.report.records, chain.report.checkpoints
        )));
    }
    Ok(())
}

/// Verifies raw log lines (a sink's files, oldest first: records and
/// checkpoints, no header or seal). Records after the last checkpoint are
/// normal in a live log and are reported in `unverified_tail`.
pub fn verify_log<I>(lines: I, keys: &[AuditPublicKey]) -> Result<VerifyReport, VerifyError>
where
    I: IntoIterator<Item = io::Result<Vec<u8>>>,
{
    let mut chain = ChainVerifier::new(keys, None, None);
    for (i, line) in lines.into_iter().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| VerifyError::Io(e.to_string()))?;
        match line_kind(&line) {
            LineKind::Record => {
                chain.record(line_no, &line)?;
            }
            LineKind::Checkpoint => chain.checkpoint(line_no, &line)?,
            _ => return Err(malformed(line_no, "not a record or checkpoint")),
        }
    }
    Ok(chain.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::AuditChain;
    use crate::codec::PreparedEvent;
    use crate::record::{AuditEvent, ControlRecord};

    /// An export header anchored at `anchor_seq` (hash zero), then `rest`.
    fn export_file(anchor_seq: u64, rest: &[u8]) -> Vec<u8> {
        let mut file = format!(
            "{{\"export\":{{\"format\":\"{EXPORT_FORMAT}\",\"replica\":\"r\",\"since\":null,\"until\":null,\"anchor_seq\":{anchor_seq},\"anchor_hash\":\"{}\"}}}}\n",
            Digest::ZERO.to_hex()
        )
        .into_bytes();
        file.extend_from_slice(rest);
        file
    }

    /// Record 1 of replica `r`, its `prev` zero.
    fn first_record() -> Vec<u8> {
        let mut chain = AuditChain::new("r").unwrap_or_else(|e| panic!("{e}"));
        let event = AuditEvent::Control(ControlRecord {
            action: "key.issue".into(),
            outcome: "ok".into(),
            ..Default::default()
        });
        let prepared = PreparedEvent::new(event).unwrap_or_else(|e| panic!("{e}"));
        let (_, mut line) = chain.append(1, prepared);
        line.push(b'\n');
        line
    }

    // Found by the `audit_export` fuzz target: a header anchored at the
    // last seq overflowed `seq + 1` (a panic in debug builds, a wrong
    // report in release ones).
    #[test]
    fn an_export_anchored_at_the_last_seq_is_refused_without_overflow() {
        let empty = verify(export_file(u64::MAX, b"").as_slice(), &[]);
        assert!(
            matches!(empty, Err(VerifyError::TailNotCheckpointed { from, .. }) if from == u64::MAX),
            "{empty:?}"
        );
        let record = verify(export_file(u64::MAX, &first_record()).as_slice(), &[]);
        assert!(
            matches!(
                record,
                Err(VerifyError::SeqGap {
                    seq: 1,
                    expected: u64::MAX,
                    ..
                })
            ),
            "{record:?}"
        );
        // The same record after the right anchor is fine up to the tail.
        let right = verify(export_file(0, &first_record()).as_slice(), &[]);
        assert!(
            matches!(right, Err(VerifyError::TailNotCheckpointed { from: 1, .. })),
            "{right:?}"
        );
    }
}
