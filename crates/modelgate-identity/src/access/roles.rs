//! Role definitions (configuration) and the validated catalog of them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The actions a role can allow, as written in configuration.
pub const ACTIONS: [&str; 5] = [
    "chat",
    "completions",
    "embeddings",
    "messages",
    "models.list",
];

/// The approver role's name when `grants.approver_role` is not set.
pub const DEFAULT_APPROVER_ROLE: &str = "approver";

/// Longest role name.
pub const MAX_ROLE_NAME_CHARS: usize = 64;

/// Most approvals a role may require.
pub const MAX_APPROVALS_REQUIRED: u32 = 10;

/// One role: named permissions on models. Configuration, reviewable as code
/// (`[[roles]]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// Unique name (a-z, 0-9, '.', '_', '-'; at most 64 characters).
    pub name: String,
    /// What the role is for.
    #[serde(default)]
    pub description: String,
    /// Model name patterns; `*` matches any run of characters.
    #[serde(default)]
    pub models: Vec<String>,
    /// Allowed actions, from [`ACTIONS`].
    #[serde(default)]
    pub actions: Vec<String>,
    /// Highest `max_tokens` a request may ask for.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Highest data class a request may carry (the policy defines classes).
    #[serde(default)]
    pub max_data_class: Option<String>,
    /// Requests per minute, per identity.
    #[serde(default)]
    pub requests_per_minute: Option<u32>,
    /// Tokens per minute, per identity.
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
    /// Only ever held through an approved just-in-time grant, never
    /// assigned standing (zero standing privilege).
    #[serde(default)]
    pub jit_only: bool,
    /// Distinct approvals a grant of this role needs.
    #[serde(default = "one")]
    pub approvals_required: u32,
    /// Longest grant of this role (a duration such as `2h`); the tighter of
    /// this and `grants.max_duration` applies.
    #[serde(default, with = "modelgate_types::duration::option")]
    pub max_grant_duration: Option<Duration>,
}

fn one() -> u32 {
    1
}

/// Rules for just-in-time grants (`[grants]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrantSettings {
    /// Longest a grant may last once approved.
    #[serde(with = "modelgate_types::duration")]
    pub max_duration: Duration,
    /// How long a request waits for approval before it lapses.
    #[serde(with = "modelgate_types::duration")]
    pub pending_ttl: Duration,
    /// The role whose holders may approve and deny grants. If no role of
    /// that name is defined, it is built in and gives no model access.
    pub approver_role: String,
}

impl Default for GrantSettings {
    fn default() -> Self {
        GrantSettings {
            max_duration: Duration::from_secs(8 * 3600),
            pending_ttl: Duration::from_secs(24 * 3600),
            approver_role: DEFAULT_APPROVER_ROLE.to_owned(),
        }
    }
}

/// A mistake in the role or grant configuration, with the field holding it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RoleConfigError {
    /// The field, such as `roles[reader].actions`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

fn invalid(field: String, reason: impl Into<String>) -> RoleConfigError {
    RoleConfigError {
        field,
        reason: reason.into(),
    }
}

/// Whether `name` can name a role.
pub fn is_valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ROLE_NAME_CHARS
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// The validated roles and grant rules. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCatalog {
    roles: BTreeMap<String, RoleDef>,
    settings: GrantSettings,
}

impl Default for RoleCatalog {
    fn default() -> Self {
        RoleCatalog::new(&[], &GrantSettings::default()).unwrap_or_else(|_| RoleCatalog {
            roles: BTreeMap::new(),
            settings: GrantSettings::default(),
        })
    }
}

impl RoleCatalog {
    /// Validates `roles` and `settings`: unique valid names, known actions,
    /// sane limits, and an approver role that is defined or left built in.
    /// The built-in approver role (no models, no actions) is added when
    /// `settings.approver_role` names no defined role.
    pub fn new(
        roles: &[RoleDef],
        settings: &GrantSettings,
    ) -> Result<RoleCatalog, RoleConfigError> {
        let mut map = BTreeMap::new();
        for (i, role) in roles.iter().enumerate() {
            if !is_valid_role_name(&role.name) {
                return Err(invalid(
                    format!("roles[{i}].name"),
                    "use 1 to 64 characters from a-z, 0-9, '.', '_', '-'",
                ));
            }
            let field = |f: &str| format!("roles[{}].{f}", role.name);
            if map.contains_key(&role.name) {
                return Err(invalid(field("name"), "duplicate role name"));
            }
            validate_role(role, &field)?;
            map.insert(role.name.clone(), role.clone());
        }
        let nonzero = |d: Duration| d >= Duration::from_secs(1);
        if !nonzero(settings.max_duration) {
            return Err(invalid("grants.max_duration".into(), "at least 1s"));
        }
        if !nonzero(settings.pending_ttl) {
            return Err(invalid("grants.pending_ttl".into(), "at least 1s"));
        }
        if !is_valid_role_name(&settings.approver_role) {
            return Err(invalid(
                "grants.approver_role".into(),
                "use 1 to 64 characters from a-z, 0-9, '.', '_', '-'",
            ));
        }
        match map.get(&settings.approver_role) {
            Some(role) if role.jit_only => {
                return Err(invalid(
                    "grants.approver_role".into(),
                    "the approver role cannot be jit_only: approvers must exist to approve",
                ));
            }
            Some(_) => {}
            None if settings.approver_role == DEFAULT_APPROVER_ROLE => {
                map.insert(
                    DEFAULT_APPROVER_ROLE.to_owned(),
                    builtin_approver(DEFAULT_APPROVER_ROLE),
                );
            }
            None => {
                return Err(invalid(
                    "grants.approver_role".into(),
                    format!(
                        "no role named {:?} is defined (define it, or use the built-in \
                         {DEFAULT_APPROVER_ROLE:?})",
                        settings.approver_role
                    ),
                ));
            }
        }
        Ok(RoleCatalog {
            roles: map,
            settings: settings.clone(),
        })
    }

    /// The role named `name`, if defined (or built in).
    pub fn role(&self, name: &str) -> Option<&RoleDef> {
        self.roles.get(name)
    }

    /// Every role, by name.
    pub fn roles(&self) -> impl Iterator<Item = &RoleDef> {
        self.roles.values()
    }

    /// The grant rules.
    pub fn settings(&self) -> &GrantSettings {
        &self.settings
    }

    /// The approver role's name.
    pub fn approver_role(&self) -> &str {
        &self.settings.approver_role
    }

    /// The longest grant of `role`: the tighter of its own cap and
    /// `grants.max_duration`.
    pub fn max_grant_duration(&self, role: &RoleDef) -> Duration {
        role.max_grant_duration
            .map_or(self.settings.max_duration, |d| {
                d.min(self.settings.max_duration)
            })
    }
}

fn builtin_approver(name: &str) -> RoleDef {
    RoleDef {
        name: name.to_owned(),
        description: "built in: may approve and deny just-in-time grants; no model access"
            .to_owned(),
        models: Vec::new(),
        actions: Vec::new(),
        max_tokens: None,
        max_data_class: None,
        requests_per_minute: None,
        tokens_per_minute: None,
        jit_only: false,
        approvals_required: 1,
        max_grant_duration: None,
    }
}

fn validate_role(role: &RoleDef, field: &dyn Fn(&str) -> String) -> Result<(), RoleConfigError> {
    if role.description.chars().count() > 500 || role.description.chars().any(char::is_control) {
        return Err(invalid(
            field("description"),
            "at most 500 characters, no control characters",
        ));
    }
    for pattern in &role.models {
        if pattern.is_empty() || pattern.len() > 256 || pattern.chars().any(char::is_control) {
            return Err(invalid(
                field("models"),
                "each pattern is 1 to 256 characters without control characters",
            ));
        }
    }
    for action in &role.actions {
        if !ACTIONS.contains(&action.as_str()) {
            return Err(invalid(
                field("actions"),
                format!("unknown action {action:?}; known: {}", ACTIONS.join(", ")),
            ));
        }
    }
    if role.max_tokens == Some(0) {
        return Err(invalid(field("max_tokens"), "must be greater than zero"));
    }
    if role.requests_per_minute == Some(0) {
        return Err(invalid(
            field("requests_per_minute"),
            "must be greater than zero",
        ));
    }
    if role.tokens_per_minute == Some(0) {
        return Err(invalid(
            field("tokens_per_minute"),
            "must be greater than zero",
        ));
    }
    if let Some(class) = &role.max_data_class
        && (class.is_empty() || class.len() > 64 || class.chars().any(char::is_control))
    {
        return Err(invalid(field("max_data_class"), "1 to 64 characters"));
    }
    if role.approvals_required == 0 || role.approvals_required > MAX_APPROVALS_REQUIRED {
        return Err(invalid(
            field("approvals_required"),
            format!("between 1 and {MAX_APPROVALS_REQUIRED}"),
        ));
    }
    if role
        .max_grant_duration
        .is_some_and(|d| d < Duration::from_secs(1))
    {
        return Err(invalid(field("max_grant_duration"), "at least 1s"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(json: serde_json::Value) -> Result<RoleDef, serde_json::Error> {
        serde_json::from_value(json)
    }

    fn reader() -> RoleDef {
        role(serde_json::json!({"name": "reader", "models": ["gpt-*"], "actions": ["chat"]}))
            .unwrap()
    }

    #[test]
    fn defaults_and_builtin_approver() {
        let r = reader();
        assert_eq!(r.approvals_required, 1);
        assert!(!r.jit_only && r.max_grant_duration.is_none());
        let catalog = RoleCatalog::new(&[r], &GrantSettings::default()).unwrap();
        let approver = catalog.role("approver").unwrap();
        assert!(approver.models.is_empty() && approver.actions.is_empty());
        assert_eq!(catalog.roles().count(), 2);
        assert_eq!(
            catalog.max_grant_duration(catalog.role("reader").unwrap()),
            Duration::from_secs(8 * 3600)
        );
    }

    #[test]
    fn role_cap_is_the_tighter_one() {
        let mut r = reader();
        r.max_grant_duration = Some(Duration::from_secs(3600));
        let catalog = RoleCatalog::new(&[r.clone()], &GrantSettings::default()).unwrap();
        assert_eq!(catalog.max_grant_duration(&r), Duration::from_secs(3600));
        r.max_grant_duration = Some(Duration::from_secs(100 * 3600));
        assert_eq!(
            catalog.max_grant_duration(&r),
            Duration::from_secs(8 * 3600)
        );
    }

    #[test]
    fn parse_rejects_unknown_fields_and_bad_durations() {
        use serde_json::json;
        assert!(role(json!({"name": "x", "model": ["a"]})).is_err());
        assert!(role(json!({"name": "x", "max_grant_duration": "soon"})).is_err());
        let r = role(json!({"name": "x", "max_grant_duration": "2h"})).unwrap();
        assert_eq!(r.max_grant_duration, Some(Duration::from_secs(7200)));
        // Serialises back to the same form.
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["max_grant_duration"], "2h");
    }

    #[test]
    fn validation_names_the_field() {
        let s = GrantSettings::default();
        let check = |r: RoleDef| RoleCatalog::new(&[r], &s).unwrap_err().field;
        let mut r = reader();
        r.actions = vec!["delete".into()];
        assert_eq!(check(r), "roles[reader].actions");
        let mut r = reader();
        r.name = "Bad Name".into();
        assert_eq!(check(r), "roles[0].name");
        let mut r = reader();
        r.approvals_required = 0;
        assert_eq!(check(r), "roles[reader].approvals_required");
        let mut r = reader();
        r.models = vec![String::new()];
        assert_eq!(check(r), "roles[reader].models");
        let mut r = reader();
        r.max_tokens = Some(0);
        assert_eq!(check(r), "roles[reader].max_tokens");
        let err = RoleCatalog::new(&[reader(), reader()], &s).unwrap_err();
        assert_eq!(err.reason, "duplicate role name");
    }

    #[test]
    fn approver_role_must_exist_and_not_be_jit_only() {
        let s = GrantSettings {
            approver_role: "security".into(),
            ..GrantSettings::default()
        };
        let err = RoleCatalog::new(&[reader()], &s).unwrap_err();
        assert_eq!(err.field, "grants.approver_role");
        let mut security = reader();
        security.name = "security".into();
        assert!(
            RoleCatalog::new(&[security.clone()], &s)
                .unwrap()
                .role("approver")
                .is_none()
        );
        security.jit_only = true;
        assert!(RoleCatalog::new(&[security], &s).is_err());
        let zero = GrantSettings {
            pending_ttl: Duration::ZERO,
            ..GrantSettings::default()
        };
        assert_eq!(
            RoleCatalog::new(&[], &zero).unwrap_err().field,
            "grants.pending_ttl"
        );
    }
}
