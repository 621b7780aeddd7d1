//! The unsigned tail of a chain: the records after its last checkpoint. The
//! writer checks it before it signs anything new (at start, before every
//! checkpoint), so that the audit key never vouches for records that were
//! changed since they were written.
//!
//! A sink hands over its lines from the record the last checkpoint covers
//! on ([`crate::AuditSink::load_unsigned_tail`]); [`verify_tail`] checks
//! that the checkpoint is signed by a trusted key and matches that record,
//! and that every record after it has its own hash and links to the one
//! before (the hash chain); with no checkpoint at all, the chain must start
//! at seq 1. When the writer knows where the chain should end (it wrote it),
//! the tail must end there too.

use crate::checkpoint::AuditPublicKey;
use crate::line::{LineKind, line_kind};
use crate::record::ChainHead;
use crate::verify::ChainVerifier;
use crate::verify_error::VerifyError;

/// Why a chain's unsigned tail cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TailFault {
    /// A line of the tail does not verify (modified, deleted, inserted or
    /// reordered record; checkpoint by an untrusted key or over another
    /// head).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The tail verifies on its own but does not end where the writer's
    /// chain does: records after the writer's head, or the head rewritten.
    #[error("the stored chain ends at record {stored}, the writer's chain at record {expected}")]
    HeadMismatch {
        /// Seq of the last stored record.
        stored: u64,
        /// Seq of the writer's head.
        expected: u64,
    },
    /// The last stored record, read back by the check between full ones,
    /// does not decode or does not hash to what it says (changed in place).
    #[error("the last stored record does not verify: {0}")]
    Corrupt(String),
    /// Records but no checkpoint, and the first record is not the chain's
    /// first: the start of the chain and its checkpoints are gone.
    #[error("no checkpoint in the chain, and it does not start at record 1 (it starts at {0})")]
    NoAnchor(u64),
}

/// Checks `lines` (a sink's unsigned tail, see the module docs) against
/// `keys`; `expected` is where the writer's chain stands, if it knows.
/// Returns the head of the tail (`None` for an empty chain).
pub fn verify_tail(
    lines: &[Vec<u8>],
    keys: &[AuditPublicKey],
    expected: Option<ChainHead>,
) -> Result<Option<ChainHead>, TailFault> {
    let mut chain = ChainVerifier::new(keys, None, None);
    let mut checkpoints = 0u64;
    let mut first_seq = None;
    for (i, line) in lines.iter().enumerate() {
        let line_no = i as u64 + 1;
        match line_kind(line) {
            LineKind::Record => {
                let (_, head) = chain.record(line_no, line)?;
                first_seq.get_or_insert(head.seq);
            }
            LineKind::Checkpoint => {
                chain.checkpoint(line_no, line)?;
                checkpoints += 1;
            }
            _ => {
                return Err(VerifyError::Malformed {
                    line: line_no,
                    reason: "not a record or checkpoint".into(),
                }
                .into());
            }
        }
    }
    if checkpoints == 0
        && let Some(seq) = first_seq.filter(|seq| *seq != 1)
    {
        return Err(TailFault::NoAnchor(seq));
    }
    let head = chain.head();
    if let Some(expected) = expected {
        let stored = head.unwrap_or_default();
        if stored.seq != expected.seq || stored.hash != expected.hash {
            return Err(TailFault::HeadMismatch {
                stored: stored.seq,
                expected: expected.seq,
            });
        }
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::AuditChain;
    use crate::checkpoint::AuditSigner;
    use crate::codec::PreparedEvent;
    use crate::error::AuditError;
    use crate::record::{AuditEvent, ControlRecord};

    fn event(n: u32) -> Result<PreparedEvent, AuditError> {
        PreparedEvent::new(AuditEvent::Control(ControlRecord {
            action: format!("test.{n}"),
            outcome: "ok".into(),
            ..Default::default()
        }))
    }

    /// Records 1..=4, a checkpoint over 2.
    fn tail(signer: &AuditSigner) -> Result<(Vec<Vec<u8>>, ChainHead), AuditError> {
        let mut chain = AuditChain::new("gw")?;
        let mut lines = Vec::new();
        for n in 1..=4 {
            let (_, line) = chain.append(i64::from(n), event(n)?);
            lines.push(line);
            if n == 2 {
                lines.push(signer.checkpoint("gw", &chain.head(), 2).to_line());
            }
        }
        // From the record the checkpoint covers on.
        Ok((lines.split_off(1), chain.head()))
    }

    #[test]
    fn an_intact_tail_verifies_and_a_changed_one_does_not() -> Result<(), AuditError> {
        let (signer, _) = AuditSigner::generate()?;
        let keys = [signer.public_key().clone()];
        let (lines, head) = tail(&signer)?;
        assert_eq!(verify_tail(&lines, &keys, Some(head)), Ok(Some(head)));

        let mut modified = lines.clone();
        modified[2] = String::from_utf8_lossy(&modified[2])
            .replace("test.3", "test.9")
            .into_bytes();
        assert!(matches!(
            verify_tail(&modified, &keys, None),
            Err(TailFault::Verify(VerifyError::HashMismatch { seq: 3, .. }))
        ));

        let mut deleted = lines.clone();
        deleted.remove(2);
        assert!(matches!(
            verify_tail(&deleted, &keys, None),
            Err(TailFault::Verify(VerifyError::BrokenLink { seq: 4, .. }))
        ));

        let (other, _) = AuditSigner::generate()?;
        assert!(matches!(
            verify_tail(&lines, &[other.public_key().clone()], None),
            Err(TailFault::Verify(
                VerifyError::BadCheckpointSignature { .. }
            ))
        ));

        let short = &lines[..3];
        assert!(matches!(
            verify_tail(short, &keys, Some(head)),
            Err(TailFault::HeadMismatch {
                stored: 3,
                expected: 4
            })
        ));
        // No checkpoint: the chain must start at record 1.
        assert!(matches!(
            verify_tail(&lines[2..], &keys, None),
            Err(TailFault::NoAnchor(3))
        ));
        assert_eq!(verify_tail(&[], &keys, None), Ok(None));
        Ok(())
    }
}
