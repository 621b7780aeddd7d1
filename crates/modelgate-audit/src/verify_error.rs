//! [`VerifyError`]: the first problem verification finds in a log or an
//! export file, named by line and seq. Its own file so that the crate's
//! error type can wrap it without depending on the verifier.

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// A line is not in the expected format.
    #[error("line {line}: malformed: {reason}")]
    Malformed {
        /// Line number, from 1.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A record's contents do not match its hash: it was modified.
    #[error("record {seq} (line {line}) was modified: its contents do not match its hash")]
    HashMismatch {
        /// Seq as written.
        seq: u64,
        /// Line number.
        line: u64,
    },
    /// A body does not match its commitment: it was modified.
    #[error("record {seq} (line {line}): its {body} was modified (does not match its commitment)")]
    BodyMismatch {
        /// Seq.
        seq: u64,
        /// Line number.
        line: u64,
        /// `prompt` or `response`.
        body: String,
    },
    /// A record's `prev` is not the hash of the record before it, or a
    /// checkpoint does not follow the record it covers: records were
    /// deleted, inserted or reordered here. `seq` is the first record out of
    /// place (for a checkpoint line: the first one missing or extra).
    #[error(
        "record {seq} (line {line}) does not follow the record before it: \
         records deleted, inserted or reordered"
    )]
    BrokenLink {
        /// Seq of the record that does not link.
        seq: u64,
        /// Line number.
        line: u64,
    },
    /// Links hold but the seq skips (a writer fault).
    #[error("record {seq} (line {line}): expected seq {expected}")]
    SeqGap {
        /// Seq found.
        seq: u64,
        /// Seq expected.
        expected: u64,
        /// Line number.
        line: u64,
    },
    /// A checkpoint's signature is not from a trusted key.
    #[error(
        "checkpoint over record {seq} (line {line}) is not signed by a trusted key (key id {key_id})"
    )]
    BadCheckpointSignature {
        /// Seq the checkpoint claims to cover.
        seq: u64,
        /// Line number.
        line: u64,
        /// Key id it names.
        key_id: String,
    },
    /// A validly signed checkpoint disagrees with the records before it:
    /// the records after the previous signature were rewritten.
    #[error(
        "checkpoint over record {seq} (line {line}) does not match the chain: \
         records from seq {from} on were rewritten"
    )]
    CheckpointMismatch {
        /// Seq the checkpoint covers.
        seq: u64,
        /// Line number.
        line: u64,
        /// First record not covered by an earlier signature.
        from: u64,
    },
    /// The file ends without a signature over its last records: it was
    /// truncated (or never sealed).
    #[error(
        "no signature covers the end of the file: truncated after record {last_seq}; \
         {unverified} record(s) from seq {from} on are unproven"
    )]
    TailNotCheckpointed {
        /// Last record in the file.
        last_seq: u64,
        /// First record not covered by a signature.
        from: u64,
        /// How many records are not covered.
        unverified: u64,
    },
    /// The export seal is invalid or does not match the file.
    #[error("export seal (line {line}): {reason}")]
    BadSeal {
        /// Line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The file could not be read.
    #[error("reading the audit file: {0}")]
    Io(String),
}
