//! NHI6 Insecure Cloud Deployment Configurations: issuer claim rules that
//! match too many workloads (no or wildcard subject, wildcard repository or
//! namespace, no environment or ref condition).

use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{ClaimRule, IssuerRecord, PostureSnapshot};

pub(super) fn check(s: &PostureSnapshot, _settings: &PostureSettings, out: &mut Vec<Finding>) {
    for issuer in &s.issuers {
        for rule in &issuer.rules {
            let weaknesses = weaknesses(issuer, rule);
            let Some(worst) = weaknesses.iter().map(|w| w.0).max() else {
                continue;
            };
            let identity_id = s
                .identities
                .iter()
                .find(|i| i.name == rule.identity)
                .map(|i| i.id.clone());
            out.push(Finding::new(
                FindingFamily::WeakIssuerRule,
                &format!("{}:{}", issuer.name, rule.identity),
                worst,
                format!(
                    "Issuer {} rule for {} has weak claim conditions",
                    issuer.name, rule.identity
                ),
                Evidence {
                    identities: identity_id.into_iter().collect(),
                    issuers: vec![issuer.name.clone()],
                    facts: weaknesses.into_iter().map(|w| w.1).collect(),
                    ..Evidence::default()
                },
                format!(
                    "pin exact claims in the [[issuers.rules]] entry of issuer {} for identity {} \
                     in modelgate.toml ({}), then modelgate config check",
                    issuer.name,
                    rule.identity,
                    pin_hint(&issuer.preset)
                ),
            ));
        }
    }
}

fn pin_hint(preset: &str) -> &'static str {
    match preset {
        "github_actions" => {
            "sub = \"repo:ORG/REPO:environment:ENV\" or a job_workflow_ref on a branch"
        }
        "kubernetes" => "sub = \"system:serviceaccount:NAMESPACE:NAME\"",
        "spiffe" => "sub = the exact SPIFFE ID",
        _ => "an exact sub",
    }
}

/// Each weakness with its severity; empty when the rule is tight.
pub(crate) fn weaknesses(issuer: &IssuerRecord, rule: &ClaimRule) -> Vec<(Severity, String)> {
    let mut found = Vec::new();
    for (claim, pattern) in &rule.claims {
        if pattern.trim().is_empty() || pattern.chars().all(|c| c == '*') {
            found.push((Severity::High, format!("claim {claim} matches anything")));
        }
    }
    let sub = rule.claims.get("sub").map(String::as_str);
    match sub {
        None => found.push((Severity::High, "sub is not constrained".to_owned())),
        Some(sub) => match issuer.preset.as_str() {
            "github_actions" => github(sub, rule, &mut found),
            "kubernetes" => {
                let parts: Vec<&str> = sub.split(':').collect();
                if parts.get(2).is_some_and(|ns| ns.contains('*')) {
                    found.push((
                        Severity::High,
                        format!("sub {sub} has a wildcard namespace"),
                    ));
                } else if sub.contains('*') {
                    found.push((Severity::Medium, format!("sub {sub} has a wildcard")));
                }
            }
            _ if sub.contains('*') => {
                found.push((Severity::Medium, format!("sub {sub} has a wildcard")));
            }
            _ => {}
        },
    }
    found
}

fn github(sub: &str, rule: &ClaimRule, found: &mut Vec<(Severity, String)>) {
    // repo:ORG/REPO:...; the repository is the part before the second ':'.
    let repo = sub
        .strip_prefix("repo:")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("");
    let repository_claim = rule.claims.get("repository").map(String::as_str);
    if repo.contains('*') || repo.is_empty() || repository_claim.is_some_and(|r| r.contains('*')) {
        found.push((
            Severity::High,
            format!("sub {sub} does not pin one repository"),
        ));
    }
    let exact = |claim: &str| rule.claims.get(claim).is_some_and(|v| !v.contains('*'));
    let sub_context = sub.splitn(3, ':').nth(2).unwrap_or("");
    let sub_pins_context = (sub_context.starts_with("environment:")
        || sub_context.starts_with("ref:"))
        && !sub_context.contains('*');
    if !sub_pins_context && !exact("environment") && !exact("ref") && !exact("job_workflow_ref") {
        found.push((
            Severity::Medium,
            "no environment or ref condition (any branch or pull request matches)".to_owned(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn rule(claims: &[(&str, &str)]) -> ClaimRule {
        ClaimRule {
            identity: "x".to_owned(),
            claims: claims
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn issuer(preset: &str) -> IssuerRecord {
        IssuerRecord {
            name: "i".to_owned(),
            preset: preset.to_owned(),
            rules: Vec::new(),
        }
    }

    #[test]
    fn tight_rules_pass() {
        let gh = issuer("github_actions");
        assert!(
            weaknesses(&gh, &rule(&[("sub", "repo:acme/billing:environment:prod")])).is_empty()
        );
        assert!(
            weaknesses(
                &gh,
                &rule(&[("sub", "repo:acme/billing:ref:refs/heads/main")])
            )
            .is_empty()
        );
        assert!(
            weaknesses(
                &gh,
                &rule(&[
                    ("sub", "repo:acme/billing:pull_request"),
                    (
                        "job_workflow_ref",
                        "acme/billing/.github/workflows/d.yml@refs/heads/main"
                    )
                ])
            )
            .is_empty()
        );
        let k8s = issuer("kubernetes");
        assert!(
            weaknesses(
                &k8s,
                &rule(&[("sub", "system:serviceaccount:payments:api")])
            )
            .is_empty()
        );
    }

    #[test]
    fn weak_rules_are_named() {
        let gh = issuer("github_actions");
        let w = weaknesses(&gh, &rule(&[("sub", "repo:acme/*")]));
        assert!(
            w.iter()
                .any(|(s, m)| *s == Severity::High && m.contains("repository"))
        );
        assert!(w.iter().any(|(_, m)| m.contains("environment or ref")));
        let w = weaknesses(&gh, &rule(&[("sub", "repo:acme/billing:*")]));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].0, Severity::Medium);
        let w = weaknesses(&gh, &rule(&[("repository_owner", "acme")]));
        assert!(w.iter().any(|(_, m)| m == "sub is not constrained"));
        let w = weaknesses(&issuer("oidc"), &rule(&[("sub", "*")]));
        assert!(w.iter().any(|(s, _)| *s == Severity::High));
        let w = weaknesses(
            &issuer("kubernetes"),
            &rule(&[("sub", "system:serviceaccount:*:api")]),
        );
        assert_eq!(w[0].0, Severity::High);
    }
}
