//! Small helpers the checks share to word their findings: an identity's
//! name, its live API keys, a date with its age, and capped record-id lists.

use crate::snapshot::{CredentialRecord, CredentialType, PostureSnapshot};
use crate::time::{days_between, iso_date};

/// The name of an identity id, or the id itself when it is not registered.
pub(super) fn name_of<'a>(snapshot: &'a PostureSnapshot, id: &'a str) -> &'a str {
    snapshot.identity(id).map_or(id, |i| i.name.as_str())
}

/// Live API keys of an identity.
pub(super) fn live_keys<'a>(
    snapshot: &'a PostureSnapshot,
    identity_id: &'a str,
) -> impl Iterator<Item = &'a CredentialRecord> + 'a {
    snapshot
        .credentials_of(identity_id)
        .filter(move |c| c.credential_type == CredentialType::ApiKey && c.is_live(snapshot.now))
}

/// "2026-01-02 (40 days ago)".
pub(super) fn when(now: i64, t: i64) -> String {
    match days_between(t, now) {
        1 => format!("{} (1 day ago)", iso_date(t)),
        n => format!("{} ({n} days ago)", iso_date(t)),
    }
}

/// Sorted, de-duplicated record ids, at most ten (evidence, not a dump).
pub(super) fn record_ids<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = ids.into_iter().cloned().collect();
    v.sort();
    v.dedup();
    v.truncate(10);
    v
}
