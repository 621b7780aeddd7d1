//! Revoked tokens, identity status changes, offboarding (with its grants
//! and role assignments) and API key rotation: the writes that invalidate
//! in-memory caches bump the state revision in the same transaction.
//!
//! PostgreSQL runs these at READ COMMITTED, concurrently; each write below
//! says what keeps it equivalent to SQLite's one-writer-at-a-time.

use super::PgBackend;
use super::api_keys::insert_api_key;
use super::revision::bump_revision;
use crate::{ApiKeyRecord, OffboardSummary, RevokedTokenRecord, StoreError};

impl PgBackend {
    pub(crate) async fn revoke_token(
        &self,
        jti: &str,
        identity_id: &str,
        expires_at: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "revoke token";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // INSERT ... ON CONFLICT DO NOTHING: a concurrent insert of the same
        // jti waits for the first and then inserts nothing.
        let done = sqlx::query(
            "INSERT INTO revoked_tokens (jti, identity_id, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(identity_id)
        .bind(expires_at)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let inserted = done.rows_affected() > 0;
        if inserted {
            bump_revision(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(inserted)
    }

    pub(crate) async fn active_revoked_tokens(
        &self,
        now: i64,
    ) -> Result<Vec<RevokedTokenRecord>, StoreError> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT jti, identity_id, expires_at, revoked_at FROM revoked_tokens \
             WHERE expires_at > $1 ORDER BY revoked_at, jti COLLATE \"C\"",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list revoked tokens", e))?;
        Ok(rows
            .into_iter()
            .map(
                |(jti, identity_id, expires_at, revoked_at)| RevokedTokenRecord {
                    jti,
                    identity_id,
                    expires_at,
                    revoked_at,
                },
            )
            .collect())
    }

    pub(crate) async fn prune_revoked_tokens(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("prune revoked tokens", e))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn inactive_identity_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM identities WHERE status <> 'active' ORDER BY id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list inactive identities", e))?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub(crate) async fn set_identity_status(
        &self,
        id: &str,
        status: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "set identity status";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Conditional UPDATE: behind a concurrent writer's row lock the
        // condition is re-checked on the committed row. Offboarded is final:
        // such a row is left alone (the trigger would refuse anyway).
        let done = sqlx::query(
            "UPDATE identities SET status = $1, status_changed_at = $2 \
             WHERE id = $3 AND status <> $1 AND status <> 'offboarded'",
        )
        .bind(status)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let changed = done.rows_affected() > 0;
        if changed {
            bump_revision(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(changed)
    }

    pub(crate) async fn offboard_identity(
        &self,
        id: &str,
        at: i64,
    ) -> Result<Option<OffboardSummary>, StoreError> {
        const OP: &str = "offboard identity";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // SELECT ... FOR UPDATE on the identity row, first. It waits for any
        // transaction that inserted a key, grant or role for this identity
        // (their foreign key check holds a KEY SHARE lock on the row) and
        // blocks new ones until this commits; every statement after it
        // (READ COMMITTED: a fresh snapshot each) so sees every such row
        // and the status as committed: a key inserted by a transaction
        // that started first (rotate_api_key, insert_api_key) is revoked
        // with the rest. An insert that waits for this one commits after
        // it, on an offboarded identity, as on SQLite; such a key never
        // authenticates (authentication refuses an identity that is not
        // active), and the identity service refuses new keys for one.
        let previous: Option<(String,)> =
            sqlx::query_as("SELECT status FROM identities WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let Some((previous_status,)) = previous else {
            return Ok(None); // dropping the transaction rolls it back
        };
        sqlx::query(
            "UPDATE identities SET status = 'offboarded', \
             status_changed_at = coalesce(CASE WHEN status = 'offboarded' \
                 THEN status_changed_at END, $1) \
             WHERE id = $2",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let keys = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE identity_id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Grants that still count (pending, or approved and unexpired) are
        // revoked; standing role assignments are removed.
        let grants = sqlx::query(
            "UPDATE grants SET state = 'revoked', decided_by = 'offboarding', \
             decided_at = $1, decision_reason = 'identity offboarded' \
             WHERE identity_id = $2 AND ((state = 'pending' AND pending_expires_at > $1) \
             OR (state = 'approved' AND expires_at > $1))",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let roles = sqlx::query("DELETE FROM role_assignments WHERE identity_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let mut summary = OffboardSummary::new(previous_status, keys.rows_affected());
        summary.grants_revoked = grants.rows_affected();
        summary.roles_removed = roles.rows_affected();
        Ok(Some(summary))
    }

    pub(crate) async fn rotate_api_key(
        &self,
        old_id: &str,
        new: &ApiKeyRecord,
        grace_end: i64,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "rotate api key";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // The successor first: the old key's replaced_by references it.
        insert_api_key(&mut *tx, new)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Conditional UPDATE: of two concurrent rotations (or a rotation
        // and a revocation) of one key, the second waits for the first's
        // row lock, re-checks `revoked_at IS NULL AND replaced_by IS NULL`
        // on the committed row and matches nothing, so exactly one wins.
        let done = sqlx::query(
            "UPDATE api_keys SET replaced_by = $1, expires_at = LEAST(expires_at, $2) \
             WHERE id = $3 AND id <> $1 AND revoked_at IS NULL AND replaced_by IS NULL \
               AND expires_at > $4",
        )
        .bind(&new.id)
        .bind(grace_end)
        .bind(old_id)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        if done.rows_affected() == 0 {
            // Unknown, revoked, expired or already rotated: the successor's
            // insert is rolled back with the transaction.
            return Ok(false);
        }
        // Replicas caching the old key must see its shortened expiry.
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(true)
    }
}
