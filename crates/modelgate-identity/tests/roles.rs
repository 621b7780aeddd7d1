//! Standing role assignments, entitlements and offboarding through the
//! identity service, with an explicit clock (`now` is passed to every call).
#![allow(clippy::unwrap_used)]

mod access_support;

use access_support::*;
use modelgate_identity::access::{
    AccessError, AccessEvent, GrantSettings, GrantState, RoleCatalog,
};
use modelgate_identity::{IdentityService, KeyPolicy};

#[tokio::test]
async fn standing_assignment_refuses_jit_only_and_unknown_roles() {
    let env = env().await;
    let err = env
        .svc
        .assign_role("billing", "prod-writer", None, "root", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::JitOnly(_)), "{err}");
    let err = env
        .svc
        .assign_role("billing", "nope", None, "root", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::UnknownRole(_)), "{err}");
    let err = env
        .svc
        .assign_role("billing", "mgk_NotARole", None, "root", NOW)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("mgk_"), "{err}");
    let err = env
        .svc
        .assign_role("billing", "reader", Some(NOW), "root", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::UntilInPast), "{err}");
    let err = env
        .svc
        .assign_role("billing", "reader", None, "", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::InvalidActor), "{err}");
    assert!(roles_of(&env, "billing", NOW).await.is_empty());
}

#[tokio::test]
async fn standing_assignment_until_is_exact_and_unassign_removes_it() {
    let env = env().await;
    let change = env
        .svc
        .assign_role("billing", "reader", Some(NOW + 60), "root", NOW)
        .await
        .unwrap();
    assert_eq!(change.event.action(), "role.assign");
    assert!(
        matches!(change.event, AccessEvent::RoleAssigned { until: Some(u), .. } if u == NOW + 60)
    );
    assert_eq!(roles_of(&env, "billing", NOW + 59).await, ["reader"]);
    assert!(roles_of(&env, "billing", NOW + 60).await.is_empty());
    let list = env
        .svc
        .list_role_assignments(Some("billing"))
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert!(!list[0].is_active(NOW + 60));
    env.svc
        .assign_role("billing", "reader", None, "root", NOW)
        .await
        .unwrap();
    let event = env
        .svc
        .unassign_role("billing", "reader", "root", NOW)
        .await
        .unwrap();
    assert_eq!(event.action(), "role.unassign");
    assert!(roles_of(&env, "billing", NOW).await.is_empty());
    let err = env
        .svc
        .unassign_role("billing", "reader", "root", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::NotAssigned { .. }), "{err}");
}

#[tokio::test]
async fn offboarding_revokes_grants_and_removes_roles() {
    let env = env().await;
    env.svc
        .assign_role("billing", "reader", None, "root", NOW)
        .await
        .unwrap();
    let active = env
        .svc
        .request_grant(request("prod-writer", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    env.svc
        .approve_grant(&active, "alice-bot", NOW)
        .await
        .unwrap();
    let pending = env
        .svc
        .request_grant(request("break-glass", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    assert_eq!(
        roles_of(&env, "billing", NOW + 1).await,
        ["prod-writer", "reader"]
    );
    let summary = env.svc.offboard_identity("billing", NOW + 2).await.unwrap();
    assert_eq!(summary.grants_revoked, 2);
    assert_eq!(summary.roles_removed, 1);
    assert!(roles_of(&env, "billing", NOW + 2).await.is_empty());
    for id in [active, pending] {
        let g = env.svc.grant(&id).await.unwrap();
        assert_eq!(g.state(NOW + 2), GrantState::Revoked);
        assert_eq!(g.decided_by.as_deref(), Some("offboarding"));
    }
    let err = env
        .svc
        .approve_grant("grt_x", "alice-bot", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::GrantNotFound(_)));
}

#[tokio::test]
async fn a_role_made_jit_only_later_stops_counting_standing() {
    let env = env().await;
    env.svc
        .assign_role("billing", "reader", None, "root", NOW)
        .await
        .unwrap();
    assert_eq!(roles_of(&env, "billing", NOW).await, ["reader"]);
    // The configuration now says reader is jit_only: the old standing
    // assignment gives nothing (zero standing privilege), and a role that
    // was removed from the configuration gives nothing either.
    let mut reader = role("reader", true, 1);
    reader.max_grant_duration = None;
    let reconfigured = RoleCatalog::new(&[reader], &GrantSettings::default()).unwrap();
    let svc =
        IdentityService::new(env.store.clone(), KeyPolicy::default()).with_roles(reconfigured);
    let billing = svc.identity("billing").await.unwrap().id;
    assert!(
        svc.entitlements(&billing, NOW)
            .await
            .unwrap()
            .roles
            .is_empty()
    );
    let empty = IdentityService::new(env.store.clone(), KeyPolicy::default());
    assert!(
        empty
            .entitlements(&billing, NOW)
            .await
            .unwrap()
            .roles
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_lookups_after_a_change_agree() {
    let env = env().await;
    env.svc
        .assign_role("billing", "reader", None, "root", NOW)
        .await
        .unwrap();
    let billing = env.svc.identity("billing").await.unwrap().id;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let svc = env.svc.clone();
        let id = billing.clone();
        tasks.push(tokio::spawn(async move {
            svc.entitlements(&id, NOW)
                .await
                .unwrap()
                .role_names()
                .join(",")
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "reader");
    }
}
