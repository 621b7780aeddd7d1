//! The policy set: Cedar policy for every request, shared by both planes.
//!
//! [`PolicySet`] holds the [`PolicyEngine`] (built-in baseline, one
//! generated policy per configured role, user policies from
//! `[policy] dir`, and an optional shadow set), decides on the
//! [`RequestFacts`] the data plane's decide stage builds, and reloads
//! (SIGHUP, admin API) keeping the last good set on any error.

mod input_json;
mod reload;

use std::path::Path;
use std::sync::Arc;

use modelgate_policy::{
    CompiledPolicies, Decision, LoadError, Operation, PolicyEngine, PolicyFile, RequestFacts,
    RoleDef, read_policy_dir,
};

pub use input_json::InputJson;
pub use modelgate_config::{DefaultPermit, PolicySettings};

use modelgate_config::Config;
use modelgate_config::classes::{DataClasses, data_class_of};

/// The synthetic file holding the `authenticated` default permit.
const DEFAULT_PERMIT_FILE: &str = "<policy.default_permit>";
const DEFAULT_PERMIT_POLICY: &str = r#"@id("baseline:authenticated")
@reason("any authenticated identity may use the models its environment sees")
permit(principal, action, resource);
"#;

/// What a (re)load installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLoad {
    /// Policy files read.
    pub files: usize,
    /// Policies in the set (built-in, roles, user).
    pub policies: usize,
    /// What is legal but likely a mistake (a `forbid` without `@reason`),
    /// each with its file and line; the shadow set's too.
    pub warnings: Vec<String>,
}

/// The policy set being enforced (and its shadow), reloadable.
pub struct PolicySet {
    engine: PolicyEngine,
    roles: Vec<RoleDef>,
    settings: PolicySettings,
    default_permit: DefaultPermit,
    inputs: InputJson,
    /// The warnings of the set (and shadow set) compiled at start.
    start_warnings: Vec<String>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field("default_permit", &self.default_permit)
            .finish_non_exhaustive()
    }
}

/// The policy crate's view of the configured roles.
pub fn policy_roles(config: &Config, classes: &DataClasses) -> Result<Vec<RoleDef>, String> {
    config
        .roles
        .iter()
        .map(|role| {
            let actions = role
                .actions
                .iter()
                .map(|a| {
                    Operation::from_name(a).ok_or_else(|| {
                        format!("roles[{}].actions: unknown action {a:?}", role.name)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let max_data_class = match &role.max_data_class {
                None => None,
                Some(name) => Some(classes.rank(name).map(data_class_of).ok_or_else(|| {
                    format!(
                        "roles[{}].max_data_class: unknown data class {name:?}",
                        role.name
                    )
                })?),
            };
            Ok(RoleDef {
                name: role.name.clone(),
                description: role.description.clone(),
                models: role.models.clone(),
                actions,
                max_tokens: role.max_tokens.map(u64::from),
                max_data_class,
            })
        })
        .collect()
}

impl PolicySet {
    /// Compiles the configured roles and policies; an error names each
    /// problem's file and line.
    pub fn new(config: &Config, classes: &DataClasses) -> Result<PolicySet, String> {
        let roles = policy_roles(config, classes)?;
        let default_permit = config
            .policy
            .effective_default_permit(!config.roles.is_empty());
        if default_permit == DefaultPermit::Authenticated {
            tracing::warn!(
                "policy: every authenticated identity may use every model it can see \
                 (no [[roles]], or policy.default_permit = \"authenticated\")"
            );
        }
        let settings = config.policy.clone();
        let active = compile(&roles, settings.dir.as_deref(), default_permit)
            .map_err(|e| format!("policies: {e}"))?;
        let mut start_warnings = Vec::new();
        warn_about(&active, &mut start_warnings);
        let engine = PolicyEngine::new(active);
        if let Some(dir) = &settings.shadow_dir {
            let shadow = compile(&roles, Some(dir), default_permit)
                .map_err(|e| format!("shadow policies: {e}"))?;
            warn_about(&shadow, &mut start_warnings);
            engine.set_shadow(Some(shadow));
        }
        Ok(PolicySet {
            engine,
            roles,
            settings,
            default_permit,
            inputs: InputJson::default(),
            start_warnings,
        })
    }

    /// What was legal but likely a mistake in the sets compiled by
    /// [`PolicySet::new`] (a `forbid` without `@reason`), each with its file
    /// and line; a reload returns its own in [`PolicyLoad::warnings`].
    pub fn start_warnings(&self) -> &[String] {
        &self.start_warnings
    }

    /// Decides one call to one candidate upstream.
    pub fn decide(&self, facts: &RequestFacts) -> Decision {
        self.engine.decide(facts)
    }

    /// The JSON of `facts`, for the audit record's `policy_input`
    /// (serialised once per distinct facts, see [`InputJson`]).
    pub fn input_json(&self, facts: &RequestFacts) -> Option<String> {
        self.inputs.of(facts)
    }

    /// The set being enforced.
    pub fn active(&self) -> Arc<CompiledPolicies> {
        self.engine.active()
    }

    /// Shadow differences since start.
    pub fn shadow_differences(&self) -> u64 {
        self.engine.shadow_differences()
    }

    /// Re-reads the policy directory (and the shadow one); installs only a
    /// set that is entirely valid, else keeps the active one.
    pub fn reload(&self) -> Result<PolicyLoad, LoadError> {
        let set = compile(
            &self.roles,
            self.settings.dir.as_deref(),
            self.default_permit,
        )?;
        let mut load = PolicyLoad {
            files: set.files().len(),
            policies: set.len(),
            warnings: Vec::new(),
        };
        if let Some(dir) = &self.settings.shadow_dir {
            let shadow = compile(&self.roles, Some(dir), self.default_permit)?;
            warn_about(&shadow, &mut load.warnings);
            self.engine.set_shadow(Some(shadow));
        }
        warn_about(&set, &mut load.warnings);
        self.engine.install(set);
        Ok(load)
    }
}

/// Logs what is legal in a loaded set but likely a mistake (a `forbid`
/// without `@reason`), with file and line, and adds it to `warnings`.
fn warn_about(set: &CompiledPolicies, warnings: &mut Vec<String>) {
    for warning in set.warnings() {
        tracing::warn!("policy: {warning}");
        warnings.push(warning.to_string());
    }
}

/// Compiles `roles`, the files of `dir` and the default permit.
pub fn compile(
    roles: &[RoleDef],
    dir: Option<&Path>,
    default_permit: DefaultPermit,
) -> Result<CompiledPolicies, LoadError> {
    let mut files = match dir {
        Some(dir) => read_policy_dir(dir)?,
        None => Vec::new(),
    };
    if default_permit == DefaultPermit::Authenticated {
        files.push(PolicyFile::new(DEFAULT_PERMIT_FILE, DEFAULT_PERMIT_POLICY));
    }
    CompiledPolicies::compile(roles, files)
}
