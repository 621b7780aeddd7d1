//! The posture view of the configuration, computed once at start and
//! shared by both planes: each upstream's readiness (which the data plane
//! reads under `posture.require_readiness`), and the upstream and issuer
//! records the control plane's posture snapshot starts from.

use std::collections::HashMap;
use std::time::Duration;

use modelgate_config::{Config, ScreenAction, ScreenSettings, UpstreamConfig};
use modelgate_posture::snapshot::{ClaimRule, Controls, IssuerRecord, UpstreamRecord};
use modelgate_posture::{PostureSettings, ReadinessGap};

/// The posture view of the configuration, computed once at start.
#[derive(Debug, Clone)]
pub struct PostureContext {
    require_readiness: bool,
    audit_window: Duration,
    settings: PostureSettings,
    upstreams: Vec<UpstreamRecord>,
    upstream_environment: HashMap<String, Option<String>>,
    issuers: Vec<IssuerRecord>,
    refusals: HashMap<String, String>,
    controls: Controls,
}

/// Whether `[screen]` refuses every prompt carrying a credential: the
/// first rule that can apply to a credential finding blocks it for every
/// request, or no rule applies and the default action blocks. (Rules are
/// matched first-match per finding.) A rule that can give some credential
/// finding a lesser action means: not every such prompt is refused.
fn credentials_blocked(screen: &ScreenSettings) -> bool {
    if !screen.enabled {
        return false;
    }
    for rule in &screen.rules {
        let credential =
            rule.categories.is_empty() || rule.categories.iter().any(|c| c == "credential");
        if !credential {
            continue;
        }
        if rule.action != ScreenAction::Block {
            return false;
        }
        let everywhere = rule.models.is_empty()
            && rule.identities.is_empty()
            && rule.environments.is_empty()
            && rule.data_classes.is_empty()
            && rule.kinds.is_empty();
        if everywhere {
            return true;
        }
    }
    screen.default_action == ScreenAction::Block
}

/// The spelling of an upstream without an `environment`: it serves all.
pub const ANY_ENVIRONMENT: &str = "any";

/// The classes of `levels` (lowest first) up to and including `ceiling`.
fn admitted(levels: &[String], ceiling: &str) -> Option<Vec<String>> {
    let top = levels.iter().position(|l| l == ceiling)?;
    Some(levels[..=top].to_vec())
}

fn upstream_record(u: &UpstreamConfig, levels: &[String]) -> UpstreamRecord {
    UpstreamRecord {
        admits_data_classes: u
            .max_data_class
            .as_deref()
            .and_then(|ceiling| admitted(levels, ceiling)),
        name: u.name.clone(),
        kind: u.kind.as_str().to_owned(),
        deployment: u.deployment,
        region: u.region.clone(),
        retention_days: u.retention_days,
        isolation: u.isolation,
        environment: u
            .environment
            .clone()
            .unwrap_or_else(|| ANY_ENVIRONMENT.to_owned()),
        ownership: u.ownership.clone(),
    }
}

impl PostureContext {
    /// Reads `[posture]`, the upstreams and the issuers of `config`.
    pub fn from_config(config: &Config) -> PostureContext {
        let upstreams: Vec<UpstreamRecord> = config
            .upstreams
            .iter()
            .map(|u| upstream_record(u, &config.data_classes.levels))
            .collect();
        let refusals = upstreams
            .iter()
            .filter_map(|u| {
                modelgate_posture::route_allowed(u)
                    .err()
                    .map(|why| (u.name.clone(), why))
            })
            .collect();
        let issuers = config
            .issuers
            .iter()
            .map(|i| IssuerRecord {
                name: i.name.clone(),
                preset: i.preset.as_str().to_owned(),
                rules: i
                    .rules
                    .iter()
                    .map(|r| ClaimRule {
                        identity: r.identity.clone(),
                        claims: r.claims.clone(),
                    })
                    .collect(),
            })
            .collect();
        PostureContext {
            require_readiness: config.posture.require_readiness,
            audit_window: config.posture.audit_window,
            settings: config.posture.thresholds.clone(),
            upstream_environment: config
                .upstreams
                .iter()
                .map(|u| (u.name.clone(), u.environment.clone()))
                .collect(),
            upstreams,
            issuers,
            refusals,
            controls: Controls {
                credentials_blocked: credentials_blocked(&config.screen),
                revoke_leaked_keys: config.screen.enabled && config.screen.revoke_leaked_keys,
            },
        }
    }

    /// The screening controls in force, as the posture snapshot records them.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Whether `upstream` may take traffic: always under
    /// `require_readiness = false`; otherwise only without readiness gaps,
    /// `Err` carrying the reason.
    pub fn ready(&self, upstream: &str) -> Result<(), String> {
        match self.refusals.get(upstream) {
            Some(why) if self.require_readiness => Err(why.clone()),
            _ => Ok(()),
        }
    }

    /// Whether unready upstreams are refused.
    pub fn require_readiness(&self) -> bool {
        self.require_readiness
    }

    /// The finding thresholds.
    pub fn settings(&self) -> &PostureSettings {
        &self.settings
    }

    /// How far back the audit log is read by default.
    pub fn audit_window(&self) -> Duration {
        self.audit_window
    }

    /// The readiness gaps of every configured upstream.
    pub fn readiness(&self) -> Vec<ReadinessGap> {
        modelgate_posture::readiness(&self.upstreams)
    }

    /// The configured upstreams, as the posture snapshot records them.
    pub fn upstreams(&self) -> &[UpstreamRecord] {
        &self.upstreams
    }

    /// Each upstream's environment (`None`: it serves all).
    pub fn upstream_environment(&self) -> &HashMap<String, Option<String>> {
        &self.upstream_environment
    }

    /// The trusted issuers, as the posture snapshot records them.
    pub fn issuers(&self) -> &[IssuerRecord] {
        &self.issuers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_types::{Deployment, Isolation};

    const CONFIG: &str = r#"
[[upstreams]]
name = "ready"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
deployment = "self_hosted"
region = "eu"
isolation = "technical"
environment = "prod"
ownership = { patching = "ops", incident_response = "sec", offboarding = "ops", rotation_days = 30 }

[[upstreams]]
name = "bare"
kind = "anthropic"
base_url = "http://127.0.0.1:9"
deployment = "hosted"
region = "us"
isolation = "contractual"
ownership = { patching = "ops", offboarding = " ", rotation_days = 0 }
"#;

    #[test]
    fn readiness_is_enforced_only_when_required() {
        let config = Config::from_toml(CONFIG).unwrap();
        let lax = PostureContext::from_config(&config);
        assert_eq!(lax.ready("bare"), Ok(()));
        assert_eq!(lax.readiness().len(), 3);
        let strict =
            Config::from_toml(&format!("{CONFIG}\n[posture]\nrequire_readiness = true\n")).unwrap();
        let strict = PostureContext::from_config(&strict);
        assert_eq!(strict.ready("ready"), Ok(()));
        assert_eq!(strict.ready("unknown"), Ok(()));
        let why = strict.ready("bare").unwrap_err();
        assert!(why.contains("incident-response owner"), "{why}");
        assert!(why.contains("offboarding owner"), "{why}");
        assert!(why.contains("rotation policy"), "{why}");
        assert!(!why.contains("patching"), "{why}");
    }

    #[test]
    fn controls_in_place_are_read_from_screen() {
        let plain = PostureContext::from_config(&Config::from_toml(CONFIG).unwrap());
        assert!(!plain.controls().credentials_blocked);
        assert!(plain.controls().revoke_leaked_keys);
        let blocked = Config::from_toml(&format!(
            "{CONFIG}\n[screen]\nrevoke_leaked_keys = false\n[[screen.rules]]\ncategories = [\"credential\"]\naction = \"block\"\n"
        ))
        .unwrap();
        let blocked = PostureContext::from_config(&blocked);
        assert!(blocked.controls().credentials_blocked);
        assert!(!blocked.controls().revoke_leaked_keys);
        let partly = Config::from_toml(&format!(
            "{CONFIG}\n[[screen.rules]]\nidentities = [\"ci-*\"]\ncategories = [\"credential\"]\naction = \"log_only\"\n[[screen.rules]]\ncategories = [\"credential\"]\naction = \"block\"\n"
        ))
        .unwrap();
        assert!(
            !PostureContext::from_config(&partly)
                .controls()
                .credentials_blocked
        );
    }

    #[test]
    fn upstream_records_carry_environment_and_ownership() {
        let config = Config::from_toml(CONFIG).unwrap();
        let context = PostureContext::from_config(&config);
        let ready = &context.upstreams[0];
        assert_eq!(ready.environment, "prod");
        assert_eq!(ready.deployment, Deployment::SelfHosted);
        assert_eq!(ready.ownership.rotation_days, Some(30));
        let bare = &context.upstreams[1];
        assert_eq!(bare.environment, ANY_ENVIRONMENT);
        assert_eq!(bare.kind, "anthropic");
        assert_eq!(bare.isolation, Isolation::Contractual);
    }
}
