//! The hash chain in memory: assigns each record its seq, time and `prev`,
//! computes its hash, and can resume from the last persisted record or fall
//! back to an earlier head when a batch is not acknowledged.

use crate::codec::{PreparedEvent, encode_line, replica_json};
use crate::error::AuditError;
use crate::record::{ChainHead, Record};

/// Longest replica id.
pub const MAX_REPLICA_LEN: usize = 128;

/// Checks a replica id: 1 to 128 characters, no control characters.
pub fn validate_replica(replica: &str) -> Result<(), AuditError> {
    if replica.is_empty()
        || replica.len() > MAX_REPLICA_LEN
        || replica.chars().any(char::is_control)
    {
        return Err(AuditError::Config(
            "replica id must be 1-128 characters without control characters".into(),
        ));
    }
    Ok(())
}

/// One replica's chain.
#[derive(Debug, Clone)]
pub struct AuditChain {
    replica: String,
    replica_json: Vec<u8>,
    head: ChainHead,
}

impl AuditChain {
    /// An empty chain (next seq 1, prev all zeros).
    pub fn new(replica: &str) -> Result<Self, AuditError> {
        Self::from_head(replica, ChainHead::default())
    }

    /// The chain continuing after `tail`, the last persisted record (or
    /// empty if `None`). The tail must be this replica's.
    pub fn resume(replica: &str, tail: Option<&Record>) -> Result<Self, AuditError> {
        match tail {
            None => Self::new(replica),
            Some(record) if record.replica == replica => Self::from_head(replica, record.head()),
            Some(record) => Err(AuditError::Config(format!(
                "the log's last record was written by replica {:?}, not {replica:?}; \
                 give each replica its own sink",
                record.replica
            ))),
        }
    }

    /// The chain continuing after `head`.
    pub fn from_head(replica: &str, head: ChainHead) -> Result<Self, AuditError> {
        validate_replica(replica)?;
        Ok(Self {
            replica: replica.to_owned(),
            replica_json: replica_json(replica),
            head,
        })
    }

    /// The replica id.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Where the chain stands.
    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Appends `event` at `time` (raised to the head's time if the clock went
    /// back) and returns the record with its line (no newline).
    pub fn append(&mut self, time: i64, event: PreparedEvent) -> (Record, Vec<u8>) {
        let seq = self.head.seq + 1;
        let time = time.max(self.head.time);
        let prev = self.head.hash;
        let mut line = Vec::new();
        let hash = encode_line(&mut line, seq, time, &self.replica_json, &prev, &event);
        self.head = ChainHead { seq, hash, time };
        let record = Record {
            seq,
            time,
            replica: self.replica.clone(),
            prev,
            event: event.event,
            hash,
        };
        (record, line)
    }

    /// Moves the head back to `head` (after a batch that was not written).
    pub fn reset(&mut self, head: ChainHead) {
        self.head = head;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::line::decode_record;
    use crate::record::{AuditEvent, ControlRecord};

    fn event(n: u32) -> Result<PreparedEvent, AuditError> {
        PreparedEvent::new(AuditEvent::Control(ControlRecord {
            action: format!("test.{n}"),
            outcome: "ok".into(),
            ..Default::default()
        }))
    }

    #[test]
    fn links_and_resumes() -> Result<(), AuditError> {
        let mut chain = AuditChain::new("gw-1")?;
        let (first, line1) = chain.append(10, event(1)?);
        let (second, _) = chain.append(5, event(2)?);
        assert_eq!((first.seq, first.prev), (1, Digest::ZERO));
        assert_eq!((second.seq, second.prev, second.time), (2, first.hash, 10));
        assert_eq!(decode_record(&line1)?, first);
        let mut resumed = AuditChain::resume("gw-1", Some(&second))?;
        let (third, _) = resumed.append(11, event(3)?);
        assert_eq!((third.seq, third.prev), (3, second.hash));
        assert!(AuditChain::resume("gw-2", Some(&second)).is_err());
        assert!(AuditChain::new("").is_err());
        assert!(AuditChain::new("a\nb").is_err());
        Ok(())
    }
}
