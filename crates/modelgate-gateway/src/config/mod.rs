//! The configuration file: one TOML document, every field documented in
//! `examples/modelgate.toml`.
//!
//! Parsing is strict (`deny_unknown_fields`) and validation runs before the
//! gateway starts, so a mistake is reported with the field that holds it.
//! Secrets are never written in the file: an upstream credential is a
//! reference (`env:NAME` or `file:PATH`), and a literal value is refused
//! without ever being echoed back.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::secret::SecretRef;

mod upstreams;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Where the gateway keeps its state.
    #[serde(default)]
    pub store: StoreConfig,
    /// Request and stream limits.
    #[serde(default)]
    pub limits: Limits,
    /// Circuit breaker applied to every upstream.
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// Rules for credentials the gateway issues.
    #[serde(default)]
    pub keys: KeyConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Gateway access tokens (the token endpoint's output).
    #[serde(default)]
    pub tokens: TokenConfig,
    /// Trusted workload-identity issuers for token exchange.
    #[serde(default)]
    pub issuers: Vec<modelgate_identity::federation::IssuerSettings>,
    /// Model providers and self-hosted model servers.
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    /// Public model names and the upstream targets that serve them.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// The audit log: sinks, checkpoints, body retention.
    #[serde(default)]
    pub audit: crate::audit::AuditSettings,
    /// Screening of prompts and responses.
    #[serde(default)]
    pub screen: crate::screening::ScreenSettings,
    /// Data classes, lowest first, and where a request's class comes from.
    #[serde(default)]
    pub data_classes: crate::screening::DataClassSettings,
    /// Regions identities' data must stay in.
    #[serde(default)]
    pub residency: Vec<crate::screening::ResidencyRule>,
    /// Cedar policies.
    #[serde(default)]
    pub policy: crate::policy::PolicySettings,
    /// Roles: named permissions on models, assigned standing or granted
    /// just in time.
    #[serde(default)]
    pub roles: Vec<modelgate_identity::access::RoleDef>,
    /// Rules for just-in-time grants.
    #[serde(default)]
    pub grants: modelgate_identity::access::GrantSettings,
    /// Posture: readiness enforcement, the audit window and the finding
    /// thresholds.
    #[serde(default)]
    pub posture: PostureConfig,
}

/// `[posture]`: whether unready upstreams take traffic, how much of the
/// audit log the inventory and report read, and the finding thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostureConfig {
    /// Refuse to route to an upstream that lacks an owner or a rotation
    /// policy (`modelgate readiness` lists the gaps).
    pub require_readiness: bool,
    /// How far back the inventory, report and reviews read the audit log.
    #[serde(with = "duration")]
    pub audit_window: Duration,
    /// Thresholds of the findings (`[posture.thresholds]`).
    pub thresholds: modelgate_posture::PostureSettings,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            require_readiness: false,
            audit_window: Duration::from_secs(30 * 24 * 3600),
            thresholds: modelgate_posture::PostureSettings::default(),
        }
    }
}

/// Listener settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the data plane listens on.
    pub listen: SocketAddr,
    /// Name of this replica in logs (defaults to the host name or `local`).
    pub replica_id: Option<String>,
    /// How long a client may take to send its request headers.
    #[serde(with = "duration")]
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests and streams.
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
    /// How often background upkeep runs: retiring signing keys, pruning
    /// revocations, recording grant expiries in the audit log.
    #[serde(with = "duration")]
    pub housekeeping_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            replica_id: None,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            housekeeping_interval: Duration::from_secs(60),
        }
    }
}

/// Where state is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite database file (created if missing).
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("modelgate.db"),
        }
    }
}

/// Explicit limits on what a caller may send and how long streams may run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Largest total size of request header names and values (431 above it).
    pub max_header_bytes: usize,
    /// Most request headers accepted (431 above it).
    pub max_headers: usize,
    /// Largest non-streamed upstream response the gateway will buffer.
    pub max_response_bytes: usize,
    /// Longest silence allowed between two chunks of a stream.
    #[serde(with = "duration")]
    pub stream_idle_timeout: Duration,
    /// Longest a single stream may last.
    #[serde(with = "duration")]
    pub stream_max_duration: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_response_bytes: 32 * 1024 * 1024,
            stream_idle_timeout: Duration::from_secs(120),
            stream_max_duration: Duration::from_secs(30 * 60),
        }
    }
}

/// Circuit breaker settings shared by all upstreams.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long an open breaker skips the upstream before one trial request.
    #[serde(with = "duration")]
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// Rules for API keys the gateway issues.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyConfig {
    /// Longest lifetime an API key may be issued with.
    #[serde(with = "duration")]
    pub max_lifetime: Duration,
    /// How long a rotated key keeps working beside its successor.
    #[serde(with = "duration")]
    pub rotation_grace: Duration,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            max_lifetime: Duration::from_secs(90 * 24 * 3600),
            rotation_grace: Duration::from_secs(24 * 3600),
        }
    }
}

/// Gateway access tokens: short-lived JWTs (Ed25519, `typ: at+jwt`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenConfig {
    /// `iss` of minted tokens and the OpenID issuer; defaults to
    /// `http://<listen address>`. Set it to the URL callers use.
    pub issuer: Option<String>,
    /// `aud` of minted tokens, required back on every data-plane request;
    /// defaults to the issuer.
    pub audience: Option<String>,
    /// Lifetime when the caller asks for none.
    #[serde(with = "duration")]
    pub default_lifetime: Duration,
    /// Longest lifetime for any token.
    #[serde(with = "duration")]
    pub max_lifetime: Duration,
    /// Tighter caps per identity kind (`service`, `ci_job`, `agent`,
    /// `retrieval`, `tool`), such as `{ agent = "10m" }`.
    #[serde(deserialize_with = "duration_map")]
    pub max_lifetime_by_kind: std::collections::BTreeMap<String, Duration>,
    /// Key-encryption key for the signing keys at rest: `env:NAME` or
    /// `file:PATH` holding 32 bytes as 64 hex characters or base64.
    /// Required unless the gateway runs with `--dev`.
    pub kek: Option<String>,
    /// How often each replica re-reads revocations and signing keys that
    /// other replicas or the CLI changed.
    #[serde(with = "duration")]
    pub sync_interval: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            default_lifetime: Duration::from_secs(15 * 60),
            max_lifetime: Duration::from_secs(3600),
            max_lifetime_by_kind: std::collections::BTreeMap::new(),
            kek: None,
            sync_interval: Duration::from_secs(1),
        }
    }
}

fn duration_map<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, Duration>, D::Error> {
    let raw = std::collections::BTreeMap::<String, String>::deserialize(deserializer)?;
    raw.into_iter()
        .map(|(kind, text)| {
            humantime::parse_duration(&text)
                .map(|d| (kind, d))
                .map_err(|_| serde::de::Error::custom("expected durations such as \"10m\""))
        })
        .collect()
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `modelgate_gateway=debug`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

pub use upstreams::{
    Deployment, Isolation, ModelConfig, TargetConfig, UpstreamConfig, UpstreamKind,
};

/// A configuration mistake, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML did not parse; the message carries line and column only.
    #[error("{0}")]
    Parse(String),
    /// A value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Path to the field, such as `upstreams[openai].credential`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Config {
    /// Parses and validates a TOML document.
    ///
    /// Parse errors report the position and toml's message, never the source
    /// line, since that line may hold a secret pasted by mistake.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let position = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!("line {line}, column {column}: ")
                })
                .unwrap_or_default();
            ConfigError::Parse(format!("{position}{}", e.message().trim_end()))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks cross-field rules: unique names, references, credential form.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.audit
            .validate()
            .map_err(|(field, reason)| invalid(field, reason))?;
        let classes = crate::screening::DataClasses::new(&self.data_classes)
            .map_err(|(field, reason)| invalid(field, reason))?;
        for (i, upstream) in self.upstreams.iter().enumerate() {
            if let Some(class) = &upstream.max_data_class
                && classes.rank(class).is_none()
            {
                return Err(invalid(
                    format!("upstreams[{i}].max_data_class"),
                    format!("unknown data class {class:?}"),
                ));
            }
        }
        let mut names = HashSet::new();
        for (i, upstream) in self.upstreams.iter().enumerate() {
            let field = |f: &str| format!("upstreams[{i}].{f}");
            if !valid_name(&upstream.name) {
                return Err(invalid(
                    field("name"),
                    "use 1 to 64 characters from a-z, 0-9, '.', '_', '-'",
                ));
            }
            if !names.insert(upstream.name.as_str()) {
                return Err(invalid(field("name"), "duplicate upstream name"));
            }
            let field = |f: &str| format!("upstreams[{}].{f}", upstream.name);
            crate::upstream::BaseUrl::parse(&upstream.base_url)
                .map_err(|reason| invalid(field("base_url"), reason))?;
            if let Some(reference) = &upstream.credential {
                SecretRef::parse(reference)
                    .map_err(|reason| invalid(field("credential"), reason))?;
            }
            if upstream.kind == UpstreamKind::AzureOpenai && upstream.api_version.is_none() {
                return Err(invalid(
                    field("api_version"),
                    "required for kind azure_openai",
                ));
            }
            if upstream.region.trim().is_empty() {
                return Err(invalid(field("region"), "must not be empty"));
            }
            if let Some(env) = &upstream.environment
                && !valid_environment(env)
            {
                return Err(invalid(
                    field("environment"),
                    "use 1 to 32 characters from a-z, 0-9, '_', '-'",
                ));
            }
            for (name, value) in [
                ("connect_timeout", upstream.connect_timeout),
                ("first_byte_timeout", upstream.first_byte_timeout),
                ("idle_timeout", upstream.idle_timeout),
            ] {
                if value.is_zero() {
                    return Err(invalid(field(name), "must be greater than zero"));
                }
            }
        }
        let mut models = HashSet::new();
        for (i, model) in self.models.iter().enumerate() {
            if model.name.is_empty() || model.name.len() > 256 {
                return Err(invalid(format!("models[{i}].name"), "1 to 256 characters"));
            }
            if !models.insert(model.name.as_str()) {
                return Err(invalid(format!("models[{i}].name"), "duplicate model name"));
            }
            if model.targets.is_empty() {
                return Err(invalid(
                    format!("models[{}].targets", model.name),
                    "at least one target is required",
                ));
            }
            for (j, target) in model.targets.iter().enumerate() {
                if !names.contains(target.upstream.as_str()) {
                    return Err(invalid(
                        format!("models[{}].targets[{j}].upstream", model.name),
                        format!("no upstream named {:?}", target.upstream),
                    ));
                }
                if target.model.is_empty() {
                    return Err(invalid(
                        format!("models[{}].targets[{j}].model", model.name),
                        "must not be empty",
                    ));
                }
            }
        }
        let limits = &self.limits;
        for (name, value) in [
            ("max_body_bytes", limits.max_body_bytes),
            ("max_header_bytes", limits.max_header_bytes),
            ("max_headers", limits.max_headers),
            ("max_response_bytes", limits.max_response_bytes),
        ] {
            if value == 0 {
                return Err(invalid(
                    format!("limits.{name}"),
                    "must be greater than zero",
                ));
            }
        }
        if limits.max_header_bytes > crate::server::HARD_MAX_HEADER_BYTES {
            return Err(invalid(
                "limits.max_header_bytes",
                format!("at most {}", crate::server::HARD_MAX_HEADER_BYTES),
            ));
        }
        if limits.max_headers > crate::server::HARD_MAX_HEADERS {
            return Err(invalid(
                "limits.max_headers",
                format!("at most {}", crate::server::HARD_MAX_HEADERS),
            ));
        }
        if self.breaker.failure_threshold == 0 {
            return Err(invalid("breaker.failure_threshold", "must be at least 1"));
        }
        if self.keys.max_lifetime.is_zero() {
            return Err(invalid("keys.max_lifetime", "must be greater than zero"));
        }
        let tokens = &self.tokens;
        if tokens.default_lifetime.is_zero() || tokens.default_lifetime > tokens.max_lifetime {
            return Err(invalid(
                "tokens.default_lifetime",
                "must be greater than zero and at most tokens.max_lifetime",
            ));
        }
        for kind in tokens.max_lifetime_by_kind.keys() {
            if kind.parse::<modelgate_identity::IdentityKind>().is_err() {
                return Err(invalid(
                    format!("tokens.max_lifetime_by_kind.{kind}"),
                    "not an identity kind (service, ci_job, agent, retrieval, tool)",
                ));
            }
        }
        if let Some(reference) = &tokens.kek {
            SecretRef::parse(reference).map_err(|reason| invalid("tokens.kek", reason))?;
        }
        if tokens.sync_interval < Duration::from_millis(100) {
            return Err(invalid("tokens.sync_interval", "at least 100ms"));
        }
        self.role_catalog()?;
        if self.posture.audit_window.is_zero() {
            return Err(invalid("posture.audit_window", "must be greater than zero"));
        }
        let t = &self.posture.thresholds;
        if t.working_hours_start > 23
            || t.working_hours_end > 24
            || !(0.0..=1.0).contains(&t.working_hours_share)
        {
            return Err(invalid(
                "posture.thresholds",
                "working hours are 0..=24 and working_hours_share is 0..=1",
            ));
        }
        Ok(())
    }

    /// The validated roles and grant rules.
    pub fn role_catalog(&self) -> Result<modelgate_identity::access::RoleCatalog, ConfigError> {
        modelgate_identity::access::RoleCatalog::new(&self.roles, &self.grants)
            .map_err(|e| invalid(e.field, e.reason))
    }
}

/// Names of upstreams: short, printable, safe as a metric label.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// Environments, as identities spell them: `[a-z0-9][a-z0-9_-]{0,31}`.
fn valid_environment(env: &str) -> bool {
    env.len() <= 32
        && env
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// Serde helper for durations written as `"30s"`, `"5m"`, `"90d"`.
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    /// Parses a human-readable duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|_| {
            serde::de::Error::custom(
                "expected a duration such as \"500ms\", \"30s\", \"5m\", \"90d\"",
            )
        })
    }
}

#[cfg(test)]
mod tests;
