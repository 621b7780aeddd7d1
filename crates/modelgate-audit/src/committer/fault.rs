//! The writer's side of a tail fault (see `tail_fault`): entering the
//! faulted state and recording it, and a sink that cannot be read back.

use std::sync::atomic::Ordering;

use modelgate_types::clock::now_ms;

use super::{Committer, Reply};
use crate::error::{AuditError, SinkError};
use crate::fanout::TailCheck;
use crate::record::{ChainHead, Receipt};
use crate::sink::Entry;

impl Committer {
    /// The stored tails could not be vouched for before the checkpoint the
    /// batch after `start` was to carry: nothing of it is written, its
    /// appends fail, and the fault (or the read failure) is taken on.
    pub(super) fn refuse_batch(
        &mut self,
        start: ChainHead,
        replies: Vec<(Reply, Receipt)>,
        check: TailCheck,
    ) {
        if let Some(chain) = self.chain.as_mut() {
            chain.reset(start);
        }
        // Take the fault on before answering: a caller told its append
        // failed must already see why (`tail_fault`, `/readyz`).
        let refused = match check {
            TailCheck::Unavailable(err) => {
                self.read_failed(&err);
                err.to_string()
            }
            TailCheck::Fault { sink, fault } => {
                self.enter_fault(&sink, &fault.to_string());
                crate::tail_fault::REFUSAL.to_owned()
            }
        };
        for (reply, _) in replies {
            let _ = reply.send(Err(AuditError::Unavailable(refused.clone())));
        }
    }

    /// A stored tail does not verify: sign nothing from now on, refuse
    /// appends, say so (log, `/readyz`, counter) and record the fault after
    /// the tail if the chain can be written (never under a checkpoint).
    pub(super) fn enter_fault(&mut self, sink: &str, fault: &str) {
        self.faulted = true;
        let reason = crate::tail_fault::reason(sink, fault);
        self.shared.tail_faults.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slot) = self.shared.tail_fault.lock() {
            *slot = Some(reason.clone());
        }
        tracing::error!(
            replica = %self.config.replica,
            reason = %reason,
            "audit: the log was changed after its last checkpoint; signing nothing, refusing requests"
        );
        let event = crate::tail_fault::event(&self.config.replica, sink, fault);
        let (start, entries) = match (self.chain.as_mut(), event) {
            (Some(chain), Ok(event)) => {
                let start = chain.head();
                let (record, line) = chain.append(now_ms(), event);
                (start, [Entry::Record { record, line }])
            }
            _ => {
                tracing::error!("audit: the tail fault cannot be recorded in the log itself");
                return;
            }
        };
        match self.write(start, &entries) {
            Ok(()) => {
                self.since_checkpoint += 1;
                self.sinks.write_optional(&entries);
            }
            Err(err) => {
                if let Some(chain) = self.chain.as_mut() {
                    chain.reset(start);
                }
                tracing::error!(error = %err, "audit: the tail fault could not be recorded in the log");
            }
        }
    }

    /// A sink could not be read back before a signature: like a failed
    /// write, the log is unhealthy until a probe succeeds.
    pub(super) fn read_failed(&mut self, err: &SinkError) {
        self.shared.failed_batches.fetch_add(1, Ordering::Relaxed);
        if self.shared.healthy.swap(false, Ordering::AcqRel) {
            tracing::error!(error = %err, "audit: cannot read the log back, refusing requests");
        }
    }
}
