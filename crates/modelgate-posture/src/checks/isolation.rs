//! NHI8 Environment Isolation: an identity reaching upstreams of another
//! environment, or minted for federated subjects from several environments.

use super::helpers::record_ids;
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::PostureSnapshot;

pub(super) fn check(s: &PostureSnapshot, _settings: &PostureSettings, out: &mut Vec<Finding>) {
    for usage in &s.usage {
        let Some(identity) = s.identity(&usage.identity) else {
            continue;
        };
        for used in usage
            .upstreams
            .iter()
            .filter(|u| u.environment != identity.environment)
        {
            out.push(Finding::new(
                FindingFamily::CrossEnvironmentUpstream,
                &format!("{}:{}", identity.id, used.upstream),
                Severity::High,
                format!(
                    "{} ({}) reached upstream {} of environment {}",
                    identity.name, identity.environment, used.upstream, used.environment
                ),
                Evidence {
                    identities: vec![identity.id.clone()],
                    upstreams: vec![used.upstream.clone()],
                    audit_records: record_ids(&used.record_ids),
                    facts: vec![format!("{} request(s)", used.requests)],
                    ..Evidence::default()
                },
                format!(
                    "remove the models served by {} from the roles of {} and deny \
                     cross-environment routing in Cedar: @id(\"environment-separation\") \
                     @reason(\"an identity only reaches upstreams of its own environment\") \
                     forbid (principal, action, resource) when {{ context.upstream has environment \
                     && principal.environment != context.upstream.environment }};",
                    used.upstream, identity.name
                ),
            ));
        }

        let mut envs: Vec<&str> = usage
            .federation_subjects
            .iter()
            .filter_map(|f| {
                f.environment
                    .as_deref()
                    .or_else(|| github_environment(&f.subject))
            })
            .collect();
        envs.sort_unstable();
        envs.dedup();
        if envs.len() > 1 {
            let mut issuers: Vec<String> = usage
                .federation_subjects
                .iter()
                .map(|f| f.issuer.clone())
                .collect();
            issuers.sort();
            issuers.dedup();
            out.push(Finding::new(
                FindingFamily::SubjectsFromSeveralEnvironments,
                &identity.id,
                Severity::High,
                format!(
                    "{} is minted for workloads of {} environments",
                    identity.name,
                    envs.len()
                ),
                Evidence {
                    identities: vec![identity.id.clone()],
                    issuers,
                    audit_records: record_ids(
                        usage.federation_subjects.iter().flat_map(|f| &f.record_ids),
                    ),
                    facts: vec![format!("environments: {}", envs.join(", "))],
                    ..Evidence::default()
                },
                format!(
                    "create one identity per environment (modelgate identity create --name {}-ENV \
                     --environment ENV ...) and pin the environment in each issuer rule",
                    identity.name
                ),
            ));
        }
    }
}

/// The environment named in a GitHub Actions subject
/// (`repo:ORG/REPO:environment:NAME`), when the audit log recorded none.
fn github_environment(subject: &str) -> Option<&str> {
    let rest = subject.strip_prefix("repo:")?;
    let (_, env) = rest.split_once(":environment:")?;
    (!env.is_empty()).then_some(env)
}

#[cfg(test)]
mod tests {
    use super::github_environment;

    #[test]
    fn environment_from_github_subject() {
        assert_eq!(
            github_environment("repo:acme/b:environment:prod"),
            Some("prod")
        );
        assert_eq!(github_environment("repo:acme/b:ref:refs/heads/main"), None);
        assert_eq!(github_environment("repo:acme/b:environment:"), None);
        assert_eq!(github_environment("system:serviceaccount:a:b"), None);
    }
}
