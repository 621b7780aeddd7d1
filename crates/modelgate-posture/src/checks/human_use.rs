//! NHI10 Human Use of NHI: interactive user agents, browser origins, or a
//! working-hours activity pattern on a non-human identity.

use super::helpers::record_ids;
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{IdentityUsage, PostureSnapshot};

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for usage in &s.usage {
        let Some(identity) = s.identity(&usage.identity) else {
            continue;
        };
        let mut facts = Vec::new();
        let mut records = Vec::new();
        let interactive: Vec<_> = usage
            .user_agents
            .iter()
            .filter(|ua| {
                settings
                    .interactive_user_agents
                    .iter()
                    .any(|m| !m.is_empty() && ua.value.contains(m.as_str()))
            })
            .collect();
        if !interactive.is_empty() {
            let values: Vec<&str> = interactive.iter().map(|o| o.value.as_str()).collect();
            facts.push(format!("interactive user agents: {}", values.join(" | ")));
            records.extend(interactive.iter().flat_map(|o| &o.record_ids));
        }
        if !usage.browser_origins.is_empty() {
            let values: Vec<&str> = usage
                .browser_origins
                .iter()
                .map(|o| o.value.as_str())
                .collect();
            facts.push(format!("browser origins: {}", values.join(", ")));
            records.extend(usage.browser_origins.iter().flat_map(|o| &o.record_ids));
        }
        if let Some(share) = working_hours_share(usage, settings) {
            facts.push(format!(
                "{:.0}% of requests between {:02}:00 and {:02}:00 UTC",
                share * 100.0,
                settings.working_hours_start,
                settings.working_hours_end
            ));
        }
        if facts.is_empty() {
            continue;
        }
        out.push(Finding::new(
            FindingFamily::HumanUse,
            &identity.id,
            Severity::High,
            format!("{} looks used by a person", identity.name),
            Evidence {
                identities: vec![identity.id.clone()],
                audit_records: record_ids(records),
                facts,
                ..Evidence::default()
            },
            format!(
                "modelgate identity disable {} and have people sign in as themselves; re-enable \
                 once only the workload holds its credentials",
                identity.name
            ),
        ));
    }
}

/// The share of requests inside working hours, when it crosses the
/// threshold on enough requests; `None` otherwise.
fn working_hours_share(usage: &IdentityUsage, settings: &PostureSettings) -> Option<f64> {
    let total = usage
        .hourly_activity
        .iter()
        .take(24)
        .fold(0u64, |acc, n| acc.saturating_add(*n));
    if total == 0 || total < settings.working_hours_min_requests {
        return None;
    }
    let start = usize::from(settings.working_hours_start.min(24));
    let end = usize::from(settings.working_hours_end.min(24));
    let inside: u64 = usage
        .hourly_activity
        .iter()
        .take(24)
        .enumerate()
        .filter(|(hour, _)| (start..end).contains(hour))
        .fold(0u64, |acc, (_, n)| acc.saturating_add(*n));
    #[allow(clippy::cast_precision_loss)] // request counts far below 2^52
    let share = inside as f64 / total as f64;
    (share >= settings.working_hours_share).then_some(share)
}
