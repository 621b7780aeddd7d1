//! `[policy]`: where user policies live, the shadow candidate set, and what
//! is permitted when no role says so.

use std::path::PathBuf;

use serde::Deserialize;

/// What the baseline permits besides roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultPermit {
    /// Only roles (standing or granted) permit: least privilege.
    None,
    /// Any active, authenticated identity may call any model its
    /// environment may see; forbids still apply. For a gateway without
    /// roles yet.
    Authenticated,
}

/// `[policy]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    /// Directory of user policies (`*.cedar`), validated against the schema
    /// at load; reloaded on SIGHUP and `POST /admin/v1/policies/reload`.
    pub dir: Option<PathBuf>,
    /// A candidate policy directory evaluated beside the active set: each
    /// allow/deny difference is recorded, never enforced (shadow mode).
    pub shadow_dir: Option<PathBuf>,
    /// `none` or `authenticated`. Default: `none` when `[[roles]]` are
    /// configured, `authenticated` when there are none (with a warning at
    /// start).
    pub default_permit: Option<DefaultPermit>,
}

impl PolicySettings {
    /// The default permit in force: the configured one, else `none` when
    /// roles are configured and `authenticated` when there are none.
    pub fn effective_default_permit(&self, has_roles: bool) -> DefaultPermit {
        self.default_permit.unwrap_or(if has_roles {
            DefaultPermit::None
        } else {
            DefaultPermit::Authenticated
        })
    }
}
