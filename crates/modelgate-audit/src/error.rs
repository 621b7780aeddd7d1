//! Errors of the audit log. None of them carries a body, a credential or a
//! key: only seqs, sink names and I/O causes.

/// Why a sink could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// An I/O error in the named sink.
    #[error("audit sink {sink}: {error}")]
    Io {
        /// Sink name.
        sink: String,
        /// Cause (in the message, so not also the `source()`).
        error: std::io::Error,
    },
    /// The sink's contents are not what the chain expects.
    #[error("audit sink {sink}: {reason}")]
    Corrupt {
        /// Sink name.
        sink: String,
        /// What is wrong.
        reason: String,
    },
    /// Any other failure (a store sink's database error, ...).
    #[error("audit sink {sink}: {reason}")]
    Other {
        /// Sink name.
        sink: String,
        /// What failed.
        reason: String,
    },
}

impl SinkError {
    /// An I/O error in `sink`.
    pub fn io(sink: &str, source: std::io::Error) -> Self {
        SinkError::Io {
            sink: sink.to_owned(),
            error: source,
        }
    }

    /// Contents of `sink` that do not fit the chain.
    pub fn corrupt(sink: &str, reason: impl Into<String>) -> Self {
        SinkError::Corrupt {
            sink: sink.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Errors of the audit log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The record could not be made durable: do not forward the request
    /// (HTTP 503). The log retries in the background.
    #[error("audit log unavailable: {0}")]
    Unavailable(String),
    /// The log was closed.
    #[error("audit log closed")]
    Closed,
    /// A sink failed (at start-up, or in a tool).
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// Bad configuration (replica id, sinks, keys).
    #[error("audit configuration: {0}")]
    Config(String),
    /// A key could not be parsed or used.
    #[error("audit key: {0}")]
    Key(String),
    /// An event could not be serialized.
    #[error("audit encode: {0}")]
    Encode(String),
    /// A line could not be parsed.
    #[error("audit decode: {0}")]
    Decode(String),
    /// I/O outside a sink (export, prune).
    #[error("audit i/o: {0}")]
    Io(std::io::Error),
    /// The source being exported does not verify.
    #[error("audit source does not verify: {0}")]
    Verify(crate::verify_error::VerifyError),
}

// `From<LineFault> for AuditError` lives in `line`, next to the fault, so
// that these errors do not depend on the line checker.

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<std::io::Error> for AuditError {
    fn from(e: std::io::Error) -> Self {
        AuditError::Io(e)
    }
}

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<crate::verify_error::VerifyError> for AuditError {
    fn from(e: crate::verify_error::VerifyError) -> Self {
        AuditError::Verify(e)
    }
}
