//! The open-file limit: at start the gateway raises its soft
//! `RLIMIT_NOFILE` to the hard limit (every caller connection, upstream
//! connection and store file is a descriptor; the default soft limit of
//! 1,024 is reached by a modest burst) and logs both. The file-size limit:
//! every command handles SIGXFSZ, so a write past `RLIMIT_FSIZE` fails
//! with an error the command reports instead of killing the process.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Raises the soft open-file limit to the hard limit and logs one info
/// line with both. A failure to raise is logged, never fatal.
pub fn raise_open_files_limit() {
    let limit = getrlimit(Resource::Nofile);
    let show = |value: Option<u64>| value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string());
    let (soft, hard) = (limit.current, limit.maximum);
    if soft == hard {
        tracing::info!(
            "open files: soft limit {} (hard {})",
            show(soft),
            show(hard)
        );
        return;
    }
    let raised = Rlimit {
        current: hard,
        maximum: hard,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => tracing::info!(
            "open files: soft limit raised from {} to {}",
            show(soft),
            show(hard)
        ),
        Err(error) => tracing::warn!(
            %error,
            "open files: soft limit {} (hard {}); cannot raise it",
            show(soft),
            show(hard)
        ),
    }
}

/// A write past the process's file-size limit must fail that write (the
/// audit log then fails closed and recovers; a command reports the error),
/// not kill the process: handling SIGXFSZ replaces its default action
/// (terminate). Called first, inside the runtime, before any store opens;
/// tokio never unregisters a handler, so it holds for the process's life.
pub fn ignore_file_size_signal() -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(target_os = "linux")]
    {
        const SIGXFSZ: i32 = 25;
        let kind = tokio::signal::unix::SignalKind::from_raw(SIGXFSZ);
        match tokio::signal::unix::signal(kind) {
            Ok(mut signal) => Some(tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    tracing::warn!("file size limit reached (SIGXFSZ); the write fails");
                }
            })),
            Err(_) => None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// A line to print after a failed command whose error looks like a failed
/// write (`disk I/O error`, `disk is full`, `File too large`) while the
/// process runs under a file-size limit: SQLite reports such a write as a
/// bare I/O error, so the limit is named here. An I/O error on a network
/// connection (a PostgreSQL store's) is no file write: no hint.
pub fn file_size_hint(error: &str) -> Option<String> {
    let lower = error.to_ascii_lowercase();
    let network = [
        "connection",
        "broken pipe",
        "timed out",
        "network",
        "unreachable",
        "address",
    ]
    .iter()
    .any(|needle| lower.contains(needle));
    let write_failed = ["disk i/o error", "disk is full", "file too large"]
        .iter()
        .any(|needle| lower.contains(needle))
        || (lower.contains("i/o error") && !network);
    let limit = getrlimit(Resource::Fsize).current?;
    write_failed.then(|| {
        format!(
            "note: this process may not grow a file past {limit} bytes (RLIMIT_FSIZE, `ulimit -f`); a write past it fails"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_size_hint_only_for_a_failed_write() {
        // Under the test process's own limit (normally none): a hint only
        // when there is a limit, and never for an unrelated error.
        assert_eq!(file_size_hint("unknown identity `x`"), None);
        let limited = getrlimit(Resource::Fsize).current.is_some();
        assert_eq!(file_size_hint("disk I/O error").is_some(), limited);
        assert_eq!(
            file_size_hint("store backend error during ping: I/O error: connection reset"),
            None
        );
    }

    #[test]
    fn soft_limit_ends_at_the_hard_limit() {
        raise_open_files_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
