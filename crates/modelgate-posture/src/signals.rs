//! What the gateway did and has in place, beside what identities hold:
//! the modelgate keys screening found in prompts (and revoked), and the
//! screening controls configured, so findings name the right key and do
//! not advise a control that is already set.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::UnixSeconds;

/// A modelgate API key found in a prompt (from the `key.leaked` audit
/// records the screen stage writes). Described by id only, never its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeakedKey {
    /// The leaked key's id (`key_...`).
    pub key: String,
    /// Id of the identity the key belongs to (its owner), or its name when
    /// it is no longer registered.
    pub identity: String,
    /// Id (or name) of the identity whose prompt carried it, when known.
    #[serde(default)]
    pub found_in: Option<String>,
    /// The gateway revoked the key when it found it (or it was revoked
    /// already).
    #[serde(default)]
    pub revoked: bool,
    /// When it was last found.
    pub found_at: UnixSeconds,
    /// Some audit record ids, for evidence.
    #[serde(default)]
    pub record_ids: Vec<String>,
    /// Id (or name) of each identity whose prompts carried it → the
    /// `key.leaked` records naming that sender (one per request). Empty in
    /// snapshots written before it existed: then `found_in` stands for
    /// one record per `record_ids` entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub found_by: BTreeMap<String, u64>,
}

/// Screening controls in force, as configured (`[screen]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Controls {
    /// Every prompt carrying a credential is refused (`action = "block"`
    /// covers the credential category for every request).
    pub credentials_blocked: bool,
    /// A live modelgate key found in a prompt is revoked at once
    /// (`revoke_leaked_keys`).
    pub revoke_leaked_keys: bool,
}
