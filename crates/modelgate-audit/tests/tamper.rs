//! Must-show 1: verification of an exported file detects each kind of
//! tampering, each in its own test, and names where it is.

mod common;

use std::time::Duration;

use common::*;
use modelgate_audit::{
    AuditChain, ExportRange, PreparedEvent, Record, Seal, VerifyError, decode_record,
};

/// 65 records (checkpoints every 10, so 61..65 are covered only by the
/// seal), exported whole.
async fn fixture() -> TestResult<(tempfile::TempDir, Vec<Vec<u8>>)> {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 10).await?;
    append_range(&log, 0, 65).await?;
    log.close().await;
    let lines = export_lines(dir.path(), ExportRange::default())?;
    Ok((dir, lines))
}

fn key() -> modelgate_audit::AuditPublicKey {
    signer().public_key().clone()
}

fn record_at(lines: &[Vec<u8>], seq: u64) -> TestResult<Record> {
    Ok(decode_record(&lines[index_of_seq(lines, seq)])?)
}

fn replaced(line: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(line);
    assert!(text.contains(from), "{from} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

#[tokio::test]
async fn intact_export_verifies() -> TestResult {
    let (_dir, lines) = fixture().await?;
    let report = verify_lines(&lines, &key())?;
    assert!(report.sealed);
    // Every 10 records, and one over 65 when the log closed.
    assert_eq!((report.records, report.checkpoints), (65, 7));
    assert_eq!((report.first_seq, report.last_seq), (Some(1), Some(65)));
    assert_eq!(report.unverified_tail, 0);
    assert_eq!(report.replica.as_deref(), Some("gw-test"));
    Ok(())
}

#[tokio::test]
async fn deleted_record_is_named() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let at = index_of_seq(&lines, 33);
    lines.remove(at);
    let err = verify_lines(&lines, &key()).err();
    // Record 34 is the first that no longer follows its predecessor.
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 34,
            line: at as u64 + 1
        })
    );
    Ok(())
}

#[tokio::test]
async fn deleted_record_before_a_checkpoint_is_named() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let at = index_of_seq(&lines, 30);
    lines.remove(at);
    let err = verify_lines(&lines, &key()).err();
    // The checkpoint over 30 now follows 29: record 30 is missing.
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 30,
            line: at as u64 + 1
        })
    );
    Ok(())
}

#[tokio::test]
async fn inserted_forged_record_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    // A well-formed record with a correct hash that links to record 30.
    let head = record_at(&lines, 30)?.head();
    let mut chain = AuditChain::from_head("gw-test", head)?;
    let (_, forged) = chain.append(head.time, PreparedEvent::new(request_event(999))?);
    let at = index_of_seq(&lines, 30) + 1;
    lines.insert(at, forged);
    let err = verify_lines(&lines, &key()).err();
    // The checkpoint over 30 now follows the forged 31: named as extra.
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 31,
            line: at as u64 + 2
        })
    );
    // Inserted where no checkpoint follows, the next genuine record breaks.
    let (_dir, mut lines) = fixture().await?;
    let head = record_at(&lines, 33)?.head();
    let mut chain = AuditChain::from_head("gw-test", head)?;
    let (_, forged) = chain.append(head.time, PreparedEvent::new(request_event(999))?);
    let at = index_of_seq(&lines, 34);
    lines.insert(at, forged);
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 34,
            line: at as u64 + 2
        })
    );
    Ok(())
}

#[tokio::test]
async fn inserted_copy_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let at = index_of_seq(&lines, 30);
    let copy = lines[at].clone();
    lines.insert(at + 1, copy);
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 30,
            line: at as u64 + 2
        })
    );
    Ok(())
}

#[tokio::test]
async fn reordered_records_are_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let (a, b) = (index_of_seq(&lines, 30), index_of_seq(&lines, 31));
    lines.swap(a, b);
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 31,
            line: a as u64 + 1
        })
    );
    Ok(())
}

#[tokio::test]
async fn modified_field_is_named() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let at = index_of_seq(&lines, 32);
    lines[at] = replaced(&lines[at], "\"status\":200", "\"status\":403");
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::HashMismatch {
            seq: 32,
            line: at as u64 + 1
        })
    );
    Ok(())
}

#[tokio::test]
async fn modified_body_is_named() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let at = index_of_seq(&lines, 31);
    lines[at] = replaced(&lines[at], "prompt number 30", "prompt number 99");
    let err = verify_lines(&lines, &key()).err();
    assert!(
        matches!(&err, Some(VerifyError::BodyMismatch { seq: 31, body, .. }) if body == "prompt"),
        "{err:?}"
    );
    Ok(())
}

/// Re-chains `records` from `head`, keeping times; returns the new lines.
fn rechain(head: modelgate_audit::ChainHead, records: Vec<Record>) -> TestResult<Vec<Vec<u8>>> {
    let mut chain = AuditChain::from_head("gw-test", head)?;
    let mut out = Vec::new();
    for record in records {
        let (_, line) = chain.append(record.time, PreparedEvent::new(record.event)?);
        out.push(line);
    }
    Ok(out)
}

#[tokio::test]
async fn modified_and_rehashed_record_breaks_the_next_link() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let mut record = record_at(&lines, 32)?;
    if let modelgate_audit::AuditEvent::Request(r) = &mut record.event {
        r.status = Some(403);
    }
    let head = record_at(&lines, 31)?.head();
    let at = index_of_seq(&lines, 32);
    lines[at] = rechain(head, vec![record])?.remove(0);
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 33,
            line: at as u64 + 2
        })
    );
    Ok(())
}

#[tokio::test]
async fn rewritten_and_rehashed_stretch_fails_at_the_next_checkpoint() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let head = record_at(&lines, 31)?.head();
    let mut records = Vec::new();
    for seq in 32..=65 {
        records.push(record_at(&lines, seq)?);
    }
    if let modelgate_audit::AuditEvent::Request(r) = &mut records[0].event {
        r.status = Some(403);
    }
    for (seq, line) in (32..=65).zip(rechain(head, records)?) {
        let at = index_of_seq(&lines, seq);
        lines[at] = line;
    }
    let err = verify_lines(&lines, &key()).err();
    assert!(
        matches!(
            err,
            Some(VerifyError::CheckpointMismatch {
                seq: 40,
                from: 31,
                ..
            })
        ),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn truncated_tail_past_last_checkpoint_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    // Drop the seal and records 64, 65: 61..63 follow the last checkpoint (60).
    lines.truncate(index_of_seq(&lines, 64));
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::TailNotCheckpointed {
            last_seq: 63,
            from: 61,
            unverified: 3
        })
    );
    Ok(())
}

#[tokio::test]
async fn truncation_right_after_a_checkpoint_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    // Cut right after the checkpoint over record 60: every record left is
    // signed, but the seal is gone.
    lines.truncate(index_of_seq(&lines, 60) + 2);
    assert!(
        lines
            .last()
            .is_some_and(|l| l.starts_with(b"{\"checkpoint\":"))
    );
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::TailNotCheckpointed {
            last_seq: 60,
            from: 61,
            unverified: 0
        })
    );
    Ok(())
}

#[tokio::test]
async fn checkpoint_signed_with_another_key_is_rejected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let head = record_at(&lines, 40)?.head();
    let at = index_of_seq(&lines, 40) + 1;
    assert!(lines[at].starts_with(b"{\"checkpoint\":"));
    lines[at] = other_signer()
        .checkpoint("gw-test", &head, head.time)
        .to_line();
    let err = verify_lines(&lines, &key()).err();
    assert!(
        matches!(
            err,
            Some(VerifyError::BadCheckpointSignature { seq: 40, .. })
        ),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn wrong_public_key_is_rejected() -> TestResult {
    let (_dir, lines) = fixture().await?;
    let err = verify_lines(&lines, other_signer().public_key()).err();
    assert!(
        matches!(
            err,
            Some(VerifyError::BadCheckpointSignature { seq: 10, .. })
        ),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn record_from_a_chain_signed_with_another_key_is_rejected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let other_dir = tempfile::tempdir()?;
    let other = modelgate_audit::AuditLog::start(
        vec![file_sink(other_dir.path())?],
        other_signer(),
        config(10),
    )
    .await?;
    append_range(&other, 0, 40).await?;
    other.close().await;
    let other_lines = log_lines(other_dir.path())?;
    let at = index_of_seq(&lines, 30);
    lines[at] = other_lines[index_of_seq(&other_lines, 30)].clone();
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(
        err,
        Some(VerifyError::BrokenLink {
            seq: 30,
            line: at as u64 + 1
        })
    );
    Ok(())
}

#[tokio::test]
async fn seal_signed_with_another_key_is_rejected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    let last = lines.len() - 1;
    let seal = Seal::from_line(&lines[last])?.sign(&other_signer());
    lines[last] = seal.to_line();
    let err = verify_lines(&lines, &key()).err();
    assert!(matches!(err, Some(VerifyError::BadSeal { .. })), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn deleted_checkpoint_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    lines.remove(index_of_seq(&lines, 20) + 1);
    let err = verify_lines(&lines, &key()).err();
    assert!(matches!(err, Some(VerifyError::BadSeal { .. })), "{err:?}");
    Ok(())
}

#[tokio::test]
async fn deleted_first_record_is_detected() -> TestResult {
    let (_dir, mut lines) = fixture().await?;
    lines.remove(index_of_seq(&lines, 1));
    let err = verify_lines(&lines, &key()).err();
    assert_eq!(err, Some(VerifyError::BrokenLink { seq: 2, line: 2 }));
    Ok(())
}

#[tokio::test]
async fn range_export_verifies_on_its_own() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 10).await?;
    append_range(&log, 0, 20).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let since = record_at(&log_lines(dir.path())?, 20)?.time + 10;
    tokio::time::sleep(Duration::from_millis(20)).await;
    append_range(&log, 20, 40).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let until = record_at(&log_lines(dir.path())?, 40)?.time + 10;
    tokio::time::sleep(Duration::from_millis(20)).await;
    append_range(&log, 40, 60).await?;
    log.close().await;
    let range = ExportRange {
        since: Some(since),
        until: Some(until),
    };
    let mut lines = export_lines(dir.path(), range)?;
    let report = verify_lines(&lines, &key())?;
    assert_eq!(
        (report.first_seq, report.last_seq, report.records),
        (Some(21), Some(40), 20)
    );
    assert!(report.sealed);
    // The anchor is bound: moving it breaks the first link.
    lines[0] = replaced(&lines[0], "\"anchor_seq\":20", "\"anchor_seq\":19");
    let err = verify_lines(&lines, &key()).err();
    assert!(
        matches!(err, Some(VerifyError::SeqGap { seq: 21, .. })),
        "{err:?}"
    );
    Ok(())
}
