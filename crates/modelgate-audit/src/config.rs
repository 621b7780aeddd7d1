//! [`AuditConfig`]: the settings of an [`AuditLog`](crate::AuditLog),
//! read by the handle that starts it and by the writer thread.

use std::time::Duration;

use crate::checkpoint::AuditPublicKey;

/// Settings of an [`AuditLog`].
///
/// [`AuditLog`]: crate::AuditLog
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// This replica's id; each replica keeps its own chain.
    pub replica: String,
    /// Sign a checkpoint at least every this many records.
    pub checkpoint_every: u64,
    /// ... and at least this often while records come in.
    pub checkpoint_interval: Duration,
    /// Appends queued at most; further appends wait (within
    /// `append_timeout`).
    pub queue_capacity: usize,
    /// Records written in one batch at most.
    pub max_batch: usize,
    /// An append not durable within this time fails with
    /// [`AuditError::Unavailable`].
    ///
    /// [`AuditError::Unavailable`]: crate::AuditError::Unavailable
    pub append_timeout: Duration,
    /// How often a failed log probes its sinks to recover.
    pub retry_interval: Duration,
    /// Longest a batch waits for appends already under way (started but not
    /// yet queued) to join it, capped by the last write's duration. Only
    /// applies when such appends exist, so a lone append never waits.
    pub commit_delay: Duration,
    /// How long a batch holding only lazy appends ([`AuditLog::append_lazy`])
    /// waits for an urgent one to join it, so that a record nobody waits
    /// on does not cost a write of its own ahead of one somebody does.
    ///
    /// [`AuditLog::append_lazy`]: crate::AuditLog::append_lazy
    pub lazy_delay: Duration,
    /// Earlier checkpoint keys whose checkpoints still count when the
    /// writer verifies the unsigned tail before it signs (the signer's own
    /// key always does). Only keys bound to a sealed private key belong
    /// here, never a key read from a plain column.
    pub trusted_keys: Vec<AuditPublicKey>,
}

impl AuditConfig {
    /// Defaults: checkpoint every 1,000 records or 10 s, queue 16,384,
    /// batches of up to 4,096, 5 s append timeout, retry every 500 ms,
    /// commit delay up to 250 µs.
    pub fn new(replica: impl Into<String>) -> Self {
        Self {
            replica: replica.into(),
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(10),
            queue_capacity: 16_384,
            max_batch: 4096,
            append_timeout: Duration::from_secs(5),
            retry_interval: Duration::from_millis(500),
            commit_delay: Duration::from_micros(250),
            lazy_delay: Duration::from_millis(5),
            trusted_keys: Vec::new(),
        }
    }
}
