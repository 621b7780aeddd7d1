//! Revoked tokens, identity status changes, offboarding (with its grants
//! and role assignments) and API key rotation: the writes that invalidate
//! in-memory caches bump the state revision in the same transaction.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteBackend;
use super::api_keys::insert_key;
use super::connections::Op;
use super::revision::bump;
use crate::rows::Record;
use crate::{ApiKeyRecord, OffboardSummary, RevokedTokenRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn revoke_token(
        &self,
        jti: &str,
        identity_id: &str,
        expires_at: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "revoke token";
        let jti = jti.to_owned();
        let identity_id = identity_id.to_owned();
        self.conns
            .write(OP, move |tx| {
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO revoked_tokens (jti, identity_id, expires_at, revoked_at) \
                         VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING",
                    )
                    .and_then(|mut stmt| stmt.execute(params![jti, identity_id, expires_at, at]))
                    .op(OP)?
                    > 0;
                if inserted {
                    bump(tx).op(OP)?;
                }
                Ok(inserted)
            })
            .await
    }

    pub(crate) async fn active_revoked_tokens(
        &self,
        now: i64,
    ) -> Result<Vec<RevokedTokenRecord>, StoreError> {
        const OP: &str = "list revoked tokens";
        self.conns
            .run(OP, move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT jti, identity_id, expires_at, revoked_at FROM revoked_tokens \
                         WHERE expires_at > ? ORDER BY revoked_at, jti",
                    )
                    .op(OP)?;
                let mut found = stmt.query([now]).op(OP)?;
                let mut tokens = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    tokens.push(RevokedTokenRecord {
                        jti: row.text(0, OP)?,
                        identity_id: row.text(1, OP)?,
                        expires_at: row.int(2, OP)?,
                        revoked_at: row.int(3, OP)?,
                    });
                }
                Ok(tokens)
            })
            .await
    }

    pub(crate) async fn prune_revoked_tokens(&self, now: i64) -> Result<u64, StoreError> {
        const OP: &str = "prune revoked tokens";
        self.conns
            .exclusive(OP, move |conn| {
                let pruned = conn
                    .prepare_cached("DELETE FROM revoked_tokens WHERE expires_at <= ?")
                    .and_then(|mut stmt| stmt.execute([now]))
                    .op(OP)?;
                Ok(pruned as u64)
            })
            .await
    }

    pub(crate) async fn inactive_identity_ids(&self) -> Result<Vec<String>, StoreError> {
        const OP: &str = "list inactive identities";
        self.conns
            .run(OP, |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id FROM identities WHERE status <> 'active' ORDER BY id",
                    )
                    .op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut ids = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    ids.push(row.text(0, OP)?);
                }
                Ok(ids)
            })
            .await
    }

    pub(crate) async fn set_identity_status(
        &self,
        id: &str,
        status: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "set identity status";
        let id = id.to_owned();
        let status = status.to_owned();
        self.conns
            .write(OP, move |tx| {
                // Offboarded is final: such a row is left alone (the trigger from
                // migration 0002 would refuse the update anyway).
                let changed = tx
                    .prepare_cached(
                        "UPDATE identities SET status = ?1, status_changed_at = ?2 \
                         WHERE id = ?3 AND status <> ?1 AND status <> 'offboarded'",
                    )
                    .and_then(|mut stmt| stmt.execute(params![status, at, id]))
                    .op(OP)?
                    > 0;
                if changed {
                    bump(tx).op(OP)?;
                }
                Ok(changed)
            })
            .await
    }

    pub(crate) async fn offboard_identity(
        &self,
        id: &str,
        at: i64,
    ) -> Result<Option<OffboardSummary>, StoreError> {
        const OP: &str = "offboard identity";
        let id = id.to_owned();
        self.conns
            .write(OP, move |tx| {
                let previous: Option<String> = tx
                    .prepare_cached("SELECT status FROM identities WHERE id = ?")
                    .and_then(|mut stmt| stmt.query_row([&id], |row| row.get(0)).optional())
                    .op(OP)?;
                let Some(previous_status) = previous else {
                    return Ok(None); // nothing written: an empty commit
                };
                tx.prepare_cached(
                    "UPDATE identities SET status = 'offboarded', \
                     status_changed_at = coalesce(CASE WHEN status = 'offboarded' \
                         THEN status_changed_at END, ?1) \
                     WHERE id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(params![at, id]))
                .op(OP)?;
                let keys = tx
                    .prepare_cached(
                        "UPDATE api_keys SET revoked_at = ? \
                         WHERE identity_id = ? AND revoked_at IS NULL",
                    )
                    .and_then(|mut stmt| stmt.execute(params![at, id]))
                    .op(OP)?;
                // Grants that still count (pending, or approved and unexpired) are
                // revoked; standing role assignments are removed.
                let grants = tx
                    .prepare_cached(
                        "UPDATE grants SET state = 'revoked', decided_by = 'offboarding', \
                         decided_at = ?1, decision_reason = 'identity offboarded' \
                         WHERE identity_id = ?2 AND ((state = 'pending' AND pending_expires_at > ?1) \
                         OR (state = 'approved' AND expires_at > ?1))",
                    )
                    .and_then(|mut stmt| stmt.execute(params![at, id]))
                    .op(OP)?;
                let roles = tx
                    .prepare_cached("DELETE FROM role_assignments WHERE identity_id = ?")
                    .and_then(|mut stmt| stmt.execute([&id]))
                    .op(OP)?;
                bump(tx).op(OP)?;
                let mut summary = OffboardSummary::new(previous_status, keys as u64);
                summary.grants_revoked = grants as u64;
                summary.roles_removed = roles as u64;
                Ok(Some(summary))
            })
            .await
    }

    pub(crate) async fn rotate_api_key(
        &self,
        old_id: &str,
        new: &ApiKeyRecord,
        grace_end: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "rotate api key";
        let old_id = old_id.to_owned();
        let new = new.clone();
        // Not `conns.write`, which commits on `Ok`: a refused rotation
        // returns `Ok(false)` and must roll back the successor's insert.
        self.conns
            .exclusive(OP, move |conn| {
                // BEGIN IMMEDIATE, as `conns.write` does.
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .op(OP)?;
                insert_key(&tx, &new).op(OP)?;
                let rotated = tx
                    .prepare_cached(
                        "UPDATE api_keys SET replaced_by = ?1, expires_at = min(expires_at, ?2) \
                         WHERE id = ?3 AND id <> ?1 AND revoked_at IS NULL AND replaced_by IS NULL \
                           AND expires_at > ?4",
                    )
                    .and_then(|mut stmt| stmt.execute(params![new.id, grace_end, old_id, at]))
                    .op(OP)?;
                if rotated == 0 {
                    // Unknown, revoked, expired or already rotated: the successor's
                    // insert is rolled back with the transaction (dropped here).
                    return Ok(false);
                }
                // Replicas caching the old key must see its shortened expiry.
                bump(&tx).op(OP)?;
                tx.commit().op(OP)?;
                Ok(true)
            })
            .await
    }
}
