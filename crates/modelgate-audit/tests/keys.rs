//! Audit key rotation: a log whose older checkpoints were signed with a
//! previous key verifies when both keys are trusted, and names the
//! checkpoint otherwise. Public keys travel as base64 of the raw key.

mod common;

use common::*;
use modelgate_audit::{
    AuditLog, AuditPublicKey, ExportRange, LogLines, VerifyError, export, verify_log,
};

#[tokio::test]
async fn rotated_audit_key_verifies_with_both_keys() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 5).await?;
    append_range(&log, 0, 12).await?;
    log.close().await;
    // Restart with a new audit key, trusting the old one for the tail.
    let mut trusting = config(5);
    trusting.trusted_keys = vec![signer().public_key().clone()];
    let log = AuditLog::start(vec![file_sink(dir.path())?], other_signer(), trusting).await?;
    assert_eq!(log.tail_fault(), None);
    append_range(&log, 12, 20).await?;
    log.close().await;

    let old = AuditPublicKey::from_base64(&signer().public_key().to_base64())?;
    let new = AuditPublicKey::from_base64(&other_signer().public_key().to_base64())?;
    assert_ne!(old.key_id(), new.key_id());
    let both = [old.clone(), new.clone()];
    let report = verify_log(LogLines::open(dir.path(), "audit")?, &both)?;
    assert_eq!((report.records, report.unverified_tail), (20, 0));
    let only_new = verify_log(
        LogLines::open(dir.path(), "audit")?,
        std::slice::from_ref(&new),
    );
    assert!(
        matches!(
            only_new,
            Err(VerifyError::BadCheckpointSignature { seq: 0, .. })
        ),
        "{only_new:?}"
    );

    // Export with the new key, trusting the old one for the source.
    let mut file = Vec::new();
    export(
        LogLines::open(dir.path(), "audit")?,
        ExportRange::default(),
        &other_signer(),
        std::slice::from_ref(&old),
        &mut file,
    )?;
    let report = modelgate_audit::verify(std::io::Cursor::new(&file), &both)?;
    assert!(report.sealed);
    // Exporting without trusting the old key refuses to sign.
    let refused = export(
        LogLines::open(dir.path(), "audit")?,
        ExportRange::default(),
        &other_signer(),
        &[],
        Vec::new(),
    );
    assert!(refused.is_err());
    Ok(())
}

#[tokio::test]
async fn a_new_key_that_does_not_trust_the_old_one_signs_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 5).await?;
    append_range(&log, 0, 3).await?;
    log.close().await;
    let log = AuditLog::start(vec![file_sink(dir.path())?], other_signer(), config(5)).await?;
    let fault = log.tail_fault().unwrap_or_default();
    assert!(fault.contains("not signed by a trusted key"), "{fault:?}");
    assert!(log.append(control_event(3)).await.is_err());
    log.close().await;
    let lines = log_lines(dir.path())?;
    let last_cp = lines
        .iter()
        .rposition(|l| l.starts_with(b"{\"checkpoint\""))
        .unwrap_or_default();
    // Nothing signed by the new key; the fault is recorded after the tail.
    assert!(!String::from_utf8_lossy(&lines[last_cp]).contains(other_signer().key_id()));
    let after: Vec<String> = lines[last_cp + 1..]
        .iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].contains("\"action\":\"audit.tail_fault\""),
        "{after:?}"
    );
    Ok(())
}

#[test]
fn public_key_parsing() -> TestResult {
    let key = signer().public_key().clone();
    let b64 = key.to_base64();
    assert_eq!(AuditPublicKey::from_base64(&format!("  {b64}\n"))?, key);
    assert!(AuditPublicKey::from_base64("not base64!").is_err());
    assert!(AuditPublicKey::from_base64("AAAA").is_err());
    Ok(())
}
