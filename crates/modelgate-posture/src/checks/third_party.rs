//! NHI3 Vulnerable Third-Party NHI: confidential data sent to a hosted
//! upstream that retains prompts or isolates tenants only by contract.

use super::helpers::{name_of, record_ids};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{Deployment, Isolation, PostureSnapshot};

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for usage in &s.usage {
        let name = name_of(s, &usage.identity);
        for used in &usage.upstreams {
            let Some(upstream) = s.upstream(&used.upstream) else {
                continue;
            };
            if upstream.deployment != Deployment::Hosted {
                continue;
            }
            let retains = upstream.retention_days > 0;
            let contractual = upstream.isolation == Isolation::Contractual;
            if !retains && !contractual {
                continue;
            }
            let mut classes: Vec<&str> = used
                .data_classes
                .iter()
                .filter(|c| settings.confidential_data_classes.contains(c))
                .map(String::as_str)
                .collect();
            classes.sort_unstable();
            classes.dedup();
            if classes.is_empty() {
                continue;
            }
            let mut facts = vec![format!(
                "data classes sent: {}; {} request(s)",
                classes.join(", "),
                used.requests
            )];
            if retains {
                facts.push(format!(
                    "{} retains prompts for {} days",
                    upstream.name, upstream.retention_days
                ));
            }
            if contractual {
                facts.push(format!(
                    "{} isolates tenants by contract only",
                    upstream.name
                ));
            }
            // A ceiling that keeps every one of these classes away is
            // already in place: the traffic predates it.
            let fenced = upstream
                .admits_data_classes
                .as_ref()
                .is_some_and(|admits| classes.iter().all(|c| !admits.iter().any(|a| a == c)));
            let remediation = if fenced {
                facts.push(format!(
                    "max_data_class of {} now keeps {} away",
                    upstream.name,
                    classes.join(", ")
                ));
                format!(
                    "nothing to change: max_data_class of upstream {} already keeps {} away; \
                     the requests predate it",
                    upstream.name,
                    classes.join(", ")
                )
            } else {
                format!(
                    "lower max_data_class of upstream {1} in modelgate.toml below {0} (a \
                     self-hosted target after it takes {0}), then modelgate config check",
                    classes.join(", "),
                    upstream.name
                )
            };
            out.push(Finding::new(
                FindingFamily::ConfidentialToRiskyHosted,
                &format!("{}:{}", usage.identity, upstream.name),
                Severity::High,
                format!(
                    "{name} sent {} data to hosted upstream {}",
                    classes.join("/"),
                    upstream.name
                ),
                Evidence {
                    identities: vec![usage.identity.clone()],
                    upstreams: vec![upstream.name.clone()],
                    audit_records: record_ids(&used.record_ids),
                    facts,
                    ..Evidence::default()
                },
                remediation,
            ));
        }
    }
}
