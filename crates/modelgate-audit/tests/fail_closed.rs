//! Must-show 3 (crate side): with a required sink unwritable, appends fail
//! with `Unavailable` (the gateway answers 503 and forwards nothing) and the
//! log reports not healthy; once the sink is writable again the log recovers
//! by itself and the chain continues with no gap and no duplicate.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use modelgate_audit::{
    AuditError, AuditLog, AuditSink, Entry, JsonlFileOptions, JsonlFileSink, LogLines, Record,
    SinkError, verify_log,
};

/// A file sink that, while `fail` is set, writes half of each batch and
/// then reports the disk full, and fails every other call.
struct FlakySink {
    inner: JsonlFileSink,
    fail: Arc<AtomicBool>,
    required: bool,
}

fn disk_full() -> SinkError {
    SinkError::io("flaky", std::io::Error::other("No space left on device"))
}

impl AuditSink for FlakySink {
    fn name(&self) -> &str {
        "flaky"
    }
    fn required(&self) -> bool {
        self.required
    }
    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            let half = entries.len() / 2;
            self.inner.write_batch(&entries[..half])?;
            return Err(disk_full());
        }
        self.inner.write_batch(entries)
    }
    fn sync(&mut self) -> Result<(), SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(disk_full());
        }
        self.inner.sync()
    }
    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(disk_full());
        }
        self.inner.load_tail()
    }
    fn discard_after(&mut self, seq: u64) -> Result<(), SinkError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(disk_full());
        }
        self.inner.discard_after(seq)
    }
}

fn flaky(
    dir: &std::path::Path,
    fail: &Arc<AtomicBool>,
    required: bool,
) -> TestResult<Box<dyn AuditSink>> {
    Ok(Box::new(FlakySink {
        inner: JsonlFileSink::open(JsonlFileOptions::new(dir))?,
        fail: fail.clone(),
        required,
    }))
}

async fn wait_healthy(log: &AuditLog, want: bool) -> TestResult {
    for _ in 0..500 {
        if log.healthy() == want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("log never became healthy={want}").into())
}

/// Appends many at once so that they form batches of several records.
async fn burst(
    log: &AuditLog,
    from: u64,
    n: u64,
) -> Vec<Result<modelgate_audit::Receipt, AuditError>> {
    let tasks: Vec<_> = (from..from + n)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append(request_event(i)).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

fn check_log(dir: &std::path::Path, records: u64) -> TestResult {
    let report = verify_log(
        LogLines::open(dir, "audit")?,
        &[signer().public_key().clone()],
    )?;
    assert_eq!(report.records, records);
    assert_eq!(
        (report.first_seq, report.last_seq),
        (Some(1), Some(records))
    );
    assert_eq!(report.unverified_tail, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_sink_refuses_then_recovers_without_gap() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fail = Arc::new(AtomicBool::new(false));
    let log = AuditLog::start(
        vec![flaky(dir.path(), &fail, true)?],
        signer(),
        config(1000),
    )
    .await?;
    assert!(log.healthy());
    let first = burst(&log, 0, 20).await;
    assert!(first.iter().all(Result::is_ok));

    fail.store(true, Ordering::SeqCst);
    let refused = burst(&log, 100, 40).await;
    assert!(
        refused
            .iter()
            .all(|r| matches!(r, Err(AuditError::Unavailable(_)))),
        "{refused:?}"
    );
    assert!(!log.healthy());
    assert_eq!(log.last_seq(), 20);

    fail.store(false, Ordering::SeqCst);
    // Recovery needs no traffic: the writer probes by itself.
    wait_healthy(&log, true).await?;
    let after = burst(&log, 200, 20).await;
    let mut seqs: Vec<u64> = after
        .iter()
        .map(|r| r.as_ref().map(|x| x.seq).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    seqs.sort_unstable();
    assert_eq!(seqs, (21..=40).collect::<Vec<_>>());
    log.close().await;
    check_log(dir.path(), 40)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_sink_drops_a_batch_another_required_sink_failed() -> TestResult {
    let (good_dir, bad_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let fail = Arc::new(AtomicBool::new(false));
    let sinks = vec![
        file_sink(good_dir.path())?,
        flaky(bad_dir.path(), &fail, true)?,
    ];
    let log = AuditLog::start(sinks, signer(), config(7)).await?;
    assert!(burst(&log, 0, 10).await.iter().all(Result::is_ok));
    fail.store(true, Ordering::SeqCst);
    assert!(burst(&log, 10, 10).await.iter().all(Result::is_err));
    fail.store(false, Ordering::SeqCst);
    wait_healthy(&log, true).await?;
    assert!(burst(&log, 20, 10).await.iter().all(Result::is_ok));
    log.close().await;
    check_log(good_dir.path(), 20)?;
    check_log(bad_dir.path(), 20)
}

#[tokio::test]
async fn failing_optional_sink_does_not_fail_appends() -> TestResult {
    let (dir, opt_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let fail = Arc::new(AtomicBool::new(true));
    let sinks = vec![file_sink(dir.path())?, flaky(opt_dir.path(), &fail, false)?];
    let log = AuditLog::start(sinks, signer(), config(5)).await?;
    append_range(&log, 0, 12).await?;
    assert!(log.healthy());
    log.close().await;
    check_log(dir.path(), 12)
}

#[tokio::test]
async fn sinks_unavailable_at_start_then_recover() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fail = Arc::new(AtomicBool::new(true));
    let log = AuditLog::start(vec![flaky(dir.path(), &fail, true)?], signer(), config(5)).await?;
    assert!(!log.healthy());
    let refused = log.append(request_event(0)).await;
    assert!(
        matches!(refused, Err(AuditError::Unavailable(_))),
        "{refused:?}"
    );
    fail.store(false, Ordering::SeqCst);
    wait_healthy(&log, true).await?;
    append_range(&log, 0, 3).await?;
    log.close().await;
    check_log(dir.path(), 3)
}

#[tokio::test]
async fn configuration_that_cannot_fail_closed_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let fail = Arc::new(AtomicBool::new(false));
    let optional_only =
        AuditLog::start(vec![flaky(dir.path(), &fail, false)?], signer(), config(5)).await;
    assert!(matches!(optional_only, Err(AuditError::Config(_))));
    let mut bad_replica = config(5);
    bad_replica.replica = String::new();
    let refused = AuditLog::start(vec![file_sink(dir.path())?], signer(), bad_replica).await;
    assert!(matches!(refused, Err(AuditError::Config(_))));
    Ok(())
}

#[tokio::test]
async fn closed_log_refuses_appends() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 5).await?;
    let other = log.clone();
    log.close().await;
    let refused = other.append(request_event(1)).await;
    assert!(matches!(refused, Err(AuditError::Closed)), "{refused:?}");
    assert!(!other.healthy());
    Ok(())
}
