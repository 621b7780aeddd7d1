//! The identity service end to end against a temporary SQLite store.

mod common;

use std::time::Duration;

use common::{DAY, NOW, new_identity, service};
use modelgate_identity::ApiKey;
use modelgate_identity::{
    AuthError, AuthMethod, IdentityError, IdentityKind, IdentityStatus, KeyFormatError, KeyStatus,
    ValidationError,
};
use modelgate_store::{ApiKeyRecord, IdentityRecord};

#[tokio::test]
async fn create_and_list_identities() {
    let (_dir, svc) = service().await;
    let created = svc
        .create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    assert!(created.id.starts_with("idn_"));
    assert_eq!(created.status, IdentityStatus::Active);
    assert_eq!(created.created_at, NOW);
    svc.create_identity(new_identity("alpha"), NOW)
        .await
        .unwrap();
    let names: Vec<_> = svc
        .list_identities()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["alpha", "billing"]);
    assert_eq!(svc.identity("billing").await.unwrap(), created);
}

#[tokio::test]
async fn duplicate_and_invalid_identities_are_refused() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let err = svc
        .create_identity(new_identity("billing"), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::NameTaken(ref n) if n == "billing"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "an identity named \"billing\" already exists"
    );
    let err = svc
        .create_identity(new_identity("Bad Name"), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Invalid(ValidationError::Name)),
        "{err}"
    );
}

#[tokio::test]
async fn issue_and_authenticate() {
    let (_dir, svc) = service().await;
    let identity = svc
        .create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let issued = svc
        .issue_key(
            "billing",
            Duration::from_secs(30 * DAY),
            Some("prod".into()),
            NOW,
        )
        .await
        .unwrap();
    assert!(issued.id.starts_with("key_"));
    assert_eq!(issued.expires_at, NOW + 30 * DAY as i64);
    assert_eq!(issued.identity.name, "billing");
    assert_eq!(issued.hint, issued.secret.hint());

    let principal = svc
        .authenticate_api_key(issued.secret.expose(), NOW + 10)
        .await
        .unwrap();
    assert_eq!(principal.identity_id, identity.id);
    assert_eq!(principal.identity_name, "billing");
    assert_eq!(principal.kind, IdentityKind::Service);
    assert_eq!(principal.owner, "team-payments");
    assert_eq!(principal.environment, "prod");
    assert_eq!(principal.credential_id, issued.id);
    assert_eq!(principal.auth_method, AuthMethod::ApiKey);
    assert!(principal.delegation.is_empty());
}

#[tokio::test]
async fn wrong_and_malformed_keys_are_refused() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    svc.issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    // Well-formed but never issued.
    let other = ApiKey::generate().unwrap();
    let err = svc
        .authenticate_api_key(other.secret.expose(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unknown), "{err}");
    assert!(err.is_client_error());
    for (garbage, why) in [
        ("", KeyFormatError::WrongPrefix),
        ("sk-abc", KeyFormatError::WrongPrefix),
        ("mgk_short", KeyFormatError::WrongLength),
    ] {
        let err = svc.authenticate_api_key(garbage, NOW).await.unwrap_err();
        assert!(matches!(err, AuthError::Malformed(w) if w == why), "{err}");
    }
}

#[tokio::test]
async fn malformed_keys_never_reach_the_store() {
    let (_dir, svc) = service().await;
    // With the store closed, any lookup would fail with AuthError::Store.
    svc.store().close().await;
    let mut typo = ApiKey::generate().unwrap().secret.expose().to_owned();
    typo.replace_range(10..11, if &typo[10..11] == "x" { "y" } else { "x" });
    let err = svc.authenticate_api_key(&typo, NOW).await.unwrap_err();
    assert!(
        matches!(err, AuthError::Malformed(KeyFormatError::ChecksumMismatch)),
        "{err}"
    );
    let good = ApiKey::generate().unwrap();
    let err = svc
        .authenticate_api_key(good.secret.expose(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Store(_)), "{err}");
    assert!(!err.is_client_error());
}

#[tokio::test]
async fn expiry_is_inclusive() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let issued = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    let key = issued.secret.expose();
    assert!(
        svc.authenticate_api_key(key, issued.expires_at - 1)
            .await
            .is_ok()
    );
    for at in [issued.expires_at, issued.expires_at + 3_600] {
        let err = svc.authenticate_api_key(key, at).await.unwrap_err();
        assert!(matches!(err, AuthError::Expired), "{err}");
    }
    let info = &svc.list_keys(Some("billing")).await.unwrap()[0];
    assert_eq!(info.status(issued.expires_at - 1), KeyStatus::Active);
    assert_eq!(info.status(issued.expires_at), KeyStatus::Expired);
}

#[tokio::test]
async fn revoked_keys_are_refused() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let issued = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    svc.revoke_key(&issued.id, NOW + 5).await.unwrap();
    svc.revoke_key(&issued.id, NOW + 9).await.unwrap(); // idempotent
    let err = svc
        .authenticate_api_key(issued.secret.expose(), NOW + 10)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Revoked), "{err}");
    let info = &svc.list_keys(None).await.unwrap()[0];
    assert_eq!(info.revoked_at, Some(NOW + 5));
    assert_eq!(info.status(NOW + 10), KeyStatus::Revoked);
    let err = svc
        .revoke_key("key_00000000000000000000", NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::KeyNotFound(_)), "{err}");
}

#[tokio::test]
async fn lifetimes_are_bounded() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let err = svc
        .issue_key("billing", Duration::from_secs(91 * DAY), None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::LifetimeTooLong { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("90 days"), "{err}");
    for short in [Duration::ZERO, Duration::from_millis(500)] {
        let err = svc
            .issue_key("billing", short, None, NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, IdentityError::LifetimeTooShort), "{err}");
    }
    // Exactly the maximum is fine.
    svc.issue_key("billing", Duration::from_secs(90 * DAY), None, NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn keys_only_for_existing_active_identities() {
    let (_dir, svc) = service().await;
    let err = svc
        .issue_key("nobody", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::IdentityNotFound(_)), "{err}");
    assert_eq!(err.to_string(), "no identity named \"nobody\"");
    let err = svc
        .issue_key(
            "billing",
            Duration::from_secs(DAY),
            Some("bad\u{7}".into()),
            NOW,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::Invalid(ValidationError::Label)),
        "{err}"
    );

    // Status changes arrive with offboarding; until then, write a disabled
    // identity and a key for it straight into the store.
    let store = svc.store();
    store
        .insert_identity(&IdentityRecord {
            id: "idn_disabled0000000000".to_owned(),
            name: "retired".to_owned(),
            kind: "agent".to_owned(),
            owner: "team".to_owned(),
            environment: "prod".to_owned(),
            purpose: String::new(),
            status: "disabled".to_owned(),
            created_at: NOW,
            last_used_at: None,
        })
        .await
        .unwrap();
    let generated = ApiKey::generate().unwrap();
    store
        .insert_api_key(&ApiKeyRecord {
            id: "key_disabled0000000000".to_owned(),
            identity_id: "idn_disabled0000000000".to_owned(),
            label: None,
            hint: generated.hint.clone(),
            key_hash: generated.hash,
            created_at: NOW,
            expires_at: NOW + 100,
            revoked_at: None,
            last_used_at: None,
            replaced_by: None,
        })
        .await
        .unwrap();
    let err = svc
        .issue_key("retired", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::IdentityNotActive { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "identity \"retired\" is disabled; it cannot be issued credentials"
    );
    let err = svc
        .authenticate_api_key(generated.secret.expose(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::IdentityDisabled), "{err}");
    assert_eq!(svc.pending_usage(), 0);
}

#[tokio::test]
async fn flush_usage_sets_last_used_at() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let issued = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    let key = issued.secret.expose();
    svc.authenticate_api_key(key, NOW + 20).await.unwrap();
    svc.authenticate_api_key(key, NOW + 10).await.unwrap();
    assert_eq!(svc.pending_usage(), 1);
    // Not written yet, but listed.
    let stored = svc
        .store()
        .api_key_by_id(&issued.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at, None);
    assert_eq!(
        svc.list_keys(None).await.unwrap()[0].last_used_at,
        Some(NOW + 20)
    );

    assert_eq!(svc.flush_usage().await.unwrap(), 1);
    assert_eq!(svc.pending_usage(), 0);
    assert_eq!(svc.flush_usage().await.unwrap(), 0);
    let stored = svc
        .store()
        .api_key_by_id(&issued.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at, Some(NOW + 20));
    assert_eq!(
        svc.identity("billing").await.unwrap().last_used_at,
        Some(NOW + 20)
    );
}

#[tokio::test]
async fn failed_flush_keeps_the_uses() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let issued = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    svc.authenticate_api_key(issued.secret.expose(), NOW)
        .await
        .unwrap();
    svc.store().close().await;
    assert!(svc.flush_usage().await.is_err());
    assert_eq!(svc.pending_usage(), 1);
}

#[tokio::test]
async fn list_keys_by_identity() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    svc.create_identity(new_identity("search"), NOW)
        .await
        .unwrap();
    let a = svc
        .issue_key("billing", Duration::from_secs(DAY), Some("a".into()), NOW)
        .await
        .unwrap();
    svc.issue_key("search", Duration::from_secs(DAY), None, NOW + 1)
        .await
        .unwrap();
    let billing = svc.list_keys(Some("billing")).await.unwrap();
    assert_eq!(billing.len(), 1);
    assert_eq!(billing[0].id, a.id);
    assert_eq!(billing[0].identity_name, "billing");
    assert_eq!(billing[0].label.as_deref(), Some("a"));
    assert_eq!(billing[0].hint, a.hint);
    let all = svc.list_keys(None).await.unwrap();
    let names: Vec<_> = all.iter().map(|k| k.identity_name.as_str()).collect();
    assert_eq!(names, ["billing", "search"]);
    assert!(matches!(
        svc.list_keys(Some("nobody")).await.unwrap_err(),
        IdentityError::IdentityNotFound(_)
    ));
}

/// The gateway runs these on a multi-threaded runtime: the futures must be
/// `Send` (no lock guard held across an await).
#[test]
fn service_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    fn assert_sync<T: Send + Sync + Clone + 'static>() {}
    assert_sync::<modelgate_identity::IdentityService>();
    assert_sync::<modelgate_store::Store>();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_dir, svc) = service().await;
        let auth = svc.authenticate_api_key("x", NOW);
        assert_send(&auth);
        let flush = svc.flush_usage();
        assert_send(&flush);
        let list = svc.list_keys(None);
        assert_send(&list);
        let issue = svc.issue_key("x", Duration::from_secs(1), None, NOW);
        assert_send(&issue);
        let create = svc.create_identity(new_identity("x"), NOW);
        assert_send(&create);
        let revoke = svc.revoke_key("x", NOW);
        assert_send(&revoke);
    });
}
