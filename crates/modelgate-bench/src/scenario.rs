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
//! each, so the cost of each shows against it. Adding a scenario is one
//! entry in [`SCENARIOS`], plus a variant of [`AuthKind`] when it needs a
//! new kind of credential.

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
    /// base table of the same name; `[[array]]` tables are appended).
    Gateway {
        /// The configuration fragment.
        config: &'static str,
    },
    /// Through the LiteLLM proxy (only with `--litellm`).
    Litellm,
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
        target: Target::Gateway { config: FULL_PATH },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-api-key",
        about: "full path with an API key instead of an access token",
        target: Target::Gateway { config: FULL_PATH },
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
        },
        request: CHAT,
        auth: AuthKind::AccessToken,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-stream",
        about: "full request path, streamed",
        target: Target::Gateway { config: FULL_PATH },
        request: CHAT_STREAM,
        auth: AuthKind::AccessToken,
        baseline: Some("direct-stream"),
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

/// The scenarios to run, in registry order: the named ones (default: all
/// but LiteLLM, which `litellm` adds) plus their baselines.
pub fn select(names: &[String], litellm: bool) -> Result<Vec<&'static Scenario>> {
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
                .filter(|s| s.target != Target::Litellm)
                .map(|s| s.name),
        );
    }
    if litellm && !wanted.contains(&"litellm") {
        wanted.push("litellm");
    }
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
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;

    use super::*;
    use crate::gateway_config::{
        FragmentPaths, base_gateway_config, fill_fragment, has_roles, merge_config, sections,
    };

    #[test]
    fn registry_is_consistent() {
        for s in SCENARIOS {
            if let Some(b) = s.baseline {
                let base = find(b).unwrap();
                assert_eq!(base.target, Target::Direct, "{}", s.name);
                assert_eq!(
                    base.request, s.request,
                    "{} compares like with like",
                    s.name
                );
            }
            assert_eq!(s.auth == AuthKind::None, s.target == Target::Direct);
        }
        for (name, _) in STAGES {
            let s = find(name).unwrap();
            assert_eq!(s.request, CHAT, "{name}");
            assert!(matches!(s.target, Target::Gateway { .. }), "{name}");
        }
        let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SCENARIOS.len());
    }

    #[test]
    fn selection_adds_baselines_and_keeps_order() {
        let names = |v: Vec<&Scenario>| v.iter().map(|s| s.name).collect::<Vec<_>>();
        let all = select(&[], false).unwrap();
        assert_eq!(
            names(all),
            [
                "direct",
                "direct-stream",
                "gateway",
                "gateway-api-key",
                "gateway-no-screen",
                "gateway-no-policy",
                "gateway-audit-nosync",
                "gateway-no-log",
                "gateway-stream"
            ]
        );
        let some = select(&["gateway-stream".into(), "gateway".into()], false).unwrap();
        assert_eq!(
            names(some),
            ["direct", "direct-stream", "gateway", "gateway-stream"]
        );
        let lite = select(&["gateway".into()], true).unwrap();
        assert_eq!(names(lite), ["direct", "gateway", "litellm"]);
        assert!(select(&["nope".into()], false).is_err());
    }

    fn fragment(name: &str) -> &'static str {
        match find(name).unwrap().target {
            Target::Gateway { config } => config,
            other => panic!("{name} goes to {other:?}"),
        }
    }

    /// The merged configuration of a scenario, placeholders filled.
    fn config_of(name: &str) -> String {
        let mock: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        let base = base_gateway_config(mock, Path::new("/tmp/s/store.db"));
        let filled = fill_fragment(
            fragment(name),
            FragmentPaths {
                roles: "[[roles]]\nname = \"r\"\n",
                policy_dir: Path::new("/tmp/s/policies"),
                audit_dir: Path::new("/dev/shm/a"),
            },
        );
        merge_config(&base, &filled)
    }

    /// The lines of `config` in section `header`.
    fn section_lines(config: &str, header: &str) -> Vec<String> {
        sections(config)
            .into_iter()
            .filter(|s| s.header == header)
            .flat_map(|s| s.lines)
            .collect()
    }

    #[test]
    fn full_path_has_every_stage_and_each_variant_drops_one() {
        let full = config_of("gateway");
        assert_eq!(section_lines(&full, "[[roles]]"), ["name = \"r\""]);
        assert_eq!(
            section_lines(&full, "[policy]"),
            ["dir = \"/tmp/s/policies\""]
        );
        assert_eq!(
            section_lines(&full, "[screen]"),
            ["enabled = true", "responses = \"log_only\""]
        );
        assert_eq!(section_lines(&full, "[audit]"), ["store = true"]);
        assert!(full.contains("level = \"info\""));
        assert_eq!(find("gateway").unwrap().auth, AuthKind::AccessToken);
        assert_eq!(config_of("gateway-api-key"), full);
        assert_eq!(find("gateway-api-key").unwrap().auth, AuthKind::ApiKey);
        assert_eq!(config_of("gateway-stream"), full);

        let no_screen = config_of("gateway-no-screen");
        assert_eq!(
            section_lines(&no_screen, "[screen]"),
            ["enabled = false", "responses = \"off\""]
        );
        assert_eq!(
            section_lines(&no_screen, "[policy]"),
            section_lines(&full, "[policy]")
        );

        let no_policy = config_of("gateway-no-policy");
        assert!(section_lines(&no_policy, "[[roles]]").is_empty());
        assert!(section_lines(&no_policy, "[policy]").is_empty());
        assert!(!has_roles(fragment("gateway-no-policy")));
        assert_eq!(
            section_lines(&no_policy, "[screen]"),
            section_lines(&full, "[screen]")
        );

        let nosync = config_of("gateway-audit-nosync");
        assert_eq!(section_lines(&nosync, "[audit]"), ["store = false"]);
        assert_eq!(
            section_lines(&nosync, "[audit.file]"),
            ["dir = \"/dev/shm/a\"", "required = true"]
        );

        let no_log = config_of("gateway-no-log");
        assert!(no_log.contains("level = \"warn\""));
        assert_eq!(
            section_lines(&no_log, "[audit]"),
            section_lines(&full, "[audit]")
        );

        // No placeholder survives in any scenario's configuration.
        for s in SCENARIOS {
            if matches!(s.target, Target::Gateway { .. }) {
                let c = config_of(s.name);
                assert!(!c.contains("{ROLES}") && !c.contains("_DIR}"), "{}", s.name);
            }
        }
    }

    #[test]
    fn bodies_are_about_the_asked_size_and_valid_json() {
        let body = request_body(CHAT, "m");
        assert!((2048..2400).contains(&body.len()), "{}", body.len());
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["model"], "m");
        assert!(v.get("stream").is_none());
        let v: serde_json::Value = serde_json::from_slice(&request_body(CHAT_STREAM, "m")).unwrap();
        assert_eq!(v["stream"], true);
    }
}
