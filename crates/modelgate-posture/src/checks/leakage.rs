//! NHI2 Secret Leakage: gateway keys in prompts, and identities whose
//! prompts keep carrying credentials.

use super::helpers::{live_keys, name_of, record_ids};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::PostureSnapshot;

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for usage in &s.usage {
        let name = name_of(s, &usage.identity);
        let is_gateway_key = |kind: &str| settings.gateway_key_kinds.iter().any(|k| k == kind);

        let gateway: Vec<_> = usage
            .screen_findings
            .iter()
            .filter(|f| f.requests > 0 && is_gateway_key(&f.kind))
            .collect();
        if !gateway.is_empty() {
            let requests: u64 = gateway.iter().map(|f| f.requests).sum();
            let keys: Vec<String> = live_keys(s, &usage.identity)
                .map(|k| k.id.clone())
                .collect();
            let remediation = if keys.is_empty() {
                "modelgate key list, then modelgate key revoke KEY_ID for the leaked key".to_owned()
            } else {
                keys.iter()
                    .map(|k| format!("modelgate key rotate {k}"))
                    .collect::<Vec<_>>()
                    .join(" && ")
            };
            out.push(Finding::new(
                FindingFamily::GatewayKeyInPrompt,
                &usage.identity,
                Severity::Critical,
                format!("A modelgate API key appeared in prompts of {name}"),
                Evidence {
                    identities: vec![usage.identity.clone()],
                    credentials: keys,
                    audit_records: record_ids(gateway.iter().flat_map(|f| &f.record_ids)),
                    facts: vec![format!("{requests} request(s) carried a gateway key")],
                    ..Evidence::default()
                },
                remediation,
            ));
        }

        let secrets: Vec<_> = usage
            .screen_findings
            .iter()
            .filter(|f| f.category == "credential" && !is_gateway_key(&f.kind))
            .collect();
        let requests: u64 = secrets.iter().map(|f| f.requests).sum();
        if requests >= settings.repeated_secret_requests.max(1) {
            let mut kinds: Vec<&str> = secrets.iter().map(|f| f.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            out.push(Finding::new(
                FindingFamily::RepeatedSecretsInPrompts,
                &usage.identity,
                Severity::High,
                format!("Prompts of {name} keep carrying credentials"),
                Evidence {
                    identities: vec![usage.identity.clone()],
                    audit_records: record_ids(secrets.iter().flat_map(|f| &f.record_ids)),
                    facts: vec![format!(
                        "{requests} request(s) with credentials ({})",
                        kinds.join(", ")
                    )],
                    ..Evidence::default()
                },
                format!(
                    "set action = \"block\" for category credential under [screen] in modelgate.toml, \
                     run modelgate config check, and have the owner of {name} fix the prompt source"
                ),
            ));
        }
    }
}
