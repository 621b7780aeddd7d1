//! Admin roles: who may use the admin API, globally or for one owner.

use rusqlite::{OptionalExtension, params};

use super::SqliteBackend;
use super::api_keys::insert_key;
use super::connections::Op;
use super::identities::insert_identity;
use crate::admin::AdminRoleRecord;
use crate::{ApiKeyRecord, IdentityRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn list_admins(&self) -> Result<Vec<AdminRoleRecord>, StoreError> {
        const OP: &str = "list admin roles";
        self.conns
            .run(OP, |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT identity_id, scope, granted_at, granted_by FROM admin_roles \
                         ORDER BY identity_id",
                    )
                    .op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut admins = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    admins.push(AdminRoleRecord {
                        identity_id: row.get(0).op(OP)?,
                        scope: row.get(1).op(OP)?,
                        granted_at: row.get(2).op(OP)?,
                        granted_by: row.get(3).op(OP)?,
                    });
                }
                Ok(admins)
            })
            .await
    }

    pub(crate) async fn admin_scope(
        &self,
        identity_id: &str,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "read admin role";
        let identity_id = identity_id.to_owned();
        self.conns
            .run(OP, move |conn| {
                conn.prepare_cached("SELECT scope FROM admin_roles WHERE identity_id = ?")
                    .and_then(|mut stmt| {
                        stmt.query_row([&identity_id], |row| row.get(0)).optional()
                    })
                    .op(OP)
            })
            .await
    }

    pub(crate) async fn grant_admin(
        &self,
        identity_id: &str,
        scope: &str,
        granted_by: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "grant admin role";
        let identity_id = identity_id.to_owned();
        let scope = scope.to_owned();
        let granted_by = granted_by.map(str::to_owned);
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached(
                    "INSERT INTO admin_roles (identity_id, scope, granted_at, granted_by) \
                     VALUES (?, ?, ?, ?) \
                     ON CONFLICT (identity_id) DO UPDATE SET scope = excluded.scope, \
                     granted_at = excluded.granted_at, granted_by = excluded.granted_by",
                )
                .and_then(|mut stmt| stmt.execute(params![identity_id, scope, at, granted_by]))
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn revoke_admin(&self, identity_id: &str) -> Result<bool, StoreError> {
        const OP: &str = "revoke admin role";
        let identity_id = identity_id.to_owned();
        self.conns
            .exclusive(OP, move |conn| {
                let removed = conn
                    .prepare_cached("DELETE FROM admin_roles WHERE identity_id = ?")
                    .and_then(|mut stmt| stmt.execute([&identity_id]))
                    .op(OP)?;
                Ok(removed > 0)
            })
            .await
    }

    pub(crate) async fn bootstrap_admin(
        &self,
        identity: &IdentityRecord,
        key: &ApiKeyRecord,
        at: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "bootstrap admin";
        let identity = identity.clone();
        let key = key.clone();
        // One write transaction: the count and the inserts agree, so two
        // bootstraps at once make one admin.
        self.conns
            .write(OP, move |tx| {
                let existing: i64 = tx
                    .prepare_cached("SELECT count(*) FROM admin_roles")
                    .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                    .op(OP)?;
                if existing > 0 {
                    return Ok(false);
                }
                insert_identity(tx, &identity).op(OP)?;
                insert_key(tx, &key).op(OP)?;
                tx.prepare_cached(
                    "INSERT INTO admin_roles (identity_id, scope, granted_at, granted_by) \
                     VALUES (?, '*', ?, 'bootstrap')",
                )
                .and_then(|mut stmt| stmt.execute(params![identity.id, at]))
                .op(OP)?;
                Ok(true)
            })
            .await
    }
}
