//! Scenarios as data: a name, what the load generator talks to (the mock
//! directly, the gateway with a configuration fragment, or LiteLLM), the
//! request shape, the kind of credential, and the baseline its added
//! latency is measured against; the configuration fragment of each gateway
//! scenario (filled and merged by [`crate::gateway_config`]); the request
//! bodies.
//!
//! The full request path (`gateway`) is access-token auth, the 50-policy
//! bench set ([`crate::policyset`]), prompt and response screening, and
//! durable store audit; the `gateway-no-*` scenarios switch one stage off
//! each, so the cost of each shows against it. The `*-pg` scenarios are
//! their SQLite twins with the store in PostgreSQL ([`Backend`], with
//! `--postgres`). Adding a scenario is one entry in [`SCENARIOS`], plus a
//! variant of [`AuthKind`] when it needs a new kind of credential.

use anyhow::{Result, bail};

/// One benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// Name on the command line and in the report.
    pub name: &'static str,
    /// One line for the report.
    pub about: &'static str,
    /// What the requests go to.
    pub target: Target,
    /// What the requests look like.
    pub request: RequestShape,
    /// Which credential the requests carry.
    pub auth: AuthKind,
    /// Scenario whose latency, at the same load point of the same run, is
    /// subtracted to give the added latency.
    pub baseline: Option<&'static str>,
}

/// Where a scenario's requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Straight to the mock upstream.
    Direct,
    /// Through modelgate, started with the base configuration merged with
    /// this TOML fragment (a table of the fragment overrides the keys of the
    /// base table of the same name; `[[array]]` tables are appended) and a
    /// fresh store of `store`'s kind.
    Gateway {
        /// The configuration fragment.
        config: &'static str,
        /// Where the gateway keeps its state.
        store: Backend,
    },
    /// Through the LiteLLM proxy (only with `--litellm`).
    Litellm,
}

/// The store of a gateway scenario: a fresh one for every gateway start
/// (identity, key and role provisioned into it through the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in the temporary directory.
    Sqlite,
    /// A database of the durable throwaway PostgreSQL cluster the harness
    /// starts (`--postgres`): `[store] url`, the password by reference,
    /// `sslmode = "verify-full"` against the cluster's CA.
    Postgres {
        /// The scenario that is this one on SQLite: the report compares
        /// the two, and its saturation ratio is against it.
        sqlite: &'static str,
    },
}

/// The request a scenario sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestShape {
    /// `stream: true` (the body is read to `data: [DONE]`).
    pub stream: bool,
    /// Approximate size of the user prompt in bytes.
    pub prompt_bytes: usize,
}

/// The credential a scenario's requests carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    /// None (the mock needs none).
    None,
    /// A modelgate `mgk_` API key (cached in memory after the first
    /// lookup).
    ApiKey,
    /// A gateway access token, obtained once per gateway start by the
    /// `client_credentials` grant with the API key as client secret.
    AccessToken,
    /// LiteLLM's master key.
    LitellmMasterKey,
}

/// Non-streamed chat with a ~2 KB prompt.
pub const CHAT: RequestShape = RequestShape {
    stream: false,
    prompt_bytes: 2048,
};

/// Streamed chat (the mock sends `--chunks` content events).
pub const CHAT_STREAM: RequestShape = RequestShape {
    stream: true,
    prompt_bytes: 2048,
};

/// Model name callers use through the gateway and LiteLLM.
pub const PUBLIC_MODEL: &str = "bench-chat";
/// Model name at the mock upstream.
pub const UPSTREAM_MODEL: &str = "demo-chat";

/// Roles and user policies of the bench policy set (50 policies); the
/// placeholders are those of [`crate::gateway_config::placeholder`].
macro_rules! policies {
    () => {
        "{ROLES}\n[policy]\ndir = {POLICY_DIR}\n"
    };
}

/// Prompt screening and response screening (`log_only`), as by default.
macro_rules! screen_on {
    () => {
        "[screen]\nenabled = true\nresponses = \"log_only\"\n"
    };
}

/// Durable audit in the store (synced WAL), as by default.
macro_rules! audit_store {
    () => {
        "[audit]\nstore = true\n"
    };
}

/// The full request path's configuration: 50 policies, screening on,
/// durable store audit.
const FULL_PATH: &str = concat!(policies!(), screen_on!(), audit_store!());

/// The full request path on a SQLite store.
const SQLITE_FULL_PATH: Target = Target::Gateway {
    config: FULL_PATH,
    store: Backend::Sqlite,
};

/// Every scenario, in the order they run.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "direct",
        about: "straight to the mock upstream",
        target: Target::Direct,
        request: CHAT,
        auth: AuthKind::None,
        baseline: None,
    },
    Scenario {
        name: "direct-stream",
        about: "straight to the mock upstream, streamed",
        target: Target::Direct,
        request: CHAT_STREAM,
        auth: AuthKind::None,
        baseline: None,
    },
    Scenario {
        name: "gateway",
        about: "full request path: access token, 50 Cedar policies, screening (prompt + responses log_only), durable store audit, info log line",
        target: SQLITE_FULL_PATH,
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-api-key",
        about: "full path with an API key instead of an access token",
        target: SQLITE_FULL_PATH,
        request: CHAT,
        auth: AuthKind::ApiKey,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-no-screen",
        about: "full path with screening off (prompts and responses)",
        target: Target::Gateway {
            config: concat!(
                policies!(),
                "[screen]\nenabled = false\nresponses = \"off\"\n",
                audit_store!()
            ),
            store: Backend::Sqlite,
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-no-policy",
        about: "full path without roles or policy files: the built-in baseline only",
        target: Target::Gateway {
            config: concat!(screen_on!(), audit_store!()),
            store: Backend::Sqlite,
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-audit-nosync",
        about: "full path with audit to JSON-lines files on tmpfs, no store sink: the audit pipeline without a disk sync",
        target: Target::Gateway {
            config: concat!(
                policies!(),
                screen_on!(),
                "[audit]\nstore = false\n\n[audit.file]\ndir = {AUDIT_DIR}\nrequired = true\n"
            ),
            store: Backend::Sqlite,
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-no-log",
        about: "full path with log level warn: the per-request log line off",
        target: Target::Gateway {
            config: concat!(
                policies!(),
                screen_on!(),
                audit_store!(),
                "[log]\nlevel = \"warn\"\n"
            ),
            store: Backend::Sqlite,
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-stream",
        about: "full request path, streamed",
        target: SQLITE_FULL_PATH,
        request: CHAT_STREAM,
        auth: AuthKind::AccessToken,
        baseline: Some("direct-stream"),
    },
    Scenario {
        name: "gateway-pg",
        about: "full request path with the store in PostgreSQL (durable local cluster, TLS): `gateway` on another store",
        target: Target::Gateway {
            config: FULL_PATH,
            store: Backend::Postgres { sqlite: "gateway" },
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-api-key-pg",
        about: "full path with an API key, store in PostgreSQL: `gateway-api-key` on another store",
        target: Target::Gateway {
            config: FULL_PATH,
            store: Backend::Postgres {
                sqlite: "gateway-api-key",
            },
        },
        request: CHAT,
        auth: AuthKind::ApiKey,
        baseline: Some("direct"),
    },
    Scenario {
        name: "litellm",
        about: "LiteLLM proxy (pinned) in front of the same mock, master key",
        target: Target::Litellm,
        request: CHAT,
        auth: AuthKind::LitellmMasterKey,
        baseline: Some("direct"),
    },
];

/// The scenarios that each switch one stage of the full path off, and
/// the stage (the report's stage costs: `gateway` minus each).
pub const STAGES: &[(&str, &str)] = &[
    ("gateway-api-key", "access token (vs API key)"),
    (
        "gateway-no-policy",
        "50 Cedar policies (vs the built-in baseline)",
    ),
    ("gateway-no-screen", "screening, prompts and responses"),
    (
        "gateway-audit-nosync",
        "durable store audit (vs files on tmpfs)",
    ),
    ("gateway-no-log", "per-request info log line"),
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The store of a scenario's gateway (`None`: no gateway).
pub fn backend(sc: &Scenario) -> Option<Backend> {
    match sc.target {
        Target::Gateway { store, .. } => Some(store),
        Target::Direct | Target::Litellm => None,
    }
}

/// Whether a scenario's gateway keeps its state in PostgreSQL.
pub fn on_postgres(sc: &Scenario) -> bool {
    matches!(backend(sc), Some(Backend::Postgres { .. }))
}

/// The SQLite twin of a PostgreSQL scenario.
pub fn sqlite_twin(name: &str) -> Option<&'static str> {
    match backend(find(name)?) {
        Some(Backend::Postgres { sqlite }) => Some(sqlite),
        _ => None,
    }
}

/// What a scenario's saturation throughput is divided by: a PostgreSQL
/// scenario's SQLite twin (the store's cost), else its latency baseline.
pub fn ratio_baseline(name: &str) -> Option<&'static str> {
    sqlite_twin(name).or_else(|| find(name)?.baseline)
}

/// The scenarios to run, in registry order: the named ones (default: all
/// but LiteLLM and the PostgreSQL ones, which `litellm` and `postgres`
/// add) plus the SQLite twins of PostgreSQL ones, plus their baselines.
pub fn select(names: &[String], litellm: bool, postgres: bool) -> Result<Vec<&'static Scenario>> {
    let mut wanted: Vec<&str> = Vec::new();
    for name in names {
        if find(name).is_none() {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            bail!("unknown scenario {name:?} (known: {})", known.join(", "));
        }
        wanted.push(name);
    }
    if names.is_empty() {
        wanted.extend(
            SCENARIOS
                .iter()
                .filter(|s| s.target != Target::Litellm && !on_postgres(s))
                .map(|s| s.name),
        );
    }
    if litellm && !wanted.contains(&"litellm") {
        wanted.push("litellm");
    }
    if postgres {
        wanted.extend(SCENARIOS.iter().filter(|s| on_postgres(s)).map(|s| s.name));
    }
    let twins: Vec<&str> = wanted.iter().filter_map(|n| sqlite_twin(n)).collect();
    wanted.extend(twins);
    let baselines: Vec<&str> = wanted
        .iter()
        .filter_map(|n| find(n).and_then(|s| s.baseline))
        .collect();
    wanted.extend(baselines);
    Ok(SCENARIOS
        .iter()
        .filter(|s| wanted.contains(&s.name))
        .collect())
}

/// The JSON body of one request (deterministic; `model` differs between
/// the mock and the gateways, the rest is byte-identical).
pub fn request_body(shape: RequestShape, model: &str) -> Vec<u8> {
    let words = [
        "the", "gateway", "forwards", "every", "request", "to", "a", "model", "upstream", "and",
        "accounts", "for", "tokens", "latency", "while", "streams", "pass", "through",
    ];
    let mut prompt = String::with_capacity(shape.prompt_bytes + 16);
    let mut i = 0usize;
    while prompt.len() < shape.prompt_bytes {
        if !prompt.is_empty() {
            prompt.push(' ');
        }
        prompt.push_str(words[(i * 7 + i / words.len()) % words.len()]);
        i += 1;
    }
    let mut body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": prompt},
        ],
        "max_tokens": 128,
        "temperature": 0,
    });
    if shape.stream {
        body["stream"] = serde_json::Value::Bool(true);
    }
    body.to_string().into_bytes()
}

#[cfg(test)]
#[path = "scenario_tests.rs"]
mod tests;
