//! Just-in-time grants as the service shows them, and what callers pass in.

use std::fmt;
use std::time::Duration;

use modelgate_store::GrantRecord;
use serde::Serialize;

use crate::identity::CorruptRecord;

/// Where a grant stands. `Expired` is never stored: it is computed from
/// time (an approved grant whose `expires_at <= now`, a pending one whose
/// `pending_expires_at <= now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// Waiting for approvals.
    Pending,
    /// Approved and, until `expires_at`, active.
    Approved,
    /// Refused by an approver.
    Denied,
    /// Ended early (or withdrawn while pending).
    Revoked,
    /// Ran out: approved and past `expires_at`, or pending and past
    /// `pending_expires_at`.
    Expired,
}

impl GrantState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Pending => "pending",
            GrantState::Approved => "approved",
            GrantState::Denied => "denied",
            GrantState::Revoked => "revoked",
            GrantState::Expired => "expired",
        }
    }
}

impl fmt::Display for GrantState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for GrantState {
    type Err = modelgate_types::ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => GrantState::Pending,
            "approved" => GrantState::Approved,
            "denied" => GrantState::Denied,
            "revoked" => GrantState::Revoked,
            "expired" => GrantState::Expired,
            _ => {
                return Err(modelgate_types::ParseEnumError::new(
                    "grant state",
                    "pending, approved, denied, revoked, expired",
                ));
            }
        })
    }
}

/// One approval of a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantApproval {
    /// The approving identity's name.
    pub approver: String,
    /// When, unix seconds.
    pub at: i64,
}

/// A just-in-time grant: a role for an identity, for a while, once approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// `grt_...`.
    pub id: String,
    /// The identity that holds the role while the grant is active.
    pub identity_id: String,
    /// Its name.
    pub identity_name: String,
    /// The role.
    pub role: String,
    /// Who asked.
    pub requested_by: String,
    /// Why.
    pub reason: String,
    /// When it was asked for.
    pub requested_at: i64,
    /// How long it lasts once approved, in seconds.
    pub duration_secs: i64,
    /// When the request lapses if undecided.
    pub pending_expires_at: i64,
    /// Distinct approvals needed.
    pub approvals_required: u32,
    /// The state as last written (see [`Grant::state`] for the state now).
    pub recorded_state: GrantState,
    /// When it became active.
    pub starts_at: Option<i64>,
    /// When it stops.
    pub expires_at: Option<i64>,
    /// Who made the last decision.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<i64>,
    /// Why, if said.
    pub decision_reason: Option<String>,
    /// Approvals so far, in order.
    pub approvals: Vec<GrantApproval>,
}

impl Grant {
    /// The typed view of a stored grant.
    pub(crate) fn from_record(
        r: GrantRecord,
        identity_name: String,
    ) -> Result<Grant, CorruptRecord> {
        let recorded_state = r
            .state
            .parse()
            .map_err(|_| CorruptRecord("stored grant has an unknown state"))?;
        let approvals_required = u32::try_from(r.approvals_required)
            .map_err(|_| CorruptRecord("stored grant has a bad approval count"))?;
        Ok(Grant {
            id: r.id,
            identity_id: r.identity_id,
            identity_name,
            role: r.role,
            requested_by: r.requested_by,
            reason: r.reason,
            requested_at: r.requested_at,
            duration_secs: r.duration_secs,
            pending_expires_at: r.pending_expires_at,
            approvals_required,
            recorded_state,
            starts_at: r.starts_at,
            expires_at: r.expires_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_reason: r.decision_reason,
            approvals: r
                .approvals
                .into_iter()
                .map(|a| GrantApproval {
                    approver: a.approver,
                    at: a.at,
                })
                .collect(),
        })
    }

    /// The state at `now`: the recorded state, or `Expired` once its time
    /// has passed (to the second: at `expires_at` it is already expired).
    pub fn state(&self, now: i64) -> GrantState {
        match self.recorded_state {
            GrantState::Pending if self.pending_expires_at <= now => GrantState::Expired,
            GrantState::Approved if self.expires_at.is_none_or(|end| end <= now) => {
                GrantState::Expired
            }
            state => state,
        }
    }

    /// Whether the grant gives its role at `now`.
    pub fn is_active(&self, now: i64) -> bool {
        self.state(now) == GrantState::Approved && self.starts_at.is_some_and(|start| start <= now)
    }

    /// The requested duration.
    pub fn duration(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.duration_secs).unwrap_or(0))
    }
}

/// Who asks for (or revokes) a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// Someone named: must be the identity itself (its name) or its owner
    /// (for a revocation, also the original requester or an approver).
    Named(String),
    /// An admin whose scope the caller has checked covers the identity's
    /// owner (the admin API). The name is the admin identity's.
    Admin(String),
}

impl Requester {
    /// The name recorded for audit.
    pub fn name(&self) -> &str {
        match self {
            Requester::Named(name) | Requester::Admin(name) => name,
        }
    }
}

/// A request for a just-in-time grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    /// The identity's name.
    pub identity: String,
    /// The role.
    pub role: String,
    /// How long, once approved; at most the role's cap.
    pub duration: Duration,
    /// Why (required).
    pub reason: String,
    /// Who asks.
    pub requested_by: Requester,
}

/// Which grants to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantFilter {
    /// Only this identity's (by name).
    pub identity: Option<String>,
    /// Only grants in this state now (`Expired` included).
    pub state: Option<GrantState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(state: GrantState) -> Grant {
        Grant {
            id: "grt_1".into(),
            identity_id: "idn_1".into(),
            identity_name: "billing".into(),
            role: "reader".into(),
            requested_by: "billing".into(),
            reason: "r".into(),
            requested_at: 100,
            duration_secs: 60,
            pending_expires_at: 200,
            approvals_required: 1,
            recorded_state: state,
            starts_at: Some(150),
            expires_at: Some(210),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            approvals: Vec::new(),
        }
    }

    #[test]
    fn expiry_is_derived_to_the_second() {
        let g = grant(GrantState::Approved);
        assert!(!g.is_active(149));
        assert!(g.is_active(150) && g.is_active(209));
        assert!(!g.is_active(210));
        assert_eq!(g.state(210), GrantState::Expired);
        let p = grant(GrantState::Pending);
        assert_eq!(p.state(199), GrantState::Pending);
        assert_eq!(p.state(200), GrantState::Expired);
        assert!(!p.is_active(160));
        assert_eq!(
            grant(GrantState::Revoked).state(10_000),
            GrantState::Revoked
        );
        assert!(!grant(GrantState::Revoked).is_active(160));
    }

    #[test]
    fn state_names_round_trip() {
        for s in ["pending", "approved", "denied", "revoked", "expired"] {
            assert_eq!(s.parse::<GrantState>().unwrap().as_str(), s);
        }
        assert!("active".parse::<GrantState>().is_err());
    }
}
