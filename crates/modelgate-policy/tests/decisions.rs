//! Decisions and the reasons a caller is told.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{facts, roles};
use modelgate_policy::{
    CompiledPolicies, DataClass, Decision, EVALUATION_ERROR_REASON, GENERIC_FORBID_REASON,
    IdentityStatus, Operation, PolicyFile, RequestFacts, RoleSource,
};

fn set(policies: &str) -> CompiledPolicies {
    CompiledPolicies::compile(&roles(), vec![PolicyFile::new("p.cedar", policies)]).unwrap()
}

fn denied(d: &Decision) -> &str {
    assert!(!d.allowed, "expected a denial, got {d:?}");
    d.reason.as_deref().unwrap()
}

#[test]
fn a_role_permits_its_actions_on_its_models() {
    let set = set("");
    let d = set.decide(&facts(&["chat"]));
    assert_eq!(
        d,
        Decision {
            allowed: true,
            reason: None,
            policy_ids: vec!["role:chat".into()],
            shadow: None
        }
    );
    let mut f = facts(&["chat", "embed"]);
    f.action = Operation::Embeddings;
    f.model = "text-embedding-3-small".into();
    assert_eq!(set.decide(&f).policy_ids, vec!["role:embed".to_owned()]);
}

#[test]
fn a_forbid_reason_comes_from_its_annotation_and_nothing_else() {
    let set = set(
        "@id(\"no-hosted\")\n@reason(\"hosted upstreams are closed today\")\n\
         forbid (principal, action, resource) when { context.upstream.deployment == \"hosted\" };",
    );
    let d = set.decide(&facts(&["chat"]));
    assert_eq!(denied(&d), "hosted upstreams are closed today");
    assert_eq!(d.policy_ids, vec!["no-hosted".to_owned()]);
}

#[test]
fn a_forbid_without_reason_gets_a_generic_one() {
    let set = set(
        "forbid (principal, action, resource) when { context.upstream.deployment == \"hosted\" };",
    );
    let d = set.decide(&facts(&["chat"]));
    assert_eq!(denied(&d), GENERIC_FORBID_REASON);
    assert_eq!(d.policy_ids, vec!["p.cedar#1".to_owned()]);
    assert!(!denied(&d).contains("hosted"), "policy text must not leak");
}

#[test]
fn several_forbids_are_all_listed_and_the_first_id_gives_the_reason() {
    let set = set(
        "@id(\"b-rule\")\n@reason(\"reason b\")\nforbid (principal, action, resource);\n\
         @id(\"a-rule\")\n@reason(\"reason a\")\nforbid (principal, action, resource);",
    );
    let d = set.decide(&facts(&["chat"]));
    assert_eq!(d.policy_ids, vec!["a-rule".to_owned(), "b-rule".to_owned()]);
    assert_eq!(denied(&d), "reason a");
}

#[test]
fn default_deny_explains_itself_from_the_roles() {
    let set = set("");
    assert_eq!(
        denied(&set.decide(&facts(&[]))),
        "the identity holds no role"
    );

    let mut f = facts(&["chat"]);
    f.model = "llama-3".into();
    assert_eq!(
        denied(&set.decide(&f)),
        "no role permits chat on model llama-3"
    );
    f.model = "x".repeat(300);
    assert!(
        denied(&set.decide(&f)).len() < 200,
        "long model names are shortened"
    );

    let mut f = facts(&["embed"]);
    f.action = Operation::Completions;
    assert_eq!(
        denied(&set.decide(&f)),
        "no role permits completions on model gpt-4o"
    );

    let mut f = facts(&["capped"]);
    f.data_class = DataClass::Confidential;
    assert_eq!(
        denied(&set.decide(&f)),
        "data class confidential is above what roles permitting chat on model gpt-4o allow (at most internal)"
    );
    f.data_class = DataClass::Internal;
    assert!(set.decide(&f).allowed);
    f.max_tokens = None;
    assert_eq!(
        denied(&set.decide(&f)),
        "max_tokens is required: roles permitting chat on model gpt-4o cap it at 1000"
    );
    f.max_tokens = Some(1001);
    assert_eq!(
        denied(&set.decide(&f)),
        "max_tokens 1001 is above the ceiling of roles permitting chat on model gpt-4o (1000)"
    );
    // Another role without limits covers it.
    f.roles = facts(&["capped", "chat"]).roles;
    assert!(set.decide(&f).allowed);
}

#[test]
fn roles_not_held_do_not_count() {
    let set = set("");
    let mut f = facts(&["nonexistent"]);
    assert_eq!(
        denied(&set.decide(&f)),
        "no role permits chat on model gpt-4o"
    );
    f.principal.id = "chat".into(); // an identity named like a role gains nothing
    assert!(!set.decide(&f).allowed);
}

#[test]
fn inactive_identities_are_never_allowed() {
    let set = set("");
    for status in [IdentityStatus::Disabled, IdentityStatus::Offboarded] {
        let mut f = facts(&["chat"]);
        f.principal.status = status;
        let d = set.decide(&f);
        assert_eq!(denied(&d), "the identity is not active");
        assert_eq!(d.policy_ids, vec!["builtin:inactive-identity".to_owned()]);
    }
}

#[test]
fn a_forbid_that_fails_to_evaluate_denies() {
    // Overflows for any max_tokens >= 2: Cedar skips the erroring forbid,
    // the engine must not.
    let set = set(
        "@id(\"overflow\")\n@reason(\"never shown\")\nforbid (principal, action, resource)\n\
         when { context has max_tokens && context.max_tokens * 4611686018427387904 > 0 };",
    );
    let mut f = facts(&["chat"]);
    let d = set.decide(&f);
    assert_eq!(denied(&d), EVALUATION_ERROR_REASON);
    assert_eq!(d.policy_ids, vec!["overflow".to_owned()]);
    f.max_tokens = None;
    assert!(set.decide(&f).allowed);
}

#[test]
fn grants_delegation_time_and_findings_reach_policies() {
    let set = set(
        "@id(\"grants-office-hours\")\n@reason(\"granted access only in office hours\")\n\
         forbid (principal, action, resource)\n\
         when { principal.granted_roles.contains(\"chat\") && (context.time.hour < 8 || context.time.hour >= 18) };\n\
         @id(\"deep-delegation\")\n@reason(\"delegation too deep\")\n\
         forbid (principal, action, resource) when { context.delegation_depth > 2 || context.delegation_chain.contains(\"rogue\") };\n\
         @id(\"no-ssn\")\n@reason(\"no SSNs\")\n\
         forbid (principal, action, resource) when { context.findings.kinds.contains(\"us_ssn\") };",
    );
    let mut f = facts(&["chat"]);
    f.roles[0].source = RoleSource::Grant("g-1".into());
    f.time = modelgate_policy::TimeFacts::from_unix(1_767_268_800 + 8 * 3600); // 20:00
    assert_eq!(
        denied(&set.decide(&f)),
        "granted access only in office hours"
    );
    f.roles[0].source = RoleSource::Standing;
    assert!(set.decide(&f).allowed);

    f.delegation = vec!["a".into(), "b".into(), "c".into()];
    assert_eq!(denied(&set.decide(&f)), "delegation too deep");
    f.delegation = vec!["rogue".into()];
    assert_eq!(denied(&set.decide(&f)), "delegation too deep");
    f.delegation.clear();

    f.findings.counts.insert("us_ssn".into(), 1);
    assert_eq!(denied(&set.decide(&f)), "no SSNs");
}

#[test]
fn facts_and_decisions_survive_json() {
    let mut f: RequestFacts = facts(&["chat"]);
    f.roles[0].source = RoleSource::Grant("g-9".into());
    f.findings.counts.insert("email".into(), 2);
    let json = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<RequestFacts>(&json).unwrap(), f);
    assert!(json.contains("\"action\":\"chat\""), "{json}");

    let d = set("").decide(&f);
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
    assert!(serde_json::from_str::<RequestFacts>("{\"principal\":{}}").is_err());
}
