//! The writer thread: chains appends as they arrive, gathers whatever is
//! queued (and, briefly, appends already under way) into one batch, writes
//! and fsyncs every required sink once, then acknowledges them all (group
//! commit). Signs checkpoints every N records or T seconds. On a failure it
//! acknowledges nothing of the batch, moves the chain back to the last
//! durable record, has the sinks discard what they got of the batch, and
//! probes until a write succeeds again.
//!
//! Before it signs anything (the checkpoint at start, every checkpoint
//! after) it verifies each required sink's unsigned tail against the last
//! checkpoint (`tail`); a tail that does not verify is a fault: it records
//! the fault, signs nothing more and refuses every append (`tail_fault`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::chain::AuditChain;
use crate::checkpoint::{AuditPublicKey, AuditSigner};
use crate::config::AuditConfig;
use crate::error::{AuditError, SinkError};
use crate::fanout::{SinkSet, TailCheck};
use crate::handoff::{Msg, Pending, Shared};
use crate::record::{ChainHead, Receipt};
use crate::sink::{AuditSink, Entry};

mod fault;

pub(super) type Reply = oneshot::Sender<Result<Receipt, AuditError>>;

/// State of the writer thread.
pub(crate) struct Committer {
    sinks: SinkSet,
    signer: Arc<AuditSigner>,
    /// Keys whose checkpoints count when a tail is verified.
    keys: Vec<AuditPublicKey>,
    config: AuditConfig,
    shared: Arc<Shared>,
    chain: Option<AuditChain>,
    /// The stored tail did not verify: sign nothing, refuse appends.
    faulted: bool,
    /// Entries chained but not yet written, and who waits for them.
    staged: Vec<Entry>,
    replies: Vec<(Reply, Receipt)>,
    /// The chain head before the staged entries.
    batch_start: ChainHead,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    /// When the stored tails were last read back and verified in full.
    last_full_check: Option<Instant>,
    last_attempt: Instant,
    /// How long the last successful write of the required sinks took.
    last_write: Duration,
    /// Whether the staged batch holds an append somebody waits on.
    urgent_staged: bool,
}

/// Sets the log unhealthy if the thread ends (panic included).
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.healthy.store(false, Ordering::Release);
    }
}

/// How often a waiting batch rechecks the appends under way.
const POLL: Duration = Duration::from_micros(20);

use modelgate_types::clock::now_ms;

impl Committer {
    pub(crate) fn new(
        sinks: Vec<Box<dyn AuditSink>>,
        signer: Arc<AuditSigner>,
        config: AuditConfig,
        shared: Arc<Shared>,
    ) -> Self {
        let mut keys = config.trusted_keys.clone();
        keys.push(signer.public_key().clone());
        Self {
            sinks: SinkSet::new(sinks),
            signer,
            keys,
            config,
            shared,
            chain: None,
            faulted: false,
            staged: Vec::new(),
            replies: Vec::new(),
            batch_start: ChainHead::default(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            last_full_check: None,
            last_attempt: Instant::now(),
            last_write: Duration::ZERO,
            urgent_staged: false,
        }
    }

    /// The thread's body.
    pub(crate) fn run(mut self, rx: Receiver<Msg>, ready: oneshot::Sender<Result<(), AuditError>>) {
        let _guard = ExitGuard(self.shared.clone());
        match self.init() {
            Err(err @ AuditError::Config(_)) => {
                let _ = ready.send(Err(err));
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, "audit: sinks unavailable at start, retrying");
                let _ = ready.send(Ok(()));
            }
            Ok(()) => {
                let _ = ready.send(Ok(()));
            }
        }
        loop {
            let first = match self.next_wakeup() {
                Some(wait) => rx.recv_timeout(wait),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            let closing = match first {
                Ok(Msg::Append(pending)) => {
                    self.stage(pending);
                    match self.wait_if_lazy(&rx) {
                        Some(done) => Some(done),
                        None => self.gather(&rx),
                    }
                }
                Ok(Msg::Close(done)) => Some(done),
                Err(RecvTimeoutError::Timeout) => {
                    self.tick();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.final_checkpoint();
                    return;
                }
            };
            self.commit();
            if let Some(done) = closing {
                while let Ok(Msg::Append(pending)) = rx.try_recv() {
                    self.stage(pending);
                    if self.replies.len() >= self.config.max_batch {
                        self.commit();
                    }
                }
                self.commit();
                self.final_checkpoint();
                let _ = done.send(());
                return;
            }
        }
    }

    /// Chains an append right away (its line and hash are ready when the
    /// batch is written), or refuses it if the chain is not resumed yet.
    fn stage(&mut self, pending: Pending) {
        if self.faulted {
            let _ = pending.reply.send(Err(crate::tail_fault::refusal()));
            return;
        }
        let Some(chain) = self.chain.as_mut() else {
            let refused = AuditError::Unavailable("audit sinks unavailable".into());
            let _ = pending.reply.send(Err(refused));
            return;
        };
        if self.replies.is_empty() {
            self.batch_start = chain.head();
        }
        self.urgent_staged |= !pending.lazy;
        let (record, line) = chain.append(now_ms(), pending.event);
        let receipt = Receipt {
            seq: record.seq,
            hash: record.hash,
        };
        self.replies.push((pending.reply, receipt));
        self.staged.push(Entry::Record { record, line });
    }

    /// While the staged batch holds only lazy appends, waits (up to
    /// `lazy_delay`) for an urgent append to join it. Returns a close
    /// request if one came.
    fn wait_if_lazy(&mut self, rx: &Receiver<Msg>) -> Option<oneshot::Sender<()>> {
        let deadline = Instant::now() + self.config.lazy_delay;
        while !self.urgent_staged && self.replies.len() < self.config.max_batch {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match rx.recv_timeout(left) {
                Ok(Msg::Append(pending)) => self.stage(pending),
                Ok(Msg::Close(done)) => return Some(done),
                Err(_) => break,
            }
        }
        None
    }

    /// Stages what is queued, then waits (up to the commit delay, at most
    /// one write's duration) while other appends are under way: being
    /// prepared, or just answered and about to return, whose callers may
    /// append again at once. The count is rechecked every few microseconds,
    /// so a stale count costs little. Returns a close request if one came.
    fn gather(&mut self, rx: &Receiver<Msg>) -> Option<oneshot::Sender<()>> {
        let max = self.config.max_batch;
        let budget = self.config.commit_delay.min(self.last_write);
        let deadline = Instant::now() + budget;
        loop {
            while self.replies.len() < max {
                match rx.try_recv() {
                    Ok(Msg::Append(pending)) => self.stage(pending),
                    Ok(Msg::Close(done)) => return Some(done),
                    Err(_) => break,
                }
            }
            let staged = self.replies.len() as u64;
            let under_way = self.shared.in_flight.load(Ordering::Acquire);
            if staged >= max as u64 || staged >= under_way || Instant::now() >= deadline {
                return None;
            }
            // Sleeping rather than blocking on the channel spares each
            // arriving append a wake-up of this thread.
            std::thread::sleep(POLL);
        }
    }

    /// How long to wait for an append before doing something on our own.
    fn next_wakeup(&self) -> Option<Duration> {
        if !self.shared.healthy.load(Ordering::Acquire) {
            return Some(
                self.config
                    .retry_interval
                    .saturating_sub(self.last_attempt.elapsed()),
            );
        }
        (self.since_checkpoint > 0).then(|| {
            self.config
                .checkpoint_interval
                .saturating_sub(self.last_checkpoint.elapsed())
        })
    }

    /// Work with no append waiting: recover, or sign a due checkpoint.
    fn tick(&mut self) {
        if self.chain.is_none() {
            if let Err(err) = self.init() {
                tracing::debug!(error = %err, "audit: still unavailable");
            }
        } else if !self.shared.healthy.load(Ordering::Acquire)
            || self.last_checkpoint.elapsed() >= self.config.checkpoint_interval
        {
            let _ = self.write_checkpoint_only();
        }
    }

    fn final_checkpoint(&mut self) {
        if self.since_checkpoint > 0 && self.chain.is_some() {
            let _ = self.write_checkpoint_only();
        }
    }

    /// Resumes the chain from the required sinks' tails, then signs a
    /// checkpoint over it (which also proves the sinks writable).
    fn init(&mut self) -> Result<(), AuditError> {
        self.last_attempt = Instant::now();
        if self.faulted {
            return Ok(());
        }
        match self.sinks.check_tails(&self.keys, None) {
            Ok(()) => self.last_full_check = Some(Instant::now()),
            Err(TailCheck::Unavailable(err)) => {
                return Err(AuditError::Unavailable(err.to_string()));
            }
            Err(TailCheck::Fault { sink, fault }) => {
                // Resume only to record the fault (the chain cannot be
                // resumed if its last record is the one changed).
                if let Ok(tail) = self.sinks.resume_point(self.config.max_batch as u64)
                    && let Ok(chain) = AuditChain::resume(&self.config.replica, tail.as_ref())
                {
                    self.chain = Some(chain);
                }
                self.enter_fault(&sink, &fault.to_string());
                return Ok(());
            }
        }
        let tail = self.sinks.resume_point(self.config.max_batch as u64)?;
        let chain = AuditChain::resume(&self.config.replica, tail.as_ref())?;
        self.shared
            .last_seq
            .store(chain.head().seq, Ordering::Release);
        self.chain = Some(chain);
        self.write_checkpoint_only()
            .map_err(|e| AuditError::Unavailable(e.to_string()))
    }

    /// Writes the staged entries (plus a checkpoint if one is due), then
    /// answers each waiting append.
    fn commit(&mut self) {
        if self.replies.is_empty() {
            if self.chain.is_none() {
                let _ = self.init();
            }
            return;
        }
        let mut entries = std::mem::take(&mut self.staged);
        let replies = std::mem::take(&mut self.replies);
        self.urgent_staged = false;
        let start = self.batch_start;
        let count = replies.len() as u64;
        let due = self.since_checkpoint + count >= self.config.checkpoint_every
            || self.last_checkpoint.elapsed() >= self.config.checkpoint_interval;
        if due
            && self.chain.is_some()
            && let Err(check) = self.check_before_signing(start)
        {
            self.refuse_batch(start, replies, check);
            return;
        }
        if let (true, Some(chain)) = (due, self.chain.as_ref()) {
            let head = chain.head();
            let checkpoint = self.signer.checkpoint(chain.replica(), &head, head.time);
            let line = checkpoint.to_line();
            entries.push(Entry::Checkpoint { checkpoint, line });
        }
        match self.write(start, &entries) {
            Ok(()) => {
                self.since_checkpoint += count;
                if due {
                    self.since_checkpoint = 0;
                    self.last_checkpoint = Instant::now();
                }
                for (reply, receipt) in replies {
                    let _ = reply.send(Ok(receipt));
                }
                self.sinks.write_optional(&entries);
            }
            Err(err) => {
                if let Some(chain) = self.chain.as_mut() {
                    chain.reset(start);
                }
                let answer = err.to_string();
                for (reply, _) in replies {
                    let _ = reply.send(Err(AuditError::Unavailable(answer.clone())));
                }
            }
        }
    }

    /// What is checked before a checkpoint over `head` is signed while
    /// running. The stored tails are read back and verified in full at most
    /// once per `checkpoint_interval` (and always at start, in `init`);
    /// between those, each sink's last record must still be the writer's
    /// head. Reading back a thousand records before every count-driven
    /// checkpoint stalled the writer (and every request waiting on it);
    /// the signature covers the writer's own head either way, so a record
    /// changed in between is still found by the next full check or by
    /// `audit verify`, never vouched for.
    fn check_before_signing(&mut self, head: ChainHead) -> Result<(), TailCheck> {
        let full_due = self
            .last_full_check
            .is_none_or(|at| at.elapsed() >= self.config.checkpoint_interval);
        if !full_due {
            return self.sinks.check_heads(head);
        }
        self.sinks.check_tails(&self.keys, Some(head))?;
        self.last_full_check = Some(Instant::now());
        Ok(())
    }

    /// A batch of just a checkpoint over the head: periodic, at start, at
    /// close, or as the recovery probe.
    fn write_checkpoint_only(&mut self) -> Result<(), SinkError> {
        let Some(head) = self.chain.as_ref().map(AuditChain::head) else {
            return Ok(());
        };
        if self.faulted {
            return Ok(());
        }
        match self.check_before_signing(head) {
            Ok(()) => {}
            Err(TailCheck::Unavailable(err)) => {
                self.read_failed(&err);
                return Err(err);
            }
            Err(TailCheck::Fault { sink, fault }) => {
                self.enter_fault(&sink, &fault.to_string());
                return Ok(());
            }
        }
        let Some(chain) = self.chain.as_ref() else {
            return Ok(());
        };
        let checkpoint = self
            .signer
            .checkpoint(chain.replica(), &head, now_ms().max(head.time));
        let line = checkpoint.to_line();
        let entries = [Entry::Checkpoint { checkpoint, line }];
        self.write(head, &entries)?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        self.sinks.write_optional(&entries);
        Ok(())
    }

    /// Writes and syncs every required sink, keeping health and counters;
    /// on failure has them discard everything after `start`.
    fn write(&mut self, start: ChainHead, entries: &[Entry]) -> Result<(), SinkError> {
        self.last_attempt = Instant::now();
        let result = self.sinks.write_required(start.seq, entries);
        let took = self.last_attempt.elapsed();
        let shared = &self.shared;
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        shared.write_nanos.fetch_add(nanos, Ordering::Relaxed);
        match &result {
            Ok(()) => {
                self.last_write = took;
                let mut last = start.seq;
                let mut records = 0;
                for entry in entries {
                    if let Entry::Record { record, .. } = entry {
                        last = record.seq;
                        records += 1;
                    }
                }
                shared.batches.fetch_add(1, Ordering::Relaxed);
                shared.records.fetch_add(records, Ordering::Relaxed);
                shared.last_seq.store(last, Ordering::Release);
                if !shared.healthy.swap(true, Ordering::AcqRel) {
                    tracing::info!(seq = last, "audit: log writable");
                }
            }
            Err(err) => {
                shared.failed_batches.fetch_add(1, Ordering::Relaxed);
                if shared.healthy.swap(false, Ordering::AcqRel) {
                    tracing::error!(error = %err, "audit: write failed, refusing requests");
                }
                self.sinks.discard_failed(start.seq);
            }
        }
        result
    }
}
