//! The one clock: wall-clock time as the store, the audit log, tokens and
//! records write it. A clock before 1970 reads as 0, never a panic.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_agree() {
        let s = unix_now();
        let ms = now_ms();
        assert!(s > 1_600_000_000, "{s}");
        assert!((ms / 1000 - s).abs() <= 1, "{ms} vs {s}");
    }
}
