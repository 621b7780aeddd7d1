//! What the [`AuditLog`](crate::AuditLog) handles and the writer thread
//! (`committer`) hand each other: the counters they share, and the
//! messages the handles send (appends waiting to be written, close).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};

use tokio::sync::{OwnedSemaphorePermit, oneshot};

use crate::codec::PreparedEvent;
use crate::error::AuditError;
use crate::record::Receipt;

/// State shared by the handles and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Whether the last write reached every required sink.
    pub healthy: AtomicBool,
    /// Seq of the last durable record.
    pub last_seq: AtomicU64,
    /// Batches made durable.
    pub batches: AtomicU64,
    /// Records made durable.
    pub records: AtomicU64,
    /// Batches that failed.
    pub failed_batches: AtomicU64,
    /// Time spent writing and syncing required sinks, ns.
    pub write_nanos: AtomicU64,
    /// Appends between their start and their return to the caller.
    pub in_flight: AtomicU64,
    /// Why the stored chain's unsigned tail did not verify, once it did
    /// not: the writer then signs nothing and refuses appends.
    pub tail_fault: Mutex<Option<String>>,
    /// Tail faults found.
    pub tail_faults: AtomicU64,
}

/// An append waiting for the writer.
pub(crate) struct Pending {
    pub event: PreparedEvent,
    /// May wait up to `lazy_delay` for an urgent append to share its batch.
    pub lazy: bool,
    pub reply: oneshot::Sender<Result<Receipt, AuditError>>,
    pub _permit: OwnedSemaphorePermit,
}

/// What the handles send the writer thread.
#[expect(
    clippy::large_enum_variant,
    reason = "appends dominate; close is sent once"
)]
pub(crate) enum Msg {
    Append(Pending),
    Close(oneshot::Sender<()>),
}
