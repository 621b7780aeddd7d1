//! Small helpers shared by the dialect modules.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parse a JSON request body, returning a client-facing message on error.
/// A key repeated in an object takes its last value, as most upstreams
/// (Python's `json`, JavaScript's `JSON.parse`) read it.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON body: {e}"))?;
    serde_json::from_value(value).map_err(|e| format!("Invalid JSON body: {e}"))
}
