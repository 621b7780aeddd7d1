//! Many tasks appending at once: every append gets a unique seq, the seqs
//! are contiguous, appends are group-committed, and the chain verifies.

mod common;

use common::*;
use modelgate_audit::{LogLines, verify_log};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_get_contiguous_seqs_and_verify() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 250).await?;
    let tasks: Vec<_> = (0..64u64)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move { append_range(&log, t * 1000, t * 1000 + 100).await })
        })
        .collect();
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.extend(task.await??);
    }
    log.close().await;
    let mut seqs: Vec<u64> = receipts.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=6400).collect::<Vec<_>>());
    let mut hashes: Vec<_> = receipts.iter().map(|r| r.hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(hashes.len(), 6400);
    let report = verify_log(
        LogLines::open(dir.path(), "audit")?,
        &[signer().public_key().clone()],
    )?;
    assert_eq!((report.records, report.unverified_tail), (6400, 0));
    // Group commit: far fewer checkpoint-bearing batches than records.
    assert!(
        report.checkpoints < 6400 / 10,
        "{} checkpoints",
        report.checkpoints
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lazy_append_joins_the_next_urgent_batch_and_is_durable_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let log = start(dir.path(), 250).await?;
    let before = log.stats().batches;
    // Alone, a lazy append is written after the lazy delay, durably.
    let alone = log.append_lazy(request_event(1)).await?;
    assert_eq!(alone.seq, 1);
    assert_eq!(log.stats().batches, before + 1);
    // Followed within the delay by an urgent one, both share one batch.
    // The lazy append is polled once here, which queues it, so it is
    // surely ahead of the urgent one (a spawned task and a 1 ms sleep were
    // not, on a loaded machine).
    let mut lazy = Box::pin(log.append_lazy(request_event(2)));
    let waiting =
        std::future::poll_fn(|cx| std::task::Poll::Ready(lazy.as_mut().poll(cx).is_pending()))
            .await;
    assert!(waiting, "a lazy append waits for its batch");
    let urgent = log.append(request_event(3)).await?;
    let lazy = lazy.await?;
    assert_eq!((lazy.seq, urgent.seq), (2, 3));
    assert_eq!(log.stats().batches, before + 2, "one batch for both");
    log.close().await;
    let report = verify_log(
        LogLines::open(dir.path(), "audit")?,
        &[signer().public_key().clone()],
    )?;
    assert_eq!(report.records, 3);
    Ok(())
}
