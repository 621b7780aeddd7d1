//! What each access change did, for the audit log: who, what, which grant,
//! which state transition. Every mutating method of the service returns one.

use serde::Serialize;

use super::grant::GrantState;

/// One step of role or grant administration. Serialises with an `event`
/// tag (`role_assigned`, `grant_approved`, ...); [`AccessEvent::action`]
/// gives a dotted name for audit records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccessEvent {
    /// A standing role was assigned (or its `until` changed).
    RoleAssigned {
        /// The identity's id.
        identity_id: String,
        /// Its name.
        identity: String,
        /// The role.
        role: String,
        /// When the assignment ends, if it does.
        until: Option<i64>,
        /// Who assigned it.
        by: String,
        /// When.
        at: i64,
    },
    /// A standing role was removed.
    RoleUnassigned {
        /// The identity's id.
        identity_id: String,
        /// Its name.
        identity: String,
        /// The role.
        role: String,
        /// Who removed it.
        by: String,
        /// When.
        at: i64,
    },
    /// A grant was requested (state `pending`).
    GrantRequested {
        /// The grant.
        grant_id: String,
        /// The identity's id.
        identity_id: String,
        /// Its name.
        identity: String,
        /// The role.
        role: String,
        /// Who asked.
        requested_by: String,
        /// Why.
        reason: String,
        /// How long once approved.
        duration_secs: i64,
        /// When the request lapses.
        pending_expires_at: i64,
        /// Approvals needed.
        approvals_required: u32,
        /// When.
        at: i64,
    },
    /// An approval was recorded; more are needed (still `pending`).
    GrantApprovalRecorded {
        /// The grant.
        grant_id: String,
        /// The identity's id.
        identity_id: String,
        /// The role.
        role: String,
        /// Who approved.
        approver: String,
        /// Approvals so far.
        approvals: u32,
        /// Approvals needed.
        approvals_required: u32,
        /// When.
        at: i64,
    },
    /// The last approval needed was recorded: `pending` → `approved`.
    GrantApproved {
        /// The grant.
        grant_id: String,
        /// The identity's id.
        identity_id: String,
        /// The role.
        role: String,
        /// The final approver.
        approver: String,
        /// Every approver, in order.
        approvers: Vec<String>,
        /// Active from.
        starts_at: i64,
        /// Active until (exclusive).
        expires_at: i64,
        /// When.
        at: i64,
    },
    /// `pending` → `denied`.
    GrantDenied {
        /// The grant.
        grant_id: String,
        /// The identity's id.
        identity_id: String,
        /// The role.
        role: String,
        /// Who denied it.
        by: String,
        /// Why, if said.
        reason: Option<String>,
        /// When.
        at: i64,
    },
    /// `pending` or `approved` → `revoked` (offboarding revokes without a
    /// separate event: its summary counts the grants).
    GrantRevoked {
        /// The grant.
        grant_id: String,
        /// The identity's id.
        identity_id: String,
        /// The role.
        role: String,
        /// Who revoked it.
        by: String,
        /// Why, if said.
        reason: Option<String>,
        /// Its state just before.
        from: GrantState,
        /// When.
        at: i64,
    },
}

impl AccessEvent {
    /// A dotted action name: `role.assign`, `role.unassign`,
    /// `grant.request`, `grant.approval`, `grant.approve`, `grant.deny`,
    /// `grant.revoke`.
    pub fn action(&self) -> &'static str {
        match self {
            AccessEvent::RoleAssigned { .. } => "role.assign",
            AccessEvent::RoleUnassigned { .. } => "role.unassign",
            AccessEvent::GrantRequested { .. } => "grant.request",
            AccessEvent::GrantApprovalRecorded { .. } => "grant.approval",
            AccessEvent::GrantApproved { .. } => "grant.approve",
            AccessEvent::GrantDenied { .. } => "grant.deny",
            AccessEvent::GrantRevoked { .. } => "grant.revoke",
        }
    }

    /// The grant's state before and after, for grant events.
    pub fn transition(&self) -> Option<(Option<GrantState>, GrantState)> {
        match self {
            AccessEvent::GrantRequested { .. } => Some((None, GrantState::Pending)),
            AccessEvent::GrantApprovalRecorded { .. } => {
                Some((Some(GrantState::Pending), GrantState::Pending))
            }
            AccessEvent::GrantApproved { .. } => {
                Some((Some(GrantState::Pending), GrantState::Approved))
            }
            AccessEvent::GrantDenied { .. } => {
                Some((Some(GrantState::Pending), GrantState::Denied))
            }
            AccessEvent::GrantRevoked { from, .. } => Some((Some(*from), GrantState::Revoked)),
            AccessEvent::RoleAssigned { .. } | AccessEvent::RoleUnassigned { .. } => None,
        }
    }

    /// The grant's id, for grant events.
    pub fn grant_id(&self) -> Option<&str> {
        match self {
            AccessEvent::GrantRequested { grant_id, .. }
            | AccessEvent::GrantApprovalRecorded { grant_id, .. }
            | AccessEvent::GrantApproved { grant_id, .. }
            | AccessEvent::GrantDenied { grant_id, .. }
            | AccessEvent::GrantRevoked { grant_id, .. } => Some(grant_id),
            AccessEvent::RoleAssigned { .. } | AccessEvent::RoleUnassigned { .. } => None,
        }
    }
}

/// The result of a change and the event describing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessChange<T> {
    /// What the change produced (the grant after, the assignment, ...).
    pub value: T,
    /// What to write to the audit log.
    pub event: AccessEvent,
}
