//! Roles as data, and their compilation into Cedar permits.
//!
//! A role names what its members may do: which operations, on which models
//! (glob patterns with `*`), up to which `max_tokens`, with data up to which
//! class. Each role becomes one `permit` annotated `@id("role:NAME")`;
//! membership (standing or through a JIT grant) reaches Cedar as the
//! principal entity's parents.

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::facts::{DataClass, Operation};

/// Longest role name accepted.
pub const MAX_ROLE_NAME_CHARS: usize = 64;
/// Longest model pattern accepted.
pub const MAX_PATTERN_CHARS: usize = 200;

/// A role as written in the gateway config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// Unique name: letters, digits, `-`, `_`, `.`, `:`; at most 64 chars.
    pub name: String,
    /// What the role is for.
    #[serde(default)]
    pub description: String,
    /// Public model names the role covers; `*` matches any run of chars.
    pub models: Vec<String>,
    /// Operations the role permits.
    pub actions: Vec<Operation>,
    /// Highest `max_tokens` a member may ask for. When set, a request must
    /// state `max_tokens` to be covered by this role.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Highest data class a member may send; any when unset.
    #[serde(default)]
    pub max_data_class: Option<DataClass>,
}

/// A role definition that cannot be compiled. Names and patterns are shown:
/// they are configuration, not secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The name is empty, too long, or has characters outside the set.
    #[error("role name {name:?} is invalid: use 1-64 letters, digits, '-', '_', '.', ':'")]
    InvalidName {
        /// The offending name.
        name: String,
    },
    /// Two roles share a name.
    #[error("role {name:?} is defined twice")]
    Duplicate {
        /// The repeated name.
        name: String,
    },
    /// A role lists no operations.
    #[error("role {name:?} lists no actions")]
    NoActions {
        /// The role.
        name: String,
    },
    /// A role lists no model patterns.
    #[error("role {name:?} lists no models (use \"*\" for all)")]
    NoModels {
        /// The role.
        name: String,
    },
    /// A model pattern is empty, too long or has characters outside the set.
    #[error(
        "role {name:?}: model pattern {pattern:?} is invalid: use letters, digits, \
         '-', '_', '.', ':', '/', '@', '+' and '*', at most 200 chars"
    )]
    InvalidPattern {
        /// The role.
        name: String,
        /// The offending pattern.
        pattern: String,
    },
    /// `max_tokens` does not fit Cedar's 64-bit signed integers.
    #[error("role {name:?}: max_tokens is larger than {}", i64::MAX)]
    MaxTokensTooLarge {
        /// The role.
        name: String,
    },
}

impl RoleDef {
    /// Checks the name, the patterns and the numbers.
    pub fn validate(&self) -> Result<(), RoleError> {
        let name = || self.name.clone();
        if !is_valid_role_name(&self.name) {
            return Err(RoleError::InvalidName { name: name() });
        }
        if self.actions.is_empty() {
            return Err(RoleError::NoActions { name: name() });
        }
        if self.models.is_empty() {
            return Err(RoleError::NoModels { name: name() });
        }
        if let Some(pattern) = self.models.iter().find(|p| !is_valid_pattern(p)) {
            return Err(RoleError::InvalidPattern {
                name: name(),
                pattern: pattern.clone(),
            });
        }
        if self.max_tokens.is_some_and(|n| i64::try_from(n).is_err()) {
            return Err(RoleError::MaxTokensTooLarge { name: name() });
        }
        Ok(())
    }

    /// Whether one of the role's patterns matches `model`.
    pub fn covers_model(&self, model: &str) -> bool {
        self.models.iter().any(|p| glob_matches(p, model))
    }

    /// The Cedar permit this role compiles to. Call [`RoleDef::validate`]
    /// first: the text is only well-formed for a valid role.
    pub fn to_cedar(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "@id(\"role:{}\")", self.name);
        let _ = writeln!(out, "@reason(\"permitted by role {}\")", self.name);
        out.push_str("permit (\n");
        let _ = writeln!(out, "  principal in Role::\"{}\",", self.name);
        let mut actions: Vec<Operation> = self.actions.clone();
        actions.sort();
        actions.dedup();
        let list: Vec<String> = actions
            .iter()
            .map(|op| format!("Action::\"{}\"", op.as_str()))
            .collect();
        let _ = writeln!(out, "  action in [{}],", list.join(", "));
        out.push_str("  resource\n)");
        if !self.models.iter().any(|p| p == "*") {
            let alts: Vec<String> = self
                .models
                .iter()
                .map(|p| format!("resource.name like \"{p}\""))
                .collect();
            let _ = write!(out, "\nwhen {{ {} }}", alts.join(" || "));
        }
        if let Some(max) = self.max_tokens {
            let _ = write!(
                out,
                "\nwhen {{ context has max_tokens && context.max_tokens <= {max} }}"
            );
        }
        if let Some(class) = self.max_data_class {
            let _ = write!(
                out,
                "\nwhen {{ context.data_class_rank <= {} }}",
                class.rank()
            );
        }
        out.push_str(";\n");
        out
    }
}

/// Checks every role and that names are unique.
pub fn validate_roles(roles: &[RoleDef]) -> Result<(), RoleError> {
    let mut seen = HashSet::new();
    for role in roles {
        role.validate()?;
        if !seen.insert(role.name.as_str()) {
            return Err(RoleError::Duplicate {
                name: role.name.clone(),
            });
        }
    }
    Ok(())
}

fn is_valid_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_ROLE_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn is_valid_pattern(pattern: &str) -> bool {
    !pattern.is_empty()
        && pattern.len() <= MAX_PATTERN_CHARS
        && pattern.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@' | '+' | '*')
        })
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters
/// (the same meaning as Cedar's `like` for the characters roles allow).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str) -> RoleDef {
        RoleDef {
            name: name.into(),
            description: String::new(),
            models: vec!["gpt-*".into(), "claude-sonnet".into()],
            actions: vec![Operation::Messages, Operation::ChatCompletions],
            max_tokens: Some(4096),
            max_data_class: Some(DataClass::Internal),
        }
    }

    #[test]
    fn glob_matches_like_cedar_like() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("gpt-*", "gpt-4o"));
        assert!(glob_matches("gpt-*", "gpt-"));
        assert!(!glob_matches("gpt-*", "gpt"));
        assert!(glob_matches("*-small", "text-embedding-3-small"));
        assert!(glob_matches("a*b*c", "aXXbYYc"));
        assert!(!glob_matches("a*b*c", "aXXbYY"));
        assert!(glob_matches("a**c", "ac"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(glob_matches("llama-*-70b", "llama-3.1-70b"));
    }

    #[test]
    fn compiles_to_a_scoped_permit() {
        let text = role("chat-basic").to_cedar();
        assert!(text.contains("@id(\"role:chat-basic\")"));
        assert!(text.contains("principal in Role::\"chat-basic\""));
        assert!(text.contains("action in [Action::\"chat\", Action::\"messages\"]"));
        assert!(
            text.contains("resource.name like \"gpt-*\" || resource.name like \"claude-sonnet\"")
        );
        assert!(text.contains("context.max_tokens <= 4096"));
        assert!(text.contains("context.data_class_rank <= 1"));
    }

    #[test]
    fn star_model_and_no_limits_give_no_conditions() {
        let mut r = role("all");
        r.models = vec!["*".into()];
        r.max_tokens = None;
        r.max_data_class = None;
        assert!(!r.to_cedar().contains("when"));
    }

    #[test]
    fn rejects_bad_roles() {
        let mut r = role("bad name");
        assert!(matches!(r.validate(), Err(RoleError::InvalidName { .. })));
        r = role("x\"y");
        assert!(matches!(r.validate(), Err(RoleError::InvalidName { .. })));
        r = role(&"x".repeat(65));
        assert!(matches!(r.validate(), Err(RoleError::InvalidName { .. })));
        r = role("ok");
        r.actions.clear();
        assert!(matches!(r.validate(), Err(RoleError::NoActions { .. })));
        r = role("ok");
        r.models.clear();
        assert!(matches!(r.validate(), Err(RoleError::NoModels { .. })));
        r = role("ok");
        r.models.push("gpt\" || true || \"".into());
        assert!(matches!(
            r.validate(),
            Err(RoleError::InvalidPattern { .. })
        ));
        r = role("ok");
        r.models.push(String::new());
        assert!(matches!(
            r.validate(),
            Err(RoleError::InvalidPattern { .. })
        ));
        r = role("ok");
        r.max_tokens = Some(u64::MAX);
        assert!(matches!(
            r.validate(),
            Err(RoleError::MaxTokensTooLarge { .. })
        ));
        assert!(role("ok").validate().is_ok());
    }

    #[test]
    fn duplicate_names_are_refused() {
        let roles = [role("a"), role("b"), role("a")];
        assert_eq!(
            validate_roles(&roles),
            Err(RoleError::Duplicate { name: "a".into() })
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = toml::from_str::<RoleDef>(
            "name = \"r\"\nmodels = [\"*\"]\nactions = [\"chat\"]\nmax_token = 5\n",
        );
        assert!(err.is_err());
        let ok: RoleDef = toml::from_str(
            "name = \"r\"\nmodels = [\"*\"]\nactions = [\"chat\", \"models.list\"]\nmax_data_class = \"confidential\"\n",
        )
        .unwrap();
        assert_eq!(ok.max_data_class, Some(DataClass::Confidential));
        assert_eq!(
            ok.actions,
            vec![Operation::ChatCompletions, Operation::ModelsList]
        );
    }
}
