//! Configuration of the screen stage and of data classes: `[screen]`,
//! `[[screen.rules]]`, `[data_classes]` and `[[residency]]`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What to do with a request whose prompt has findings. Ordered by
/// severity: when several rules apply, the most severe wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ScreenAction {
    /// Forward as is; findings are not even logged.
    Allow,
    /// Forward as is; findings are recorded (the default).
    #[default]
    LogOnly,
    /// Replace each finding with `[REDACTED:kind]` before forwarding.
    Redact,
    /// Forward only to self-hosted targets.
    Reroute,
    /// Refuse the request (400 in the caller's dialect, naming the kinds).
    Block,
}

impl ScreenAction {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ScreenAction::Allow => "allow",
            ScreenAction::LogOnly => "log_only",
            ScreenAction::Redact => "redact",
            ScreenAction::Reroute => "reroute",
            ScreenAction::Block => "block",
        }
    }
}

/// What to do with findings in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResponseAction {
    /// Responses are not screened.
    Off,
    /// Findings are recorded; the response is unchanged (the default).
    #[default]
    LogOnly,
    /// Findings are replaced with `[REDACTED:kind]`, streams included.
    Redact,
}

/// `[screen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenSettings {
    /// Whether prompts are screened at all.
    pub enabled: bool,
    /// Action for findings no rule matches.
    pub default_action: ScreenAction,
    /// Rules, first match per finding wins.
    pub rules: Vec<ScreenRule>,
    /// What to do with findings in responses.
    pub responses: ResponseAction,
    /// Revoke a live modelgate key found in a prompt, at once.
    pub revoke_leaked_keys: bool,
    /// Custom detectors (id, regex, keywords, category).
    pub custom: Vec<modelgate_screen::CustomPattern>,
    /// Built-in kinds to switch off (by id).
    pub disabled: Vec<String>,
}

impl Default for ScreenSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            default_action: ScreenAction::LogOnly,
            rules: Vec::new(),
            responses: ResponseAction::LogOnly,
            revoke_leaked_keys: true,
            custom: Vec::new(),
            disabled: Vec::new(),
        }
    }
}

/// One `[[screen.rules]]`: which findings, for which requests, get which
/// action. Empty lists match everything; patterns may use `*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenRule {
    /// Public model names.
    #[serde(default)]
    pub models: Vec<String>,
    /// Identity names.
    #[serde(default)]
    pub identities: Vec<String>,
    /// Identity environments.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Request data classes.
    #[serde(default)]
    pub data_classes: Vec<String>,
    /// Finding categories: `credential`, `personal_data`, `custom`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Finding kinds (`aws_access_key_id`, `email`, ...).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// The action.
    pub action: ScreenAction,
}

/// `[data_classes]`: the ordered classes and where a request's class comes
/// from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataClassSettings {
    /// Class names, lowest first.
    pub levels: Vec<String>,
    /// Class of a request from an identity with no environment default.
    pub default: String,
    /// Default class by identity environment (`prod = "confidential"`).
    pub by_environment: BTreeMap<String, String>,
    /// Class implied by a credential finding.
    pub credential_findings: String,
    /// Class implied by a personal-data finding.
    pub personal_data_findings: String,
}

impl Default for DataClassSettings {
    fn default() -> Self {
        Self {
            levels: ["public", "internal", "confidential", "restricted"]
                .map(str::to_owned)
                .to_vec(),
            default: "internal".into(),
            by_environment: BTreeMap::new(),
            credential_findings: "restricted".into(),
            personal_data_findings: "confidential".into(),
        }
    }
}

/// One `[[residency]]` rule: requests of matching identities may only go to
/// upstreams in `regions`. Several matching rules intersect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidencyRule {
    /// Identity name patterns (empty: any).
    #[serde(default)]
    pub identities: Vec<String>,
    /// Identity environments (empty: any).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Allowed upstream regions.
    pub regions: Vec<String>,
}
