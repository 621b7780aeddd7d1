//! The small sections of the configuration: `[server]`, `[store]`,
//! `[limits]`, `[breaker]`, `[keys]`, `[tokens]`, `[log]` and `[posture]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use modelgate_types::duration;
use serde::Deserialize;

/// Hard ceiling on request header bytes that hyper buffers; requests over
/// it get hyper's bare 431. The configured limit below it gets one in dialect.
pub const HARD_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Hard ceiling on the number of request headers hyper parses.
pub const HARD_MAX_HEADERS: usize = 256;

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
    /// Longest a request body may take to arrive once the gateway starts
    /// reading it (408 above it), on every endpoint that reads a body.
    #[serde(with = "duration")]
    pub body_read_timeout: Duration,
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
            body_read_timeout: Duration::from_secs(30),
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
    #[serde(with = "modelgate_types::duration::map")]
    pub max_lifetime_by_kind: std::collections::BTreeMap<String, Duration>,
    /// Key-encryption key for the signing keys at rest: `env:NAME` or
    /// `file:PATH` holding 32 bytes as 64 hex characters or base64.
    /// Required unless the gateway runs with `--dev`.
    pub kek: Option<String>,
    /// How often each replica re-reads revocations and signing keys that
    /// other replicas or the CLI changed.
    #[serde(with = "duration")]
    pub sync_interval: Duration,
    /// How long a replica may go without syncing successfully with the
    /// store (whatever the backend) before it stops authenticating access
    /// tokens and API keys (503) and `/readyz` says "state sync stale": a
    /// revocation or a disabled identity may not have reached it. Longer
    /// than `sync_interval`, at most one hour. Default 10 seconds.
    #[serde(with = "duration")]
    pub max_staleness: Duration,
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
            max_staleness: modelgate_identity::tokens::DEFAULT_MAX_STALENESS,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` for people, `json` for log shippers.
    pub format: LogFormat,
    /// A `tracing` filter such as `info`, or `info,modelgate_gateway=debug`
    /// for the data plane (`modelgate_control`, `modelgate_core` for the
    /// control plane and the shared services).
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
