//! Standing role assignments and entitlements (the roles active now).

use std::collections::HashMap;
use std::sync::Arc;

use modelgate_store::RoleAssignmentRecord;

use super::IdentityService;
use crate::access::{
    AccessChange, AccessError, AccessEvent, Entitlements, RoleAssignment, Snapshot, shown_role,
};
use crate::identity::Identity;

/// Longest name of someone acting (an identity name, an owner, a person).
const MAX_ACTOR_CHARS: usize = 200;

/// Checks the name of someone acting.
pub(super) fn check_actor(name: &str) -> Result<(), AccessError> {
    if name.trim().is_empty()
        || name.chars().count() > MAX_ACTOR_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AccessError::InvalidActor);
    }
    Ok(())
}

impl IdentityService {
    /// The active identity named `name`, or why not.
    pub(super) async fn active_identity(&self, name: &str) -> Result<Identity, AccessError> {
        let identity = self.identity(name).await?;
        if !identity.is_active() {
            return Err(crate::IdentityError::IdentityNotActive {
                name: identity.name,
                status: identity.status,
            }
            .into());
        }
        Ok(identity)
    }

    /// Identity names by id, for listings.
    pub(super) async fn identity_names(&self) -> Result<HashMap<String, String>, AccessError> {
        Ok(self
            .store()
            .list_identities()
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect())
    }

    /// Drops the entitlement snapshot after a change made here.
    pub(crate) fn invalidate_entitlements(&self) {
        self.entitlement_cache().clear();
    }

    /// Assigns `role` to the active identity `identity_name` standing, until
    /// `until` (exclusive) if given, or changes the end of an existing
    /// assignment. Refused for a role the catalog does not define
    /// ([`AccessError::UnknownRole`]), a `jit_only` role
    /// ([`AccessError::JitOnly`]: zero standing privilege), or an end not
    /// after `now`.
    pub async fn assign_role(
        &self,
        identity_name: &str,
        role: &str,
        until: Option<i64>,
        assigned_by: &str,
        now: i64,
    ) -> Result<AccessChange<RoleAssignment>, AccessError> {
        check_actor(assigned_by)?;
        let def = self
            .roles()
            .role(role)
            .ok_or_else(|| AccessError::unknown_role(role))?;
        if def.jit_only {
            return Err(AccessError::JitOnly(def.name.clone()));
        }
        if until.is_some_and(|end| end <= now) {
            return Err(AccessError::UntilInPast);
        }
        let identity = self.active_identity(identity_name).await?;
        let record = RoleAssignmentRecord {
            identity_id: identity.id.clone(),
            role: def.name.clone(),
            assigned_at: now,
            until,
            assigned_by: assigned_by.to_owned(),
        };
        self.store().assign_role(&record).await?;
        self.invalidate_entitlements();
        tracing::info!(identity = %identity.name, role = %def.name, ?until, "role assigned");
        Ok(AccessChange {
            event: AccessEvent::RoleAssigned {
                identity_id: identity.id.clone(),
                identity: identity.name.clone(),
                role: def.name.clone(),
                until,
                by: assigned_by.to_owned(),
                at: now,
            },
            value: RoleAssignment {
                identity_id: identity.id,
                identity_name: identity.name,
                role: record.role,
                assigned_at: now,
                until,
                assigned_by: record.assigned_by,
            },
        })
    }

    /// Removes a standing assignment (of any role, defined or not any more).
    /// [`AccessError::NotAssigned`] if the identity does not hold it.
    pub async fn unassign_role(
        &self,
        identity_name: &str,
        role: &str,
        by: &str,
        now: i64,
    ) -> Result<AccessEvent, AccessError> {
        check_actor(by)?;
        let identity = self.identity(identity_name).await?;
        if !self.store().unassign_role(&identity.id, role).await? {
            return Err(AccessError::NotAssigned {
                identity: identity.name,
                role: shown_role(role),
            });
        }
        self.invalidate_entitlements();
        tracing::info!(identity = %identity.name, role, "role unassigned");
        Ok(AccessEvent::RoleUnassigned {
            identity_id: identity.id,
            identity: identity.name,
            role: role.to_owned(),
            by: by.to_owned(),
            at: now,
        })
    }

    /// Standing assignments of one identity (by name) or of all, including
    /// those whose end has passed (see [`RoleAssignment::is_active`]).
    pub async fn list_role_assignments(
        &self,
        identity_name: Option<&str>,
    ) -> Result<Vec<RoleAssignment>, AccessError> {
        let identity = match identity_name {
            Some(name) => Some(self.identity(name).await?),
            None => None,
        };
        let names = self.identity_names().await?;
        let records = self
            .store()
            .role_assignments(identity.as_ref().map(|i| i.id.as_str()))
            .await?;
        Ok(records
            .into_iter()
            .map(|r| RoleAssignment {
                identity_name: names.get(&r.identity_id).cloned().unwrap_or_default(),
                identity_id: r.identity_id,
                role: r.role,
                assigned_at: r.assigned_at,
                until: r.until,
                assigned_by: r.assigned_by,
            })
            .collect())
    }

    /// The roles identity `identity_id` holds at `now`: standing assignments
    /// and approved grants, each with its source and end. Only roles the
    /// catalog defines count, and never a standing assignment of a role
    /// that is (now) `jit_only`. Served from an
    /// in-memory snapshot (see the `access` module); the first call after a
    /// change reads the store once. Says nothing of the identity's status:
    /// authentication refuses inactive identities before this is asked.
    pub async fn entitlements(
        &self,
        identity_id: &str,
        now: i64,
    ) -> Result<Entitlements, AccessError> {
        let cache = self.entitlement_cache();
        if let Some(snapshot) = cache.get()
            && snapshot.covers(now)
        {
            return Ok(snapshot.entitlements(identity_id, now));
        }
        let _loading = cache.load_guard().await;
        // Another request may have loaded it while this one waited.
        if let Some(snapshot) = cache.get()
            && snapshot.covers(now)
        {
            return Ok(snapshot.entitlements(identity_id, now));
        }
        let generation = cache.generation();
        let (assignments, grants) = self.store().active_access(now).await?;
        let snapshot = Arc::new(Snapshot::build(now, assignments, grants, self.roles()));
        cache.install(generation, snapshot.clone());
        Ok(snapshot.entitlements(identity_id, now))
    }
}
