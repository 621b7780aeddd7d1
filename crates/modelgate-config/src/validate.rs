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
    /// With several problems, the error lists them all
    /// ([`ConfigError::Several`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = self.problems();
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            _ => Err(ConfigError::Several(problems)),
        }
    }

    /// Every problem [`validate`](Config::validate) finds, in the order of
    /// the document, each naming its field.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut problems = Vec::new();
        if let Err((field, reason)) = self.server.validate() {
            problems.push(invalid(field, reason));
        }
        problems.extend(self.store.problems());
        if let Err((field, reason)) = self.audit.validate() {
            problems.push(invalid(field, reason));
        }
        match DataClasses::new(&self.data_classes) {
            Err((field, reason)) => problems.push(invalid(field, reason)),
            Ok(classes) => {
                for (i, upstream) in self.upstreams.iter().enumerate() {
                    if let Some(class) = &upstream.max_data_class
                        && classes.rank(class).is_none()
                    {
                        problems.push(invalid(
                            format!("upstreams[{i}].max_data_class"),
                            format!("unknown data class {class:?}"),
                        ));
                    }
                }
            }
        }
        let mut names = HashSet::new();
        for (i, upstream) in self.upstreams.iter().enumerate() {
            let field = |f: &str| format!("upstreams[{i}].{f}");
            if !valid_name(&upstream.name) {
                problems.push(invalid(
                    field("name"),
                    "use 1 to 64 characters from a-z, 0-9, '.', '_', '-'",
                ));
                // Known all the same, so targets naming it are not also
                // reported as naming no upstream.
                names.insert(upstream.name.as_str());
                continue;
            }
            if !names.insert(upstream.name.as_str()) {
                problems.push(invalid(field("name"), "duplicate upstream name"));
            }
            let field = |f: &str| format!("upstreams[{}].{f}", upstream.name);
            if let Err((name, reason)) = upstream.check_transport() {
                problems.push(invalid(field(name), reason));
            }
            if let Some(reference) = &upstream.credential
                && let Err(reason) = SecretRef::parse(reference)
            {
                problems.push(invalid(field("credential"), reason));
            }
            if upstream.kind == UpstreamKind::AzureOpenai && upstream.api_version.is_none() {
                problems.push(invalid(
                    field("api_version"),
                    "required for kind azure_openai",
                ));
            }
            if upstream.region.trim().is_empty() {
                problems.push(invalid(field("region"), "must not be empty"));
            }
            if let Some(env) = &upstream.environment
                && !valid_environment(env)
            {
                problems.push(invalid(
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
                    problems.push(invalid(field(name), "must be greater than zero"));
                }
            }
        }
        let mut models = HashSet::new();
        for (i, model) in self.models.iter().enumerate() {
            if model.name.is_empty() || model.name.len() > 256 {
                problems.push(invalid(format!("models[{i}].name"), "1 to 256 characters"));
            }
            if !models.insert(model.name.as_str()) {
                problems.push(invalid(format!("models[{i}].name"), "duplicate model name"));
            }
            if model.targets.is_empty() {
                problems.push(invalid(
                    format!("models[{}].targets", model.name),
                    "at least one target is required",
                ));
            }
            for (j, target) in model.targets.iter().enumerate() {
                if !names.contains(target.upstream.as_str()) {
                    problems.push(invalid(
                        format!("models[{}].targets[{j}].upstream", model.name),
                        format!("no upstream named {:?}", target.upstream),
                    ));
                }
                if target.model.is_empty() {
                    problems.push(invalid(
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
                problems.push(invalid(
                    format!("limits.{name}"),
                    "must be greater than zero",
                ));
            }
        }
        if limits.body_read_timeout.is_zero() {
            problems.push(invalid(
                "limits.body_read_timeout",
                "must be greater than zero",
            ));
        }
        if limits.max_header_bytes > HARD_MAX_HEADER_BYTES {
            problems.push(invalid(
                "limits.max_header_bytes",
                format!("at most {}", HARD_MAX_HEADER_BYTES),
            ));
        }
        if limits.max_headers > HARD_MAX_HEADERS {
            problems.push(invalid(
                "limits.max_headers",
                format!("at most {}", HARD_MAX_HEADERS),
            ));
        }
        let failed_auth = &limits.failed_auth_per_source;
        if failed_auth.enabled() && (failed_auth.per_minute == 0 || failed_auth.max_sources == 0) {
            problems.push(invalid(
                "limits.failed_auth_per_source",
                "per_minute and max_sources must be at least 1 (burst = 0 turns the limit off)",
            ));
        }
        if self.breaker.failure_threshold == 0 {
            problems.push(invalid("breaker.failure_threshold", "must be at least 1"));
        }
        if self.keys.max_lifetime.is_zero() {
            problems.push(invalid("keys.max_lifetime", "must be greater than zero"));
        }
        let tokens = &self.tokens;
        if tokens.default_lifetime.is_zero() || tokens.default_lifetime > tokens.max_lifetime {
            problems.push(invalid(
                "tokens.default_lifetime",
                "must be greater than zero and at most tokens.max_lifetime",
            ));
        }
        for kind in tokens.max_lifetime_by_kind.keys() {
            if kind.parse::<modelgate_identity::IdentityKind>().is_err() {
                problems.push(invalid(
                    format!("tokens.max_lifetime_by_kind.{kind}"),
                    "not an identity kind (service, ci_job, agent, retrieval, tool)",
                ));
            }
        }
        if let Some(reference) = &tokens.kek
            && let Err(reason) = SecretRef::parse(reference)
        {
            problems.push(invalid("tokens.kek", reason));
        }
        for (i, reference) in tokens.previous_keks.iter().enumerate() {
            if let Err(reason) = SecretRef::parse(reference) {
                problems.push(invalid(format!("tokens.previous_keks[{i}]"), reason));
            }
        }
        if tokens.sync_interval < Duration::from_millis(100) {
            problems.push(invalid("tokens.sync_interval", "at least 100ms"));
        }
        if tokens.max_staleness <= tokens.sync_interval
            || tokens.max_staleness > Duration::from_secs(3600)
        {
            problems.push(invalid(
                "tokens.max_staleness",
                "longer than tokens.sync_interval and at most 1h",
            ));
        }
        if let Err(problem) = self.role_catalog() {
            problems.push(problem);
        }
        if self.posture.audit_window.is_zero() {
            problems.push(invalid("posture.audit_window", "must be greater than zero"));
        }
        let t = &self.posture.thresholds;
        if t.working_hours_start > 23
            || t.working_hours_end > 24
            || !(0.0..=1.0).contains(&t.working_hours_share)
        {
            problems.push(invalid(
                "posture.thresholds",
                "working hours are 0..=24 and working_hours_share is 0..=1",
            ));
        }
        problems
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
