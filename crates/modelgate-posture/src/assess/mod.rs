//! The assessment: from a workload's control requirements and the team's
//! operating maturity to hosted API, self-hosted, hybrid, or a refusal,
//! with reasons, residual risks and the gateway configuration that
//! enforces the choice.
//!
//! The rule, in order:
//! 1. Air-gapped: self-hosted if the team can sustain it, else refused.
//! 2. No confidential or regulated data: hosted.
//! 3. Sensitive data and a team that can sustain self-hosting: self-hosted,
//!    or hybrid when the workload also sends public or internal data.
//! 4. Sensitive data and a team that cannot: hosted, restricted to
//!    zero-retention upstreams in the residency region, with the gap named.
//!
//! "Can sustain" means: patches within 30 days, reviews telemetry at least
//! weekly, rotates credentials on a schedule or automatically, has on-call,
//! and at least two people.

mod config;
mod recommendation;
mod requirements;

pub use recommendation::Recommendation;
pub use requirements::{
    Auditability, Availability, DataClass, Latency, Operations, QUESTIONS, Question, Requirements,
    RotationCapacity, TelemetryReview, Workload,
};

use serde::Serialize;

/// The outcome of [`assess`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Assessment {
    /// The recommendation.
    pub recommendation: Recommendation,
    /// Why.
    pub reasons: Vec<String>,
    /// What the choice leaves open.
    pub residual_risks: Vec<String>,
    /// What keeps the team from sustaining self-hosting (empty if nothing).
    pub maturity_gaps: Vec<String>,
    /// modelgate TOML that enforces the choice; `None` when refused.
    pub config: Option<String>,
}

/// What keeps the team from operating a self-hosted model path.
pub fn maturity_gaps(ops: &Operations) -> Vec<String> {
    let mut gaps = Vec::new();
    if ops.patching_cadence_days > 30 {
        gaps.push(format!(
            "patches reach production in {} days (self-hosting needs 30 or fewer)",
            ops.patching_cadence_days
        ));
    }
    if ops.telemetry_review < TelemetryReview::Weekly {
        gaps.push("telemetry is reviewed less than weekly".to_owned());
    }
    if ops.rotation == RotationCapacity::Manual {
        gaps.push("credentials are rotated by hand".to_owned());
    }
    if !ops.on_call {
        gaps.push("no one is on call for the model path".to_owned());
    }
    if ops.team_size < 2 {
        gaps.push(format!(
            "a team of {} cannot staff patching and on-call",
            ops.team_size
        ));
    }
    gaps
}

/// Recommends hosted, self-hosted, hybrid, or refuses, for `req`.
pub fn assess(req: &Requirements) -> Assessment {
    let w = &req.workload;
    let gaps = maturity_gaps(&req.operations);
    let sustainable = gaps.is_empty();
    let mut sensitive: Vec<DataClass> = w
        .data_classes
        .iter()
        .copied()
        .filter(|c| c.is_sensitive())
        .collect();
    let mut open: Vec<DataClass> = w
        .data_classes
        .iter()
        .copied()
        .filter(|c| !c.is_sensitive())
        .collect();
    sensitive.sort();
    sensitive.dedup();
    open.sort();
    open.dedup();
    let names = |v: &[DataClass]| v.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");

    let mut reasons = Vec::new();
    let mut risks = Vec::new();
    let recommendation = if w.air_gapped {
        reasons.push("the workload is air-gapped: no hosted API is reachable".to_owned());
        if sustainable {
            reasons.push(
                "the team can sustain patching, telemetry review, rotation and on-call".to_owned(),
            );
            Recommendation::SelfHosted
        } else {
            reasons.push(format!(
                "refused: self-hosting is the only option and the team cannot sustain it ({})",
                gaps.join("; ")
            ));
            Recommendation::Refused
        }
    } else if sensitive.is_empty() {
        reasons.push(format!(
            "only {} data: hosted APIs fit lower-risk use",
            names(&open)
        ));
        reasons.push("a provider patches and scales the model; the team keeps identity, policy and audit at the gateway".to_owned());
        if !sustainable {
            reasons.push(format!(
                "the team could not sustain self-hosting anyway ({})",
                gaps.join("; ")
            ));
        }
        Recommendation::Hosted
    } else if sustainable {
        reasons.push(format!(
            "{} data needs control over retention, isolation and logs",
            names(&sensitive)
        ));
        reasons.push(
            "the team can sustain patching, telemetry review, rotation and on-call".to_owned(),
        );
        if open.is_empty() {
            Recommendation::SelfHosted
        } else {
            reasons.push(format!(
                "{} data can use a hosted API, keeping self-hosted capacity for {}",
                names(&open),
                names(&sensitive)
            ));
            Recommendation::Hybrid
        }
    } else {
        reasons.push(format!(
            "{} data would favour self-hosting, but the team cannot sustain it ({})",
            names(&sensitive),
            gaps.join("; ")
        ));
        reasons.push("a hosted API restricted to zero retention in the required region matches the team's maturity".to_owned());
        risks.push(format!(
            "{} data leaves your infrastructure: a vendor risk review (retention, isolation, sub-processors) is required before go-live",
            names(&sensitive)
        ));
        Recommendation::Hosted
    };

    if w.custom_policy_filters && recommendation != Recommendation::Refused {
        reasons.push(
            "custom filters run as Cedar policy and screening at the gateway, for either path"
                .to_owned(),
        );
    }
    match recommendation {
        Recommendation::Hosted | Recommendation::Hybrid => {
            risks.push("tenant isolation at the provider is contractual unless it offers a dedicated deployment".to_owned());
            if w.auditability == Auditability::Full {
                risks.push("the provider's own logs of prompts stay outside your control; the gateway audit log covers only your side".to_owned());
            }
            if let Some(region) = &w.residency {
                risks.push(format!(
                    "residency in {region} rests on the provider's regional processing commitment"
                ));
            }
            if w.latency == Latency::Realtime {
                risks.push(
                    "provider latency varies with shared load; realtime needs a fallback target"
                        .to_owned(),
                );
            }
        }
        _ => {}
    }
    match recommendation {
        Recommendation::SelfHosted | Recommendation::Hybrid => {
            risks.push(
                "model-server patching, capacity and credential rotation are yours".to_owned(),
            );
            if w.availability == Availability::Critical {
                risks.push("critical availability needs a second serving site or a fallback for non-sensitive classes".to_owned());
            }
        }
        Recommendation::Refused => {
            risks.push(
                "until the gaps close, no model path for this workload can be governed end to end"
                    .to_owned(),
            );
        }
        Recommendation::Hosted => {}
    }
    let config = (recommendation != Recommendation::Refused)
        .then(|| config::render(req, recommendation, &sensitive, &open));
    Assessment {
        recommendation,
        reasons,
        residual_risks: risks,
        maturity_gaps: gaps,
        config,
    }
}
