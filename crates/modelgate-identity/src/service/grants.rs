//! Just-in-time grants: request, approve (separation of duties: neither
//! the requester, nor the identity the grant is for, nor an identity
//! sharing either's owner approves; N distinct approvals), deny, revoke,
//! list. Expiry is computed from time.

use modelgate_store::{GrantDecision, GrantRecord, StoreError};

use super::IdentityService;
use super::roles::check_actor;
use crate::access::{
    AccessChange, AccessError, AccessEvent, Grant, GrantFilter, GrantRequest, GrantState,
    Requester, shown_actor,
};
use crate::identity::Identity;
use crate::ids::new_grant_id;

/// Longest reason, in characters.
const MAX_REASON_CHARS: usize = 500;

fn check_reason(reason: &str) -> Result<(), AccessError> {
    if reason.trim().is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(char::is_control)
    {
        return Err(AccessError::InvalidReason);
    }
    Ok(())
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl IdentityService {
    /// The grant with this id, with the identity's name.
    pub async fn grant(&self, id: &str) -> Result<Grant, AccessError> {
        let record = self
            .store()
            .grant_by_id(id)
            .await?
            .ok_or_else(|| AccessError::grant_not_found(id))?;
        self.typed_grant(record).await
    }

    async fn typed_grant(&self, record: GrantRecord) -> Result<Grant, AccessError> {
        let name = self
            .store()
            .identity_by_id(&record.identity_id)
            .await?
            .map(|r| r.name)
            .unwrap_or_default();
        Ok(Grant::from_record(record, name)?)
    }

    /// Requests a grant (state `pending`, lapsing after
    /// `grants.pending_ttl`). The identity must be active; the role must be
    /// defined; the duration between 1 s and the role's cap; a reason is
    /// required. A [`Requester::Named`] requester must be the identity
    /// itself or its owner.
    pub async fn request_grant(
        &self,
        request: GrantRequest,
        now: i64,
    ) -> Result<AccessChange<Grant>, AccessError> {
        let requester = request.requested_by.name().to_owned();
        check_actor(&requester)?;
        check_reason(&request.reason)?;
        let catalog = self.roles();
        let def = catalog
            .role(&request.role)
            .ok_or_else(|| AccessError::unknown_role(&request.role))?;
        let max = catalog.max_grant_duration(def);
        if request.duration.as_secs() == 0 || request.duration > max {
            return Err(AccessError::InvalidDuration { max });
        }
        let identity = self.active_identity(&request.identity).await?;
        if let Requester::Named(name) = &request.requested_by
            && *name != identity.name
            && *name != identity.owner
        {
            return Err(AccessError::NotPermitted {
                who: shown_actor(name),
                action: "request",
                identity: identity.name,
                rule: "only the identity itself or its owner may ask",
            });
        }
        let record = GrantRecord {
            id: new_grant_id().map_err(crate::IdentityError::from)?,
            identity_id: identity.id.clone(),
            role: def.name.clone(),
            requested_by: requester,
            reason: request.reason,
            requested_at: now,
            duration_secs: secs(request.duration),
            pending_expires_at: now.saturating_add(secs(catalog.settings().pending_ttl)),
            approvals_required: i64::from(def.approvals_required),
            state: GrantState::Pending.as_str().to_owned(),
            starts_at: None,
            expires_at: None,
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            approvals: Vec::new(),
        };
        self.store().insert_grant(&record).await?;
        tracing::info!(grant = %record.id, identity = %identity.name, role = %def.name, "grant requested");
        let grant = Grant::from_record(record, identity.name.clone())?;
        Ok(AccessChange {
            event: AccessEvent::GrantRequested {
                grant_id: grant.id.clone(),
                identity_id: grant.identity_id.clone(),
                identity: identity.name,
                role: grant.role.clone(),
                requested_by: grant.requested_by.clone(),
                reason: grant.reason.clone(),
                duration_secs: grant.duration_secs,
                pending_expires_at: grant.pending_expires_at,
                approvals_required: grant.approvals_required,
                at: now,
            },
            value: grant,
        })
    }

    /// The active identity `name` if it holds the approver role at `now`.
    async fn approver(&self, name: &str, now: i64) -> Result<Identity, AccessError> {
        check_actor(name)?;
        let approver = self.active_identity(name).await?;
        let role = self.roles().approver_role();
        if !self.entitlements(&approver.id, now).await?.has_role(role) {
            return Err(AccessError::NotApprover {
                who: approver.name,
                role: role.to_owned(),
            });
        }
        Ok(approver)
    }

    /// Separation of duties: refuses `approver` for `grant` when it is the
    /// identity the grant is for ([`AccessError::BeneficiaryApproval`]), the
    /// requester or an identity of the requesting owner
    /// ([`AccessError::SelfApproval`]), or shares its owner with the
    /// requesting identity or with the identity the grant is for
    /// ([`AccessError::SharedOwnerApproval`]). The requester is recorded by
    /// name: an identity's name (the identity itself, or the admin who asked
    /// through the admin API) or an owner.
    async fn check_separation(
        &self,
        grant: &Grant,
        approver: &Identity,
    ) -> Result<(), AccessError> {
        if approver.id == grant.identity_id {
            return Err(AccessError::BeneficiaryApproval {
                id: grant.id.clone(),
                identity: grant.identity_name.clone(),
            });
        }
        if approver.name == grant.requested_by || approver.owner == grant.requested_by {
            return Err(AccessError::SelfApproval {
                id: grant.id.clone(),
                requester: shown_actor(&grant.requested_by),
            });
        }
        let shared = |owner: Option<String>, with: &'static str| {
            if owner.as_deref() == Some(approver.owner.as_str()) {
                Err(AccessError::SharedOwnerApproval {
                    id: grant.id.clone(),
                    approver: approver.name.clone(),
                    owner: shown_actor(&approver.owner),
                    with,
                })
            } else {
                Ok(())
            }
        };
        let requester = self.store().identity_by_name(&grant.requested_by).await?;
        shared(requester.map(|r| r.owner), "requester")?;
        let beneficiary = self.store().identity_by_id(&grant.identity_id).await?;
        shared(beneficiary.map(|r| r.owner), "identity the grant is for")
    }

    /// Approves a pending grant as the identity `approver`, who must hold
    /// the approver role and pass the separation of duties: it is neither
    /// the requester nor the identity the grant is for, and shares its owner
    /// with neither (see `check_separation`). When the role's
    /// `approvals_required` distinct approvals are in, the grant is active
    /// from `now` for its duration; before that the event is
    /// [`AccessEvent::GrantApprovalRecorded`].
    pub async fn approve_grant(
        &self,
        id: &str,
        approver: &str,
        now: i64,
    ) -> Result<AccessChange<Grant>, AccessError> {
        let grant = self.grant(id).await?;
        let approver = self.approver(approver, now).await?;
        let state = grant.state(now);
        if state != GrantState::Pending {
            return Err(AccessError::NotPending {
                id: grant.id,
                state,
            });
        }
        self.check_separation(&grant, &approver).await?;
        self.active_identity(&grant.identity_name).await?;
        let after = match self
            .store()
            .approve_grant(&grant.id, &approver.name, now)
            .await
        {
            Ok(Some(after)) => after,
            Ok(None) => {
                let state = self.grant(&grant.id).await?.state(now);
                return Err(AccessError::NotPending {
                    id: grant.id,
                    state,
                });
            }
            Err(StoreError::Conflict(_)) => {
                return Err(AccessError::AlreadyApproved {
                    id: grant.id,
                    approver: approver.name,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let after = Grant::from_record(after, grant.identity_name)?;
        self.invalidate_entitlements();
        let approvals = u32::try_from(after.approvals.len()).unwrap_or(u32::MAX);
        let event = match (after.recorded_state, after.starts_at, after.expires_at) {
            (GrantState::Approved, Some(starts_at), Some(expires_at)) => {
                tracing::info!(grant = %after.id, approver = %approver.name, expires_at, "grant approved");
                AccessEvent::GrantApproved {
                    grant_id: after.id.clone(),
                    identity_id: after.identity_id.clone(),
                    role: after.role.clone(),
                    approver: approver.name,
                    approvers: after.approvals.iter().map(|a| a.approver.clone()).collect(),
                    starts_at,
                    expires_at,
                    at: now,
                }
            }
            _ => {
                tracing::info!(grant = %after.id, approver = %approver.name, approvals, "grant approval recorded");
                AccessEvent::GrantApprovalRecorded {
                    grant_id: after.id.clone(),
                    identity_id: after.identity_id.clone(),
                    role: after.role.clone(),
                    approver: approver.name,
                    approvals,
                    approvals_required: after.approvals_required,
                    at: now,
                }
            }
        };
        Ok(AccessChange {
            value: after,
            event,
        })
    }

    /// Denies a pending grant as the identity `approver`, who must hold the
    /// approver role.
    pub async fn deny_grant(
        &self,
        id: &str,
        approver: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<AccessChange<Grant>, AccessError> {
        if let Some(reason) = reason {
            check_reason(reason)?;
        }
        let grant = self.grant(id).await?;
        let approver = self.approver(approver, now).await?;
        let decision = GrantDecision {
            by: &approver.name,
            at: now,
            reason,
        };
        let Some(after) = self.store().deny_grant(&grant.id, decision).await? else {
            let state = self.grant(&grant.id).await?.state(now);
            return Err(AccessError::NotPending {
                id: grant.id,
                state,
            });
        };
        let after = Grant::from_record(after, grant.identity_name)?;
        tracing::info!(grant = %after.id, by = %approver.name, "grant denied");
        Ok(AccessChange {
            event: AccessEvent::GrantDenied {
                grant_id: after.id.clone(),
                identity_id: after.identity_id.clone(),
                role: after.role.clone(),
                by: approver.name,
                reason: reason.map(str::to_owned),
                at: now,
            },
            value: after,
        })
    }

    /// Revokes a pending or active grant; it stops at once (on this
    /// instance; elsewhere at the next refresh). A [`Requester::Named`]
    /// revoker must be the identity, its owner, the requester, or an active
    /// identity holding the approver role.
    pub async fn revoke_grant(
        &self,
        id: &str,
        by: &Requester,
        reason: Option<&str>,
        now: i64,
    ) -> Result<AccessChange<Grant>, AccessError> {
        check_actor(by.name())?;
        if let Some(reason) = reason {
            check_reason(reason)?;
        }
        let grant = self.grant(id).await?;
        if let Requester::Named(name) = by {
            let owner = self
                .store()
                .identity_by_id(&grant.identity_id)
                .await?
                .map(|r| r.owner);
            let allowed = *name == grant.identity_name
                || Some(name) == owner.as_ref()
                || *name == grant.requested_by
                || self.approver(name, now).await.is_ok();
            if !allowed {
                return Err(AccessError::NotPermitted {
                    who: shown_actor(name),
                    action: "revoke",
                    identity: grant.identity_name,
                    rule: "only the identity, its owner, the requester or an approver may",
                });
            }
        }
        let from = grant.state(now);
        let decision = GrantDecision {
            by: by.name(),
            at: now,
            reason,
        };
        let Some(after) = self.store().revoke_grant(&grant.id, decision).await? else {
            let state = self.grant(&grant.id).await?.state(now);
            return Err(AccessError::NotRevocable {
                id: grant.id,
                state,
            });
        };
        self.invalidate_entitlements();
        let after = Grant::from_record(after, grant.identity_name)?;
        tracing::info!(grant = %after.id, by = %by.name(), "grant revoked");
        Ok(AccessChange {
            event: AccessEvent::GrantRevoked {
                grant_id: after.id.clone(),
                identity_id: after.identity_id.clone(),
                role: after.role.clone(),
                by: by.name().to_owned(),
                reason: reason.map(str::to_owned),
                from,
                at: now,
            },
            value: after,
        })
    }

    /// Grants matching `filter`, oldest request first; `filter.state` is
    /// compared with the state at `now` (so `Expired` finds lapsed ones).
    pub async fn list_grants(
        &self,
        filter: &GrantFilter,
        now: i64,
    ) -> Result<Vec<Grant>, AccessError> {
        let identity = match &filter.identity {
            Some(name) => Some(self.identity(name).await?),
            None => None,
        };
        let names = self.identity_names().await?;
        let records = self
            .store()
            .list_grants(identity.as_ref().map(|i| i.id.as_str()))
            .await?;
        let mut grants = Vec::with_capacity(records.len());
        for record in records {
            let name = names.get(&record.identity_id).cloned().unwrap_or_default();
            let grant = Grant::from_record(record, name)?;
            if filter.state.is_none_or(|s| grant.state(now) == s) {
                grants.push(grant);
            }
        }
        Ok(grants)
    }
}
