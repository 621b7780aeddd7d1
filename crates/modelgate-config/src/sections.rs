//! The small sections of the configuration: `[server]`,
//! `[limits]`, `[breaker]`, `[keys]`, `[tokens]`, `[log]` and `[posture]`.

use std::net::SocketAddr;
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
    /// This replica's id: the name of its audit chain and of its lease in
    /// the store, unique among live replicas (default: the host name, or
    /// `local`; see [`crate::replica`]).
    pub replica_id: Option<String>,
    /// How long this replica's claim on its id lasts unless renewed (it is
    /// renewed every third of it): a replica that was killed, or cannot
    /// reach the store, frees its id after this long.
    #[serde(with = "duration")]
    pub replica_lease: Duration,
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
    /// Proxies (CIDRs) whose `X-Forwarded-For` names the caller: with a
    /// peer in one of them, the caller's source is the right-most
    /// forwarded address that is not itself a trusted proxy. Empty (the
    /// default): the peer address is the source.
    pub trusted_proxies: Vec<crate::sources::Cidr>,
    /// Address of the listener that serves `GET /metrics` (and nothing
    /// else); `None` (written `"off"`) serves no metrics. Never the public
    /// listener: `validate` refuses `listen`'s address.
    #[serde(deserialize_with = "metrics_listen_or_off")]
    pub metrics_listen: Option<SocketAddr>,
    /// Address of the listener that serves `/admin/v1`; `None` (the
    /// default) or `listen`'s address serves it on the main listener. When
    /// set elsewhere, the main listener answers `/admin/v1` as an unknown path.
    pub admin_listen: Option<SocketAddr>,
    /// Most connections open at once on each listener. The default
    /// (16,384) admits the 10,000 open streams a busy replica may hold with
    /// room for keep-alive connections; each costs a descriptor, a task and
    /// a few KiB of buffers, so the cap bounds memory and descriptors
    /// before the process limit does. Over it, a new connection is closed
    /// at once (and counted).
    pub max_connections: usize,
    /// Most connections open at once from one peer IP address on each
    /// listener, so one source cannot take the whole `max_connections`;
    /// `None` (the default) sets no per-source cap, because behind a load
    /// balancer or proxy every connection comes from its few addresses.
    pub max_connections_per_source: Option<usize>,
    /// TLS on the main listener, and client certificates (`[server.tls]`);
    /// `None` (the default): plain HTTP.
    pub tls: Option<crate::ListenerTls>,
    /// TLS on the admin listener (`[server.admin_tls]`; needs an
    /// `admin_listen` of its own). Client certificates there only decide
    /// who may connect: the admin API still needs an admin's key or token.
    pub admin_tls: Option<crate::ListenerTls>,
    /// TLS on the metrics listener (`[server.metrics_tls]`; needs
    /// `metrics_listen`). With `client_auth = "required"`, only scrapers
    /// holding a certificate from `client_ca` read the metrics.
    pub metrics_tls: Option<crate::ListenerTls>,
}

/// The default `[server] metrics_listen`.
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

/// `metrics_listen`: an address, or `"off"` for none.
fn metrics_listen_or_off<'de, D>(deserializer: D) -> Result<Option<SocketAddr>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "server.metrics_listen: expected an address such as \"127.0.0.1:9464\" or \"off\", found {text:?}"
        ))
    })
}

/// Whether two configured addresses name the same socket (an address with
/// port 0 asks for a fresh port each time, so it equals no other).
pub fn same_listener(a: SocketAddr, b: SocketAddr) -> bool {
    a == b && a.port() != 0
}

impl ServerConfig {
    /// Checks the listener addresses and the connection caps; on failure,
    /// the field and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let refuse = |field: &str, reason: String| Err((format!("server.{field}"), reason));
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        if let Some(tls) = &self.admin_tls {
            let separate = self
                .admin_listen
                .is_some_and(|admin| !same_listener(admin, self.listen));
            if !separate {
                return refuse(
                    "admin_tls",
                    "the admin API is on the main listener (server.admin_listen is not set to \
                     another address): its TLS is [server.tls]"
                        .to_owned(),
                );
            }
            tls.validate_as("server.admin_tls")?;
        }
        if let Some(tls) = &self.metrics_tls {
            if self.metrics_listen.is_none() {
                return refuse(
                    "metrics_tls",
                    "server.metrics_listen is \"off\": there is no metrics listener".to_owned(),
                );
            }
            tls.validate_as("server.metrics_tls")?;
        }
        if let Some(metrics) = self.metrics_listen
            && same_listener(metrics, self.listen)
        {
            return refuse(
                "metrics_listen",
                format!(
                    "{metrics} is server.listen: metrics are kept off the public listener; \
                     use another address (default {DEFAULT_METRICS_LISTEN}) or \"off\""
                ),
            );
        }
        if let (Some(metrics), Some(admin)) = (self.metrics_listen, self.admin_listen)
            && same_listener(metrics, admin)
            && !same_listener(admin, self.listen)
        {
            return refuse(
                "metrics_listen",
                format!("{metrics} is also server.admin_listen; give each its own address"),
            );
        }
        if self.max_connections == 0 {
            return refuse("max_connections", "must be greater than zero".to_owned());
        }
        if let Some(id) = &self.replica_id
            && let Err(reason) = crate::replica::check_replica_id(id)
        {
            return refuse("replica_id", reason);
        }
        if self.replica_lease < Duration::from_secs(3)
            || self.replica_lease > Duration::from_secs(600)
        {
            return refuse("replica_lease", "must be between 3s and 10m".to_owned());
        }
        match self.max_connections_per_source {
            Some(0) => refuse(
                "max_connections_per_source",
                "must be greater than zero (omit it for no per-source cap)".to_owned(),
            ),
            Some(n) if n > self.max_connections => refuse(
                "max_connections_per_source",
                format!(
                    "{n} is above server.max_connections ({})",
                    self.max_connections
                ),
            ),
            _ => Ok(()),
        }
    }
}

impl ServerConfig {
    /// This replica's id: `replica_id`, or the host's name
    /// ([`crate::replica::default_replica_id`]).
    pub fn replica_id(&self) -> String {
        self.replica_id
            .clone()
            .unwrap_or_else(crate::replica::default_replica_id)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            replica_id: None,
            replica_lease: crate::replica::DEFAULT_REPLICA_LEASE,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            housekeeping_interval: Duration::from_secs(60),
            trusted_proxies: Vec::new(),
            metrics_listen: Some(DEFAULT_METRICS_LISTEN),
            admin_listen: None,
            max_connections: 16_384,
            max_connections_per_source: None,
            tls: None,
            admin_tls: None,
            metrics_tls: None,
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
    /// Failed authentications allowed per source before its credentials
    /// are refused unchecked (429).
    pub failed_auth_per_source: crate::sources::FailedAuthLimit,
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
            failed_auth_per_source: crate::sources::FailedAuthLimit::default(),
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
    /// Earlier key-encryption keys (secret references like `kek`), accepted
    /// for opening keys sealed with them while a KEK rotation is under way;
    /// new values are sealed with `kek` only. `modelgate kek rotate`
    /// re-seals everything under `kek`, after which they can be removed
    /// (docs/kek.md).
    pub previous_keks: Vec<String>,
    /// How often each replica polls the store for revocations, identity
    /// status and signing keys that other replicas or the CLI changed (on
    /// PostgreSQL replicas are also told at once, by notification; the
    /// poll is the fallback).
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
            previous_keks: Vec::new(),
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
