//! Slicing the set per action and per role/identity scope never changes a
//! decision: compared with the unsliced set on generated requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use modelgate_policy::{
    ActiveRole, CompiledPolicies, DataClass, Deployment, IdentityKind, IdentityStatus, Operation,
    PolicyFile, RequestFacts, RoleDef, RoleSource, TimeFacts,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const MODELS: [&str; 6] = [
    "gpt-4o",
    "gpt-4o-mini",
    "claude-sonnet",
    "llama-3",
    "text-embedding-3",
    "other",
];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const KINDS: [IdentityKind; 5] = [
    IdentityKind::Service,
    IdentityKind::CiJob,
    IdentityKind::Agent,
    IdentityKind::Retrieval,
    IdentityKind::Tool,
];
const CLASSES: [DataClass; 4] = [
    DataClass::Public,
    DataClass::Internal,
    DataClass::Confidential,
    DataClass::Restricted,
];

fn roles(rng: &mut Rng) -> Vec<RoleDef> {
    let patterns = [
        "gpt-*",
        "claude-*",
        "llama-*",
        "text-embedding-*",
        "*",
        "gpt-4o",
    ];
    (0..12)
        .map(|i| {
            let mut actions: Vec<Operation> = Operation::ALL
                .into_iter()
                .filter(|_| rng.below(2) == 0)
                .collect();
            if actions.is_empty() {
                actions.push(Operation::ChatCompletions);
            }
            RoleDef {
                name: format!("r{i}"),
                description: String::new(),
                models: vec![
                    rng.pick(&patterns).to_string(),
                    rng.pick(&patterns).to_string(),
                ],
                actions,
                max_tokens: (rng.below(3) == 0).then(|| 500 + rng.below(4000) as u64),
                max_data_class: (rng.below(2) == 0).then(|| *rng.pick(&CLASSES)),
            }
        })
        .collect()
}

fn policies(rng: &mut Rng) -> String {
    let mut text = String::new();
    let actions = [
        "action",
        "action == Action::\"chat\"",
        "action in [Action::\"embeddings\", Action::\"messages\"]",
    ];
    let conditions = [
        "context.upstream.deployment == \"hosted\"",
        "context.data_class_rank >= 2",
        "context.findings.has_secret",
        "principal.kind == \"agent\"",
        "context.time.hour < 8",
        "context has max_tokens && context.max_tokens > 2000",
        "principal.granted_roles.contains(\"r3\")",
        "context.upstream has environment && context.upstream.environment != principal.environment",
        "principal.environment == \"prod\"",
        "context.upstream.retention_days > 0",
        "3 < context.delegation_depth",
        "!context.findings.has_pii",
        "context.data_class != \"public\"",
        "context.upstream has environment && context.upstream.environment == \"dev\"",
        "context.time.weekday >= 6",
        "resource.name == \"gpt-4o\"",
    ];
    for i in 0..40 {
        let principal = match rng.below(5) {
            0 => format!("principal in Role::\"r{}\"", rng.below(14)),
            1 => format!("principal == Identity::\"id{}\"", rng.below(6)),
            2 => format!("principal is Identity in Role::\"r{}\"", rng.below(12)),
            3 => format!("principal in Identity::\"id{}\"", rng.below(6)),
            _ => "principal".to_owned(),
        };
        let effect = if rng.below(4) == 0 {
            "permit"
        } else {
            "forbid"
        };
        let resource = if rng.below(5) == 0 {
            format!("resource == Model::\"{}\"", rng.pick(&MODELS))
        } else {
            "resource".to_owned()
        };
        let condition = match rng.below(3) {
            0 => rng.pick(&conditions).to_string(),
            1 => format!("{} && {}", rng.pick(&conditions), rng.pick(&conditions)),
            _ => format!(
                "{} && {} && {}",
                rng.pick(&conditions),
                rng.pick(&conditions),
                rng.pick(&conditions)
            ),
        };
        text.push_str(&format!(
            "@id(\"p{i}\")\n{effect} ({principal}, {}, {resource})\nwhen {{ {condition} }};\n",
            rng.pick(&actions),
        ));
    }
    text
}

fn facts(rng: &mut Rng) -> RequestFacts {
    let mut f = common::facts(&[]);
    f.principal.id = format!("id{}", rng.below(8));
    f.principal.kind = *rng.pick(&KINDS);
    f.principal.environment = rng.pick(&ENVS).to_string();
    if rng.below(20) == 0 {
        f.principal.status = IdentityStatus::Disabled;
    }
    f.roles = (0..rng.below(4))
        .map(|_| ActiveRole {
            name: format!("r{}", rng.below(14)),
            source: if rng.below(3) == 0 {
                RoleSource::Grant("g".into())
            } else {
                RoleSource::Standing
            },
        })
        .collect();
    f.action = *rng.pick(&Operation::ALL);
    f.model = rng.pick(&MODELS).to_string();
    f.max_tokens = (rng.below(3) != 0).then(|| rng.below(5000) as u64);
    f.data_class = *rng.pick(&CLASSES);
    f.findings.has_secret = rng.below(4) == 0;
    f.findings.has_pii = rng.below(3) == 0;
    f.upstream.retention_days = *rng.pick(&[0, 0, 30]);
    f.delegation = (0..rng.below(6)).map(|d| format!("d{d}")).collect();
    f.upstream.deployment = if rng.below(2) == 0 {
        Deployment::Hosted
    } else {
        Deployment::SelfHosted
    };
    f.upstream.environment = (rng.below(2) == 0).then(|| rng.pick(&ENVS).to_string());
    f.time = TimeFacts::from_unix(1_767_225_600 + rng.below(86_400 * 7) as i64);
    f
}

#[test]
fn sliced_and_unsliced_sets_decide_alike() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut allowed = 0;
    let mut compared = 0;
    for _ in 0..6 {
        let set = CompiledPolicies::compile(
            &roles(&mut rng),
            vec![PolicyFile::new("generated.cedar", policies(&mut rng))],
        )
        .unwrap();
        for _ in 0..100 {
            let f = facts(&mut rng);
            let sliced = set.decide(&f);
            assert_eq!(sliced, set.decide_unsliced(&f), "{f:?}");
            // A second time hits the slice cache.
            assert_eq!(sliced, set.decide(&f));
            allowed += usize::from(sliced.allowed);
            compared += 1;
        }
    }
    // The generator exercises both outcomes.
    assert!(
        allowed > compared / 20 && allowed < compared * 19 / 20,
        "{allowed}/{compared}"
    );
}

#[test]
fn slices_hold_only_policies_of_their_action() {
    let set = CompiledPolicies::compile(
        &[common::role("e", &["*"], &[Operation::Embeddings])],
        vec![PolicyFile::new(
            "a.cedar",
            "forbid (principal, action == Action::\"chat\", resource);\n\
             forbid (principal, action in [Action::\"chat\", Action::\"messages\"], resource);\n\
             forbid (principal, action, resource) when { false };\n",
        )],
    )
    .unwrap();
    // baseline + the any-action forbid in every slice.
    assert_eq!(set.len_for(Operation::ChatCompletions), 4);
    assert_eq!(set.len_for(Operation::Messages), 3);
    assert_eq!(set.len_for(Operation::Embeddings), 3);
    assert_eq!(set.len_for(Operation::ModelsList), 2);
}

#[test]
fn cached_entities_never_leak_between_requests() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let roles = roles(&mut rng);
    let files = vec![PolicyFile::new("generated.cedar", policies(&mut rng))];
    let shared = CompiledPolicies::compile(&roles, files.clone()).unwrap();
    // Few distinct principals so the cache is hit with differing facts.
    for _ in 0..60 {
        let f = facts(&mut rng);
        let fresh = CompiledPolicies::compile(&roles, files.clone()).unwrap();
        assert_eq!(shared.decide(&f), fresh.decide(&f), "{f:?}");
    }
}
