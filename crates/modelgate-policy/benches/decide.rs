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
//! target is a p99: for the request above (allowed, and denied by a
//! forbid), for mixed traffic (48 identities, 4 upstreams, every action,
//! the clock moving), for a principal never seen before on every call (the
//! entity cache missing each time), and for the unsliced set.
//!
//! Recurring facts within one second get their decision from the cache:
//! the `allow` and `deny` rows measure that; `allow, first in its second`
//! and mixed traffic move the clock a second per call, so Cedar evaluates
//! every time.
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
        vec![Operation::ChatCompletions, Operation::ModelsList],
        vec![
            Operation::ChatCompletions,
            Operation::Messages,
            Operation::ModelsList,
        ],
        vec![Operation::Embeddings, Operation::ModelsList],
        vec![
            Operation::ChatCompletions,
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
        action: Operation::ChatCompletions,
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

fn mixed_facts() -> Vec<RequestFacts> {
    let kinds = [
        IdentityKind::Service,
        IdentityKind::CiJob,
        IdentityKind::Agent,
        IdentityKind::Retrieval,
        IdentityKind::Tool,
    ];
    let envs = ["prod", "staging", "dev"];
    let models = [
        "gpt-4o",
        "claude-sonnet",
        "llama-3.1-70b",
        "text-embedding-3-small",
    ];
    let classes = [
        DataClass::Public,
        DataClass::Internal,
        DataClass::Confidential,
    ];
    let upstreams = [
        ("openai", Deployment::Hosted, "us", 30, None),
        ("azure-eu", Deployment::Hosted, "eu-west", 0, None),
        (
            "vllm-prod",
            Deployment::SelfHosted,
            "eu-central",
            0,
            Some("prod"),
        ),
        (
            "ollama-dev",
            Deployment::SelfHosted,
            "local",
            0,
            Some("dev"),
        ),
    ];
    (0..48 * 4)
        .map(|k| {
            let id = k / 4;
            let mut f = facts();
            f.principal.id = format!("svc-{id:03}");
            f.principal.kind = kinds[id % kinds.len()];
            f.principal.environment = envs[id % envs.len()].into();
            f.roles = (0..1 + id % 3)
                .map(|r| ActiveRole {
                    name: format!("team-{:03}", (id * 7 + r * 13) % ROLES),
                    source: RoleSource::Standing,
                })
                .collect();
            f.action = Operation::ALL[k % 4];
            f.model = models[(k + id) % models.len()].into();
            f.max_tokens = (k % 3 != 0).then_some(512 * (1 + k as u64 % 10));
            f.data_class = classes[k % classes.len()];
            f.findings.has_secret = k % 11 == 0;
            let (name, deployment, region, retention, env) = upstreams[k % upstreams.len()];
            f.upstream.name = name.into();
            f.upstream.deployment = deployment;
            f.upstream.region = region.into();
            f.upstream.retention_days = retention;
            f.upstream.environment = env.map(str::to_owned);
            f
        })
        .collect()
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
        set.len_for(Operation::ChatCompletions),
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
    let mut second = 0i64;
    let mut first = facts.clone();
    percentiles("engine.decide (allow, first in its second)", || {
        second += 1;
        first.time = TimeFacts::from_unix(1_767_268_800 + second);
        engine.decide(&first).allowed
    });

    // Mixed traffic: 48 identities with differing kinds, environments and
    // role sets, 4 upstreams, every action, data classes, findings, and the
    // clock moving a second per request. Caches warm as in a running gateway.
    let mixed = mixed_facts();
    let mut i = 0usize;
    percentiles("engine.decide (mixed traffic)", || {
        i += 1;
        let mut f = mixed[i % mixed.len()].clone();
        f.time = TimeFacts::from_unix(1_767_268_800 + i as i64);
        engine.decide(&f).allowed
    });

    // Entity-cache miss on every call: a principal id never seen before.
    let mut n = 0u64;
    let mut fresh = facts.clone();
    percentiles("engine.decide (new principal every call)", || {
        n += 1;
        fresh.principal.id = format!("svc-new-{n}");
        engine.decide(&fresh).allowed
    });
    percentiles("decide_unsliced (allow)", || {
        set.decide_unsliced(&facts).allowed
    });

    c.bench_function("decide/200-policies/allow", |b| {
        b.iter(|| engine.decide(black_box(&facts)))
    });
    c.bench_function("decide/200-policies/allow-first-in-its-second", |b| {
        let mut second = 0i64;
        let mut first = facts.clone();
        b.iter(|| {
            second += 1;
            first.time = TimeFacts::from_unix(1_767_268_800 + second);
            engine.decide(black_box(&first))
        })
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
