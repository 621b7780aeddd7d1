//! Entitlements: the roles and model grants an identity holds, as the
//! snapshot records them and access reviews put them to owners.

use serde::{Deserialize, Serialize};

use crate::time::UnixSeconds;

/// What an entitlement grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementKind {
    /// A role (standing access to its models).
    Role,
    /// A grant to one model (standing or just-in-time).
    Model,
    /// The admin role of the admin API; the name is its scope (`global`,
    /// or `owner:OWNER`).
    Admin,
}

impl EntitlementKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementKind::Role => "role",
            EntitlementKind::Model => "model",
            EntitlementKind::Admin => "admin",
        }
    }
}

/// A role or model held by an identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    /// Id of the identity holding it.
    pub identity: String,
    /// Role or model.
    pub kind: EntitlementKind,
    /// The role name or the model name.
    pub name: String,
    /// Where it comes from: `direct`, `jit:GRANT_ID`, `group:NAME`, ...
    #[serde(default = "default_source")]
    pub source: String,
    /// When it was granted.
    pub granted_at: UnixSeconds,
    /// When a just-in-time grant ends; `None` for standing access.
    #[serde(default)]
    pub expires_at: Option<UnixSeconds>,
    /// Last request this role or model allowed.
    #[serde(default)]
    pub last_used_at: Option<UnixSeconds>,
}

fn default_source() -> String {
    "direct".to_owned()
}
