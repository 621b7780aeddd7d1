//! Must-show 2 (crate side): crash safety. A torn or zero-filled tail is cut
//! on reopen and the chain resumes; a writer killed with SIGKILL under load
//! loses no acknowledged record and its log verifies end to end after a
//! restart; sinks left at different points by a crash are reconciled.

mod common;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use modelgate_audit::{
    AuditLog, JsonlFileOptions, JsonlFileSink, LogLines, Receipt, decode_record, log_files,
    verify_log,
};

fn verify_dir(dir: &Path) -> TestResult<modelgate_audit::VerifyReport> {
    Ok(verify_log(
        LogLines::open(dir, "audit")?,
        &[signer().public_key().clone()],
    )?)
}

/// Every receipt's record is in the log with the acknowledged hash.
fn assert_all_present(dir: &Path, receipts: &[Receipt]) -> TestResult {
    let mut stored = std::collections::HashMap::new();
    for line in log_lines(dir)? {
        if line.starts_with(b"{\"seq\":") {
            let record = decode_record(&line)?;
            stored.insert(record.seq, record.hash);
        }
    }
    for receipt in receipts {
        assert_eq!(
            stored.get(&receipt.seq),
            Some(&receipt.hash),
            "record {}",
            receipt.seq
        );
    }
    Ok(())
}

fn newest_file(dir: &Path) -> TestResult<std::path::PathBuf> {
    log_files(dir, "audit")?
        .pop()
        .ok_or_else(|| "no log file".into())
}

async fn torn_tail_case(garbage: &[u8]) -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 8).await?;
    let mut receipts = append_range(&log, 0, 30).await?;
    log.close().await;
    // A crash in the middle of writing the next batch.
    OpenOptions::new()
        .append(true)
        .open(newest_file(dir.path())?)?
        .write_all(garbage)?;
    let log = start(dir.path(), 8).await?;
    receipts.extend(append_range(&log, 30, 40).await?);
    assert_eq!(receipts.last().map(|r| r.seq), Some(40));
    log.close().await;
    let report = verify_dir(dir.path())?;
    assert_eq!(
        (report.records, report.last_seq, report.unverified_tail),
        (40, Some(40), 0)
    );
    assert_all_present(dir.path(), &receipts)
}

#[tokio::test]
async fn torn_last_line_is_cut_and_the_chain_resumes() -> TestResult {
    torn_tail_case(b"{\"seq\":31,\"time\":17000,\"replica\":\"gw-te").await
}

#[tokio::test]
async fn zero_filled_tail_is_cut_and_the_chain_resumes() -> TestResult {
    torn_tail_case(&[0u8; 700]).await?;
    torn_tail_case(b"\0\0\0\0\n\0\0\n").await
}

#[tokio::test]
async fn rotated_files_resume_from_the_newest_record() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut options = JsonlFileOptions::new(dir.path());
    options.max_file_bytes = 8 * 1024;
    let sink = JsonlFileSink::open(options.clone())?;
    let log = AuditLog::start(vec![Box::new(sink)], signer(), config(10)).await?;
    let mut receipts = append_range(&log, 0, 60).await?;
    log.close().await;
    let files = log_files(dir.path(), "audit")?;
    assert!(files.len() > 3, "{} files", files.len());
    // A crash right after rotation leaves an empty newest file.
    let next = dir
        .path()
        .join(format!("audit-{:06}.jsonl", files.len() + 1));
    std::fs::File::create(next)?;
    let sink = JsonlFileSink::open(options)?;
    let log = AuditLog::start(vec![Box::new(sink)], signer(), config(10)).await?;
    receipts.extend(append_range(&log, 60, 70).await?);
    log.close().await;
    let report = verify_dir(dir.path())?;
    assert_eq!((report.records, report.unverified_tail), (70, 0));
    assert_all_present(dir.path(), &receipts)
}

#[tokio::test]
async fn sinks_left_apart_by_a_crash_are_reconciled() -> TestResult {
    let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let log = AuditLog::start(
        vec![file_sink(a.path())?, file_sink(b.path())?],
        signer(),
        config(5),
    )
    .await?;
    let mut receipts = append_range(&log, 0, 10).await?;
    log.close().await;
    // Sink `a` got three more records that `b` never got (never acknowledged).
    let log = start(a.path(), 5).await?;
    append_range(&log, 10, 13).await?;
    log.close().await;
    let log = AuditLog::start(
        vec![file_sink(a.path())?, file_sink(b.path())?],
        signer(),
        config(5),
    )
    .await?;
    let more = append_range(&log, 20, 25).await?;
    assert_eq!(more.first().map(|r| r.seq), Some(11));
    receipts.extend(more);
    log.close().await;
    for dir in [a.path(), b.path()] {
        let report = verify_dir(dir)?;
        assert_eq!((report.records, report.unverified_tail), (15, 0));
        assert_all_present(dir, &receipts)?;
    }
    Ok(())
}

const CHILD_ENV: &str = "MODELGATE_AUDIT_CRASH_DIR";

/// The child side of the SIGKILL test: appends from 32 tasks until killed,
/// printing each acknowledged seq and hash. Does nothing unless started by
/// `sigkill_under_load_loses_no_acknowledged_record`.
#[test]
fn crash_child() -> TestResult {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let log = start(Path::new(&dir), 100).await?;
        let mut tasks = Vec::new();
        for t in 0..32u64 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let receipt = log.append(request_event(t * 1_000_000 + i)).await?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {} {}", receipt.seq, receipt.hash)?;
                    out.flush()?;
                }
                Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(())
    })
}

#[tokio::test]
async fn sigkill_under_load_loses_no_acknowledged_record() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let mut parts = line.split(' ');
            if parts.next() == Some("ack") {
                let seq = parts.next().and_then(|s| s.parse::<u64>().ok());
                let hash = parts.next().and_then(modelgate_audit::Digest::from_hex);
                if let (Some(seq), Some(hash)) = (seq, hash) {
                    acks.push(Receipt { seq, hash });
                }
            }
        }
        acks
    });
    // Let it run under load, then kill it without warning.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill()?;
    child.wait()?;
    let acks = reader.join().map_err(|_| "reader panicked")?;
    assert!(acks.len() > 1000, "only {} acknowledged", acks.len());
    eprintln!("acknowledged before SIGKILL: {}", acks.len());

    // Restart: resume, write more, and verify end to end.
    let log = start(dir.path(), 100).await?;
    let more = append_range(&log, 0, 10).await?;
    log.close().await;
    let report = verify_dir(dir.path())?;
    let max_ack = acks.iter().map(|r| r.seq).max().unwrap_or(0);
    assert!(report.last_seq >= Some(max_ack + 10));
    assert_eq!(report.first_seq, Some(1));
    assert_eq!(report.unverified_tail, 0);
    assert_all_present(dir.path(), &acks)?;
    assert_all_present(dir.path(), &more)
}
