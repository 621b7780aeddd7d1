//! The `[audit]` section of the configuration: sinks, checkpoints, and the
//! default body retention (routes may override it).

use std::path::PathBuf;
use std::time::Duration;

use modelgate_audit::Retention;
use serde::Deserialize;

use modelgate_types::duration;

/// Where audit records go and how they are kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Write records to the store (the default sink; required: a request is
    /// forwarded only once its record is in the store).
    pub store: bool,
    /// Also write JSON lines to standard output, for log shippers (best
    /// effort).
    pub stdout: bool,
    /// Also write JSON-lines files with rotation.
    pub file: Option<AuditFileSettings>,
    /// Sign a checkpoint at least every this many records.
    pub checkpoint_every: u64,
    /// ... and at least this often while records come in.
    #[serde(with = "duration")]
    pub checkpoint_interval: Duration,
    /// A record not durable within this time fails its request with 503.
    #[serde(with = "duration")]
    pub append_timeout: Duration,
    /// What routes keep of prompts and responses unless they say otherwise:
    /// `none` (default), `hmac`, `redacted`, `full`.
    pub bodies: Retention,
    /// How long kept bodies live before pruning (unset: until pruned by
    /// hand with `modelgate audit prune`).
    #[serde(with = "modelgate_types::duration::option")]
    pub body_retention: Option<Duration>,
    /// How often the gateway prunes expired bodies.
    #[serde(with = "duration")]
    pub prune_interval: Duration,
    /// Refusals of callers not yet authenticated (failed authentication,
    /// failed-authentication limit) are written once per source and reason
    /// per this interval; the rest of the interval's refusals are counted
    /// into one `refusal.summary` record when it ends. `0s`: each refusal
    /// is written on its own.
    #[serde(with = "duration")]
    pub refusal_coalesce_interval: Duration,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            store: true,
            stdout: false,
            file: None,
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(10),
            append_timeout: Duration::from_secs(2),
            bodies: Retention::None,
            body_retention: None,
            prune_interval: Duration::from_secs(3600),
            refusal_coalesce_interval: Duration::from_secs(10),
        }
    }
}

/// JSON-lines files: `DIR/audit-000001.jsonl`, ...
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditFileSettings {
    /// Directory of the files.
    pub dir: PathBuf,
    /// Start a new file once the current one is this large.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// ... or this old.
    #[serde(default, with = "modelgate_types::duration::option")]
    pub max_file_age: Option<Duration>,
    /// Whether a failure to write the files fails requests (fail closed).
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_max_file_bytes() -> u64 {
    64 * 1024 * 1024
}

fn default_true() -> bool {
    true
}

impl AuditSettings {
    /// Checks the settings; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let file_required = self.file.as_ref().is_some_and(|f| f.required);
        if !self.store && !file_required {
            return Err((
                "audit".into(),
                "at least one required sink is needed (store = true, or [audit.file] with \
                 required = true): the gateway forwards nothing it cannot record"
                    .into(),
            ));
        }
        if self.checkpoint_every == 0 {
            return Err(("audit.checkpoint_every".into(), "must be at least 1".into()));
        }
        if self.append_timeout.is_zero() {
            return Err(("audit.append_timeout".into(), "must be positive".into()));
        }
        if let Some(file) = &self.file
            && file.max_file_bytes < 4096
        {
            return Err((
                "audit.file.max_file_bytes".into(),
                "must be at least 4096".into(),
            ));
        }
        Ok(())
    }
}
