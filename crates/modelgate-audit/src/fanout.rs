//! The writer's sinks: loading and reconciling their tails at start, writing
//! a batch to every required sink then syncing each once, having them
//! discard a batch that failed, and passing committed batches on to the
//! sinks that are not required (best effort).

use crate::checkpoint::AuditPublicKey;
use crate::error::{AuditError, SinkError};
use crate::record::{ChainHead, Record};
use crate::sink::{AuditSink, Entry};
use crate::tail::{TailFault, verify_tail};

/// Why the unsigned tails could not be vouched for.
#[derive(Debug)]
pub(crate) enum TailCheck {
    /// A sink could not be read: try again later.
    Unavailable(SinkError),
    /// A sink's tail does not verify: never sign over it.
    Fault {
        /// Which sink.
        sink: String,
        /// What is wrong.
        fault: TailFault,
    },
}

struct Slot {
    sink: Box<dyn AuditSink>,
    /// A batch failed since the last successful discard.
    needs_discard: bool,
    /// The last write to this (optional) sink failed.
    failing: bool,
}

/// All sinks of a log.
pub(crate) struct SinkSet {
    slots: Vec<Slot>,
}

fn unavailable(err: &SinkError) -> AuditError {
    AuditError::Unavailable(err.to_string())
}

fn different_chains(seq: u64, sink: &str) -> AuditError {
    AuditError::Config(format!(
        "audit sinks hold different chains (record {seq} differs in {sink})"
    ))
}

impl SinkSet {
    pub(crate) fn new(sinks: Vec<Box<dyn AuditSink>>) -> Self {
        let slots = sinks
            .into_iter()
            .map(|sink| Slot {
                sink,
                needs_discard: false,
                failing: false,
            })
            .collect();
        Self { slots }
    }

    fn required(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.slots.iter_mut().filter(|s| s.sink.required())
    }

    /// The last durable record, from the required sinks' tails. Sinks that
    /// got further than the others hold records never acknowledged (a crash
    /// between sinks): they are cut back, if by no more than one batch.
    pub(crate) fn resume_point(&mut self, max_batch: u64) -> Result<Option<Record>, AuditError> {
        let mut tails = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.sink.required()
                && let Some(tail) = slot.sink.load_tail().map_err(|e| unavailable(&e))?
            {
                tails.push((i, tail));
            }
        }
        let Some(low) = tails.iter().map(|(_, t)| t).min_by_key(|t| t.seq).cloned() else {
            return Ok(None);
        };
        for (i, tail) in &tails {
            let slot = &mut self.slots[*i];
            let name = slot.sink.name().to_owned();
            if tail.seq == low.seq {
                if tail.hash != low.hash {
                    return Err(different_chains(low.seq, &name));
                }
                continue;
            }
            if tail.seq - low.seq > max_batch {
                return Err(AuditError::Config(format!(
                    "audit sink {name} is {} records ahead of another required sink; \
                     more than one batch, so not an interrupted write",
                    tail.seq - low.seq
                )));
            }
            slot.sink
                .discard_after(low.seq)
                .map_err(|e| unavailable(&e))?;
            let now = slot.sink.load_tail().map_err(|e| unavailable(&e))?;
            if now.as_ref().map(|t| t.hash) != Some(low.hash) {
                return Err(different_chains(low.seq, &name));
            }
        }
        Ok(Some(low))
    }

    /// Verifies each required sink's unsigned tail against its last
    /// checkpoint (signed by one of `keys`) and, if given, the writer's
    /// head `expected`. Sinks holding part of a failed batch discard it
    /// first.
    pub(crate) fn check_tails(
        &mut self,
        keys: &[AuditPublicKey],
        expected: Option<ChainHead>,
    ) -> Result<(), TailCheck> {
        for slot in self.required() {
            if let (true, Some(head)) = (slot.needs_discard, expected) {
                slot.sink
                    .discard_after(head.seq)
                    .map_err(TailCheck::Unavailable)?;
                slot.needs_discard = false;
            }
            let Some(lines) = slot
                .sink
                .load_unsigned_tail()
                .map_err(TailCheck::Unavailable)?
            else {
                continue;
            };
            verify_tail(&lines, keys, expected).map_err(|fault| TailCheck::Fault {
                sink: slot.sink.name().to_owned(),
                fault,
            })?;
        }
        Ok(())
    }

    /// The cheap check between full ones (see `Committer::check_before_signing`):
    /// each required sink's last stored record is still the writer's head
    /// `expected`, so nothing was appended after it, deleted from the end
    /// or put in its place. A sink that cannot read its tail back is left
    /// to the full check, as there.
    pub(crate) fn check_heads(&mut self, expected: ChainHead) -> Result<(), TailCheck> {
        for slot in self.required() {
            if slot.needs_discard {
                slot.sink
                    .discard_after(expected.seq)
                    .map_err(TailCheck::Unavailable)?;
                slot.needs_discard = false;
            }
            let stored = match slot.sink.load_tail() {
                Ok(Some(stored)) => stored,
                Ok(None) => continue,
                Err(SinkError::Corrupt { reason, .. }) => {
                    return Err(TailCheck::Fault {
                        sink: slot.sink.name().to_owned(),
                        fault: TailFault::Corrupt(reason),
                    });
                }
                Err(err) => return Err(TailCheck::Unavailable(err)),
            };
            if stored.seq != expected.seq || stored.hash != expected.hash {
                return Err(TailCheck::Fault {
                    sink: slot.sink.name().to_owned(),
                    fault: TailFault::HeadMismatch {
                        stored: stored.seq,
                        expected: expected.seq,
                    },
                });
            }
        }
        Ok(())
    }

    /// Writes `entries` to every required sink, then syncs each. Sinks that
    /// still hold part of a failed batch discard everything after `start`
    /// first.
    pub(crate) fn write_required(
        &mut self,
        start: u64,
        entries: &[Entry],
    ) -> Result<(), SinkError> {
        for slot in self.required() {
            if slot.needs_discard {
                slot.sink.discard_after(start)?;
                slot.needs_discard = false;
            }
        }
        for slot in self.required() {
            slot.sink.write_batch(entries)?;
        }
        for slot in self.required() {
            slot.sink.sync()?;
        }
        Ok(())
    }

    /// After a failed batch: every required sink must drop what it got of
    /// it; try now, and again before the next write.
    pub(crate) fn discard_failed(&mut self, start: u64) {
        for slot in self.required() {
            slot.needs_discard = slot.sink.discard_after(start).is_err();
        }
    }

    /// Best effort: sinks that are not required get what was committed.
    pub(crate) fn write_optional(&mut self, entries: &[Entry]) {
        for slot in self.slots.iter_mut().filter(|s| !s.sink.required()) {
            let result = slot
                .sink
                .write_batch(entries)
                .and_then(|()| slot.sink.sync());
            match result {
                Ok(()) if slot.failing => {
                    slot.failing = false;
                    tracing::info!(sink = slot.sink.name(), "audit: optional sink recovered");
                }
                Ok(()) => {}
                Err(err) if !slot.failing => {
                    slot.failing = true;
                    tracing::warn!(error = %err, "audit: optional sink failed, skipping it");
                }
                Err(_) => {}
            }
        }
    }
}
