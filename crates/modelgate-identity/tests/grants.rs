//! Just-in-time grants through the identity service, with an explicit clock
//! (`now` is passed to every call): separation of duties, N approvals,
//! expiry to the second, pending expiry, deny and revoke.
#![allow(clippy::unwrap_used)]

mod access_support;

use std::time::Duration;

use access_support::*;
use modelgate_identity::access::{
    AccessError, AccessEvent, GrantFilter, GrantState, Requester, RoleSource,
};
use modelgate_identity::{IdentityError, IdentityService, KeyPolicy};

#[tokio::test]
async fn approved_grant_gives_access_until_expiry_and_not_a_second_longer() {
    let env = env().await;
    let requested = env
        .svc
        .request_grant(request("prod-writer", 2, "billing"), NOW)
        .await
        .unwrap();
    let id = requested.value.id.clone();
    assert!(id.starts_with("grt_"));
    assert_eq!(
        requested.event.transition(),
        Some((None, GrantState::Pending))
    );
    // Unapproved: no access.
    assert!(roles_of(&env, "billing", NOW + 1).await.is_empty());
    let approved = env
        .svc
        .approve_grant(&id, "alice-bot", NOW + 10)
        .await
        .unwrap();
    let AccessEvent::GrantApproved {
        starts_at,
        expires_at,
        ..
    } = approved.event
    else {
        panic!("expected GrantApproved, got {:?}", approved.event);
    };
    assert_eq!((starts_at, expires_at), (NOW + 10, NOW + 10 + 7_200));
    let billing = env.svc.identity("billing").await.unwrap().id;
    let e = env.svc.entitlements(&billing, NOW + 10).await.unwrap();
    assert_eq!(e.roles.len(), 1);
    assert_eq!(
        e.roles[0].source,
        RoleSource::Grant {
            grant_id: id.clone()
        }
    );
    assert_eq!(e.roles[0].until, Some(expires_at));
    assert_eq!(
        roles_of(&env, "billing", expires_at - 1).await,
        ["prod-writer"]
    );
    assert!(roles_of(&env, "billing", expires_at).await.is_empty());
    let grant = env.svc.grant(&id).await.unwrap();
    assert_eq!(grant.state(expires_at - 1), GrantState::Approved);
    assert_eq!(grant.state(expires_at), GrantState::Expired);
    // Revoking an expired grant is refused.
    let err = env
        .svc
        .revoke_grant(&id, &Requester::Named("billing".into()), None, expires_at)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::NotRevocable {
                state: GrantState::Expired,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn self_approval_and_beneficiary_approval_are_refused() {
    let env = env().await;
    // billing-ops (an approver) asks on billing's behalf? Not its identity
    // nor its owner: refused.
    let err = env
        .svc
        .request_grant(request("prod-writer", 1, "billing-ops"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::NotPermitted { .. }), "{err}");
    // The owner asks: no identity of that owner may approve.
    let id = env
        .svc
        .request_grant(request("prod-writer", 1, "team-billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    let err = env
        .svc
        .approve_grant(&id, "billing-ops", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::SelfApproval { .. }), "{err}");
    // An approver asks for itself: neither it nor... it cannot approve.
    env.svc
        .assign_role("billing", "approver", None, "root", NOW)
        .await
        .unwrap();
    let own = env
        .svc
        .request_grant(request("prod-writer", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    let err = env
        .svc
        .approve_grant(&own, "billing", NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AccessError::BeneficiaryApproval { .. }),
        "{err}"
    );
    // Someone without the approver role.
    let err = env
        .svc
        .approve_grant(&own, "stranger", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::NotApprover { .. }), "{err}");
    assert!(roles_of(&env, "billing", NOW).await == ["approver"]);
    // A proper approver can.
    env.svc.approve_grant(&id, "alice-bot", NOW).await.unwrap();
    assert!(
        roles_of(&env, "billing", NOW)
            .await
            .contains(&"prod-writer".to_owned())
    );
}

#[tokio::test]
async fn a_role_can_require_n_distinct_approvals() {
    let env = env().await;
    let id = env
        .svc
        .request_grant(request("break-glass", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    let first = env
        .svc
        .approve_grant(&id, "alice-bot", NOW + 1)
        .await
        .unwrap();
    assert!(matches!(
        first.event,
        AccessEvent::GrantApprovalRecorded {
            approvals: 1,
            approvals_required: 2,
            ..
        }
    ));
    assert_eq!(first.value.state(NOW + 1), GrantState::Pending);
    assert!(roles_of(&env, "billing", NOW + 1).await.is_empty());
    let err = env
        .svc
        .approve_grant(&id, "alice-bot", NOW + 2)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::AlreadyApproved { .. }), "{err}");
    let second = env
        .svc
        .approve_grant(&id, "bob-bot", NOW + 3)
        .await
        .unwrap();
    let AccessEvent::GrantApproved { approvers, .. } = &second.event else {
        panic!("{:?}", second.event);
    };
    assert_eq!(approvers, &["alice-bot", "bob-bot"]);
    assert_eq!(roles_of(&env, "billing", NOW + 3).await, ["break-glass"]);
    let err = env
        .svc
        .approve_grant(&id, "billing-ops", NOW + 4)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::NotPending {
                state: GrantState::Approved,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn pending_requests_expire_and_denied_ones_stay_denied() {
    let env = env().await;
    let id = env
        .svc
        .request_grant(request("reader", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    let lapse = NOW + 24 * 3_600;
    let err = env
        .svc
        .approve_grant(&id, "alice-bot", lapse)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::NotPending {
                state: GrantState::Expired,
                ..
            }
        ),
        "{err}"
    );
    let expired = env
        .svc
        .list_grants(
            &GrantFilter {
                identity: Some("billing".into()),
                state: Some(GrantState::Expired),
            },
            lapse,
        )
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);
    let id = env
        .svc
        .request_grant(request("reader", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    let err = env
        .svc
        .deny_grant(&id, "stranger", None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::NotApprover { .. }), "{err}");
    let denied = env
        .svc
        .deny_grant(&id, "alice-bot", Some("not now"), NOW + 1)
        .await
        .unwrap();
    assert_eq!(
        denied.event.transition(),
        Some((Some(GrantState::Pending), GrantState::Denied))
    );
    let err = env
        .svc
        .approve_grant(&id, "bob-bot", NOW + 2)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::NotPending {
                state: GrantState::Denied,
                ..
            }
        ),
        "{err}"
    );
    assert!(roles_of(&env, "billing", NOW + 2).await.is_empty());
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let env = env().await;
    let over = request("prod-writer", 3, "billing"); // role cap 2h
    let err = env.svc.request_grant(over, NOW).await.unwrap_err();
    assert!(
        matches!(err, AccessError::InvalidDuration { max } if max == Duration::from_secs(2 * HOUR)),
        "{err}"
    );
    let over = request("reader", 9, "billing"); // global cap 8h
    assert!(matches!(
        env.svc.request_grant(over, NOW).await.unwrap_err(),
        AccessError::InvalidDuration { .. }
    ));
    let zero = request("reader", 0, "billing");
    assert!(env.svc.request_grant(zero, NOW).await.is_err());
    let mut no_reason = request("reader", 1, "billing");
    no_reason.reason = "  ".into();
    assert!(matches!(
        env.svc.request_grant(no_reason, NOW).await.unwrap_err(),
        AccessError::InvalidReason
    ));
    let mut unknown = request("reader", 1, "billing");
    unknown.identity = "ghost".into();
    assert!(matches!(
        env.svc.request_grant(unknown, NOW).await.unwrap_err(),
        AccessError::Identity(IdentityError::IdentityNotFound(_))
    ));
    assert!(matches!(
        env.svc
            .approve_grant("grt_missing", "alice-bot", NOW)
            .await
            .unwrap_err(),
        AccessError::GrantNotFound(_)
    ));
    let err = env.svc.grant("mgk_secret-looking").await.unwrap_err();
    assert!(!err.to_string().contains("mgk_"), "{err}");
    // A pasted key as the requester is not echoed back.
    let pasted = request("reader", 1, "mgk_0123456789abcdefghijABCDEFGHIJ");
    let err = env.svc.request_grant(pasted, NOW).await.unwrap_err();
    assert!(matches!(err, AccessError::NotPermitted { .. }), "{err}");
    assert!(!err.to_string().contains("mgk_"), "{err}");
    env.svc.disable_identity("billing", NOW).await.unwrap();
    assert!(
        env.svc
            .request_grant(request("reader", 1, "billing"), NOW)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn revoke_takes_effect_at_once_here_and_after_refresh_elsewhere() {
    let env = env().await;
    // Another replica over the same store, with its own snapshot.
    let other = IdentityService::new(env.store.clone(), KeyPolicy::default()).with_roles(catalog());
    let id = env
        .svc
        .request_grant(request("prod-writer", 1, "billing"), NOW)
        .await
        .unwrap()
        .value
        .id;
    env.svc.approve_grant(&id, "alice-bot", NOW).await.unwrap();
    let billing = env.svc.identity("billing").await.unwrap().id;
    other.refresh(NOW).await.unwrap();
    assert!(
        other
            .entitlements(&billing, NOW + 1)
            .await
            .unwrap()
            .has_role("prod-writer")
    );
    let err = env
        .svc
        .revoke_grant(&id, &Requester::Named("stranger".into()), None, NOW + 5)
        .await
        .unwrap_err();
    assert!(matches!(err, AccessError::NotPermitted { .. }), "{err}");
    let revoked = env
        .svc
        .revoke_grant(
            &id,
            &Requester::Named("bob-bot".into()),
            Some("done"),
            NOW + 5,
        )
        .await
        .unwrap();
    assert_eq!(
        revoked.event.transition(),
        Some((Some(GrantState::Approved), GrantState::Revoked))
    );
    assert_eq!(revoked.event.grant_id(), Some(id.as_str()));
    assert!(roles_of(&env, "billing", NOW + 5).await.is_empty());
    // The other replica still serves its snapshot until it refreshes.
    assert!(
        other
            .entitlements(&billing, NOW + 5)
            .await
            .unwrap()
            .has_role("prod-writer")
    );
    other.refresh(NOW + 5).await.unwrap();
    assert!(
        !other
            .entitlements(&billing, NOW + 5)
            .await
            .unwrap()
            .has_role("prod-writer")
    );
    let err = env
        .svc
        .revoke_grant(&id, &Requester::Admin("root".into()), None, NOW + 6)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AccessError::NotRevocable {
                state: GrantState::Revoked,
                ..
            }
        ),
        "{err}"
    );
}
