//! `[[upstreams]]` and `[[models]]`: model providers and model servers, and
//! the public model names routed to them.

use std::time::Duration;

use serde::Deserialize;

use modelgate_types::duration;
use modelgate_types::{Deployment, Isolation, UpstreamKind};

/// One model provider or model server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Unique name, used in model routes, logs and metrics.
    pub name: String,
    /// Wire format.
    pub kind: UpstreamKind,
    /// Base URL, as its own SDK would take it (`https://api.openai.com/v1`,
    /// `https://api.anthropic.com`, `http://vllm:8000/v1`).
    pub base_url: String,
    /// Reference to the upstream's credential: `env:NAME` or `file:PATH`.
    /// Omit for servers that need none.
    pub credential: Option<String>,
    /// Hosted API or self-hosted server.
    pub deployment: Deployment,
    /// Region where the upstream processes data.
    pub region: String,
    /// The provider's stated prompt retention in days (0 = none).
    #[serde(default)]
    pub retention_days: u32,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// Time allowed to open a connection.
    #[serde(default = "default_connect_timeout", with = "duration")]
    pub connect_timeout: Duration,
    /// Time allowed from sending a request to the response headers.
    #[serde(default = "default_first_byte_timeout", with = "duration")]
    pub first_byte_timeout: Duration,
    /// Longest silence allowed while reading a response body.
    #[serde(default = "default_idle_timeout", with = "duration")]
    pub idle_timeout: Duration,
    /// Azure OpenAI only: the `api-version` query parameter.
    pub api_version: Option<String>,
    /// Anthropic only: `anthropic-version` sent when the caller sends none.
    pub anthropic_version: Option<String>,
    /// The highest data class this upstream may receive (default: any).
    #[serde(default)]
    pub max_data_class: Option<String>,
    /// The environment it serves (`dev`, `staging`, `prod`, ...); unset
    /// serves every environment.
    #[serde(default)]
    pub environment: Option<String>,
    /// Owners for patching, incident response and offboarding, and the
    /// credential rotation period (`modelgate readiness`).
    #[serde(default)]
    pub ownership: modelgate_posture::snapshot::Ownership,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_first_byte_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(60)
}

/// A public model name and the targets that serve it, in order of preference.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The name callers use.
    pub name: String,
    /// Ordered fallback list.
    pub targets: Vec<TargetConfig>,
    /// If set, only identities in these environments may use the model.
    pub environments: Option<Vec<String>>,
    /// If set, requests for this model may only go to upstreams in these
    /// regions (residency).
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// What the audit log keeps of this route's prompts and responses
    /// (`none`, `hmac`, `redacted`, `full`); default `audit.bodies`.
    #[serde(default)]
    pub audit_bodies: Option<modelgate_audit::Retention>,
    /// How long this route's kept bodies live; default
    /// `audit.body_retention`.
    #[serde(default, with = "modelgate_types::duration::option")]
    pub audit_body_retention: Option<Duration>,
}

/// One (upstream, upstream model) pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// Name of an `[[upstreams]]` entry.
    pub upstream: String,
    /// Model (or Azure deployment) name at that upstream.
    pub model: String,
}
