//! The inventory: every identity with its owner, kind, environment,
//! credentials, roles and grants, the upstreams it actually used, and its
//! last activity.

mod render;

pub use render::{render_csv, render_json, render_table, render_wide_table};

use serde::Serialize;

use crate::snapshot::{
    CredentialType, EntitlementKind, IdentityStatus, PostureSnapshot, UnixSeconds,
};
use crate::time::days_between;

/// One identity's inventory entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryRow {
    /// Identity id.
    pub id: String,
    /// Identity name.
    pub name: String,
    /// Identity kind.
    pub kind: String,
    /// Owner, if recorded.
    pub owner: Option<String>,
    /// The owner has left.
    pub owner_departed: bool,
    /// Environment.
    pub environment: String,
    /// Lifecycle state.
    pub status: IdentityStatus,
    /// Its credentials (metadata only).
    pub credentials: Vec<CredentialSummary>,
    /// Roles held.
    pub roles: Vec<String>,
    /// The admin role's scope (`global`, `owner:OWNER`), when it holds it.
    pub admin: Option<String>,
    /// Models granted directly or just in time.
    pub models: Vec<String>,
    /// Upstreams it reached, from the audit log.
    pub upstreams_used: Vec<String>,
    /// Latest of its last authenticated use and its last audited request.
    pub last_activity_at: Option<UnixSeconds>,
}

/// A credential as the inventory shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CredentialSummary {
    /// Credential id.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// Days since issue.
    pub age_days: i64,
    /// Expiry, if any.
    pub expires_at: Option<UnixSeconds>,
    /// Last use, if any.
    pub last_used_at: Option<UnixSeconds>,
    /// Accepted now (not revoked, not expired).
    pub live: bool,
}

/// The inventory, one row per identity, ordered by name.
pub fn inventory(snapshot: &PostureSnapshot) -> Vec<InventoryRow> {
    let now = snapshot.now;
    let mut rows: Vec<InventoryRow> = snapshot
        .identities
        .iter()
        .map(|identity| {
            let mut credentials: Vec<CredentialSummary> = snapshot
                .credentials_of(&identity.id)
                .map(|c| CredentialSummary {
                    id: c.id.clone(),
                    credential_type: c.credential_type,
                    age_days: days_between(c.created_at, now),
                    expires_at: c.expires_at,
                    last_used_at: c.last_used_at,
                    live: c.is_live(now),
                })
                .collect();
            credentials.sort_by(|a, b| a.id.cmp(&b.id));
            let names = |kind: EntitlementKind| {
                let mut v: Vec<String> = snapshot
                    .entitlements_of(&identity.id)
                    .filter(|e| e.kind == kind && e.expires_at.is_none_or(|t| t > now))
                    .map(|e| e.name.clone())
                    .collect();
                v.sort();
                v.dedup();
                v
            };
            let usage = snapshot.usage_of(&identity.id);
            let mut upstreams_used: Vec<String> = usage
                .map(|u| u.upstreams.iter().map(|x| x.upstream.clone()).collect())
                .unwrap_or_default();
            upstreams_used.sort();
            upstreams_used.dedup();
            let last_activity_at = identity
                .last_used_at
                .max(usage.and_then(|u| u.last_activity_at));
            InventoryRow {
                id: identity.id.clone(),
                name: identity.name.clone(),
                kind: identity.kind.clone(),
                owner: identity.owner().map(str::to_owned),
                owner_departed: identity.owner_departed,
                environment: identity.environment.clone(),
                status: identity.status,
                credentials,
                roles: names(EntitlementKind::Role),
                admin: names(EntitlementKind::Admin).into_iter().next(),
                models: names(EntitlementKind::Model),
                upstreams_used,
                last_activity_at,
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    rows
}
