//! Admin roles on the [`Store`].

use crate::{ApiKeyRecord, IdentityRecord, Store, StoreError};

/// One admin role as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRoleRecord {
    /// The identity holding it.
    pub identity_id: String,
    /// `*` (global) or an owner.
    pub scope: String,
    /// When it was granted (unix seconds).
    pub granted_at: i64,
    /// Who granted it (`bootstrap`, `cli`, an admin's name), if recorded.
    pub granted_by: Option<String>,
}

impl Store {
    /// Every admin role, ordered by identity id.
    pub async fn list_admins(&self) -> Result<Vec<AdminRoleRecord>, StoreError> {
        on_backend!(self, b => b.list_admins().await)
    }

    /// The admin scope of an identity (`*` or an owner), if it has one.
    pub async fn admin_scope(&self, identity_id: &str) -> Result<Option<String>, StoreError> {
        on_backend!(self, b => b.admin_scope(identity_id).await)
    }

    /// Grants (or changes) an identity's admin scope.
    pub async fn grant_admin(
        &self,
        identity_id: &str,
        scope: &str,
        granted_by: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        on_backend!(self, b => b.grant_admin(identity_id, scope, granted_by, at).await)
    }

    /// Removes an identity's admin role; false if it had none.
    pub async fn revoke_admin(&self, identity_id: &str) -> Result<bool, StoreError> {
        on_backend!(self, b => b.revoke_admin(identity_id).await)
    }

    /// In one transaction, if no admin exists yet: inserts `identity`, its
    /// `key` and a global admin role. False (nothing written) if an admin
    /// already exists, so bootstrap happens once.
    pub async fn bootstrap_admin(
        &self,
        identity: &IdentityRecord,
        key: &ApiKeyRecord,
        at: i64,
    ) -> Result<bool, StoreError> {
        on_backend!(self, b => b.bootstrap_admin(identity, key, at).await)
    }
}
