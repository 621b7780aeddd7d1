//! The open-file limit: at start the gateway raises its soft
//! `RLIMIT_NOFILE` to the hard limit (every caller connection, upstream
//! connection and store file is a descriptor; the default soft limit of
//! 1,024 is reached by a modest burst) and logs both.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_limit_ends_at_the_hard_limit() {
        raise_open_files_limit();
        let limit = getrlimit(Resource::Nofile);
        assert_eq!(limit.current, limit.maximum);
    }
}
