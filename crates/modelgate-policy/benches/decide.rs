//! Decision latency with 200 policies and realistic entities.
//!
//! The set: 120 roles (one permit each, 2–4 actions, model patterns, some
//! with token and data-class ceilings), the 7 example forbids, 40 forbids
//! scoped to a role, 20 scoped to an identity, and 13 global forbids on
//! regions, hours and findings: 200 policies. The request: a prod service
//! holding 3 roles (one through a JIT grant), chat on `gpt-4o` to a hosted
//! upstream, with an email finding and a delegation chain of one.
//!
//! Besides criterion's mean, the percentiles of single decisions are
//! measured directly (one `Instant` pair per call) and printed, since the
//! target is a p99.
//!
//! Run: `cargo bench -p modelgate-policy --bench decide`

#![allow(clippy::expect_used)] // setup failure aborts the bench

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use modelgate_policy::{
    ActiveRole, CompiledPolicies, DataClass, Deployment, FindingSummary, IdentityKind,
    IdentityStatus, Isolation, Operation, PolicyEngine, PolicyFile, PrincipalFacts, RequestFacts,
    RoleDef, RoleSource, TimeFacts, UpstreamFacts,
};

const ROLES: usize = 120;
const ROLE_FORBIDS: usize = 40;
const IDENTITY_FORBIDS: usize = 20;
const GLOBAL_FORBIDS: usize = 13;

fn roles() -> Vec<RoleDef> {
    let families = [
        vec!["gpt-4o", "gpt-4o-mini"],
        vec!["claude-*"],
        vec!["llama-*", "mistral-*"],
        vec!["text-embedding-*"],
        vec!["gpt-*", "claude-sonnet"],
    ];
    let action_sets = [
        vec![Operation::Chat, Operation::ModelsList],
        vec![Operation::Chat, Operation::Messages, Operation::ModelsList],
        vec![Operation::Embeddings, Operation::ModelsList],
        vec![
            Operation::Chat,
            Operation::Completions,
            Operation::Messages,
            Operation::ModelsList,
        ],
    ];
    (0..ROLES)
        .map(|i| RoleDef {
            name: format!("team-{i:03}"),
            description: format!("team {i}"),
            models: families[i % families.len()]
                .iter()
                .map(|m| m.to_string())
                .collect(),
            actions: action_sets[i % action_sets.len()].clone(),
            max_tokens: (i % 3 == 0).then_some(4096 + 1024 * (i as u64 % 8)),
            max_data_class: match i % 4 {
                0 => Some(DataClass::Internal),
                1 => Some(DataClass::Confidential),
                _ => None,
            },
        })
        .collect()
}

fn user_policies() -> Vec<PolicyFile> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let mut files = modelgate_policy::read_policy_dir(&examples).expect("example policies");

    let mut scoped = String::new();
    for i in 0..ROLE_FORBIDS {
        let role = (i * 3) % ROLES;
        let _ = writeln!(
            scoped,
            "@id(\"team-{role:03}-night\")\n@reason(\"team {role} may not call models at night\")\n\
             forbid (principal in Role::\"team-{role:03}\", action, resource)\n\
             when {{ context.time.hour < 6 && context.upstream.deployment == \"hosted\" }};\n"
        );
    }
    for i in 0..IDENTITY_FORBIDS {
        let _ = writeln!(
            scoped,
            "@id(\"svc-{i:03}-eu-only\")\n@reason(\"this identity may only use EU upstreams\")\n\
             forbid (principal == Identity::\"svc-{i:03}\", action, resource)\n\
             unless {{ context.upstream.region like \"eu-*\" }};\n"
        );
    }
    let mut global = String::new();
    for i in 0..GLOBAL_FORBIDS {
        let rule = match i % 4 {
            0 => format!(
                "forbid (principal, action, resource)\nwhen {{ context.upstream.region == \"blocked-{i}\" }};"
            ),
            1 => format!(
                "forbid (principal, action == Action::\"embeddings\", resource)\n\
                 when {{ context.findings.kinds.contains(\"kind-{i}\") }};"
            ),
            2 => format!(
                "forbid (principal, action, resource == Model::\"retired-{i}\")\n\
                 when {{ context.delegation_depth > 0 }};"
            ),
            _ => format!(
                "forbid (principal, action in [Action::\"chat\", Action::\"messages\"], resource)\n\
                 when {{ context.delegation_depth > 3 && principal.kind == \"tool\" && context.time.weekday == {} }};",
                1 + i % 7
            ),
        };
        let _ = writeln!(
            global,
            "@id(\"global-{i:02}\")\n@reason(\"global rule {i}\")\n{rule}\n"
        );
    }
    files.push(PolicyFile::new("scoped.cedar", scoped));
    files.push(PolicyFile::new("global.cedar", global));
    files
}

fn facts() -> RequestFacts {
    RequestFacts {
        principal: PrincipalFacts {
            id: "svc-007".into(),
            name: "billing-api".into(),
            kind: IdentityKind::Service,
            status: IdentityStatus::Active,
            environment: "staging".into(),
            owner: "payments".into(),
        },
        roles: vec![
            ActiveRole {
                name: "team-004".into(),
                source: RoleSource::Standing,
            },
            ActiveRole {
                name: "team-009".into(),
                source: RoleSource::Standing,
            },
            ActiveRole {
                name: "team-030".into(),
                source: RoleSource::Grant("grant-81c2".into()),
            },
        ],
        delegation: vec!["orchestrator".into()],
        action: Operation::Chat,
        model: "gpt-4o".into(),
        max_tokens: Some(1024),
        data_class: DataClass::Public,
        findings: FindingSummary {
            counts: [("email".to_owned(), 1)].into(),
            has_secret: false,
            has_pii: true,
        },
        upstream: UpstreamFacts {
            name: "azure-eu".into(),
            kind: "azure_openai".into(),
            deployment: Deployment::Hosted,
            region: "eu-west".into(),
            retention_days: 0,
            isolation: Isolation::Contractual,
            environment: None,
        },
        time: TimeFacts::from_unix(1_767_268_800),
    }
}

fn compiled() -> CompiledPolicies {
    let set = CompiledPolicies::compile(&roles(), user_policies()).expect("bench policies compile");
    assert_eq!(set.len(), 200 + 1, "200 policies plus the baseline forbid");
    set
}

fn percentiles(label: &str, mut run: impl FnMut() -> bool) {
    const N: usize = 200_000;
    for _ in 0..10_000 {
        black_box(run());
    }
    let mut samples = Vec::with_capacity(N);
    for _ in 0..N {
        let start = Instant::now();
        black_box(run());
        samples.push(start.elapsed());
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((N as f64 * q) as usize).min(N - 1)];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{label}: p50 {:.2} µs, p90 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} µs ({N} decisions)",
        us(at(0.50)),
        us(at(0.90)),
        us(at(0.99)),
        us(at(0.999)),
        us(samples[N - 1]),
    );
}

fn bench(c: &mut Criterion) {
    let set = compiled();
    let facts = facts();
    let decision = set.decide(&facts);
    assert!(decision.allowed, "{decision:?}");
    assert_eq!(set.decide_unsliced(&facts), decision);
    println!(
        "policies: {} total, {} with a chat action scope; decision: {:?}",
        set.len(),
        set.len_for(Operation::Chat),
        decision.policy_ids
    );

    let engine = PolicyEngine::new(compiled());
    let mut denied = facts.clone();
    denied.data_class = DataClass::Confidential;
    denied.upstream.retention_days = 30;

    percentiles("engine.decide (allow)", || engine.decide(&facts).allowed);
    percentiles("engine.decide (deny, forbid)", || {
        engine.decide(&denied).allowed
    });
    percentiles("decide_unsliced (allow)", || {
        set.decide_unsliced(&facts).allowed
    });

    c.bench_function("decide/200-policies/allow", |b| {
        b.iter(|| engine.decide(black_box(&facts)))
    });
    c.bench_function("decide/200-policies/deny", |b| {
        b.iter(|| engine.decide(black_box(&denied)))
    });
    c.bench_function("decide/200-policies/unsliced", |b| {
        b.iter(|| set.decide_unsliced(black_box(&facts)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
