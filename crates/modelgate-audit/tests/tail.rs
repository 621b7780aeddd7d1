//! Defect 5 (crate side, file sink): before it signs, the writer verifies
//! the records after the last checkpoint. A record changed there while the
//! writer was down is a fault: nothing more is signed, appends are refused,
//! and the fault is recorded after the tail; an intact tail is signed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use modelgate_audit::{AuditLog, Checkpoint, LineKind, TAIL_FAULT_ACTION, line_kind, log_files};

/// Writes records 1..=30 (checkpoints every 8) and removes the checkpoint
/// written at close, as a crash would have: records 25..=30 are the tail.
/// `change` may alter record lines.
async fn crashed_log(dir: &Path, change: impl Fn(&str) -> String) -> TestResult {
    let log = start(dir, 8).await?;
    append_range(&log, 0, 30).await?;
    log.close().await;
    let file = log_files(dir, "audit")?.pop().ok_or("no log file")?;
    let text = std::fs::read_to_string(&file)?;
    let mut lines: Vec<String> = text.lines().map(&change).collect();
    let last = lines.pop().unwrap_or_default();
    assert!(last.starts_with("{\"checkpoint\""), "{last}");
    std::fs::write(&file, lines.join("\n") + "\n")?;
    Ok(())
}

fn checkpoint_seqs(dir: &Path) -> TestResult<Vec<u64>> {
    Ok(log_lines(dir)?
        .iter()
        .filter(|l| line_kind(l) == LineKind::Checkpoint)
        .map(|l| Checkpoint::from_line(l).map(|c| c.seq))
        .collect::<Result<_, _>>()?)
}

#[tokio::test]
async fn a_changed_tail_is_a_fault_and_is_not_signed() -> TestResult {
    let dir = tempfile::tempdir()?;
    crashed_log(dir.path(), |line| {
        if line.starts_with("{\"seq\":28,") {
            line.replace("req-00000027", "req-00000099")
        } else {
            line.to_owned()
        }
    })
    .await?;
    let log = start(dir.path(), 8).await?;
    let fault = log.tail_fault().unwrap_or_default();
    assert!(fault.contains("record 28"), "{fault:?}");
    assert!(log.append(request_event(30)).await.is_err());
    assert_eq!(log.stats().tail_faults, 1);
    log.close().await;
    assert_eq!(checkpoint_seqs(dir.path())?.last(), Some(&24));
    let lines = log_lines(dir.path())?;
    let last = String::from_utf8_lossy(lines.last().ok_or("empty log")?).into_owned();
    assert!(
        last.contains(&format!("\"action\":\"{TAIL_FAULT_ACTION}\"")),
        "{last}"
    );
    Ok(())
}

#[tokio::test]
async fn an_intact_tail_is_signed_at_start() -> TestResult {
    let dir = tempfile::tempdir()?;
    crashed_log(dir.path(), str::to_owned).await?;
    let log = start(dir.path(), 8).await?;
    assert_eq!(log.tail_fault(), None);
    assert_eq!(checkpoint_seqs(dir.path())?.last(), Some(&30));
    append_range(&log, 30, 33).await?;
    log.close().await;
    assert_eq!(checkpoint_seqs(dir.path())?.last(), Some(&33));
    Ok(())
}

/// A log over one file sink in `dir` whose stored tail is read back in
/// full at most every `interval` while running.
async fn start_checked_every(dir: &Path, interval: Duration) -> TestResult<AuditLog> {
    let mut config = config(8);
    config.checkpoint_interval = interval;
    Ok(AuditLog::start(vec![file_sink(dir)?], signer(), config).await?)
}

/// Replaces `from` by `to` in the log file in `dir`.
fn tamper(dir: &Path, from: &str, to: &str) -> TestResult {
    let file = log_files(dir, "audit")?.pop().ok_or("no log file")?;
    let text = std::fs::read_to_string(&file)?;
    assert!(text.contains(from), "{from} not in the log");
    std::fs::write(&file, text.replace(from, to))?;
    Ok(())
}

#[tokio::test]
async fn a_tail_changed_while_running_is_found_by_the_next_full_check() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start_checked_every(dir.path(), Duration::from_millis(200)).await?;
    append_range(&log, 0, 3).await?;
    tamper(dir.path(), "req-00000001", "req-00000077")?;
    // The checkpoint due after the interval reads the tail back first.
    let mut fault = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fault = log.tail_fault();
        if fault.is_some() {
            break;
        }
    }
    let fault = fault.unwrap_or_default();
    assert!(fault.contains("record 2"), "{fault:?}");
    assert!(append_range(&log, 3, 4).await.is_err());
    log.close().await;
    assert_eq!(checkpoint_seqs(dir.path())?, [0]);
    Ok(())
}

#[tokio::test]
async fn a_replaced_last_record_is_found_before_the_next_checkpoint() -> TestResult {
    let dir = tempfile::tempdir()?;
    // No full check falls due: the cheap check of the head finds it.
    let log = start_checked_every(dir.path(), Duration::from_secs(3600)).await?;
    append_range(&log, 0, 7).await?;
    tamper(dir.path(), "req-00000006", "req-00000066")?;
    assert_eq!(log.tail_fault(), None);
    // The 8th record's batch carries a checkpoint.
    assert!(append_range(&log, 7, 8).await.is_err());
    let fault = log.tail_fault().unwrap_or_default();
    assert!(fault.contains("record 7"), "{fault:?}");
    log.close().await;
    assert_eq!(checkpoint_seqs(dir.path())?, [0]);
    Ok(())
}
