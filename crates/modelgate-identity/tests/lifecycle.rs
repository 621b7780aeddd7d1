//! The credential lifecycle: key rotation with grace, disabling, and
//! offboarding (irreversible). That offboarding is one transaction (a
//! failure leaves nothing changed) is shown with an injected failure in the
//! store crate's tests.

mod token_support;

use std::time::Duration;

use modelgate_identity::{AuthError, IdentityError, IdentityKind, IdentityStatus, KeyStatus};
use token_support::{NOW, env, identity, new_identity};

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: i64 = 3_600;

#[tokio::test]
async fn rotate_key_with_grace() {
    let env = env().await;
    let svc = &env.svc;
    identity(&env, "billing").await;
    let old = svc
        .issue_key("billing", 30 * DAY, Some("prod".into()), NOW)
        .await
        .unwrap();
    let at = NOW + 10 * 86_400;
    let new = svc
        .rotate_key(&old.id, Duration::from_secs(HOUR as u64), at)
        .await
        .unwrap();
    assert_ne!(new.id, old.id);
    // Same lifetime as the original, from the rotation time.
    assert_eq!(new.expires_at, at + 30 * 86_400);
    assert_eq!(new.identity.name, "billing");

    // The old key works until the grace period ends; the new one works.
    assert!(
        svc.authenticate_api_key(old.secret.expose(), at + HOUR - 1)
            .await
            .is_ok()
    );
    assert!(matches!(
        svc.authenticate_api_key(old.secret.expose(), at + HOUR)
            .await,
        Err(AuthError::Expired)
    ));
    let p = svc
        .authenticate_api_key(new.secret.expose(), at + HOUR)
        .await
        .unwrap();
    assert_eq!(p.credential_id, new.id);

    let keys = svc.list_keys(Some("billing")).await.unwrap();
    let old_info = keys.iter().find(|k| k.id == old.id).unwrap();
    let new_info = keys.iter().find(|k| k.id == new.id).unwrap();
    assert_eq!(old_info.replaced_by.as_deref(), Some(new.id.as_str()));
    assert_eq!(old_info.expires_at, at + HOUR);
    assert_eq!(old_info.status(at + HOUR), KeyStatus::Expired);
    assert_eq!(new_info.label.as_deref(), Some("prod"));
    assert_eq!(new_info.replaced_by, None);

    // Rotating the old key twice is refused; the successor can be rotated.
    let err = svc
        .rotate_key(&old.id, Duration::ZERO, at + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::KeyNotRotatable { reason, .. } if reason == "it was already rotated"),
        "{err}"
    );
    let third = svc
        .rotate_key(&new.id, Duration::ZERO, at + 2)
        .await
        .unwrap();
    // Zero grace: the predecessor stops at once.
    assert!(matches!(
        svc.authenticate_api_key(new.secret.expose(), at + 2).await,
        Err(AuthError::Expired)
    ));
    assert!(
        svc.authenticate_api_key(third.secret.expose(), at + 2)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn grace_never_extends_a_key() {
    let env = env().await;
    identity(&env, "billing").await;
    let old = env.svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    env.svc
        .rotate_key(&old.id, 7 * DAY, NOW + 100)
        .await
        .unwrap();
    let info = env.svc.list_keys(Some("billing")).await.unwrap();
    let old_info = info.iter().find(|k| k.id == old.id).unwrap();
    assert_eq!(old_info.expires_at, NOW + 86_400);
}

#[tokio::test]
async fn revoked_expired_and_unknown_keys_cannot_be_rotated() {
    let env = env().await;
    let svc = &env.svc;
    identity(&env, "billing").await;
    let revoked = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    svc.revoke_key(&revoked.id, NOW + 1).await.unwrap();
    let err = svc.rotate_key(&revoked.id, DAY, NOW + 2).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::KeyNotRotatable { reason, .. } if reason == "it is revoked"),
        "{err}"
    );
    let short = svc
        .issue_key("billing", Duration::from_secs(60), None, NOW)
        .await
        .unwrap();
    let err = svc.rotate_key(&short.id, DAY, NOW + 60).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::KeyNotRotatable { reason, .. } if reason == "it has expired"),
        "{err}"
    );
    let err = svc
        .rotate_key("key_00000000000000000000", DAY, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::KeyNotFound(_)), "{err}");
    // Nothing was issued by the refusals.
    assert_eq!(svc.list_keys(Some("billing")).await.unwrap().len(), 2);

    // A disabled identity's key cannot be rotated either.
    let live = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    svc.disable_identity("billing", NOW + 1).await.unwrap();
    let err = svc.rotate_key(&live.id, DAY, NOW + 2).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::IdentityNotActive { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn rotation_lifetime_is_capped_by_policy() {
    let env = env().await;
    identity(&env, "billing").await;
    // A key written with a lifetime longer than today's policy allows.
    let long = env
        .svc
        .issue_key("billing", 90 * DAY, None, NOW)
        .await
        .unwrap();
    let strict = modelgate_identity::IdentityService::new(
        env.store.clone(),
        modelgate_identity::KeyPolicy {
            max_lifetime: 7 * DAY,
        },
    );
    let new = strict.rotate_key(&long.id, DAY, NOW + 5).await.unwrap();
    assert_eq!(new.expires_at, NOW + 5 + 7 * 86_400);
}

#[tokio::test]
async fn offboarding_cascades_and_is_final() {
    let env = env().await;
    let svc = &env.svc;
    let who = identity(&env, "billing").await;
    let k1 = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    let k2 = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    let k3 = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    svc.revoke_key(&k3.id, NOW + 1).await.unwrap();
    let token = svc
        .mint_access_token("billing", None, &[], None, NOW)
        .await
        .unwrap();
    // A bystander keeps working.
    svc.create_identity(new_identity("search", IdentityKind::Retrieval), NOW)
        .await
        .unwrap();
    let other = svc.issue_key("search", DAY, None, NOW).await.unwrap();

    let summary = svc.offboard_identity("billing", NOW + 10).await.unwrap();
    assert_eq!(summary.identity_id, who.id);
    assert_eq!(summary.identity_name, "billing");
    assert_eq!(summary.previous_status, IdentityStatus::Active);
    assert_eq!(summary.keys_revoked, 2);

    assert_eq!(
        svc.identity("billing").await.unwrap().status,
        IdentityStatus::Offboarded
    );
    for k in svc.list_keys(Some("billing")).await.unwrap() {
        let want = if k.id == k3.id { NOW + 1 } else { NOW + 10 };
        assert_eq!(k.revoked_at, Some(want), "{}", k.id);
    }
    for key in [&k1, &k2] {
        assert!(matches!(
            svc.authenticate_api_key(key.secret.expose(), NOW + 11)
                .await,
            Err(AuthError::Revoked)
        ));
    }
    assert!(matches!(
        env.tokens.verify(token.token.expose(), NOW + 11),
        Err(AuthError::IdentityDisabled)
    ));
    assert!(
        svc.authenticate_api_key(other.secret.expose(), NOW + 11)
            .await
            .is_ok()
    );

    // No new credentials, no way back, no name reuse.
    let err = svc
        .issue_key("billing", DAY, None, NOW + 12)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IdentityError::IdentityNotActive {
                status: IdentityStatus::Offboarded,
                ..
            }
        ),
        "{err}"
    );
    let err = svc
        .mint_access_token("billing", None, &[], None, NOW + 12)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::IdentityNotActive { .. }),
        "{err}"
    );
    for err in [
        svc.enable_identity("billing", NOW + 12).await.unwrap_err(),
        svc.disable_identity("billing", NOW + 12).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, IdentityError::IdentityOffboarded { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("cannot be undone"), "{err}");
    }
    let err = svc.rotate_key(&k1.id, DAY, NOW + 12).await.unwrap_err();
    assert!(
        matches!(err, IdentityError::KeyNotRotatable { .. }),
        "{err}"
    );
    let err = svc
        .create_identity(new_identity("billing", IdentityKind::Service), NOW + 13)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::NameRetired(_)), "{err}");
    assert!(err.to_string().contains("never reused"), "{err}");

    // Offboarding again is harmless.
    let again = svc.offboard_identity("billing", NOW + 20).await.unwrap();
    assert_eq!(again.previous_status, IdentityStatus::Offboarded);
    assert_eq!(again.keys_revoked, 0);
}

#[tokio::test]
async fn disable_is_reversible_and_blocks_credentials() {
    let env = env().await;
    let svc = &env.svc;
    identity(&env, "billing").await;
    let key = svc.issue_key("billing", DAY, None, NOW).await.unwrap();
    let disabled = svc.disable_identity("billing", NOW + 1).await.unwrap();
    assert_eq!(disabled.status, IdentityStatus::Disabled);
    // Idempotent.
    svc.disable_identity("billing", NOW + 2).await.unwrap();
    assert!(matches!(
        svc.authenticate_api_key(key.secret.expose(), NOW + 2).await,
        Err(AuthError::IdentityDisabled)
    ));
    assert!(matches!(
        svc.issue_key("billing", DAY, None, NOW + 2).await,
        Err(IdentityError::IdentityNotActive { .. })
    ));
    assert!(matches!(
        svc.mint_access_token("billing", None, &[], None, NOW + 2)
            .await,
        Err(IdentityError::IdentityNotActive { .. })
    ));
    svc.enable_identity("billing", NOW + 3).await.unwrap();
    assert!(
        svc.authenticate_api_key(key.secret.expose(), NOW + 3)
            .await
            .is_ok()
    );
    let err = svc.enable_identity("nobody", NOW).await.unwrap_err();
    assert!(matches!(err, IdentityError::IdentityNotFound(_)), "{err}");
}
