//! Cross-field checks of the whole document: unique names, references
//! that resolve, credentials written as references, limits in range.

use std::collections::HashSet;
use std::time::Duration;

use crate::{
    Config, ConfigError, DataClasses, HARD_MAX_HEADER_BYTES, HARD_MAX_HEADERS, SecretRef,
    UpstreamKind, invalid,
};

impl Config {
    /// Checks cross-field rules: unique names, references, credential form.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .validate()
            .map_err(|(field, reason)| invalid(field, reason))?;
        self.audit
            .validate()
            .map_err(|(field, reason)| invalid(field, reason))?;
        let classes = DataClasses::new(&self.data_classes)
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
            upstream
                .check_transport()
                .map_err(|(name, reason)| invalid(field(name), reason))?;
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
        if limits.body_read_timeout.is_zero() {
            return Err(invalid(
                "limits.body_read_timeout",
                "must be greater than zero",
            ));
        }
        if limits.max_header_bytes > HARD_MAX_HEADER_BYTES {
            return Err(invalid(
                "limits.max_header_bytes",
                format!("at most {}", HARD_MAX_HEADER_BYTES),
            ));
        }
        if limits.max_headers > HARD_MAX_HEADERS {
            return Err(invalid(
                "limits.max_headers",
                format!("at most {}", HARD_MAX_HEADERS),
            ));
        }
        let failed_auth = &limits.failed_auth_per_source;
        if failed_auth.enabled() && (failed_auth.per_minute == 0 || failed_auth.max_sources == 0) {
            return Err(invalid(
                "limits.failed_auth_per_source",
                "per_minute and max_sources must be at least 1 (burst = 0 turns the limit off)",
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
        for (i, reference) in tokens.previous_keks.iter().enumerate() {
            SecretRef::parse(reference)
                .map_err(|reason| invalid(format!("tokens.previous_keks[{i}]"), reason))?;
        }
        if tokens.sync_interval < Duration::from_millis(100) {
            return Err(invalid("tokens.sync_interval", "at least 100ms"));
        }
        if tokens.max_staleness <= tokens.sync_interval
            || tokens.max_staleness > Duration::from_secs(3600)
        {
            return Err(invalid(
                "tokens.max_staleness",
                "longer than tokens.sync_interval and at most 1h",
            ));
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
