//! Signing the tail another replica left: a replica killed between two
//! checkpoints leaves records nobody has signed yet, and if it never comes
//! back under its id (a replaced pod has a new host name) nothing would
//! ever sign them. A live replica that holds that chain's id for a moment
//! (see `modelgate-control`'s chain sealer) opens the chain in the store,
//! checks its tail against the last checkpoint as its own writer would, and
//! signs a checkpoint over it, or reports the fault.

use modelgate_audit::{AuditConfig, AuditError, AuditLog, AuditSink};

use super::{AuditTrail, StoreAuditSink};

/// What sealing another replica's chain came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainSeal {
    /// The tail verified and a checkpoint now covers it (up to `last_seq`).
    Sealed {
        /// The chain's last record.
        last_seq: u64,
    },
    /// The tail does not verify against its last checkpoint: nothing was
    /// signed (the writer appended its `audit.tail_fault` record).
    Faulted(String),
    /// The store could not be written; nothing changed.
    Unavailable,
}

impl AuditTrail {
    /// Checks and signs the tail of `replica`'s chain in the store with
    /// this trail's keys. The caller must hold `replica`'s id (its lease):
    /// a chain has one writer.
    pub async fn seal_chain(
        &self,
        replica: &str,
        lease_holder: &str,
    ) -> Result<ChainSeal, AuditError> {
        let sink = StoreAuditSink::open(&self.store, replica)
            .map_err(|e| AuditError::Config(e.to_string()))?
            .held_by(Some(lease_holder));
        let sinks: Vec<Box<dyn AuditSink>> = vec![Box::new(sink)];
        let mut config = AuditConfig::new(replica);
        config.trusted_keys = self.keys.trusted.clone();
        let log = AuditLog::start(sinks, self.keys.signer.clone(), config).await?;
        let outcome = if let Some(fault) = log.tail_fault() {
            ChainSeal::Faulted(fault)
        } else if !log.healthy() {
            ChainSeal::Unavailable
        } else {
            ChainSeal::Sealed {
                last_seq: log.last_seq(),
            }
        };
        log.close().await;
        Ok(outcome)
    }
}
