//! Role assignments and just-in-time grants on the [`Store`].
//!
//! The store records and moves grants between states atomically; it does
//! not judge who may do what (separation of duties, role definitions,
//! duration caps belong to `modelgate-identity`). Every write bumps the
//! state revision in the same transaction.

use crate::{GrantDecision, GrantRecord, RoleAssignmentRecord, Store, StoreError};

impl Store {
    /// Assigns a standing role, or replaces the assignment's `until`,
    /// `assigned_at` and `assigned_by` if the identity holds it already.
    /// [`StoreError::MissingReference`] if the identity does not exist.
    pub async fn assign_role(&self, r: &RoleAssignmentRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.assign_role(r).await)
    }

    /// Removes a standing role assignment; `false` if there was none.
    pub async fn unassign_role(&self, identity_id: &str, role: &str) -> Result<bool, StoreError> {
        on_backend!(self, b => b.unassign_role(identity_id, role).await)
    }

    /// Standing role assignments of one identity, or of all with `None`,
    /// whether or not their `until` has passed; ordered by identity id, role.
    pub async fn role_assignments(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<RoleAssignmentRecord>, StoreError> {
        on_backend!(self, b => b.role_assignments(identity_id).await)
    }

    /// Inserts a grant (its `approvals` are ignored).
    /// [`StoreError::Conflict`] if the id is taken,
    /// [`StoreError::MissingReference`] if the identity does not exist.
    pub async fn insert_grant(&self, r: &GrantRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.insert_grant(r).await)
    }

    /// The grant with this id, with its approvals, if any.
    pub async fn grant_by_id(&self, id: &str) -> Result<Option<GrantRecord>, StoreError> {
        on_backend!(self, b => b.grant_by_id(id).await)
    }

    /// Grants of one identity, or of all with `None`, with their approvals,
    /// oldest request first.
    pub async fn list_grants(
        &self,
        identity_id: Option<&str>,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        on_backend!(self, b => b.list_grants(identity_id).await)
    }

    /// Records `approver`'s approval of a grant that is pending at `at`, in
    /// one transaction; when the grant then has `approvals_required`
    /// distinct approvals it becomes `approved`, active from `at` for its
    /// duration. Returns the grant after, or `None` (nothing written) if it
    /// is unknown or not pending at `at`. [`StoreError::Conflict`]
    /// (`grant approval`) if this approver already approved it.
    pub async fn approve_grant(
        &self,
        id: &str,
        approver: &str,
        at: i64,
    ) -> Result<Option<GrantRecord>, StoreError> {
        on_backend!(self, b => b.approve_grant(id, approver, at).await)
    }

    /// Denies a grant that is pending at `decision.at`. The grant after, or
    /// `None` (nothing written) if it is unknown or not pending then.
    pub async fn deny_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        on_backend!(self, b => b.deny_grant(id, decision).await)
    }

    /// Revokes a grant that is pending, or approved and unexpired, at
    /// `decision.at`. The grant after, or `None` (nothing written) if it is
    /// unknown or already over.
    pub async fn revoke_grant(
        &self,
        id: &str,
        decision: GrantDecision<'_>,
    ) -> Result<Option<GrantRecord>, StoreError> {
        on_backend!(self, b => b.revoke_grant(id, decision).await)
    }

    /// What gives access at `now`: standing assignments whose `until` is
    /// unset or later, and approved grants that expire later (without their
    /// approvals). Two queries, for in-memory entitlement snapshots.
    pub async fn active_access(
        &self,
        now: i64,
    ) -> Result<(Vec<RoleAssignmentRecord>, Vec<GrantRecord>), StoreError> {
        on_backend!(self, b => b.active_access(now).await)
    }
}
