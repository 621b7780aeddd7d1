//! The configuration file: one TOML document, every field documented in
//! `examples/modelgate.toml`.
//!
//! Parsing is strict (`deny_unknown_fields`) and validation runs before the
//! gateway starts, so a mistake is reported with the field that holds it.
//! Secrets are never written in the file: an upstream credential is a
//! reference (`env:NAME` or `file:PATH`), and a literal value is refused
//! without ever being echoed back.

//!
//! It owns the document and its checks only: it builds no service (no
//! store, no HTTP client, no screener); those are built from it by
//! `modelgate-core` and the planes. It depends on the crates whose settings
//! it embeds (`modelgate-identity`, `-policy`, `-audit`, `-posture`) and on
//! `modelgate-types`, never on a crate above it.

use serde::Deserialize;

pub mod audit;
mod base_url;
pub mod classes;
pub mod glob;
pub mod listener_tls;
mod paths;
pub mod policy;
pub mod replica;
pub mod screen;
pub mod secret;
mod sections;
pub mod sources;
mod store;
mod upstreams;
mod validate;

pub use audit::{AuditFileSettings, AuditSettings};
pub use base_url::BaseUrl;
pub use classes::{DATA_CLASS_HEADER, DataClasses};
pub use listener_tls::{ClientAuth, ListenerTls};
pub use policy::{DefaultPermit, PolicySettings};
pub use screen::{
    DataClassSettings, ResidencyRule, ResponseAction, ScreenAction, ScreenRule, ScreenSettings,
};
pub use secret::{SecretError, SecretRef, SecretValue};
pub use sections::{
    BreakerConfig, DEFAULT_METRICS_LISTEN, HARD_MAX_HEADER_BYTES, HARD_MAX_HEADERS, KeyConfig,
    Limits, LogConfig, LogFormat, PostureConfig, ServerConfig, TokenConfig, same_listener,
};
pub use sources::{Cidr, FailedAuthLimit};
pub use store::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_SSL_MODE, DEFAULT_STORE_PATH, SSL_MODES, StoreConfig,
    StoreLocation, describe_url,
};
pub use upstreams::{ModelConfig, TargetConfig, UpstreamConfig};

pub use modelgate_types::{Deployment, Isolation, UpstreamKind};

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
    pub audit: AuditSettings,
    /// Screening of prompts and responses.
    #[serde(default)]
    pub screen: ScreenSettings,
    /// Data classes, lowest first, and where a request's class comes from.
    #[serde(default)]
    pub data_classes: DataClassSettings,
    /// Regions identities' data must stay in.
    #[serde(default)]
    pub residency: Vec<ResidencyRule>,
    /// Cedar policies.
    #[serde(default)]
    pub policy: PolicySettings,
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
    /// Several problems, each naming its field (one per line).
    #[error("{} problems:\n  {}", .0.len(), join_lines(.0))]
    Several(Vec<ConfigError>),
}

/// The problems, one per line.
fn join_lines(problems: &[ConfigError]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Config {
    /// Parses and validates a TOML document; relative paths in it stay
    /// relative to the working directory.
    ///
    /// Parse errors report the position and toml's message, never the source
    /// line, since that line may hold a secret pasted by mistake.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config = Config::parse(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses and validates the TOML document of a file in `dir`: relative
    /// paths in it (the store, policy directories, TLS and JWKS files,
    /// `file:` secret references, the audit files) are taken from `dir`,
    /// not from the working directory ([`Config::resolve_paths`]).
    pub fn from_toml_in(text: &str, dir: &std::path::Path) -> Result<Config, ConfigError> {
        let mut config = Config::parse(text)?;
        config.resolve_paths(dir);
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML document without validating it (see
    /// [`Config::problems`] for every problem at once).
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
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
        })
    }

    /// The validated roles and grant rules.
    pub fn role_catalog(&self) -> Result<modelgate_identity::access::RoleCatalog, ConfigError> {
        modelgate_identity::access::RoleCatalog::new(&self.roles, &self.grants)
            .map_err(|e| invalid(e.field, e.reason))
    }
}

#[cfg(test)]
mod tests;
