//! Building the [`RequestFacts`] Cedar decides on, from what the earlier
//! stages produced.

use modelgate_config::classes::data_class_of;
use modelgate_identity::Principal;
use modelgate_identity::access::{Entitlements, RoleSource as HeldBy};
use modelgate_policy::{
    ActiveRole, DataClass, FindingSummary, PrincipalFacts, RequestFacts, RoleSource, TimeFacts,
    UpstreamFacts,
};
use modelgate_types::{Deployment, IdentityStatus, Isolation, Operation};

use crate::stages::screen::Screening;
use crate::upstream::Upstream;

/// The facts of one call, without the upstream; [`FactsBuilder::for_upstream`]
/// completes them per candidate.
pub struct FactsBuilder {
    base: RequestFacts,
}

impl FactsBuilder {
    /// Facts for `principal` (active: authentication refused the others)
    /// holding `entitlements`, calling `action` on `model`.
    pub fn new(
        principal: &Principal,
        entitlements: &Entitlements,
        action: Operation,
        model: &str,
        max_tokens: Option<u64>,
        screening: Option<&Screening>,
        now: i64,
    ) -> FactsBuilder {
        let roles = entitlements
            .roles
            .iter()
            .map(|held| ActiveRole {
                name: held.role.clone(),
                source: match &held.source {
                    HeldBy::Standing => RoleSource::Standing,
                    HeldBy::Grant { grant_id } => RoleSource::Grant(grant_id.clone()),
                },
            })
            .collect();
        let (data_class, findings) = match screening {
            Some(s) => (
                data_class_of(s.class),
                FindingSummary {
                    counts: s.findings.iter().cloned().collect(),
                    has_secret: s.has_credential,
                    has_pii: s.has_personal_data,
                },
            ),
            None => (DataClass::Public, FindingSummary::default()),
        };
        FactsBuilder {
            base: RequestFacts {
                principal: PrincipalFacts {
                    id: principal.identity_id.clone(),
                    name: principal.identity_name.clone(),
                    kind: principal.kind,
                    status: IdentityStatus::Active,
                    environment: principal.environment.clone(),
                    owner: principal.owner.clone(),
                },
                roles,
                delegation: principal
                    .delegation
                    .iter()
                    .map(|a| a.subject.clone())
                    .collect(),
                action,
                model: model.to_owned(),
                max_tokens,
                data_class,
                findings,
                upstream: UpstreamFacts {
                    name: String::new(),
                    kind: String::new(),
                    deployment: Deployment::SelfHosted,
                    region: String::new(),
                    retention_days: 0,
                    isolation: Isolation::Technical,
                    environment: None,
                },
                time: TimeFacts::from_unix(now),
            },
        }
    }

    /// The complete facts for a call to `upstream`.
    pub fn for_upstream(&mut self, upstream: &Upstream) -> &RequestFacts {
        let facts = &mut self.base.upstream;
        facts.name.clear();
        facts.name.push_str(&upstream.name);
        facts.kind.clear();
        facts.kind.push_str(upstream.kind.as_str());
        facts.deployment = upstream.deployment;
        facts.region.clone_from(&upstream.region);
        facts.retention_days = upstream.retention_days;
        facts.isolation = upstream.isolation;
        facts.environment = upstream.environment.clone();
        &self.base
    }
}
