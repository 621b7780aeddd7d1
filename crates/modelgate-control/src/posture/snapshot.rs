//! The posture snapshot from live state, shared by the CLI and the admin
//! API: identities, API keys, access tokens and federated bindings, role
//! assignments, just-in-time grants and admin roles (through the identity
//! service), the keys screening found in prompts, the screening controls,
//! issuers and upstreams (from the configuration), usage from the audit log
//! (a bounded window, see `posture_usage`), and stored access reviews.
//!
//! [`PostureContext`] is computed once from the configuration, including
//! each upstream's readiness, which the request path reads
//! ([`PostureContext::ready`]) under `posture.require_readiness`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use modelgate_core::posture_context::PostureContext;
use modelgate_identity::access::{AccessError, GrantFilter};
use modelgate_identity::{IdentityError, IdentityService};
use modelgate_posture::snapshot::{
    CredentialRecord, CredentialType, Entitlement, EntitlementKind, IdentityRecord, IdentityStatus,
    LeakedKey,
};
use modelgate_posture::{PostureSnapshot, Review};
use modelgate_store::StoreError;

use crate::posture::usage::{ScanContext, scan};
use modelgate_config::glob::glob_matches;

/// Reviews read into a snapshot (newest first).
const MAX_REVIEWS: i64 = 50;

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PostureStateError {
    /// Identities or keys could not be read.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Roles or grants could not be read.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The store (audit log, reviews) could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored review does not parse (the message names the review).
    #[error("stored review {id} is corrupt: {message}")]
    CorruptReview {
        /// Review id.
        id: String,
        /// Parser message.
        message: String,
    },
}

/// What to put in a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotOptions {
    /// The time it describes (unix seconds).
    pub now: i64,
    /// How far back to read the audit log; `None` skips it (reviews need
    /// only identities and entitlements).
    pub window: Option<Duration>,
}

/// Screening kind → category, from the screener's kinds.
pub fn kind_categories(screener: &modelgate_screen::Screener) -> HashMap<String, &'static str> {
    screener
        .kinds()
        .into_iter()
        .map(|k| (k.id.as_str().to_owned(), k.category.as_str()))
        .collect()
}

fn identity_status(status: modelgate_identity::IdentityStatus) -> IdentityStatus {
    match status {
        modelgate_identity::IdentityStatus::Active => IdentityStatus::Active,
        modelgate_identity::IdentityStatus::Disabled => IdentityStatus::Disabled,
        modelgate_identity::IdentityStatus::Offboarded => IdentityStatus::Offboarded,
    }
}

/// Builds the snapshot of the live state.
pub async fn build_snapshot(
    identity: &IdentityService,
    context: &PostureContext,
    categories: &HashMap<String, &'static str>,
    options: SnapshotOptions,
) -> Result<PostureSnapshot, PostureStateError> {
    let now = options.now;
    let identities = identity.list_identities().await?;
    let ids: HashMap<String, String> = identities
        .iter()
        .map(|i| (i.name.clone(), i.id.clone()))
        .collect();
    let active: HashSet<&str> = identities
        .iter()
        .filter(|i| i.is_active())
        .map(|i| i.name.as_str())
        .collect();
    let mut snapshot = PostureSnapshot {
        now,
        identities: identities
            .iter()
            .map(|i| IdentityRecord {
                id: i.id.clone(),
                name: i.name.clone(),
                kind: i.kind.as_str().to_owned(),
                owner: Some(i.owner.clone()),
                owner_departed: false,
                environment: i.environment.clone(),
                status: identity_status(i.status),
                created_at: i.created_at,
                last_used_at: i.last_used_at,
            })
            .collect(),
        issuers: context.issuers().to_vec(),
        upstreams: context.upstreams().to_vec(),
        controls: context.controls().clone(),
        ..PostureSnapshot::default()
    };

    let scanned = match options.window {
        Some(window) => {
            let environments: HashMap<String, String> = identities
                .iter()
                .map(|i| (i.name.clone(), i.environment.clone()))
                .collect();
            let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
            let since_ms = now.saturating_mul(1000).saturating_sub(window_ms);
            let scan_context = ScanContext {
                upstream_environment: context.upstream_environment(),
                identity_environment: &environments,
                categories,
            };
            let found = scan(identity.store(), since_ms, &scan_context).await?;
            if found.truncated {
                tracing::warn!(
                    scanned = found.scanned,
                    "posture: the audit window holds more records than one scan reads; \
                     usage counts only the oldest"
                );
            }
            Some(found)
        }
        None => None,
    };

    for key in identity.list_keys(None).await? {
        let Some(owner_id) = ids.get(&key.identity_name) else {
            continue;
        };
        snapshot.credentials.push(CredentialRecord {
            used_outside_token_endpoint: scanned
                .as_ref()
                .is_some_and(|s| s.data_plane_keys.contains(&key.id)),
            id: key.id,
            identity: owner_id.clone(),
            credential_type: CredentialType::ApiKey,
            created_at: key.created_at,
            expires_at: Some(key.expires_at),
            last_used_at: key.last_used_at,
            revoked: key.revoked_at.is_some(),
        });
    }

    if let Some(found) = &scanned {
        // Access tokens still valid, of identities that may still use them
        // (tokens of a disabled or offboarded identity are refused anyway).
        for token in found.tokens.values() {
            let Some(owner_id) = ids.get(&token.identity) else {
                continue;
            };
            if token.expires_at <= now || !active.contains(token.identity.as_str()) {
                continue;
            }
            snapshot.credentials.push(CredentialRecord {
                id: token.jti.clone(),
                identity: owner_id.clone(),
                credential_type: CredentialType::AccessToken,
                created_at: token.issued_at,
                expires_at: Some(token.expires_at),
                last_used_at: found.credential_last_use.get(&token.jti).copied(),
                revoked: found.revoked_tokens.contains(&token.jti),
                used_outside_token_endpoint: false,
            });
        }
        for ((name, issuer), seen) in &found.federations {
            let Some(owner_id) = ids.get(name) else {
                continue;
            };
            snapshot.credentials.push(CredentialRecord {
                id: format!("federation:{issuer}"),
                identity: owner_id.clone(),
                credential_type: CredentialType::Federated,
                created_at: seen.first,
                expires_at: None,
                last_used_at: Some(seen.last),
                revoked: false,
                used_outside_token_endpoint: false,
            });
        }
        for (key, seen) in &found.leaked {
            let id_of = |name: &str| ids.get(name).cloned().unwrap_or_else(|| name.to_owned());
            snapshot.leaked_keys.push(LeakedKey {
                key: key.clone(),
                identity: id_of(&seen.owner),
                found_in: seen.found_in.as_deref().map(id_of),
                revoked: seen.revoked,
                found_at: seen.found_at,
                record_ids: seen.record_ids.clone(),
                found_by: seen
                    .found_by
                    .iter()
                    .fold(BTreeMap::new(), |mut by, (name, n)| {
                        *by.entry(id_of(name)).or_default() += n;
                        by
                    }),
            });
        }
        for (name, usage) in &found.usage {
            if let Some(owner_id) = ids.get(name) {
                let mut usage = usage.clone();
                usage.identity = owner_id.clone();
                snapshot.usage.push(usage);
            }
        }
    }

    let last_use = |name: &str, role: &str| -> Option<i64> {
        let found = scanned.as_ref()?;
        let models = &identity.roles().role(role)?.models;
        found
            .model_use
            .iter()
            .filter(|((who, model), _)| {
                who == name && models.iter().any(|p| glob_matches(p, model))
            })
            .map(|(_, at)| *at)
            .max()
    };
    for a in identity.list_role_assignments(None).await? {
        if !a.is_active(now) {
            continue;
        }
        snapshot.entitlements.push(Entitlement {
            last_used_at: last_use(&a.identity_name, &a.role),
            identity: a.identity_id,
            kind: EntitlementKind::Role,
            name: a.role,
            source: "direct".to_owned(),
            granted_at: a.assigned_at,
            expires_at: a.until,
        });
    }
    let grants = identity
        .list_grants(
            &GrantFilter {
                identity: None,
                state: None,
            },
            now,
        )
        .await?;
    for g in grants.iter().filter(|g| g.is_active(now)) {
        snapshot.entitlements.push(Entitlement {
            last_used_at: last_use(&g.identity_name, &g.role),
            identity: g.identity_id.clone(),
            kind: EntitlementKind::Role,
            name: g.role.clone(),
            source: format!("jit:{}", g.id),
            granted_at: g.starts_at.unwrap_or(g.requested_at),
            expires_at: g.expires_at,
        });
    }

    for admin in identity.list_admins().await? {
        snapshot.entitlements.push(Entitlement {
            last_used_at: scanned
                .as_ref()
                .and_then(|found| found.admin_use.get(&admin.identity.name).copied()),
            identity: admin.identity.id,
            kind: EntitlementKind::Admin,
            name: admin.scope.label(),
            source: "admin".to_owned(),
            granted_at: admin.granted_at,
            expires_at: None,
        });
    }

    snapshot.reviews = stored_reviews(identity.store()).await?;
    Ok(snapshot)
}

/// The most recent stored reviews, newest first.
pub async fn stored_reviews(
    store: &modelgate_store::Store,
) -> Result<Vec<Review>, PostureStateError> {
    store
        .list_reviews(0, MAX_REVIEWS)
        .await?
        .into_iter()
        .map(|r| parse_review(&r))
        .collect()
}

/// Parses a stored review.
pub fn parse_review(r: &modelgate_store::ReviewRecord) -> Result<Review, PostureStateError> {
    serde_json::from_str(&r.body).map_err(|e| PostureStateError::CorruptReview {
        id: r.id.clone(),
        message: e.to_string(),
    })
}
