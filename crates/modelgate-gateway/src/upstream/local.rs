//! Local faults met while reaching an upstream: running out of file
//! descriptors (EMFILE, ENFILE) on a connect says nothing about the
//! upstream, so it is told apart from a connect failure, never counts
//! against the upstream's breaker, and is logged at most once a second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// EMFILE: this process is out of file descriptors.
const EMFILE: i32 = 24;
/// ENFILE: the system is out of file descriptors.
const ENFILE: i32 = 23;

/// Whether `error`, or any error in its `source()` chain, is an I/O error
/// saying the process or the system ran out of file descriptors.
pub fn is_out_of_descriptors(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && matches!(io.raw_os_error(), Some(EMFILE | ENFILE))
        {
            return true;
        }
        next = current.source();
    }
    false
}

/// The second (since the epoch) of the last log line, 0 before the first.
static LAST_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Logs, at error level and at most once a second, that an upstream
/// connect failed because the gateway is out of file descriptors.
pub fn log_out_of_descriptors() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST_LOGGED.load(Ordering::Relaxed);
    if now > last
        && LAST_LOGGED
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::error!(
            "the gateway is out of file descriptors: upstream connections cannot be opened \
             (a local fault, not counted against any upstream); raise the open-file limit \
             or reduce concurrent connections"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose source is `inner`, as hyper's client errors wrap the
    /// connector's I/O error.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn out_of_descriptors_is_found_in_the_source_chain() {
        let emfile = Wrapped(std::io::Error::from_raw_os_error(EMFILE));
        assert!(is_out_of_descriptors(&emfile));
        let enfile = Wrapped(std::io::Error::from_raw_os_error(ENFILE));
        assert!(is_out_of_descriptors(&enfile));
        let direct = std::io::Error::from_raw_os_error(EMFILE);
        assert!(is_out_of_descriptors(&direct));
    }

    #[test]
    fn other_connect_errors_are_not_out_of_descriptors() {
        // ECONNREFUSED (111 on Linux): the upstream's fault.
        let refused = Wrapped(std::io::Error::from_raw_os_error(111));
        assert!(!is_out_of_descriptors(&refused));
        let plain = Wrapped(std::io::Error::other("connection reset"));
        assert!(!is_out_of_descriptors(&plain));
    }
}
