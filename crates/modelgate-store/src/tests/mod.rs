//! Tests of the store against temporary SQLite files.

mod audit_appender;
mod grants;
mod issued_tokens;
mod lifecycle;
mod migrations;
mod queries;
mod reviews;
mod sealed;
mod signing_keys;

use std::path::{Path, PathBuf};

use crate::{ApiKeyRecord, Backend, IdentityRecord, Store};

/// A temporary directory and a database path inside it.
pub(super) fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modelgate.db");
    (dir, path)
}

pub(super) async fn open(path: &Path) -> Store {
    Store::open_sqlite(path).await.unwrap()
}

pub(super) async fn raw(store: &Store, sql: &str) {
    match &store.backend {
        Backend::Sqlite(b) => b.execute_raw(sql).await.unwrap(),
    }
}

pub(super) fn identity(id: &str, name: &str) -> IdentityRecord {
    IdentityRecord {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: "service".to_owned(),
        owner: "team-platform".to_owned(),
        environment: "prod".to_owned(),
        purpose: "testing".to_owned(),
        status: "active".to_owned(),
        created_at: 1_000,
        last_used_at: None,
    }
}

pub(super) fn api_key(id: &str, identity_id: &str, hash_byte: u8) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        identity_id: identity_id.to_owned(),
        label: Some("ci".to_owned()),
        hint: "mgk_…abcd".to_owned(),
        key_hash: [hash_byte; 32],
        created_at: 1_000,
        expires_at: 2_000,
        revoked_at: None,
        last_used_at: None,
        replaced_by: None,
    }
}
