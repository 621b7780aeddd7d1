//! A replica's id: the name of its audit chain and of its lease in the
//! store. Unique among live replicas (the store refuses a second holder),
//! so the default is the host's name, never a constant: replicas on
//! different hosts left on the default do not collide.

use std::time::Duration;

/// The chain the CLI's own changes are recorded in; no replica may take it.
pub const CLI_REPLICA: &str = "cli";

/// Longest replica id (the store's column allows 64 characters).
pub const MAX_REPLICA_ID: usize = 64;

/// The default lease: a replica that stops renewing (killed, cut off from
/// the store) frees its id after this long.
pub const DEFAULT_REPLICA_LEASE: Duration = Duration::from_secs(15);

/// Why `id` cannot be a replica id, if it cannot.
pub fn check_replica_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_REPLICA_ID {
        return Err(format!("must be 1 to {MAX_REPLICA_ID} characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("may hold only letters, digits, '-', '_' and '.'".to_owned());
    }
    if id == CLI_REPLICA {
        return Err("\"cli\" is the CLI's own audit chain".to_owned());
    }
    Ok(())
}

/// The id of a replica whose configuration names none: this host's name
/// (`HOSTNAME`, else the kernel's), made a valid id; `local` when there is
/// none.
pub fn default_replica_id() -> String {
    replica_id_from_host(&host_name())
}

/// This host's name, trimmed: `HOSTNAME`, else the kernel's, else
/// `/etc/hostname`; empty when there is none. The default replica id is
/// made from it, and a replica's claim on its id records it.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// `host` as a replica id: characters outside the allowed set become '-',
/// cut to [`MAX_REPLICA_ID`]; `local` if nothing is left or it is the CLI's.
fn replica_id_from_host(host: &str) -> String {
    let id: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_REPLICA_ID)
        .collect();
    if check_replica_id(&id).is_ok() {
        id
    } else {
        "local".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_becomes_a_valid_id() {
        assert_eq!(
            replica_id_from_host("gw-7.prod.internal\n"),
            "gw-7.prod.internal"
        );
        assert_eq!(replica_id_from_host("my host/1"), "my-host-1");
        assert_eq!(replica_id_from_host(""), "local");
        assert_eq!(replica_id_from_host("cli"), "local");
        assert_eq!(replica_id_from_host(&"h".repeat(300)).len(), MAX_REPLICA_ID);
        assert!(check_replica_id(&default_replica_id()).is_ok());
    }

    #[test]
    fn ids_are_checked() {
        assert!(check_replica_id("gateway").is_ok());
        assert!(check_replica_id("eu-1_a.b").is_ok());
        for bad in ["", "cli", "a b", "a/b", "é"] {
            assert!(check_replica_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_replica_id(&"x".repeat(65)).is_err());
    }
}
