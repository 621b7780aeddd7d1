//! `[[upstreams]]` and `[[models]]`: model providers and model servers, and
//! the public model names routed to them.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::base_url::BaseUrl;
use crate::secret::SecretRef;
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
    /// `https://api.anthropic.com`, `http://127.0.0.1:8000/v1`). Plain
    /// `http://` to a host other than loopback needs `allow_plaintext`.
    pub base_url: String,
    /// PEM file of the CA certificates that sign this upstream's server
    /// certificate. When set they are its only trust roots (the public web
    /// roots are no longer trusted for it); `https://` only.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// PEM file of the gateway's client certificate (and any intermediates)
    /// for upstreams that require mutual TLS; needs `client_key`.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Reference to the PEM private key of `client_cert`: `env:NAME` or
    /// `file:PATH`, like `credential`.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Allows a plain `http://` base URL to a host that is not loopback
    /// (prompts, responses and the credential then cross the network in
    /// the clear). Default false.
    #[serde(default)]
    pub allow_plaintext: bool,
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

impl UpstreamConfig {
    /// Checks the base URL and the TLS fields from the configuration text
    /// alone: no file is read, no name resolved, no connection made. On a
    /// mistake, the field (`base_url`, `ca_bundle`, ...) and the reason.
    pub(crate) fn check_transport(&self) -> Result<(), (&'static str, String)> {
        let base = BaseUrl::parse(&self.base_url).map_err(|reason| ("base_url", reason))?;
        if !base.is_https() {
            if !base.is_loopback() && !self.allow_plaintext {
                return Err((
                    "base_url",
                    format!(
                        "plain http to {}, which is not a loopback host, is refused: use \
                         https:// or set allow_plaintext = true on upstream {:?}",
                        base.host(),
                        self.name
                    ),
                ));
            }
            for (field, set) in [
                ("ca_bundle", self.ca_bundle.is_some()),
                ("client_cert", self.client_cert.is_some()),
                ("client_key", self.client_key.is_some()),
            ] {
                if set {
                    return Err((field, "applies to an https:// base_url only".to_owned()));
                }
            }
        }
        for (field, path) in [
            ("ca_bundle", &self.ca_bundle),
            ("client_cert", &self.client_cert),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err((field, "must name a PEM file".to_owned()));
            }
        }
        match (&self.client_cert, &self.client_key) {
            (Some(_), None) => {
                return Err(("client_key", "required with client_cert".to_owned()));
            }
            (None, Some(_)) => {
                return Err(("client_cert", "required with client_key".to_owned()));
            }
            (Some(_), Some(reference)) => {
                SecretRef::parse(reference).map_err(|reason| ("client_key", reason))?;
            }
            (None, None) => {}
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use crate::Config;

    fn upstream(base_url: &str, extra: &str) -> Result<Config, String> {
        let text = format!(
            "[[upstreams]]\nname = \"private\"\nkind = \"openai\"\nbase_url = \"{base_url}\"\n\
             deployment = \"self_hosted\"\nregion = \"local\"\nisolation = \"technical\"\n{extra}"
        );
        Config::from_toml(&text).map_err(|e| e.to_string())
    }

    #[test]
    fn plain_http_beyond_loopback_needs_allow_plaintext() {
        let err = upstream("http://10.1.2.3:8000/v1", "").unwrap_err();
        assert!(err.contains("upstreams[private].base_url"), "{err}");
        assert!(err.contains("allow_plaintext"), "{err}");
        assert!(err.contains("10.1.2.3"), "{err}");
        let err = upstream("http://vllm.internal:8000/v1", "allow_plaintext = false").unwrap_err();
        assert!(err.contains("allow_plaintext"), "{err}");
        upstream("http://10.1.2.3:8000/v1", "allow_plaintext = true").unwrap();
        upstream("http://127.0.0.1:8000/v1", "").unwrap();
        upstream("http://localhost:11434/v1", "").unwrap();
        upstream("http://[::1]:8000", "").unwrap();
        upstream("https://10.1.2.3/v1", "").unwrap();
    }

    #[test]
    fn tls_fields_are_checked_from_the_text() {
        let tls = "ca_bundle = \"/nonexistent/ca.pem\"\nclient_cert = \"/nonexistent/c.pem\"\n\
                   client_key = \"file:/nonexistent/k.pem\"";
        // Paths are only read when the upstream is built, not here.
        let config = upstream("https://10.1.2.3/v1", tls).unwrap();
        assert!(config.upstreams[0].ca_bundle.is_some());
        assert!(!config.upstreams[0].allow_plaintext);
        let err = upstream("http://127.0.0.1:9", "ca_bundle = \"/x.pem\"").unwrap_err();
        assert!(err.contains("upstreams[private].ca_bundle"), "{err}");
        let err = upstream("https://h", "client_cert = \"/c.pem\"").unwrap_err();
        assert!(err.contains("upstreams[private].client_key"), "{err}");
        let err = upstream("https://h", "client_key = \"env:K\"").unwrap_err();
        assert!(err.contains("upstreams[private].client_cert"), "{err}");
        let err = upstream(
            "https://h",
            "client_cert = \"/c.pem\"\nclient_key = \"-----BEGIN PRIVATE KEY----- CANARY\"",
        )
        .unwrap_err();
        assert!(err.contains("upstreams[private].client_key"), "{err}");
        assert!(!err.contains("CANARY"), "{err}");
        let err = upstream("https://h", "ca_bundle = \"\"").unwrap_err();
        assert!(err.contains("upstreams[private].ca_bundle"), "{err}");
    }
}
