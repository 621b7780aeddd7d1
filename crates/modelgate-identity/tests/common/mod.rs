//! Shared setup: a service over a fresh SQLite file.

// Test support: failing setup should abort the test loudly.
#![allow(clippy::unwrap_used)]

use modelgate_identity::{IdentityKind, IdentityService, KeyPolicy, NewIdentity};
use modelgate_store::Store;

/// The test clock.
pub const NOW: i64 = 1_700_000_000;
/// Seconds in a day.
pub const DAY: u64 = 86_400;

/// A service with the default policy over a fresh store in a temp dir.
pub async fn service() -> (tempfile::TempDir, IdentityService) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("id.db")).await.unwrap();
    (dir, IdentityService::new(store, KeyPolicy::default()))
}

/// Valid input for an identity called `name`.
pub fn new_identity(name: &str) -> NewIdentity {
    NewIdentity {
        name: name.to_owned(),
        kind: IdentityKind::Service,
        owner: "team-payments".to_owned(),
        environment: "prod".to_owned(),
        purpose: "invoice summaries".to_owned(),
    }
}
