//! Ownership readiness: every upstream names owners for patching, incident
//! response and offboarding, and a credential rotation policy.

use serde::{Deserialize, Serialize};

use crate::snapshot::UpstreamRecord;

/// What an upstream lacks before it may take traffic under
/// `require_readiness = true`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// No patching owner.
    PatchingOwner,
    /// No incident-response owner.
    IncidentOwner,
    /// No offboarding owner.
    OffboardingOwner,
    /// No credential rotation policy (or a zero-day one).
    RotationPolicy,
}

impl GapKind {
    /// The config field that closes the gap.
    pub fn field(self) -> &'static str {
        match self {
            GapKind::PatchingOwner => "ownership.patching",
            GapKind::IncidentOwner => "ownership.incident_response",
            GapKind::OffboardingOwner => "ownership.offboarding",
            GapKind::RotationPolicy => "ownership.rotation_days",
        }
    }
}

/// One readiness gap of one upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessGap {
    /// Upstream name.
    pub upstream: String,
    /// What is missing.
    pub kind: GapKind,
    /// Why routing would be refused, for the operator and the refusal reason.
    pub reason: String,
}

/// Every gap, upstream by upstream in input order; empty means ready.
pub fn readiness(upstreams: &[UpstreamRecord]) -> Vec<ReadinessGap> {
    let mut gaps = Vec::new();
    for u in upstreams {
        let o = &u.ownership;
        let missing = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        for (kind, absent, what) in [
            (
                GapKind::PatchingOwner,
                missing(&o.patching),
                "a patching owner",
            ),
            (
                GapKind::IncidentOwner,
                missing(&o.incident_response),
                "an incident-response owner",
            ),
            (
                GapKind::OffboardingOwner,
                missing(&o.offboarding),
                "an offboarding owner",
            ),
            (
                GapKind::RotationPolicy,
                o.rotation_days.is_none_or(|d| d == 0),
                "a credential rotation policy",
            ),
        ] {
            if absent {
                gaps.push(ReadinessGap {
                    upstream: u.name.clone(),
                    kind,
                    reason: format!(
                        "upstream {} lacks {what}: set {} in its [[upstreams]] entry",
                        u.name,
                        kind.field()
                    ),
                });
            }
        }
    }
    gaps
}

/// Whether one upstream may take traffic; `Err` carries the refusal reason
/// (all its gaps, joined) for `require_readiness = true`.
pub fn route_allowed(upstream: &UpstreamRecord) -> Result<(), String> {
    let gaps = readiness(std::slice::from_ref(upstream));
    if gaps.is_empty() {
        return Ok(());
    }
    let reasons: Vec<&str> = gaps.iter().map(|g| g.reason.as_str()).collect();
    Err(format!("not ready: {}", reasons.join("; ")))
}
