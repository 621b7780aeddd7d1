//! Roles, standing role assignments and just-in-time grants.
//!
//! Role definitions ([`RoleDef`]) are configuration, validated into a
//! [`RoleCatalog`] together with the [`GrantSettings`]. The store keeps who
//! holds what; [`crate::IdentityService`] applies the rules: a `jit_only`
//! role is never assigned standing (zero standing privilege); a grant is
//! requested by the identity or its owner, approved by holders of the
//! approver role who are neither the requester nor the identity and share
//! an owner with neither, with as many distinct approvals as the role
//! requires; an approved grant is
//! active from its approval until `expires_at` (exclusive) and then simply
//! stops, computed from time. [`Entitlements`] are what the request path
//! reads: the roles active at a given second, from memory.
//!
//! Every change returns an [`AccessEvent`] for the audit log.

mod entitlements;
mod error;
mod event;
mod grant;
mod roles;

pub use entitlements::{ActiveRole, Entitlements, RoleSource};
pub(crate) use entitlements::{EntitlementCache, Snapshot};
pub use error::AccessError;
pub(crate) use error::{shown_actor, shown_role};
pub use event::{AccessChange, AccessEvent};
pub use grant::{Grant, GrantApproval, GrantFilter, GrantRequest, GrantState, Requester};
pub use roles::{
    ACTIONS, DEFAULT_APPROVER_ROLE, GrantSettings, MAX_APPROVALS_REQUIRED, MAX_ROLE_NAME_CHARS,
    RoleCatalog, RoleConfigError, RoleDef, is_valid_role_name,
};

/// A standing role assignment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleAssignment {
    /// The identity's id.
    pub identity_id: String,
    /// Its name.
    pub identity_name: String,
    /// The role.
    pub role: String,
    /// When it was assigned.
    pub assigned_at: i64,
    /// When it stops (exclusive), if it does.
    pub until: Option<i64>,
    /// Who assigned it.
    pub assigned_by: String,
}

impl RoleAssignment {
    /// Whether it gives its role at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.until.is_none_or(|end| end > now)
    }
}
