//! The audit log's persistence on the [`Store`]: entry lines of each
//! replica's chain (the store sink), search over them, body pruning, and the
//! sealed audit keys.
//!
//! The store does not interpret a line: the audit crate writes and verifies
//! them; the search columns beside each line are copies it supplies.

use crate::{Store, StoreError};

/// One line of an audit chain, with the columns search uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEntryRow {
    /// Replica whose chain this is.
    pub replica: String,
    /// Seq of the record (or the record a checkpoint covers).
    pub seq: i64,
    /// A checkpoint line rather than a record.
    pub checkpoint: bool,
    /// Unix milliseconds.
    pub time: i64,
    /// The line exactly as hashed, without newline.
    pub line: String,
    /// `request` or `control` (records only).
    pub kind: Option<String>,
    /// Identity name.
    pub identity: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// Decision (`allow`, `deny`) or control outcome.
    pub decision: Option<String>,
    /// Request action or control action.
    pub action: Option<String>,
    /// HTTP status.
    pub status: Option<i64>,
    /// Unix ms after which the line's bodies may be pruned.
    pub bodies_expire: Option<i64>,
}

/// Filters for [`Store::search_audit`]. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this identity.
    pub identity: Option<String>,
    /// Only this model.
    pub model: Option<String>,
    /// Only this decision / outcome.
    pub decision: Option<String>,
    /// Only this record kind (`request`, `control`).
    pub kind: Option<String>,
    /// From this time (unix ms, included).
    pub since: Option<i64>,
    /// Until this time (unix ms, excluded).
    pub until: Option<i64>,
    /// Only entries after this cursor (an id from a previous page).
    pub after: Option<i64>,
    /// Page size (clamped to 1 ..= [`AUDIT_PAGE_MAX`]).
    pub limit: i64,
}

/// The largest page a search returns.
pub const AUDIT_PAGE_MAX: i64 = 10_000;

/// A record found by a search, with its cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHit {
    /// Cursor: pass as [`AuditQuery::after`] for the next page.
    pub id: i64,
    /// The record line.
    pub line: String,
}

/// An audit key sealed with the key-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKeyRecord {
    /// Key id.
    pub key_id: String,
    /// `checkpoint` or `hmac`.
    pub purpose: String,
    /// Public key (base64), for checkpoint keys.
    pub public_key: Option<String>,
    /// The sealed private key material.
    pub sealed: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
    /// Whether this is the key in use for its purpose.
    pub active: bool,
}

impl std::fmt::Debug for AuditKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKeyRecord")
            .field("key_id", &self.key_id)
            .field("purpose", &self.purpose)
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// Where one chain in the store ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain's replica id.
    pub replica: String,
    /// The seq of its last entry.
    pub last_seq: i64,
    /// Whether its last entry is a checkpoint (nothing unsigned after it).
    pub signed: bool,
}

/// The replicas with a chain, found by skipping along the `(replica, id)`
/// index (one probe per chain, not a scan of every entry), and each
/// chain's last entry. The same text runs on both backends.
pub(crate) const CHAIN_HEADS_SQL: &str = "WITH RECURSIVE chains(replica) AS ( \
       SELECT min(replica) FROM audit_entries \
       UNION ALL \
       SELECT (SELECT min(replica) FROM audit_entries WHERE replica > chains.replica) \
       FROM chains WHERE chains.replica IS NOT NULL) \
     SELECT replica, \
       (SELECT seq FROM audit_entries e WHERE e.replica = chains.replica \
        ORDER BY id DESC LIMIT 1), \
       (SELECT CASE WHEN checkpoint THEN 1 ELSE 0 END FROM audit_entries e \
        WHERE e.replica = chains.replica ORDER BY id DESC LIMIT 1) \
     FROM chains WHERE replica IS NOT NULL";

impl Store {
    /// Every chain in the store and where it ends, by replica id.
    pub async fn audit_chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        on_backend!(self, b => b.audit_chain_heads().await)
    }

    /// The replicas with a chain in the store.
    pub async fn audit_replicas(&self) -> Result<Vec<String>, StoreError> {
        on_backend!(self, b => b.audit_replicas().await)
    }

    /// `replica`'s lines (records and checkpoints) in written order, from
    /// entry id `after` (exclusive), at most `limit`: `(id, line)`.
    pub async fn audit_lines(
        &self,
        replica: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        on_backend!(self, b => b.audit_lines(replica, after, limit).await)
    }

    /// Record lines matching `query`, oldest first.
    pub async fn search_audit(&self, query: &AuditQuery) -> Result<Vec<AuditHit>, StoreError> {
        on_backend!(self, b => b.search_audit(query).await)
    }

    /// Lines whose bodies expired before `now_ms`: `(id, line)`, at most
    /// `limit`.
    pub async fn audit_expired_bodies(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        on_backend!(self, b => b.audit_expired_bodies(now_ms, limit).await)
    }

    /// Replaces the line of entry `id` by its pruned form (same hash; bodies
    /// dropped) and clears its expiry.
    pub async fn replace_pruned_audit_line(&self, id: i64, line: &str) -> Result<(), StoreError> {
        on_backend!(self, b => b.replace_pruned_audit_line(id, line).await)
    }

    /// Every audit key, oldest first.
    pub async fn audit_keys(&self) -> Result<Vec<AuditKeyRecord>, StoreError> {
        on_backend!(self, b => b.audit_keys().await)
    }

    /// Inserts an active audit key unless one is already active for its
    /// purpose; returns false (nothing written) in that case, so concurrent
    /// first starts agree on one key.
    pub async fn insert_audit_key(&self, key: &AuditKeyRecord) -> Result<bool, StoreError> {
        on_backend!(self, b => b.insert_audit_key(key).await)
    }
}
