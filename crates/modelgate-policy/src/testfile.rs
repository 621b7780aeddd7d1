//! The policy test file format (TOML): cases of request facts and the
//! decision expected for them. See `docs/policy.md` for the full format.
//!
//! ```toml
//! [upstreams.openai]
//! deployment = "hosted"
//! retention_days = 30
//! isolation = "contractual"
//!
//! [defaults]
//! roles = ["chat-basic"]
//! model = "gpt-4o"
//!
//! [[case]]
//! name = "confidential data never goes to a hosted upstream"
//! data_class = "confidential"
//! upstream = "openai"
//! expect = "deny"
//! reason = "self-hosted"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::facts::{
    ActiveRole, DataClass, Deployment, FindingSummary, IdentityKind, IdentityStatus, Isolation,
    Operation, PrincipalFacts, RequestFacts, RoleSource, TimeFacts, UpstreamFacts,
};
use crate::role::RoleDef;

/// Finding kinds counted as personal data when a case does not say
/// `has_pii`/`has_secret` itself; every other kind counts as a secret.
pub const PII_KINDS: [&str; 7] = [
    "email",
    "phone_number",
    "payment_card",
    "iban",
    "us_ssn",
    "ipv4_address",
    "ipv6_address",
];

/// Unix time of cases that give none: 2026-01-01T12:00:00Z, a Thursday.
pub const DEFAULT_TEST_TIME: i64 = 1_767_268_800;

/// A parsed test file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Roles to compile the policies with instead of the set's own roles.
    #[serde(default, rename = "role")]
    pub roles: Option<Vec<RoleDef>>,
    /// Upstreams that cases name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamSpec>,
    /// Facts every case starts from.
    #[serde(default)]
    pub defaults: CaseFacts,
    /// The cases.
    #[serde(default, rename = "case")]
    pub cases: Vec<TestCase>,
}

/// One case: facts, and the decision expected. In the file, the facts'
/// fields sit beside `name`, `expect`, `reason` and `policy`.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct TestCase {
    /// What the case checks.
    pub name: String,
    /// Facts that override the file's defaults.
    pub facts: CaseFacts,
    /// `allow` or `deny`.
    pub expect: Expectation,
    /// Text the denial reason must contain.
    pub reason: Option<String>,
    /// A policy id that must be among the deciding policies.
    pub policy: Option<String>,
}

impl TryFrom<toml::Table> for TestCase {
    type Error = String;

    fn try_from(mut table: toml::Table) -> Result<Self, Self::Error> {
        let mut string = |key: &str| match table.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{key}` must be a string")),
        };
        let name = string("name")?.ok_or("a case needs a `name`")?;
        let in_case = |e: String| format!("case {name:?}: {e}");
        let expect = match string("expect").map_err(in_case)?.as_deref() {
            Some("allow") => Expectation::Allow,
            Some("deny") => Expectation::Deny,
            Some(_) => return Err(in_case("`expect` must be \"allow\" or \"deny\"".into())),
            None => return Err(in_case("`expect` is missing".into())),
        };
        let reason = string("reason").map_err(in_case)?;
        let policy = string("policy").map_err(in_case)?;
        let facts = toml::Value::Table(table)
            .try_into::<CaseFacts>()
            .map_err(|e| in_case(e.message().to_owned()))?;
        Ok(TestCase {
            name,
            facts,
            expect,
            reason,
            policy,
        })
    }
}

/// The expected decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// The request is allowed.
    Allow,
    /// The request is denied.
    Deny,
}

impl Expectation {
    /// Whether the expectation is an allow.
    pub fn is_allow(self) -> bool {
        self == Expectation::Allow
    }
}

/// A case's facts; every field is optional and falls back to `[defaults]`,
/// then to a built-in default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFacts {
    /// Identity name (default `test-identity`).
    pub identity: Option<String>,
    /// Identity id (default: the name).
    pub identity_id: Option<String>,
    /// Identity kind (default `service`).
    pub kind: Option<IdentityKind>,
    /// Identity status (default `active`).
    pub status: Option<IdentityStatus>,
    /// Identity environment (default `prod`).
    pub environment: Option<String>,
    /// Identity owner (default `test-owner`).
    pub owner: Option<String>,
    /// Standing roles.
    pub roles: Option<Vec<String>>,
    /// Roles held through JIT grants.
    pub grants: Option<Vec<GrantSpec>>,
    /// Delegation chain, outermost first.
    pub delegation: Option<Vec<String>>,
    /// Operation (default `chat`).
    pub action: Option<Operation>,
    /// Model (default `test-model`).
    pub model: Option<String>,
    /// Requested `max_tokens` (default: none asked).
    pub max_tokens: Option<u64>,
    /// Data class (default `public`).
    pub data_class: Option<DataClass>,
    /// Finding kinds and counts.
    pub findings: Option<BTreeMap<String, u32>>,
    /// Override: whether a secret was found.
    pub has_secret: Option<bool>,
    /// Override: whether personal data was found.
    pub has_pii: Option<bool>,
    /// Upstream: a name from `[upstreams]` or an inline table.
    pub upstream: Option<UpstreamRef>,
    /// Unix time (default [`DEFAULT_TEST_TIME`]).
    pub time: Option<i64>,
    /// Override: UTC hour.
    pub hour: Option<u8>,
    /// Override: ISO weekday (1 = Monday).
    pub weekday: Option<u8>,
}

/// A role held through a JIT grant.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// The role.
    pub role: String,
    /// The grant id.
    pub grant: String,
}

/// An upstream, by name or inline.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum UpstreamRef {
    /// A key of the file's `[upstreams]` table.
    Named(String),
    /// An inline upstream.
    Inline(UpstreamSpec),
}

/// An upstream in a test file; unset fields take defaults (a self-hosted
/// `openai`-kind upstream in region `local` with no retention).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    /// Name (default: the table key, or `test-upstream`).
    pub name: Option<String>,
    /// Wire kind (default `openai`).
    pub kind: Option<String>,
    /// Deployment (default `self_hosted`).
    pub deployment: Option<Deployment>,
    /// Region (default `local`).
    pub region: Option<String>,
    /// Retention days (default 0).
    pub retention_days: Option<u32>,
    /// Isolation (default `technical`).
    pub isolation: Option<Isolation>,
    /// Environment it serves.
    pub environment: Option<String>,
}

macro_rules! or_default {
    ($case:expr, $defaults:expr, $($field:ident),*) => {
        CaseFacts { $($field: $case.$field.clone().or_else(|| $defaults.$field.clone()),)* }
    };
}

impl CaseFacts {
    /// These facts, with unset fields taken from `defaults`.
    pub fn or(&self, defaults: &CaseFacts) -> CaseFacts {
        or_default!(
            self,
            defaults,
            identity,
            identity_id,
            kind,
            status,
            environment,
            owner,
            roles,
            grants,
            delegation,
            action,
            model,
            max_tokens,
            data_class,
            findings,
            has_secret,
            has_pii,
            upstream,
            time,
            hour,
            weekday
        )
    }

    /// Complete request facts; `upstreams` resolves named upstreams.
    pub fn to_facts(
        &self,
        upstreams: &BTreeMap<String, UpstreamSpec>,
    ) -> Result<RequestFacts, String> {
        let name = self
            .identity
            .clone()
            .unwrap_or_else(|| "test-identity".into());
        let principal = PrincipalFacts {
            id: self.identity_id.clone().unwrap_or_else(|| name.clone()),
            name,
            kind: self.kind.unwrap_or(IdentityKind::Service),
            status: self.status.unwrap_or_default(),
            environment: self.environment.clone().unwrap_or_else(|| "prod".into()),
            owner: self.owner.clone().unwrap_or_else(|| "test-owner".into()),
        };
        let mut roles: Vec<ActiveRole> = self
            .roles
            .iter()
            .flatten()
            .map(|r| ActiveRole {
                name: r.clone(),
                source: RoleSource::Standing,
            })
            .collect();
        roles.extend(self.grants.iter().flatten().map(|g| ActiveRole {
            name: g.role.clone(),
            source: RoleSource::Grant(g.grant.clone()),
        }));
        let counts = self.findings.clone().unwrap_or_default();
        let is_pii = |k: &String| PII_KINDS.contains(&k.as_str());
        let findings = FindingSummary {
            has_secret: self
                .has_secret
                .unwrap_or_else(|| counts.iter().any(|(k, &n)| n > 0 && !is_pii(k))),
            has_pii: self
                .has_pii
                .unwrap_or_else(|| counts.iter().any(|(k, &n)| n > 0 && is_pii(k))),
            counts,
        };
        let upstream = match &self.upstream {
            None => UpstreamSpec::default().to_facts("test-upstream"),
            Some(UpstreamRef::Inline(spec)) => spec.to_facts("test-upstream"),
            Some(UpstreamRef::Named(key)) => upstreams
                .get(key)
                .ok_or_else(|| format!("upstream {key:?} is not in [upstreams]"))?
                .to_facts(key),
        };
        let mut time = TimeFacts::from_unix(self.time.unwrap_or(DEFAULT_TEST_TIME));
        if let Some(hour) = self.hour {
            if hour > 23 {
                return Err(format!("hour {hour} is not 0-23"));
            }
            time.hour = hour;
        }
        if let Some(weekday) = self.weekday {
            if !(1..=7).contains(&weekday) {
                return Err(format!("weekday {weekday} is not 1-7"));
            }
            time.weekday = weekday;
        }
        Ok(RequestFacts {
            principal,
            roles,
            delegation: self.delegation.clone().unwrap_or_default(),
            action: self.action.unwrap_or(Operation::ChatCompletions),
            model: self.model.clone().unwrap_or_else(|| "test-model".into()),
            max_tokens: self.max_tokens,
            data_class: self.data_class.unwrap_or(DataClass::Public),
            findings,
            upstream,
            time,
        })
    }
}

impl UpstreamSpec {
    fn to_facts(&self, default_name: &str) -> UpstreamFacts {
        UpstreamFacts {
            name: self.name.clone().unwrap_or_else(|| default_name.into()),
            kind: self.kind.clone().unwrap_or_else(|| "openai".into()),
            deployment: self.deployment.unwrap_or(Deployment::SelfHosted),
            region: self.region.clone().unwrap_or_else(|| "local".into()),
            retention_days: self.retention_days.unwrap_or(0),
            isolation: self.isolation.unwrap_or(Isolation::Technical),
            environment: self.environment.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TestFile {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn case_fields_override_defaults_which_override_built_ins() {
        let file = parse(
            r#"
            [upstreams.openai]
            deployment = "hosted"
            retention_days = 30
            isolation = "contractual"

            [defaults]
            identity = "billing"
            roles = ["a"]
            model = "gpt-4o"
            upstream = "openai"

            [[case]]
            name = "c"
            model = "gpt-4o-mini"
            grants = [{ role = "b", grant = "g-1" }]
            findings = { email = 2, aws_access_key_id = 0 }
            hour = 3
            expect = "allow"
            "#,
        );
        let case = &file.cases[0];
        let facts = case
            .facts
            .or(&file.defaults)
            .to_facts(&file.upstreams)
            .unwrap();
        assert_eq!(facts.principal.name, "billing");
        assert_eq!(facts.principal.id, "billing");
        assert_eq!(facts.principal.environment, "prod");
        assert_eq!(facts.model, "gpt-4o-mini");
        assert_eq!(facts.roles.len(), 2);
        assert_eq!(facts.roles[1].source, RoleSource::Grant("g-1".into()));
        assert_eq!(facts.upstream.name, "openai");
        assert_eq!(facts.upstream.deployment, Deployment::Hosted);
        assert_eq!(facts.upstream.region, "local");
        assert!(facts.findings.has_pii);
        assert!(!facts.findings.has_secret, "a zero count is no finding");
        assert_eq!(facts.time.hour, 3);
        assert_eq!(facts.time.weekday, 4);
        assert_eq!(case.expect, Expectation::Allow);
    }

    #[test]
    fn inline_upstream_and_unknown_name() {
        let file = parse(
            r#"
            [[case]]
            name = "inline"
            upstream = { name = "x", deployment = "hosted", environment = "dev" }
            expect = "deny"

            [[case]]
            name = "missing"
            upstream = "nowhere"
            expect = "deny"
            "#,
        );
        let facts = file.cases[0].facts.to_facts(&file.upstreams).unwrap();
        assert_eq!(facts.upstream.name, "x");
        assert_eq!(facts.upstream.environment.as_deref(), Some("dev"));
        let err = file.cases[1].facts.to_facts(&file.upstreams).unwrap_err();
        assert!(err.contains("nowhere"));
    }

    #[test]
    fn bad_fields_and_values_are_refused() {
        let unknown = "[[case]]\nname = \"c\"\nexpect = \"allow\"\nmodle = \"x\"\n";
        assert!(toml::from_str::<TestFile>(unknown).is_err());
        let bad_expect = "[[case]]\nname = \"c\"\nexpect = \"maybe\"\n";
        assert!(toml::from_str::<TestFile>(bad_expect).is_err());
        let no_expect = "[[case]]\nname = \"c\"\n";
        assert!(toml::from_str::<TestFile>(no_expect).is_err());
        let file = parse("[[case]]\nname = \"c\"\nexpect = \"allow\"\nhour = 24\n");
        assert!(file.cases[0].facts.to_facts(&file.upstreams).is_err());
        let file = parse("[[case]]\nname = \"c\"\nexpect = \"allow\"\nweekday = 0\n");
        assert!(file.cases[0].facts.to_facts(&file.upstreams).is_err());
    }
}
