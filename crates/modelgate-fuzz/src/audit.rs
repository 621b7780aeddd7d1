//! `audit_line` and `audit_export`: the audit log's line parser (records,
//! checkpoints, export headers and seals, pruning) and the offline
//! verifier of exports and raw logs, with the fixed audit key the seeds
//! were signed with.

use std::io;

use modelgate_audit::{
    AuditPublicKey, AuditSigner, Checkpoint, ExportHeader, LineKind, Seal, decode_record,
    line_kind, prune_line, verify, verify_log,
};

/// Seed of the Ed25519 key that signed the seed exports' checkpoints and
/// seals.
pub const AUDIT_SEED: [u8; 32] = *b"modelgate-fuzz audit signing key";

/// The audit signer of [`AUDIT_SEED`].
pub fn signer() -> AuditSigner {
    match AuditSigner::from_seed(&AUDIT_SEED) {
        Ok(signer) => signer,
        Err(e) => panic!("audit key setup failed: {e}"),
    }
}

fn trusted() -> [AuditPublicKey; 1] {
    [signer().public_key().clone()]
}

/// One line, as every reader of a log or an export reads it. A record with
/// bodies pruned keeps its hash and decodes; pruning twice changes nothing.
pub fn audit_line(data: &[u8]) {
    match line_kind(data) {
        LineKind::Record => {
            let record = decode_record(data);
            let Ok(Some(pruned)) = prune_line(data) else {
                return;
            };
            let Ok(record) = record else {
                panic!("a line that pruned did not decode");
            };
            let again = match decode_record(&pruned) {
                Ok(again) => again,
                Err(e) => panic!("a pruned record does not decode: {e}"),
            };
            assert_eq!(again.seq, record.seq);
            assert_eq!(again.hash, record.hash);
            assert!(matches!(prune_line(&pruned), Ok(None)), "pruned twice");
        }
        LineKind::Checkpoint => {
            if let Ok(checkpoint) = Checkpoint::from_line(data) {
                let _ = checkpoint.verify(&trusted());
            }
        }
        LineKind::Header => {
            let _ = ExportHeader::from_line(data);
        }
        LineKind::Seal => {
            if let Ok(seal) = Seal::from_line(data) {
                let _ = seal.verify(&trusted());
            }
        }
        LineKind::Unknown => {}
    }
}

/// `data` as an export file and as a raw log, verified against the fixed
/// audit key. An export that verifies is sealed with nothing left
/// unverified.
pub fn audit_export(data: &[u8]) {
    let keys = trusted();
    if let Ok(report) = verify(data, &keys) {
        assert!(report.sealed, "an export verified without its seal");
        assert_eq!(report.unverified_tail, 0);
    }
    let lines = data
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| Ok::<_, io::Error>(line.to_vec()));
    if let Ok(report) = verify_log(lines, &keys) {
        assert!(!report.sealed, "a raw log reported as sealed");
    }
}
