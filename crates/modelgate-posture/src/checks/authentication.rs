//! NHI4 Insecure Authentication: API keys in use where a federated issuer
//! rule exists for the workload, and keys sent outside the token endpoint.

use super::helpers::{live_keys, when};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{IdentityStatus, PostureSnapshot};
use crate::time::days_between;

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for identity in s
        .identities
        .iter()
        .filter(|i| i.status == IdentityStatus::Active)
    {
        let issuers: Vec<&str> = s
            .issuers
            .iter()
            .filter(|iss| iss.rules.iter().any(|r| r.identity == identity.name))
            .map(|iss| iss.name.as_str())
            .collect();
        for key in live_keys(s, &identity.id) {
            let recently_used = key
                .last_used_at
                .is_some_and(|t| days_between(t, s.now) < i64::from(settings.unused_days));
            let evidence = || Evidence {
                identities: vec![identity.id.clone()],
                credentials: vec![key.id.clone()],
                ..Evidence::default()
            };
            if recently_used && !issuers.is_empty() {
                let last = key.last_used_at.map(|t| when(s.now, t)).unwrap_or_default();
                out.push(Finding::new(
                    FindingFamily::KeyWhereFederationExists,
                    &key.id,
                    Severity::Medium,
                    format!(
                        "{} uses API key {} although issuer {} can federate it",
                        identity.name,
                        key.id,
                        issuers.join(", ")
                    ),
                    Evidence {
                        issuers: issuers.iter().map(|i| (*i).to_owned()).collect(),
                        facts: vec![format!("key last used {last}")],
                        ..evidence()
                    },
                    format!(
                        "switch {} to token exchange with issuer {}, then modelgate key revoke {}",
                        identity.name, issuers[0], key.id
                    ),
                ));
            }
            if key.used_outside_token_endpoint {
                out.push(Finding::new(
                    FindingFamily::KeyOutsideTokenEndpoint,
                    &key.id,
                    Severity::Medium,
                    format!(
                        "API key {} of {} is sent to model routes, not only to the token endpoint",
                        key.id, identity.name
                    ),
                    evidence(),
                    format!(
                        "exchange the key at /oauth2/token (client_credentials) and send the access \
                         token instead, then modelgate key rotate {}",
                        key.id
                    ),
                ));
            }
        }
    }
}
