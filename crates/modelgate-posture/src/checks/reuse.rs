//! NHI9 NHI Reuse: one identity used by many distinct workloads
//! (federation subjects, client addresses, user agents).

use super::helpers::record_ids;
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::PostureSnapshot;

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for usage in &s.usage {
        let Some(identity) = s.identity(&usage.identity) else {
            continue;
        };
        let mut facts = Vec::new();
        let mut records = Vec::new();
        let subjects = usage.federation_subjects.len();
        if subjects > settings.max_federation_subjects {
            facts.push(format!(
                "{subjects} federation subjects (threshold {})",
                settings.max_federation_subjects
            ));
            records.extend(usage.federation_subjects.iter().flat_map(|f| &f.record_ids));
        }
        for (label, seen, max) in [
            (
                "client addresses",
                &usage.client_addresses,
                settings.max_client_addresses,
            ),
            ("user agents", &usage.user_agents, settings.max_user_agents),
        ] {
            if seen.len() > max {
                facts.push(format!("{} {label} (threshold {max})", seen.len()));
                records.extend(seen.iter().flat_map(|o| &o.record_ids));
            }
        }
        if facts.is_empty() {
            continue;
        }
        out.push(Finding::new(
            FindingFamily::SharedIdentity,
            &identity.id,
            Severity::Medium,
            format!("{} is shared by many workloads", identity.name),
            Evidence {
                identities: vec![identity.id.clone()],
                audit_records: record_ids(records),
                facts,
                ..Evidence::default()
            },
            format!(
                "give each workload its own identity (modelgate identity create --name WORKLOAD \
                 --owner {} ...) and retire the shared one with modelgate identity offboard {}",
                identity.owner().unwrap_or("OWNER"),
                identity.name
            ),
        ));
    }
}
