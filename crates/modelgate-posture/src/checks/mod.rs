//! The posture checks, one module per OWASP NHI Top 10 item.

mod authentication;
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
use crate::snapshot::{CredentialRecord, CredentialType, PostureSnapshot};
use crate::time::{days_between, iso_date};

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
    out
}

/// The name of an identity id, or the id itself when it is not registered.
fn name_of<'a>(snapshot: &'a PostureSnapshot, id: &'a str) -> &'a str {
    snapshot.identity(id).map_or(id, |i| i.name.as_str())
}

/// Live API keys of an identity.
fn live_keys<'a>(
    snapshot: &'a PostureSnapshot,
    identity_id: &'a str,
) -> impl Iterator<Item = &'a CredentialRecord> + 'a {
    snapshot
        .credentials_of(identity_id)
        .filter(move |c| c.credential_type == CredentialType::ApiKey && c.is_live(snapshot.now))
}

/// "2026-01-02 (40 days ago)".
fn when(now: i64, t: i64) -> String {
    match days_between(t, now) {
        1 => format!("{} (1 day ago)", iso_date(t)),
        n => format!("{} ({n} days ago)", iso_date(t)),
    }
}

/// Sorted, de-duplicated record ids, at most ten (evidence, not a dump).
fn record_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().cloned().collect();
    v.sort();
    v.dedup();
    v.truncate(10);
    v
}
