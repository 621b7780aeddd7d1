//! The request cache: hits, what makes a different key, reload, bounds.

use std::str::FromStr;

use cedar_policy::EntityTypeName;

use super::*;
use crate::facts::{Deployment, IdentityKind, IdentityStatus, Isolation, RoleSource};
use crate::{CompiledPolicies, PolicyEngine, PolicyFile, RoleDef};

fn role(name: &str, models: &[&str]) -> RoleDef {
    RoleDef {
        name: name.into(),
        description: String::new(),
        models: models.iter().map(|m| m.to_string()).collect(),
        actions: vec![Operation::ChatCompletions],
        max_tokens: None,
        max_data_class: None,
    }
}

fn roles() -> Vec<RoleDef> {
    vec![role("chat", &["gpt-*"]), role("other", &["claude-*"])]
}

fn facts(roles: &[&str]) -> RequestFacts {
    RequestFacts {
        principal: PrincipalFacts {
            id: "id-billing".into(),
            name: "billing-api".into(),
            kind: IdentityKind::Service,
            status: IdentityStatus::Active,
            environment: "prod".into(),
            owner: "payments".into(),
        },
        roles: roles
            .iter()
            .map(|r| ActiveRole {
                name: r.to_string(),
                source: RoleSource::Standing,
            })
            .collect(),
        delegation: Vec::new(),
        action: Operation::ChatCompletions,
        model: "gpt-4o".into(),
        max_tokens: Some(500),
        data_class: DataClass::Public,
        findings: FindingSummary::default(),
        upstream: UpstreamFacts {
            name: "openai".into(),
            kind: "openai".into(),
            deployment: Deployment::Hosted,
            region: "us".into(),
            retention_days: 30,
            isolation: Isolation::Contractual,
            environment: None,
        },
        time: TimeFacts::from_unix(1_767_268_800),
    }
}

/// A policy reading the context, so requests differ by context.
const NO_SECRETS: &str = r#"@id("no-secrets")
forbid (principal, action, resource) when { context.findings.has_secret };
"#;

fn compiled(extra: &str) -> CompiledPolicies {
    CompiledPolicies::compile(&roles(), vec![PolicyFile::new("p.cedar", extra)]).unwrap()
}

/// The entry `facts` landed in.
fn entry_of(set: &CompiledPolicies, facts: &RequestFacts) -> Arc<PrincipalEntry> {
    set.request_cache()
        .entry(facts, || panic!("expected a cached entry"))
        .unwrap()
}

#[test]
fn the_same_facts_reuse_entities_and_decision() {
    let set = compiled(NO_SECRETS);
    let f = facts(&["chat"]);
    assert!(set.decide(&f).allowed);
    assert!(set.decide(&f).allowed);
    assert_eq!(set.request_cache().len(), 1);
    let entry = entry_of(&set, &f);
    assert_eq!(entry.cached_decisions(), 1);
    assert!(Arc::ptr_eq(&entry, &entry_of(&set, &f)));
}

#[test]
fn other_facts_are_a_different_decision_of_the_same_entry() {
    let set = compiled(NO_SECRETS);
    let clean = facts(&["chat"]);
    let mut secret = clean.clone();
    secret.findings.counts.insert("aws_access_key".into(), 1);
    secret.findings.has_secret = true;
    assert!(set.decide(&clean).allowed);
    assert!(!set.decide(&secret).allowed, "the findings were not reused");
    assert!(set.decide(&clean).allowed);
    let mut later = clean.clone();
    later.time = TimeFacts::from_unix(clean.time.unix + 1);
    assert!(set.decide(&later).allowed);
    assert_eq!(set.request_cache().len(), 1);
    assert_eq!(entry_of(&set, &clean).cached_decisions(), 3);
}

#[test]
fn a_role_or_status_change_is_a_different_entry() {
    let set = compiled("");
    let holder = facts(&["chat"]);
    assert!(set.decide(&holder).allowed);
    let removed = facts(&["other"]);
    assert!(
        !set.decide(&removed).allowed,
        "the old roles were not reused"
    );
    let mut granted = facts(&["chat"]);
    granted.roles[0].source = RoleSource::Grant("grant-1".into());
    assert!(set.decide(&granted).allowed);
    let mut disabled = holder.clone();
    disabled.principal.status = IdentityStatus::Disabled;
    assert!(
        !set.decide(&disabled).allowed,
        "the old status was not reused"
    );
    assert!(set.decide(&holder).allowed);
    assert_eq!(set.request_cache().len(), 4);
}

#[test]
fn a_reload_starts_with_an_empty_cache() {
    let engine = PolicyEngine::new(compiled(""));
    let f = facts(&["chat"]);
    assert!(engine.decide(&f).allowed);
    assert_eq!(engine.active().request_cache().len(), 1);
    engine.install(compiled(
        r#"@id("no-billing")
forbid (principal, action, resource) when { principal.name == "billing-api" };
"#,
    ));
    assert_eq!(engine.active().request_cache().len(), 0);
    assert!(!engine.decide(&f).allowed, "the new set decides");
}

fn bare_entry() -> Result<PrincipalEntry, String> {
    let ty = EntityTypeName::from_str("Identity").unwrap();
    let uid = EntityUid::from_type_name_and_id(ty, cedar_policy::EntityId::new("x"));
    Ok(PrincipalEntry::new(
        Entities::empty(),
        uid.clone(),
        uid.clone(),
        uid,
    ))
}

#[test]
fn entries_are_bounded() {
    let cache = RequestCache::default();
    let mut f = facts(&["chat"]);
    for i in 0..=MAX_ENTRIES {
        f.model = format!("gpt-{i}");
        cache.entry(&f, bare_entry).unwrap();
        assert!(cache.len() <= MAX_ENTRIES);
    }
    assert_eq!(cache.len(), 1, "emptied when full, then the new entry");
}

#[test]
fn decisions_per_entry_are_bounded() {
    let cache = RequestCache::default();
    let mut f = facts(&["chat"]);
    let entry = cache.entry(&f, bare_entry).unwrap();
    for i in 0..=MAX_DECISIONS_PER_ENTRY {
        f.time = TimeFacts::from_unix(i as i64);
        entry.decision(&f, || (Decision::allow(vec![format!("p{i}")]), true));
        assert!(entry.cached_decisions() <= MAX_DECISIONS_PER_ENTRY);
    }
    assert_eq!(entry.cached_decisions(), 1);
    let last = entry.decision(&f, || panic!("the last decision is a hit"));
    assert_eq!(last.policy_ids, [format!("p{MAX_DECISIONS_PER_ENTRY}")]);
}

#[test]
fn a_decision_that_may_not_be_kept_is_made_again() {
    let cache = RequestCache::default();
    let f = facts(&["chat"]);
    let entry = cache.entry(&f, bare_entry).unwrap();
    entry.decision(&f, || (Decision::deny("error".into(), Vec::new()), false));
    assert_eq!(entry.cached_decisions(), 0);
    let again = entry.decision(&f, || (Decision::allow(Vec::new()), true));
    assert!(again.allowed);
}

#[test]
fn cached_decisions_agree_with_the_unsliced_reference() {
    let set = compiled(NO_SECRETS);
    let mut variants = Vec::new();
    for roles in [&["chat"][..], &["other"], &[], &["chat", "other"]] {
        for has_secret in [false, true] {
            for model in ["gpt-4o", "claude-3"] {
                let mut f = facts(roles);
                f.model = model.into();
                f.findings.has_secret = has_secret;
                variants.push(f);
            }
        }
    }
    for _ in 0..2 {
        for f in &variants {
            assert_eq!(set.decide(f), set.decide_unsliced(f), "{f:?}");
        }
    }
}
