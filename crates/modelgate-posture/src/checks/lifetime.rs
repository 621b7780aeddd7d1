//! NHI7 Long-Lived Secrets: API keys whose lifetime exceeds the policy or
//! that are past their rotation date.

use super::helpers::{name_of, when};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{CredentialType, IdentityStatus, PostureSnapshot};
use crate::time::{DAY, days_between};

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    let keys = s
        .credentials
        .iter()
        .filter(|c| c.credential_type == CredentialType::ApiKey && c.is_live(s.now));
    for key in keys {
        // Live keys on inactive identities are NHI1 findings already.
        let active = s
            .identity(&key.identity)
            .is_none_or(|i| i.status == IdentityStatus::Active);
        if !active {
            continue;
        }
        let name = name_of(s, &key.identity);
        let evidence = |fact: String| Evidence {
            identities: vec![key.identity.clone()],
            credentials: vec![key.id.clone()],
            facts: vec![fact],
            ..Evidence::default()
        };
        let max = i64::from(settings.max_key_lifetime_days);
        let lifetime = key
            .expires_at
            .map(|e| e.saturating_sub(key.created_at) / DAY);
        if lifetime.is_none_or(|d| d > max) {
            let fact = match lifetime {
                Some(d) => format!("lifetime {d} days, policy {max} days"),
                None => "never expires".to_owned(),
            };
            out.push(Finding::new(
                FindingFamily::LifetimeExceeded,
                &key.id,
                Severity::High,
                format!("API key {} of {name} outlives the {max}-day policy", key.id),
                evidence(fact),
                format!("modelgate key rotate {}", key.id),
            ));
        }
        let age = days_between(key.created_at, s.now);
        if age > i64::from(settings.rotation_days) {
            out.push(Finding::new(
                FindingFamily::RotationOverdue,
                &key.id,
                Severity::Medium,
                format!("API key {} of {name} is past its rotation date", key.id),
                evidence(format!(
                    "issued {}, rotation every {} days",
                    when(s.now, key.created_at),
                    settings.rotation_days
                )),
                format!("modelgate key rotate {}", key.id),
            ));
        }
    }
}
