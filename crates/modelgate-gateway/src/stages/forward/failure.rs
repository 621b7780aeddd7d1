//! Why one attempt at one upstream failed: the metric and audit label,
//! whether it counts against the upstream's breaker, and what the caller
//! is told when it was the last failure.

use std::time::Duration;

use crate::api_error::{ApiError, ErrorKind};
use crate::upstream::tls_failure::TlsFailure;

/// Why one attempt at one upstream failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The breaker is open; retry after this long.
    CircuitOpen(Duration),
    /// The connection could not be made.
    Connect,
    /// The gateway ran out of file descriptors (EMFILE, ENFILE) opening the
    /// connection: a local fault, neutral for the upstream's breaker.
    LocalDescriptors,
    /// The TLS handshake failed: the upstream's certificate was not
    /// trusted, or it refused the gateway's client certificate. Counts
    /// against the upstream's breaker like a failed connect.
    Tls(TlsFailure),
    /// No response headers within the first-byte timeout.
    Timeout,
    /// The body stalled past the idle timeout.
    IdleTimeout,
    /// The connection broke while reading.
    Reset,
    /// 429 from the upstream, with its `retry-after` in seconds.
    RateLimited(u64),
    /// A 5xx from the upstream.
    ServerError(u16),
    /// 401 or 403: the gateway's own upstream credential was refused.
    CredentialRefused,
    /// A non-streamed body over the configured limit.
    TooLarge,
    /// The request could not be built.
    Request,
    /// A successful response that could not be read or translated.
    Malformed,
}

impl Failure {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Failure::CircuitOpen(_) => "circuit_open",
            Failure::Connect => "connect",
            Failure::LocalDescriptors => "local_descriptors",
            Failure::Tls(_) => "tls",
            Failure::Timeout => "timeout",
            Failure::IdleTimeout => "idle_timeout",
            Failure::Reset => "reset",
            Failure::RateLimited(_) => "status_429",
            Failure::ServerError(_) => "status_5xx",
            Failure::CredentialRefused => "credential_refused",
            Failure::TooLarge => "too_large",
            Failure::Request => "request",
            Failure::Malformed => "malformed",
        }
    }

    /// Whether this failure counts against the upstream's health. A 429, a
    /// request that could not be built and the gateway running out of file
    /// descriptors say nothing about it: neutral.
    pub(super) fn trips_breaker(self) -> bool {
        !matches!(
            self,
            Failure::CircuitOpen(_)
                | Failure::RateLimited(_)
                | Failure::Request
                | Failure::LocalDescriptors
        )
    }

    /// What the caller sees when this was the last failure.
    pub fn into_api_error(self) -> ApiError {
        match self {
            Failure::CircuitOpen(wait) => ApiError::new(
                ErrorKind::Unavailable,
                "no upstream for this model is available right now",
            )
            .with_retry_after(wait.as_secs().max(1)),
            Failure::LocalDescriptors => ApiError::new(
                ErrorKind::Unavailable,
                "the gateway is out of file descriptors; retry shortly",
            )
            .with_retry_after(1),
            Failure::Timeout | Failure::IdleTimeout => ApiError::new(
                ErrorKind::UpstreamTimeout,
                "the upstream did not respond in time",
            ),
            Failure::RateLimited(seconds) => ApiError::new(
                ErrorKind::RateLimited,
                "the upstream is rate limiting requests",
            )
            .with_retry_after(seconds),
            Failure::Tls(tls) => ApiError::new(
                ErrorKind::Upstream,
                format!("the upstream could not be reached: {}", tls.reason()),
            ),
            Failure::Connect
            | Failure::Reset
            | Failure::ServerError(_)
            | Failure::CredentialRefused
            | Failure::TooLarge
            | Failure::Request
            | Failure::Malformed => {
                ApiError::new(ErrorKind::Upstream, "the upstream failed to answer")
            }
        }
    }

    /// What the caller sees when this was the last failure, at `upstream`:
    /// a TLS failure names the upstream (its configuration needs fixing),
    /// every other failure reads as [`Failure::into_api_error`].
    pub fn into_api_error_at(self, upstream: &str) -> ApiError {
        match self {
            Failure::Tls(tls) => ApiError::new(
                ErrorKind::Upstream,
                format!("upstream '{upstream}': {}", tls.reason()),
            ),
            other => other.into_api_error(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_statuses() {
        assert_eq!(Failure::Timeout.into_api_error().kind.status(), 504);
        assert_eq!(
            Failure::RateLimited(3).into_api_error().retry_after,
            Some(3)
        );
        assert_eq!(
            Failure::ServerError(500).into_api_error().kind.status(),
            502
        );
        assert_eq!(
            Failure::CircuitOpen(Duration::from_millis(10))
                .into_api_error()
                .retry_after,
            Some(1)
        );
        assert!(!Failure::RateLimited(1).trips_breaker());
        assert!(Failure::Connect.trips_breaker());
    }

    #[test]
    fn a_tls_failure_names_the_upstream_and_trips_its_breaker() {
        let failure = Failure::Tls(TlsFailure::Untrusted);
        assert_eq!(failure.label(), "tls");
        assert!(failure.trips_breaker());
        let error = failure.into_api_error_at("private");
        assert_eq!(error.kind.status(), 502);
        assert_eq!(
            error.message,
            "upstream 'private': TLS certificate not trusted"
        );
        let other = Failure::Connect.into_api_error_at("private");
        assert!(!other.message.contains("private"));
    }

    #[test]
    fn running_out_of_descriptors_is_a_neutral_local_503() {
        assert!(!Failure::LocalDescriptors.trips_breaker());
        let error = Failure::LocalDescriptors.into_api_error();
        assert_eq!(error.kind.status(), 503);
        assert_eq!(error.retry_after, Some(1));
        assert!(error.message.contains("out of file descriptors"));
        assert!(!error.message.contains("upstream"));
    }
}
