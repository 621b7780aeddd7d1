//! The screening rules, built once from the configuration: what the screen
//! stage finds in a prompt and does about it, the request's data class, and
//! which upstreams may receive it.
//!
//! Detectors run once over every string of the request body, object keys
//! included (the `model` field's value excepted), and once more over the
//! prose values joined in document order around their boundaries
//! ([`super::body_scan`]) → findings (kind and count; matched text is never
//! kept). Rules turn findings into an action (`allow`, `log_only`,
//! `redact`, `reroute`, `block`); the most severe applicable one wins. The
//! request's data class is the highest of its identity's default, the
//! `x-modelgate-data-class` header (which may raise it, never lower it) and
//! what the findings imply. [`ScreenRules::eligible`] then says whether an
//! upstream may receive the request: its class ceiling, the residency the
//! identity and the route require, and self-hosted only under `reroute`.

use http::HeaderMap;
use modelgate_identity::Principal;
use modelgate_screen::{Category, ScreenConfig, Screener};

use std::sync::Arc;

use modelgate_config::glob::any_match;
use modelgate_config::{
    DATA_CLASS_HEADER, DataClassSettings, DataClasses, ResidencyRule, ResponseAction, ScreenAction,
    ScreenSettings,
};
use modelgate_types::Deployment;

use super::body_scan::BodyScan;
use super::json_text::CheckedJson;
use crate::api_error::{ApiError, ErrorKind};
use crate::upstream::Upstream;

/// A modelgate key found in a prompt. `Debug` never shows it.
pub struct LeakedSecret(pub String);

impl std::fmt::Debug for LeakedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeakedSecret([redacted])")
    }
}

/// What screening found and decided for one request.
#[derive(Debug, Default)]
pub struct Screening {
    /// Finding kinds and counts, sorted by kind.
    pub findings: Vec<(String, u32)>,
    /// A credential was found.
    pub has_credential: bool,
    /// Personal data was found.
    pub has_personal_data: bool,
    /// The request's data class (rank).
    pub class: usize,
    /// The action taken.
    pub action: ScreenAction,
    /// The body to forward instead of the caller's (after redaction).
    pub body: Option<Vec<u8>>,
    /// Modelgate keys found in the prompt.
    pub leaked: Vec<LeakedSecret>,
}

/// The screening rules, built once from the configuration.
pub struct ScreenRules {
    screener: Arc<Screener>,
    settings: ScreenSettings,
    classes: DataClasses,
    residency: Vec<ResidencyRule>,
}

impl std::fmt::Debug for ScreenRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenRules").finish_non_exhaustive()
    }
}

/// Why the rules could not be built: (field, reason).
pub type ScreenConfigError = (String, String);

impl ScreenRules {
    /// Compiles the detectors and checks rules, classes and residency.
    pub fn new(
        settings: &ScreenSettings,
        classes: &DataClassSettings,
        residency: &[ResidencyRule],
    ) -> Result<ScreenRules, ScreenConfigError> {
        let screener = Screener::new(&ScreenConfig {
            disabled: settings.disabled.clone(),
            custom: settings.custom.clone(),
            ..ScreenConfig::default()
        })
        .map_err(|e| ("screen".to_owned(), e.to_string()))?;
        let classes = DataClasses::new(classes)?;
        ScreenRules::with(Arc::new(screener), classes, settings, residency)
    }

    /// Checks rules and residency over detectors and classes already built
    /// (the shared ones of `modelgate-core`).
    pub fn with(
        screener: Arc<Screener>,
        classes: DataClasses,
        settings: &ScreenSettings,
        residency: &[ResidencyRule],
    ) -> Result<ScreenRules, ScreenConfigError> {
        for (i, rule) in settings.rules.iter().enumerate() {
            for class in &rule.data_classes {
                if classes.rank(class).is_none() {
                    return Err((
                        format!("screen.rules[{i}].data_classes"),
                        format!("unknown data class {class:?}"),
                    ));
                }
            }
            for category in &rule.categories {
                if !["credential", "personal_data", "custom"].contains(&category.as_str()) {
                    return Err((
                        format!("screen.rules[{i}].categories"),
                        format!("{category:?}: use credential, personal_data or custom"),
                    ));
                }
            }
        }
        for (i, rule) in residency.iter().enumerate() {
            if rule.regions.is_empty() {
                return Err((
                    format!("residency[{i}].regions"),
                    "name at least one region".into(),
                ));
            }
        }
        Ok(ScreenRules {
            screener,
            settings: settings.clone(),
            classes,
            residency: residency.to_vec(),
        })
    }

    /// The detectors (shared with the audit stage's redaction).
    pub fn screener(&self) -> &Arc<Screener> {
        &self.screener
    }

    /// The data classes.
    pub fn classes(&self) -> &DataClasses {
        &self.classes
    }

    /// What to do with responses.
    pub fn responses(&self) -> ResponseAction {
        self.settings.responses
    }

    /// Whether leaked modelgate keys are revoked.
    pub fn revokes_leaked_keys(&self) -> bool {
        self.settings.revoke_leaked_keys
    }

    /// Screens the request body of `principal` for `model`; `call` is what
    /// the parse stage read from these same bytes, so the body is not
    /// parsed again. A `block` action is returned, not raised: the caller
    /// records the findings, then refuses with [`ScreenRules::block_error`].
    pub fn screen_request(
        &self,
        call: &crate::stages::parse::ModelCall,
        body: &[u8],
        headers: &HeaderMap,
        principal: &Principal,
        model: &str,
    ) -> Result<Screening, ApiError> {
        let mut class = self.classes.for_environment(&principal.environment);
        if let Some(value) = headers.get(DATA_CLASS_HEADER) {
            let name = value.to_str().unwrap_or("").trim();
            let rank = self.classes.rank(name).ok_or_else(|| {
                ApiError::new(
                    ErrorKind::InvalidRequest,
                    format!(
                        "{DATA_CLASS_HEADER}: unknown data class; use one of {}",
                        self.classes.names().join(", ")
                    ),
                )
            })?;
            class = class.max(rank);
        }
        let mut screening = Screening {
            class,
            action: ScreenAction::Allow,
            ..Screening::default()
        };
        if !self.settings.enabled {
            return Ok(screening);
        }
        let scan = CheckedJson::parsed(body, call)
            .and_then(|json| BodyScan::new(&self.screener, json, &["model"]))
            .map_err(|_| {
                ApiError::new(
                    ErrorKind::InvalidRequest,
                    "the request body is not valid JSON",
                )
            })?;
        let mut counts: std::collections::BTreeMap<String, u32> = Default::default();
        for finding in scan.findings() {
            *counts.entry(finding.kind.as_str().to_owned()).or_default() += 1;
            match finding.category {
                Category::Credential => screening.has_credential = true,
                Category::PersonalData => screening.has_personal_data = true,
                Category::Custom => {}
            }
        }
        screening.leaked = scan
            .leaked()
            .iter()
            .map(|text| LeakedSecret(text.clone()))
            .collect();
        let stated = screening.class;
        screening.class = screening.class.max(
            self.classes
                .for_findings(screening.has_credential, screening.has_personal_data),
        );
        let class_name = self.classes.name(screening.class).to_owned();
        for finding in scan.findings() {
            let action = self.action_for(principal, model, &class_name, finding);
            screening.action = screening.action.max(action);
        }
        if scan.is_empty() {
            screening.action = ScreenAction::Allow;
        }
        if screening.action == ScreenAction::Redact {
            // What the findings implied is gone from the forwarded text.
            screening.class = stated;
        }
        screening.findings = counts.into_iter().collect();
        if screening.action == ScreenAction::Redact {
            screening.body = Some(scan.redacted(&self.screener, body));
        }
        Ok(screening)
    }

    /// The refusal of a blocked request: names the kinds found, never the
    /// values.
    pub fn block_error(screening: &Screening) -> ApiError {
        let kinds: Vec<String> = screening
            .findings
            .iter()
            .map(|(k, n)| format!("{k} x{n}"))
            .collect();
        ApiError::new(
            ErrorKind::InvalidRequest,
            format!(
                "the request was blocked: the prompt contains sensitive data ({})",
                kinds.join(", ")
            ),
        )
        .with_code("sensitive_data_blocked")
    }

    fn action_for(
        &self,
        principal: &Principal,
        model: &str,
        class: &str,
        finding: &modelgate_screen::Finding,
    ) -> ScreenAction {
        self.settings
            .rules
            .iter()
            .find(|rule| {
                any_match(&rule.models, model)
                    && any_match(&rule.identities, &principal.identity_name)
                    && (rule.environments.is_empty()
                        || rule.environments.contains(&principal.environment))
                    && (rule.data_classes.is_empty()
                        || rule.data_classes.iter().any(|c| c == class))
                    && (rule.categories.is_empty()
                        || rule
                            .categories
                            .iter()
                            .any(|c| c == finding.category.as_str()))
                    && (rule.kinds.is_empty()
                        || rule.kinds.iter().any(|k| k == finding.kind.as_str()))
            })
            .map_or(self.settings.default_action, |rule| rule.action)
    }

    /// Whether `upstream` may receive this request; `Err` names why not.
    pub fn eligible(
        &self,
        screening: &Screening,
        principal: &Principal,
        route_regions: Option<&[String]>,
        upstream: &Upstream,
    ) -> Result<(), String> {
        if screening.action == ScreenAction::Reroute
            && upstream.deployment != Deployment::SelfHosted
        {
            return Err(
                "the prompt holds sensitive data that may only go to self-hosted models".into(),
            );
        }
        if let Some(ceiling) = &upstream.max_data_class {
            let rank = self.classes.rank(ceiling).unwrap_or(0);
            if screening.class > rank {
                return Err(format!(
                    "data class {} above its max_data_class {ceiling}",
                    self.classes.name(screening.class)
                ));
            }
        }
        if let Some(regions) = route_regions
            && !regions.contains(&upstream.region)
        {
            return Err(format!(
                "region {} is not among the regions this model requires",
                upstream.region
            ));
        }
        for rule in &self.residency {
            if any_match(&rule.identities, &principal.identity_name)
                && (rule.environments.is_empty()
                    || rule.environments.contains(&principal.environment))
                && !rule.regions.contains(&upstream.region)
            {
                return Err(format!(
                    "region {} is not among the regions this identity's data must stay in",
                    upstream.region
                ));
            }
        }
        Ok(())
    }
}
