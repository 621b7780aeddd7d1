//! The request path's parse, screen and decide stages (and the
//! non-streamed response screen) run `N` times each on the load harness's
//! request, for instruction counts under callgrind:
//!
//! ```text
//! cargo build --release -p modelgate-gateway --example stage_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/stages.cg \
//!     target/release/examples/stage_instructions 2000
//! callgrind_annotate --inclusive=yes /tmp/stages.cg | grep stage_instructions::run_
//! ```
//!
//! Each `run_*` function's inclusive count divided by `N` is that stage's
//! instructions per request (`run_facts` and `run_decide_uncached` include
//! building the facts, `run_decide` does not; `run_decide_uncached` asks in
//! a new second each time, so no cached decision applies). The configuration is the harness's full path
//! (`gateway` scenario): the 50-policy bench set, the bench identity holding
//! `bench-chat`, prompt screening on, responses `log_only`.

use std::hint::black_box;

use bytes::Bytes;
use http::HeaderMap;
use modelgate_config::Config;
use modelgate_core::policy::PolicySet;
use modelgate_gateway::stages::decide::FactsBuilder;
use modelgate_gateway::stages::parse::{ModelCall, parse};
use modelgate_gateway::stages::screen::ScreenRules;
use modelgate_gateway::stages::screen_response::screen_body;
use modelgate_gateway::upstream::Upstream;
use modelgate_identity::access::{ActiveRole, Entitlements, RoleSource};
use modelgate_identity::{AuthMethod, IdentityKind, Principal};
use modelgate_types::Operation;

const POLICIES: &[(&str, &str)] = &[
    (
        "data.cedar",
        include_str!("../../modelgate-bench/policies/data.cedar"),
    ),
    (
        "screening.cedar",
        include_str!("../../modelgate-bench/policies/screening.cedar"),
    ),
    (
        "workloads.cedar",
        include_str!("../../modelgate-bench/policies/workloads.cedar"),
    ),
    (
        "identities.cedar",
        include_str!("../../modelgate-bench/policies/identities.cedar"),
    ),
    (
        "roles.cedar",
        include_str!("../../modelgate-bench/policies/roles.cedar"),
    ),
    (
        "general.cedar",
        include_str!("../../modelgate-bench/policies/general.cedar"),
    ),
];
const ROLES: &str = include_str!("../../modelgate-bench/policies/roles.toml");

/// The harness's chat body (`scenario::request_body`, ~2 KB prompt).
fn request_body() -> Vec<u8> {
    let words = [
        "the", "gateway", "forwards", "every", "request", "to", "a", "model", "upstream", "and",
        "accounts", "for", "tokens", "latency", "while", "streams", "pass", "through",
    ];
    let mut prompt = String::new();
    let mut i = 0usize;
    while prompt.len() < 2048 {
        if !prompt.is_empty() {
            prompt.push(' ');
        }
        prompt.push_str(words[(i * 7 + i / words.len()) % words.len()]);
        i += 1;
    }
    serde_json::json!({
        "model": "bench-chat",
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": prompt},
        ],
        "max_tokens": 128,
        "temperature": 0,
    })
    .to_string()
    .into_bytes()
}

/// A non-streamed reply shaped like the mock's.
fn response_body() -> Bytes {
    let text = "The gateway forwards every request to a model upstream and accounts for \
                tokens while streams pass through. "
        .repeat(3);
    Bytes::from(
        serde_json::json!({
            "id": "chatcmpl-0123456789",
            "object": "chat.completion",
            "created": 1_795_676_742,
            "model": "demo-chat",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": null,
            }],
            "usage": {"prompt_tokens": 400, "completion_tokens": 60, "total_tokens": 460},
        })
        .to_string(),
    )
}

#[inline(never)]
fn run_parse(n: usize, body: &[u8]) {
    for _ in 0..n {
        let _ = black_box(parse(Operation::ChatCompletions, black_box(body)));
    }
}

#[inline(never)]
fn run_screen(n: usize, stage: &ScreenRules, call: &ModelCall, body: &[u8], principal: &Principal) {
    let headers = HeaderMap::new();
    for _ in 0..n {
        let _ = black_box(stage.screen_request(
            call,
            black_box(body),
            &headers,
            principal,
            "bench-chat",
        ));
    }
}

#[inline(never)]
fn run_facts(n: usize, principal: &Principal, entitlements: &Entitlements, upstream: &Upstream) {
    let screening = modelgate_gateway::stages::screen::Screening::default();
    for _ in 0..n {
        let mut facts = bench_facts(principal, entitlements, Some(&screening), 1_795_676_742);
        black_box(facts.for_upstream(upstream));
    }
}

/// The facts of the bench request (chat on `bench-chat`, 128 tokens) at
/// unix time `now`.
fn bench_facts(
    principal: &Principal,
    entitlements: &Entitlements,
    screening: Option<&modelgate_gateway::stages::screen::Screening>,
    now: i64,
) -> FactsBuilder {
    FactsBuilder::new(
        principal,
        entitlements,
        Operation::ChatCompletions,
        "bench-chat",
        Some(128),
        screening,
        now,
    )
}

#[inline(never)]
fn run_decide(
    n: usize,
    policy: &PolicySet,
    principal: &Principal,
    entitlements: &Entitlements,
    upstream: &Upstream,
) {
    let screening = modelgate_gateway::stages::screen::Screening::default();
    let mut facts = bench_facts(principal, entitlements, Some(&screening), 1_795_676_742);
    let input = facts.for_upstream(upstream);
    for _ in 0..n {
        let decision = policy.decide(black_box(input));
        assert!(decision.allowed, "the bench request is allowed");
        black_box(decision);
    }
}

/// Every call a new second: the decision cache never hits, so this is the
/// cost of a first decision.
#[inline(never)]
fn run_decide_uncached(
    n: usize,
    policy: &PolicySet,
    principal: &Principal,
    entitlements: &Entitlements,
    upstream: &Upstream,
) {
    let screening = modelgate_gateway::stages::screen::Screening::default();
    for i in 0..n {
        let mut facts = bench_facts(
            principal,
            entitlements,
            Some(&screening),
            1_795_676_742 + 1 + i as i64,
        );
        let decision = policy.decide(black_box(facts.for_upstream(upstream)));
        assert!(decision.allowed, "the bench request is allowed");
        black_box(decision);
    }
}

#[inline(never)]
fn run_policy_input(
    n: usize,
    policy: &PolicySet,
    principal: &Principal,
    entitlements: &Entitlements,
    upstream: &Upstream,
) {
    let screening = modelgate_gateway::stages::screen::Screening::default();
    let mut facts = bench_facts(principal, entitlements, Some(&screening), 1_795_676_742);
    let input = facts.for_upstream(upstream);
    for _ in 0..n {
        black_box(policy.input_json(black_box(input)));
    }
}

#[inline(never)]
fn run_response(n: usize, stage: &ScreenRules, body: &Bytes) {
    for _ in 0..n {
        black_box(screen_body(stage.screener(), body.clone(), false));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let policy_dir = dir.path().join("policies");
    std::fs::create_dir_all(&policy_dir)?;
    for (name, text) in POLICIES {
        std::fs::write(policy_dir.join(name), text)?;
    }
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[store]\npath = {store}\n\n\
         [[upstreams]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
         deployment = \"self_hosted\"\nregion = \"local\"\nisolation = \"technical\"\n\n\
         [[models]]\nname = \"bench-chat\"\n\
         targets = [{{ upstream = \"mock\", model = \"demo-chat\" }}]\n\n\
         {ROLES}\n[policy]\ndir = {policy_dir}\n\n\
         [screen]\nenabled = true\nresponses = \"log_only\"\n",
        store = serde_json::Value::from(dir.path().join("store.db").to_string_lossy()),
        policy_dir = serde_json::Value::from(policy_dir.to_string_lossy()),
    );
    let config = Config::from_toml(&config)?;
    let screen = ScreenRules::new(&config.screen, &config.data_classes, &config.residency)
        .map_err(|(field, reason)| format!("{field}: {reason}"))?;
    let policy = PolicySet::new(&config, screen.classes())?;
    let upstream = Upstream::from_config(&config.upstreams[0], &config.breaker)?;
    let principal = Principal {
        identity_id: "idn_01JBENCH0000000000000000".into(),
        identity_name: "bench".into(),
        kind: IdentityKind::Service,
        owner: "bench@localhost".into(),
        environment: "prod".into(),
        credential_id: "jti_bench".into(),
        auth_method: AuthMethod::AccessToken,
        delegation: Vec::new(),
        scope: None,
    };
    let entitlements = Entitlements {
        identity_id: principal.identity_id.clone(),
        at: 1_795_676_742,
        roles: vec![ActiveRole {
            role: "bench-chat".into(),
            source: RoleSource::Standing,
            until: None,
        }],
    };
    let body = request_body();
    let response = response_body();

    // Warm every cache once, outside the counted functions.
    let _ = parse(Operation::ChatCompletions, &body);
    let call = parse(Operation::ChatCompletions, &body).map_err(|e| e.message.clone())?;
    let _ = screen.screen_request(&call, &body, &HeaderMap::new(), &principal, "bench-chat");
    let mut warm = bench_facts(&principal, &entitlements, None, 1_795_676_742);
    let _ = policy.decide(warm.for_upstream(&upstream));
    let _ = policy.input_json(warm.for_upstream(&upstream));
    let _ = screen_body(screen.screener(), response.clone(), false);

    run_parse(n, &body);
    run_screen(n, &screen, &call, &body, &principal);
    run_facts(n, &principal, &entitlements, &upstream);
    run_decide(n, &policy, &principal, &entitlements, &upstream);
    run_decide_uncached(n, &policy, &principal, &entitlements, &upstream);
    run_policy_input(n, &policy, &principal, &entitlements, &upstream);
    run_response(n, &screen, &response);
    println!("ran each stage {n} times on a {} byte body", body.len());
    Ok(())
}
