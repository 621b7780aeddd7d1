//! Decisions and the reasons a caller is told.
//!
//! A denial's reason is the deciding forbid's `@reason`, a generic sentence
//! for a forbid without one, or, when no policy permits the request, an
//! explanation derived from the roles (never from policy text).

use serde::{Deserialize, Serialize};

use crate::facts::RequestFacts;
use crate::role::RoleDef;

/// Reason given for a forbid that has no `@reason` annotation.
pub const GENERIC_FORBID_REASON: &str = "denied by policy";
/// Reason given when a forbid could not be evaluated (fail closed).
pub const EVALUATION_ERROR_REASON: &str = "the request could not be evaluated against policy";
/// Longest model name echoed back in a reason.
const MAX_ECHOED_MODEL_CHARS: usize = 100;

/// The outcome of one evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the request may go to the candidate upstream.
    pub allowed: bool,
    /// For a denial: what the caller is told (never policy text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Ids of the policies that decided, sorted: the permits that matched
    /// for an allow, the forbids that matched for a denial, empty when no
    /// policy permitted the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_ids: Vec<String>,
    /// The shadow (candidate) set's decision, when one is installed and it
    /// differs from this one in allow/deny. Recorded, never enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowDiff>,
}

/// What the shadow policy set decided where it disagreed with the active one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowDiff {
    /// The shadow set's allow/deny.
    pub allowed: bool,
    /// Its reason, for a denial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its deciding policy ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_ids: Vec<String>,
}

impl Decision {
    pub(crate) fn allow(policy_ids: Vec<String>) -> Decision {
        Decision {
            allowed: true,
            reason: None,
            policy_ids,
            shadow: None,
        }
    }

    pub(crate) fn deny(reason: String, policy_ids: Vec<String>) -> Decision {
        Decision {
            allowed: false,
            reason: Some(reason),
            policy_ids,
            shadow: None,
        }
    }

    /// This decision as a shadow difference.
    pub(crate) fn into_shadow(self) -> ShadowDiff {
        ShadowDiff {
            allowed: self.allowed,
            reason: self.reason,
            policy_ids: self.policy_ids,
        }
    }
}

/// Why no policy permitted `facts`, in terms of the principal's roles.
pub(crate) fn explain_no_permit(roles: &[RoleDef], facts: &RequestFacts) -> String {
    let action = facts.action;
    let model = echo(&facts.model);
    if facts.roles.is_empty() {
        return "the identity holds no role".to_owned();
    }
    let covering: Vec<&RoleDef> = roles
        .iter()
        .filter(|r| facts.roles.iter().any(|held| held.name == r.name))
        .filter(|r| r.actions.contains(&action) && r.covers_model(&facts.model))
        .collect();
    if covering.is_empty() {
        return format!("no role permits {action} on model {model}");
    }
    let class_ok: Vec<&RoleDef> = covering
        .iter()
        .copied()
        .filter(|r| r.max_data_class.is_none_or(|c| facts.data_class <= c))
        .collect();
    if class_ok.is_empty() {
        let highest = covering.iter().filter_map(|r| r.max_data_class).max();
        return match highest {
            Some(max) => format!(
                "data class {} is above what roles permitting {action} on model {model} allow (at most {max})",
                facts.data_class
            ),
            None => "no policy permits this request".to_owned(),
        };
    }
    let tokens_ok = |r: &&RoleDef| {
        r.max_tokens
            .is_none_or(|max| facts.max_tokens.is_some_and(|asked| asked <= max))
    };
    if class_ok.iter().any(tokens_ok) {
        return "no policy permits this request".to_owned();
    }
    let ceiling = class_ok
        .iter()
        .filter_map(|r| r.max_tokens)
        .max()
        .unwrap_or(0);
    match facts.max_tokens {
        None => format!(
            "max_tokens is required: roles permitting {action} on model {model} cap it at {ceiling}"
        ),
        Some(asked) => format!(
            "max_tokens {asked} is above the ceiling of roles permitting {action} on model {model} ({ceiling})"
        ),
    }
}

/// A caller-supplied name, shortened for echoing back.
fn echo(name: &str) -> String {
    if name.chars().count() <= MAX_ECHOED_MODEL_CHARS {
        name.to_owned()
    } else {
        let short: String = name.chars().take(MAX_ECHOED_MODEL_CHARS).collect();
        format!("{short}...")
    }
}
