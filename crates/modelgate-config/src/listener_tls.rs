//! `[server.tls]`: TLS on the gateway's main listener, and client
//! certificates (mTLS) checked against a CA bundle.
//!
//! ```toml
//! [server.tls]
//! cert = "/etc/modelgate/tls/server.crt"   # PEM chain, leaf first
//! key = "/etc/modelgate/tls/server.key"    # PEM private key (PKCS#8, PKCS#1 or SEC1)
//! client_ca = "/etc/modelgate/tls/workload-ca.pem"
//! client_auth = "optional"                  # "off" (default), "optional", "required"
//! ```
//!
//! Validation reads the files only to check they hold PEM blocks of the
//! right kind; it never echoes their contents.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Whether (and how) the listener asks callers for a client certificate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    Off,
    /// A client certificate is asked for; a connection without one is
    /// served (and authenticates with a bearer credential), one with a
    /// certificate that does not chain to `client_ca` is refused at the
    /// handshake.
    Optional,
    /// Every connection must present a certificate from `client_ca`.
    Required,
}

/// TLS settings of one listener: the main one (`[server.tls]`), the admin
/// listener (`[server.admin_tls]`) or the metrics listener
/// (`[server.metrics_tls]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// PEM certificate chain of the listener, leaf first. Re-read when the
    /// file changes (checked every `reload_interval`).
    pub cert: PathBuf,
    /// PEM private key of `cert`. Re-read with it.
    pub key: PathBuf,
    /// PEM bundle of the CAs whose client certificates are accepted;
    /// required unless `client_auth` is `off`.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// `off` (default), `optional` or `required`.
    #[serde(default)]
    pub client_auth: ClientAuth,
    /// How often the certificate and key files are checked for a change
    /// (default `5s`).
    #[serde(
        default = "default_reload_interval",
        with = "modelgate_types::duration"
    )]
    pub reload_interval: Duration,
}

fn default_reload_interval() -> Duration {
    Duration::from_secs(5)
}

impl ListenerTls {
    /// Checks the fields and that each file holds PEM blocks of the right
    /// kind; on failure, the field (under `server.tls.`) and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.validate_as("server.tls")
    }

    /// [`ListenerTls::validate`] for the table at `section` (such as
    /// `server.admin_tls`), which the failing field is named under.
    pub fn validate_as(&self, section: &str) -> Result<(), (String, String)> {
        let refuse = |field: &str, reason: String| Err((format!("{section}.{field}"), reason));
        if let Err(reason) = pem_file(&self.cert, "CERTIFICATE") {
            return refuse("cert", reason);
        }
        if let Err(reason) = pem_file(&self.key, "PRIVATE KEY") {
            return refuse("key", reason);
        }
        match (&self.client_ca, self.client_auth) {
            (None, ClientAuth::Optional | ClientAuth::Required) => {
                return refuse(
                    "client_ca",
                    "required when client_auth is \"optional\" or \"required\"".to_owned(),
                );
            }
            (Some(_), ClientAuth::Off) => {
                return refuse(
                    "client_auth",
                    "client_ca is set but client_auth is \"off\": set \"optional\" or \"required\""
                        .to_owned(),
                );
            }
            (Some(ca), _) => {
                if let Err(reason) = pem_file(ca, "CERTIFICATE") {
                    return refuse("client_ca", reason);
                }
            }
            (None, ClientAuth::Off) => {}
        }
        if self.reload_interval < Duration::from_secs(1) {
            return refuse("reload_interval", "must be at least 1s".to_owned());
        }
        Ok(())
    }
}

/// Whether `path` is readable and holds a PEM block whose label ends with
/// `label` (`CERTIFICATE`, or `PRIVATE KEY` for every key form). The
/// reason names the path, never the contents.
fn pem_file(path: &Path, label: &str) -> Result<(), String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&text);
    let found = text.lines().any(|line| {
        line.trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
            .is_some_and(|l| l.ends_with(label))
    });
    if found {
        Ok(())
    } else {
        Err(format!("{} holds no PEM block \"{label}\"", path.display()))
    }
}
