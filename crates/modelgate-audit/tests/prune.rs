//! Body pruning keeps the chain verifiable: bodies go, commitments stay,
//! every hash, checkpoint and seal still checks out.

mod common;

use std::io::Cursor;

use common::*;
use modelgate_audit::{
    AuditEvent, AuditLog, Body, BodyPolicy, ExportRange, JsonlFileOptions, JsonlFileSink, LogLines,
    Retention, commit_body, decode_record, log_files, prune, prune_line, verify, verify_log,
};

#[tokio::test]
async fn pruned_export_still_verifies() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 10).await?;
    append_range(&log, 0, 30).await?;
    log.close().await;
    let lines = export_lines(dir.path(), ExportRange::default())?;
    let mut pruned = Vec::new();
    let mut file = Vec::new();
    for line in &lines {
        let line = if line.starts_with(b"{\"seq\":") {
            match prune_line(line)? {
                Some(p) => {
                    pruned.push((decode_record(line)?, decode_record(&p)?));
                    p
                }
                None => line.clone(),
            }
        } else {
            line.clone()
        };
        file.extend_from_slice(&line);
        file.push(b'\n');
    }
    assert_eq!(pruned.len(), 6);
    let report = verify(Cursor::new(&file), &[signer().public_key().clone()])?;
    assert_eq!((report.records, report.pruned_bodies), (30, 12));
    assert!(!contains(&file, b"prompt number"));
    for (before, after) in pruned {
        assert_eq!(before.hash, after.hash);
        let (AuditEvent::Request(b), AuditEvent::Request(a)) = (before.event, after.event) else {
            return Err("not a request".into());
        };
        let Some(prompt) = b.prompt else {
            return Err("no prompt".into());
        };
        let (commitment, _) = commit_body(&prompt)?;
        assert_eq!(a.prompt, Some(Body::Pruned { sha256: commitment }));
    }
    Ok(())
}

#[tokio::test]
async fn expired_bodies_are_pruned_from_closed_files() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut options = JsonlFileOptions::new(dir.path());
    options.max_file_bytes = 4096;
    let log = AuditLog::start(
        vec![Box::new(JsonlFileSink::open(options)?)],
        signer(),
        config(10),
    )
    .await?;
    let full = BodyPolicy::new(
        Retention::Full,
        None,
        Some(std::time::Duration::from_secs(60)),
    )?;
    for i in 0..40 {
        let mut record = request(i);
        record.prompt = full.body(&format!("keep-me-or-not {i}"), &|t| t.to_owned());
        // Even records expired long ago, odd ones expire in the future.
        record.bodies_expire = Some(if i.is_multiple_of(2) { 1_000 } else { i64::MAX });
        log.append(AuditEvent::Request(record)).await?;
    }
    log.close().await;
    let files = log_files(dir.path(), "audit")?;
    assert!(files.len() > 2);
    let stats = prune::prune_closed_files(dir.path(), "audit", 2_000)?;
    assert!(stats.pruned > 5, "{stats:?}");
    assert_eq!(stats.files_rewritten, files.len() as u64 - 1);
    let report = verify_log(
        LogLines::open(dir.path(), "audit")?,
        &[signer().public_key().clone()],
    )?;
    assert_eq!(report.records, 40);
    assert_eq!(report.pruned_bodies, stats.pruned);
    // Pruning again changes nothing.
    let again = prune::prune_closed_files(dir.path(), "audit", 2_000)?;
    assert_eq!((again.pruned, again.files_rewritten), (0, 0));
    Ok(())
}
