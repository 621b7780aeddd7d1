//! A chain held somewhere (the store, after a restore) compared with an
//! earlier sealed export of the same chain: does it still hold every record
//! the export proves?
//!
//! A restore from a backup older than the newest records loses them, and
//! the chain that remains verifies: it simply ends earlier. Only evidence
//! kept elsewhere shows the loss. A sealed export is such evidence: its seal
//! signs the hash of its last record, so a chain that ends before that
//! record, with the export's hash at its own last record, is a truncation
//! of exactly the records in between; a chain whose hash differs from the
//! export's at the same seq is another history.

use crate::checkpoint::AuditPublicKey;
use crate::digest::Digest;
use crate::line::{LineKind, line_kind};
use crate::verify::{ChainVerifier, VerifyReport, verify};
use crate::verify_error::VerifyError;

/// How a chain stands against an earlier export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Continuity {
    /// The chain holds every record the export proves: its record at the
    /// export's last seq has the hash the export's seal signed. Records of
    /// the chain up to that seq are proven by the export's seal.
    Complete {
        /// The export's last record.
        export_last_seq: u64,
        /// The chain's last record.
        chain_last_seq: u64,
    },
    /// The chain ends before the export: the records after
    /// `chain_last_seq` up to `export_last_seq` were written, exported and
    /// signed, and are gone. What the chain holds agrees with the export.
    Truncated {
        /// The chain's last record.
        chain_last_seq: u64,
        /// The export's last record.
        export_last_seq: u64,
    },
}

impl Continuity {
    /// How many records the chain lost (0 when complete).
    pub fn lost(&self) -> u64 {
        match self {
            Continuity::Complete { .. } => 0,
            Continuity::Truncated {
                chain_last_seq,
                export_last_seq,
            } => export_last_seq.saturating_sub(*chain_last_seq),
        }
    }
}

/// Why a chain could not be compared with an export, or disagrees with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContinuityError {
    /// The export itself does not verify (or is not sealed).
    #[error("the export does not verify: {0}")]
    Export(VerifyError),
    /// The chain does not verify on its own.
    #[error("the chain does not verify: {0}")]
    Chain(VerifyError),
    /// The export is of another replica's chain.
    #[error("the export is of chain {export:?}, not {chain:?}")]
    OtherReplica {
        /// The export's replica.
        export: String,
        /// The chain's replica.
        chain: String,
    },
    /// The chain and the export hold different records at `seq`: another
    /// history, not a truncation.
    #[error("the chain and the export differ at record {seq}: another history, not a truncation")]
    Diverges {
        /// The first seq compared that differs.
        seq: u64,
    },
    /// The chain begins after the export does: the export proves records
    /// before the chain's first that the chain does not hold.
    #[error(
        "the chain starts at record {chain_first}, the export at record {export_first}: records \
         {export_first}..{chain_first} are missing from the chain's start"
    )]
    MissingStart {
        /// The chain's first record.
        chain_first: u64,
        /// The export's first record.
        export_first: u64,
    },
    /// The chain has no record in the export's range to compare (it starts
    /// after the export ends, or is empty).
    #[error("the chain (records {chain}) and the export (records {export}) do not overlap")]
    NoOverlap {
        /// The chain's records, as `first..=last` or `none`.
        chain: String,
        /// The export's records.
        export: String,
    },
}

/// Verifies `chain` (log lines, oldest first), verifies the sealed
/// `export`, and says whether the chain still holds every record the export
/// proves. Returns the chain's own report beside the answer.
pub fn compare_with_export<I>(
    export: &[u8],
    chain: I,
    keys: &[AuditPublicKey],
) -> Result<(VerifyReport, Continuity), ContinuityError>
where
    I: IntoIterator<Item = Vec<u8>>,
{
    let exported = verify(export, keys).map_err(ContinuityError::Export)?;
    let (Some(export_first), Some(export_last)) = (exported.first_seq, exported.last_seq) else {
        return Err(ContinuityError::NoOverlap {
            chain: "?".to_owned(),
            export: "none".to_owned(),
        });
    };
    let chain_lines: Vec<Vec<u8>> = chain.into_iter().collect();
    let (report, chain_at_export_last, chain_head) =
        verify_chain_watching(&chain_lines, keys, export_last).map_err(ContinuityError::Chain)?;
    if let (Some(export), Some(chain)) = (&exported.replica, &report.replica)
        && export != chain
    {
        return Err(ContinuityError::OtherReplica {
            export: export.clone(),
            chain: chain.clone(),
        });
    }
    let span = |r: &VerifyReport| match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("{a}..={b}"),
        _ => "none".to_owned(),
    };
    let no_overlap = || ContinuityError::NoOverlap {
        chain: span(&report),
        export: span(&exported),
    };
    let (Some(chain_first), Some(chain_last)) = (report.first_seq, report.last_seq) else {
        return Err(no_overlap());
    };
    if chain_first > export_last || chain_last < export_first {
        return Err(no_overlap());
    }
    if chain_first > export_first {
        return Err(ContinuityError::MissingStart {
            chain_first,
            export_first,
        });
    }
    if chain_last >= export_last {
        let export_head = hash_at(export, export_last).map_err(ContinuityError::Export)?;
        return match chain_at_export_last {
            Some(hash) if Some(hash) == export_head => Ok((
                report,
                Continuity::Complete {
                    export_last_seq: export_last,
                    chain_last_seq: chain_last,
                },
            )),
            _ => Err(ContinuityError::Diverges { seq: export_last }),
        };
    }
    // The chain ends inside the export: its last record must be the
    // export's record at that seq.
    let export_there = hash_at(export, chain_last).map_err(ContinuityError::Export)?;
    if chain_head.is_none() || chain_head != export_there {
        return Err(ContinuityError::Diverges { seq: chain_last });
    }
    Ok((
        report,
        Continuity::Truncated {
            chain_last_seq: chain_last,
            export_last_seq: export_last,
        },
    ))
}

/// Verifies log lines; returns the report, the hash of the record at
/// `watch` and the hash of the last record.
fn verify_chain_watching(
    lines: &[Vec<u8>],
    keys: &[AuditPublicKey],
    watch: u64,
) -> Result<(VerifyReport, Option<Digest>, Option<Digest>), VerifyError> {
    let mut chain = ChainVerifier::new(keys, None, None);
    let mut seen = None;
    for (i, line) in lines.iter().enumerate() {
        let line_no = i as u64 + 1;
        match line_kind(line) {
            LineKind::Record => {
                let (_, head) = chain.record(line_no, line)?;
                if head.seq == watch {
                    seen = Some(head.hash);
                }
            }
            LineKind::Checkpoint => chain.checkpoint(line_no, line)?,
            _ => {
                return Err(VerifyError::Malformed {
                    line: line_no,
                    reason: "not a record or checkpoint".to_owned(),
                });
            }
        }
    }
    let head = chain.head().map(|h| h.hash);
    Ok((chain.finish(), seen, head))
}

/// The hash of the record with `seq` in `text` (an export or log lines,
/// already verified), if it holds one. Only that record is parsed: a
/// record line begins with its seq (`{"seq":N,`, as the codec writes it).
fn hash_at(text: &[u8], seq: u64) -> Result<Option<Digest>, VerifyError> {
    let prefix = format!("{{\"seq\":{seq},");
    let Some((i, line)) = text
        .split(|b| *b == b'\n')
        .enumerate()
        .find(|(_, line)| line.starts_with(prefix.as_bytes()))
    else {
        return Ok(None);
    };
    let mut scratch = Vec::with_capacity(256);
    let checked =
        crate::line::check_record_line(line, &mut scratch).map_err(|_| VerifyError::Malformed {
            line: i as u64 + 1,
            reason: "record does not parse".to_owned(),
        })?;
    Ok(Some(checked.hash))
}
