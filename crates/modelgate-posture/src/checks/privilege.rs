//! NHI5 Overprivileged NHI: roles or models granted and unused.

use super::helpers::{name_of, when};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{EntitlementKind, IdentityStatus, PostureSnapshot};
use crate::time::days_between;

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for e in &s.entitlements {
        let offboarded = s
            .identity(&e.identity)
            .is_some_and(|i| i.status == IdentityStatus::Offboarded);
        let expired = e.expires_at.is_some_and(|t| t <= s.now);
        if offboarded || expired {
            continue;
        }
        let last = e.last_used_at.unwrap_or(e.granted_at);
        if days_between(last, s.now) < i64::from(settings.privilege_unused_days) {
            continue;
        }
        let name = name_of(s, &e.identity);
        let fact = match e.last_used_at {
            Some(t) => format!("last used {}", when(s.now, t)),
            None => format!("never used; granted {}", when(s.now, e.granted_at)),
        };
        let by = s
            .identity(&e.identity)
            .and_then(|i| i.owner())
            .map_or_else(|| "REVIEWER".to_owned(), crate::finding::shell_word);
        let remediation = match (e.source.strip_prefix("jit:"), e.kind) {
            (Some(grant), EntitlementKind::Role | EntitlementKind::Model) => {
                format!("modelgate grant revoke {grant} --by {by}")
            }
            (None, EntitlementKind::Role) => format!(
                "modelgate role unassign --identity {name} --role {} --by {by}",
                e.name
            ),
            (_, EntitlementKind::Admin) => format!(
                "modelgate admin revoke --identity {}",
                crate::finding::shell_word(name)
            ),
            (None, EntitlementKind::Model) => format!(
                "take model {} out of the roles {name} holds ([[roles]] models), then \
                 modelgate config check",
                e.name
            ),
        };
        out.push(Finding::new(
            FindingFamily::UnusedEntitlement,
            &format!("{}:{}:{}", e.identity, e.kind.as_str(), e.name),
            Severity::Medium,
            format!(
                "{name} holds {} {} unused for {} days or more",
                e.kind.as_str(),
                e.name,
                settings.privilege_unused_days
            ),
            Evidence {
                identities: vec![e.identity.clone()],
                facts: vec![fact, format!("source: {}", e.source)],
                ..Evidence::default()
            },
            remediation,
        ));
    }
}
