//! Admin roles: who may use the admin API, globally or for one owner.

use super::PgBackend;
use super::api_keys::insert_api_key;
use super::identities::insert_identity;
use crate::admin::AdminRoleRecord;
use crate::{ApiKeyRecord, IdentityRecord, StoreError};

impl PgBackend {
    pub(crate) async fn list_admins(&self) -> Result<Vec<AdminRoleRecord>, StoreError> {
        // "C" collation: byte order, as SQLite sorts, whatever the locale.
        let rows: Vec<(String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT identity_id, scope, granted_at, granted_by FROM admin_roles \
             ORDER BY identity_id COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("list admin roles", e))?;
        Ok(rows
            .into_iter()
            .map(
                |(identity_id, scope, granted_at, granted_by)| AdminRoleRecord {
                    identity_id,
                    scope,
                    granted_at,
                    granted_by,
                },
            )
            .collect())
    }

    pub(crate) async fn admin_scope(
        &self,
        identity_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT scope FROM admin_roles WHERE identity_id = $1")
                .bind(identity_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| StoreError::from_sqlx("read admin role", e))?;
        Ok(row.map(|r| r.0))
    }

    pub(crate) async fn grant_admin(
        &self,
        identity_id: &str,
        scope: &str,
        granted_by: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        // One INSERT ... ON CONFLICT DO UPDATE: atomic on its own, so two
        // concurrent grants end with one of them, never a conflict error.
        sqlx::query(
            "INSERT INTO admin_roles (identity_id, scope, granted_at, granted_by) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (identity_id) DO UPDATE SET scope = excluded.scope, \
             granted_at = excluded.granted_at, granted_by = excluded.granted_by",
        )
        .bind(identity_id)
        .bind(scope)
        .bind(at)
        .bind(granted_by)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("grant admin role", e))?;
        Ok(())
    }

    pub(crate) async fn revoke_admin(&self, identity_id: &str) -> Result<bool, StoreError> {
        // One DELETE: of concurrent revocations, exactly one sees the row.
        let done = sqlx::query("DELETE FROM admin_roles WHERE identity_id = $1")
            .bind(identity_id)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("revoke admin role", e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn bootstrap_admin(
        &self,
        identity: &IdentityRecord,
        key: &ApiKeyRecord,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "bootstrap admin";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // "No admin yet" must still hold when the role is inserted: LOCK
        // TABLE in EXCLUSIVE mode (it conflicts with itself and with every
        // write, not with reads) makes a concurrent bootstrap or grant wait
        // until this commits; the count after it sees every committed role.
        sqlx::query("LOCK TABLE admin_roles IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let existing: (i64,) = sqlx::query_as("SELECT count(*) FROM admin_roles")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        if existing.0 > 0 {
            return Ok(false);
        }
        insert_identity(&mut *tx, identity)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        insert_api_key(&mut *tx, key)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        sqlx::query(
            "INSERT INTO admin_roles (identity_id, scope, granted_at, granted_by) \
             VALUES ($1, '*', $2, 'bootstrap')",
        )
        .bind(&identity.id)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(true)
    }
}
