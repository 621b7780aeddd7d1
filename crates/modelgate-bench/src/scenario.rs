//! Scenarios as data: a name, what the load generator talks to (the mock
//! directly, the gateway with a configuration fragment, or LiteLLM), the
//! request shape, the kind of credential, and the baseline its added
//! latency is measured against. Also the gateway configuration each
//! scenario runs with and the request bodies.
//!
//! Adding a scenario (say "policy off" or "access token instead of API
//! key") is one entry in [`SCENARIOS`], plus a variant of [`AuthKind`] when
//! it needs a new kind of credential.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

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
    /// A modelgate `mgk_` API key, looked up in the store per request.
    ApiKey,
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
        about: "full request path: API-key auth, parse, route, forward, account (info log line)",
        target: Target::Gateway { config: "" },
        request: CHAT,
        auth: AuthKind::ApiKey,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-no-log",
        about: "full path with log level warn: the per-request log line off",
        target: Target::Gateway {
            config: "[log]\nlevel = \"warn\"\n",
        },
        request: CHAT,
        auth: AuthKind::ApiKey,
        baseline: Some("direct"),
    },
    Scenario {
        name: "gateway-stream",
        about: "full request path, streamed",
        target: Target::Gateway { config: "" },
        request: CHAT_STREAM,
        auth: AuthKind::ApiKey,
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

/// The base gateway configuration: loopback listener on a free port, the
/// store in `store`, one self-hosted `openai` upstream at the mock and the
/// bench model routed to it.
pub fn base_gateway_config(mock: SocketAddr, store: &Path) -> String {
    let mut c = String::new();
    let _ = write!(
        c,
        "[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [store]\npath = {store}\n\n\
         [log]\nformat = \"text\"\nlevel = \"info\"\n\n\
         [[upstreams]]\nname = \"mock\"\nkind = \"openai\"\nbase_url = \"http://{mock}/v1\"\n\
         deployment = \"self_hosted\"\nregion = \"local\"\nisolation = \"technical\"\n\n\
         [[models]]\nname = \"{PUBLIC_MODEL}\"\n\
         targets = [{{ upstream = \"mock\", model = \"{UPSTREAM_MODEL}\" }}]\n",
        store = toml_string(&store.to_string_lossy()),
    );
    c
}

/// The `[tokens]` table naming a key-encryption key file (gateways with
/// access tokens refuse to start without one).
pub fn tokens_fragment(kek: &Path) -> String {
    let reference = format!("file:{}", kek.to_string_lossy());
    format!("[tokens]\nkek = {}\n", toml_string(&reference))
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// One `[table]` or `[[array]]` section of a configuration (the header
/// line, then its lines); the section before any header has an empty
/// header.
#[derive(Debug, Clone)]
struct Section {
    header: String,
    lines: Vec<String>,
}

fn sections(text: &str) -> Vec<Section> {
    let mut out = vec![Section {
        header: String::new(),
        lines: Vec::new(),
    }];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            out.push(Section {
                header: trimmed.to_owned(),
                lines: Vec::new(),
            });
        } else if !trimmed.is_empty()
            && !trimmed.starts_with('#')
            && let Some(last) = out.last_mut()
        {
            last.lines.push(trimmed.to_owned());
        }
    }
    out
}

fn key_of(line: &str) -> &str {
    line.split('=').next().unwrap_or("").trim()
}

/// `base` with `fragment` merged in: keys of a fragment `[table]` replace
/// the same keys of the base table (others are added), a table the base
/// lacks is added, and `[[array]]` sections are appended.
pub fn merge_config(base: &str, fragment: &str) -> String {
    let mut merged = sections(base);
    for section in sections(fragment) {
        let is_array = section.header.starts_with("[[");
        let existing = merged
            .iter_mut()
            .find(|s| !is_array && s.header == section.header);
        match existing {
            Some(target) => {
                for line in section.lines {
                    let key = key_of(&line).to_owned();
                    match target.lines.iter_mut().find(|l| key_of(l) == key) {
                        Some(old) => *old = line,
                        None => target.lines.push(line),
                    }
                }
            }
            None => merged.push(section),
        }
    }
    let mut out = String::new();
    for section in merged {
        if section.header.is_empty() && section.lines.is_empty() {
            continue;
        }
        if !section.header.is_empty() {
            out.push_str(&section.header);
            out.push('\n');
        }
        for line in &section.lines {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn base_config_points_at_the_mock() {
        let mock: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        let c = base_gateway_config(mock, Path::new("/tmp/a \"b\"/store.db"));
        assert!(c.contains("base_url = \"http://127.0.0.1:4567/v1\""));
        assert!(c.contains("path = \"/tmp/a \\\"b\\\"/store.db\""));
        assert!(c.contains("listen = \"127.0.0.1:0\""));
        assert!(c.contains("deployment = \"self_hosted\""));
        assert!(c.contains("name = \"bench-chat\""));
    }

    #[test]
    fn tokens_fragment_references_the_kek_file() {
        assert_eq!(
            tokens_fragment(Path::new("/tmp/x/kek")),
            "[tokens]\nkek = \"file:/tmp/x/kek\"\n"
        );
    }

    #[test]
    fn merge_overrides_keys_and_appends_tables() {
        let base = "[server]\nlisten = \"x\"\n\n[log]\nformat = \"text\"\nlevel = \"info\"\n\n[[upstreams]]\nname = \"a\"\n";
        let merged = merge_config(
            base,
            "[log]\nlevel = \"warn\"\n\n[policy]\nenabled = false\n\n[[upstreams]]\nname = \"b\"\n",
        );
        assert_eq!(
            merged,
            "[server]\nlisten = \"x\"\n\n[log]\nformat = \"text\"\nlevel = \"warn\"\n\n[[upstreams]]\nname = \"a\"\n\n[policy]\nenabled = false\n\n[[upstreams]]\nname = \"b\"\n\n"
        );
        assert_eq!(merge_config(base, ""), merge_config(base, "\n# nothing\n"));
    }
}
