//! [`AuditLog`]: the handle the gateway appends through. An append resolves
//! only once its record is durable in every required sink (fail closed);
//! concurrent appends are group-committed by one writer thread (see
//! `committer`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use crate::chain::validate_replica;
use crate::checkpoint::{AuditPublicKey, AuditSigner};
use crate::codec::PreparedEvent;
use crate::committer::Committer;
use crate::config::AuditConfig;
use crate::error::AuditError;
use crate::handoff::{Msg, Pending, Shared};
use crate::record::{AuditEvent, Receipt};
use crate::sink::AuditSink;

/// Counts an append in flight from its start until it returns (or is
/// dropped).
struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Counters of an [`AuditLog`] (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditStats {
    /// Whether the last write reached every required sink.
    pub healthy: bool,
    /// Seq of the last durable record.
    pub last_seq: u64,
    /// Write batches made durable (records plus checkpoints; one fsync
    /// each).
    pub batches: u64,
    /// Records made durable by this process.
    pub records: u64,
    /// Batches that failed (their appends got `Unavailable`).
    pub failed_batches: u64,
    /// Time spent writing and syncing the required sinks.
    pub write_time: Duration,
    /// Stored tails found not to verify against their last checkpoint.
    pub tail_faults: u64,
}

/// The audit log of one replica. Cheap to clone; all clones share one
/// writer.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    permits: Arc<Semaphore>,
    shared: Arc<Shared>,
    append_timeout: Duration,
    public_key: AuditPublicKey,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("healthy", &self.healthy())
            .field("last_seq", &self.last_seq())
            .finish()
    }
}

impl AuditLog {
    /// Starts the writer thread over `sinks` (at least one required), verifies
    /// the records after the last checkpoint (see [`AuditLog::tail_fault`]),
    /// resumes the chain from the sinks' last record, and signs a checkpoint
    /// over it.
    ///
    /// Returns `Err` for a configuration that can never work (no required
    /// sink, a bad replica id, sinks holding different chains). If the sinks
    /// are merely unreachable, the log starts unhealthy, fails appends with
    /// [`AuditError::Unavailable`] and keeps retrying.
    pub async fn start(
        sinks: Vec<Box<dyn AuditSink>>,
        signer: Arc<AuditSigner>,
        config: AuditConfig,
    ) -> Result<AuditLog, AuditError> {
        validate_replica(&config.replica)?;
        if !sinks.iter().any(|s| s.required()) {
            return Err(AuditError::Config(
                "at least one audit sink must be required (fail closed)".into(),
            ));
        }
        if config.checkpoint_every == 0 || config.max_batch == 0 || config.queue_capacity == 0 {
            return Err(AuditError::Config(
                "checkpoint_every, max_batch and queue_capacity must be positive".into(),
            ));
        }
        let shared = Arc::new(Shared::default());
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let public_key = signer.public_key().clone();
        let permits = Arc::new(Semaphore::new(config.queue_capacity));
        let append_timeout = config.append_timeout;
        let committer = Committer::new(sinks, signer, config, shared.clone());
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || committer.run(rx, ready_tx))?;
        match ready_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(err),
            Err(_) => return Err(AuditError::Closed),
        }
        Ok(AuditLog {
            tx,
            permits,
            shared,
            append_timeout,
            public_key,
        })
    }

    /// Appends `event`; resolves once the record is durable in every
    /// required sink (needs a Tokio runtime with time enabled). On [`AuditError::Unavailable`] the request must not be
    /// forwarded (503). A record whose append timed out may still be
    /// written later (it then stands for a request that was refused).
    pub async fn append(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        self.submit(event, false).await
    }

    /// Like [`AuditLog::append`], for a record nobody is waiting on before
    /// answering (the outcome of a request already admitted): it is
    /// written with the next urgent append's batch, or after `lazy_delay`,
    /// and resolves once durable like any other.
    pub async fn append_lazy(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        self.submit(event, true).await
    }

    async fn submit(&self, event: AuditEvent, lazy: bool) -> Result<Receipt, AuditError> {
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let _in_flight = InFlight(&self.shared.in_flight);
        let event = PreparedEvent::new(event)?;
        let queued = async {
            let permit = self
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| AuditError::Closed)?;
            let (reply, receipt) = oneshot::channel();
            self.tx
                .send(Msg::Append(Pending {
                    event,
                    lazy,
                    reply,
                    _permit: permit,
                }))
                .map_err(|_| AuditError::Closed)?;
            receipt.await.map_err(|_| AuditError::Closed)?
        };
        match tokio::time::timeout(self.append_timeout, queued).await {
            Ok(result) => result,
            Err(_) => Err(AuditError::Unavailable(
                "audit write did not complete in time".into(),
            )),
        }
    }

    /// Whether the last write reached every required sink (for `/readyz`).
    pub fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Acquire)
    }

    /// Why the stored chain's unsigned tail did not verify against its
    /// last checkpoint, if it did not (found at start or before a
    /// checkpoint). While this is set the writer signs nothing and every
    /// append fails with [`AuditError::Unavailable`] (for `/readyz`).
    pub fn tail_fault(&self) -> Option<String> {
        self.shared.tail_fault.lock().map_or_else(
            |_| Some("audit writer state poisoned".into()),
            |f| f.clone(),
        )
    }

    /// Seq of the last durable record (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.shared.last_seq.load(Ordering::Acquire)
    }

    /// Counters for metrics.
    pub fn stats(&self) -> AuditStats {
        let s = &self.shared;
        AuditStats {
            healthy: self.healthy(),
            last_seq: self.last_seq(),
            batches: s.batches.load(Ordering::Relaxed),
            records: s.records.load(Ordering::Relaxed),
            failed_batches: s.failed_batches.load(Ordering::Relaxed),
            write_time: Duration::from_nanos(s.write_nanos.load(Ordering::Relaxed)),
            tail_faults: s.tail_faults.load(Ordering::Relaxed),
        }
    }

    /// The public key checkpoints are signed with.
    pub fn public_key(&self) -> &AuditPublicKey {
        &self.public_key
    }

    /// Writes what is queued, signs a final checkpoint and stops the writer.
    /// Appends through other clones fail with [`AuditError::Closed`] after.
    pub async fn close(self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Msg::Close(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
    }
}
