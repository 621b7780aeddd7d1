//! Shared set-up for the role and grant tests: a temporary store, a role
//! catalog, five identities and three approvers, with an explicit clock.
#![allow(dead_code, unused_imports, clippy::unwrap_used)]

use std::time::Duration;

use modelgate_identity::access::{
    AccessError, AccessEvent, GrantFilter, GrantRequest, GrantSettings, GrantState, Requester,
    RoleCatalog, RoleDef, RoleSource,
};
use modelgate_identity::{IdentityError, IdentityKind, IdentityService, KeyPolicy, NewIdentity};
use modelgate_store::Store;

pub const NOW: i64 = 1_700_000_000;
pub const HOUR: u64 = 3_600;

pub fn role(name: &str, jit_only: bool, approvals_required: u32) -> RoleDef {
    RoleDef {
        name: name.into(),
        description: String::new(),
        models: vec!["gpt-*".into()],
        actions: vec!["chat".into()],
        max_tokens: Some(1_000),
        max_data_class: None,
        requests_per_minute: Some(60),
        tokens_per_minute: None,
        jit_only,
        approvals_required,
        max_grant_duration: None,
    }
}

pub struct Env {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub svc: IdentityService,
}

pub fn catalog() -> RoleCatalog {
    let mut capped = role("prod-writer", true, 1);
    capped.max_grant_duration = Some(Duration::from_secs(2 * HOUR));
    RoleCatalog::new(
        &[
            role("reader", false, 1),
            capped,
            role("break-glass", true, 2),
        ],
        &GrantSettings::default(),
    )
    .unwrap()
}

pub async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("db")).await.unwrap();
    let svc = IdentityService::new(store.clone(), KeyPolicy::default()).with_roles(catalog());
    for (name, owner) in [
        ("billing", "team-billing"),
        ("alice-bot", "team-sec"),
        ("bob-bot", "team-sec"),
        ("billing-ops", "team-billing"),
        ("stranger", "team-other"),
    ] {
        svc.create_identity(
            NewIdentity {
                name: name.into(),
                kind: IdentityKind::Service,
                owner: owner.into(),
                environment: "prod".into(),
                purpose: String::new(),
            },
            NOW - 100,
        )
        .await
        .unwrap();
    }
    for approver in ["alice-bot", "bob-bot", "billing-ops"] {
        svc.assign_role(approver, "approver", None, "root", NOW - 50)
            .await
            .unwrap();
    }
    Env {
        _dir: dir,
        store,
        svc,
    }
}

pub fn request(role: &str, hours: u64, by: &str) -> GrantRequest {
    GrantRequest {
        identity: "billing".into(),
        role: role.into(),
        duration: Duration::from_secs(hours * HOUR),
        reason: "incident 4711".into(),
        requested_by: Requester::Named(by.into()),
    }
}

pub async fn roles_of(env: &Env, name: &str, now: i64) -> Vec<String> {
    let id = env.svc.identity(name).await.unwrap().id;
    let e = env.svc.entitlements(&id, now).await.unwrap();
    e.role_names().into_iter().map(str::to_owned).collect()
}
