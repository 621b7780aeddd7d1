//! The error a mock response body yields when a fault aborts the
//! connection mid-body.

/// Error yielded by a response body when a fault aborts the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InjectedReset;

impl std::fmt::Display for InjectedReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("modelgate-mock: injected connection reset")
    }
}

impl std::error::Error for InjectedReset {}
