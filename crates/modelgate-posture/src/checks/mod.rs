//! The posture checks, one module per OWASP NHI Top 10 item.

mod authentication;
mod helpers;
mod human_use;
mod isolation;
mod issuer_rules;
mod leakage;
mod lifetime;
mod offboarding;
mod privilege;
mod reuse;
mod third_party;

use crate::finding::Finding;
use crate::settings::PostureSettings;
use crate::snapshot::PostureSnapshot;

/// Every finding in `snapshot`, ordered by NHI item, family and id, each id
/// once. Pure: the same snapshot and settings give the same list.
pub fn findings(snapshot: &PostureSnapshot, settings: &PostureSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    offboarding::check(snapshot, settings, &mut out);
    leakage::check(snapshot, settings, &mut out);
    third_party::check(snapshot, settings, &mut out);
    authentication::check(snapshot, settings, &mut out);
    privilege::check(snapshot, settings, &mut out);
    for review in &snapshot.reviews {
        out.extend(review.overdue_findings(snapshot.now));
    }
    issuer_rules::check(snapshot, settings, &mut out);
    lifetime::check(snapshot, settings, &mut out);
    isolation::check(snapshot, settings, &mut out);
    reuse::check(snapshot, settings, &mut out);
    human_use::check(snapshot, settings, &mut out);
    out.sort_by(|a, b| (a.nhi, a.family, &a.id).cmp(&(b.nhi, b.family, &b.id)));
    out.dedup_by(|a, b| a.id == b.id);
    for finding in &mut out {
        let evidence = &mut finding.evidence;
        evidence.identity_names = evidence
            .identities
            .iter()
            .map(|id| helpers::name_of(snapshot, id).to_owned())
            .collect();
    }
    out
}
