//! The negative cache for unknown API keys: a well-formed key the store does
//! not know costs one store lookup, not one per presentation, and a key
//! created afterwards (through this service, or elsewhere and picked up by
//! `refresh`) is not refused because of an earlier miss.

// Test code: a failing setup should abort the test loudly.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{DAY, NOW, new_identity, service};
use modelgate_identity::{ApiKey, AuthError, IdentityService};
use modelgate_store::ApiKeyRecord;

/// A service with the key cache (as the gateway builds it).
async fn cached_service() -> (tempfile::TempDir, IdentityService) {
    let (dir, svc) = service().await;
    (dir, svc.with_key_cache())
}

#[tokio::test]
async fn unknown_key_ids_cost_one_store_lookup() {
    let (_dir, svc) = cached_service().await;
    let unknown = ApiKey::generate().unwrap();
    let before = svc.store().key_lookups();
    for _ in 0..100 {
        let err = svc
            .authenticate_api_key(unknown.secret.expose(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Unknown), "{err}");
    }
    assert_eq!(
        svc.store().key_lookups() - before,
        1,
        "store lookups for one unknown key presented 100 times"
    );
    // A second unknown key costs its own single lookup.
    let other = ApiKey::generate().unwrap();
    for _ in 0..10 {
        let err = svc
            .authenticate_api_key(other.secret.expose(), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, AuthError::Unknown), "{err}");
    }
    assert_eq!(svc.store().key_lookups() - before, 2);
}

#[tokio::test]
async fn a_key_issued_after_a_miss_works_at_once() {
    let (_dir, svc) = cached_service().await;
    let identity = svc
        .create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let unknown = ApiKey::generate().unwrap();
    let err = svc
        .authenticate_api_key(unknown.secret.expose(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unknown), "{err}");

    // Issued through this service: works on the next request.
    let issued = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    let principal = svc
        .authenticate_api_key(issued.secret.expose(), NOW + 1)
        .await
        .unwrap();
    assert_eq!(principal.credential_id, issued.id);

    // Created elsewhere (another replica, the CLI): written straight to the
    // store. Presented before it existed it is a cached miss; after
    // `refresh` it works, although inserting a key moves no revision. (A
    // first refresh, as the gateway makes at start, so the later one sees
    // no revision change.)
    svc.refresh(NOW).await.unwrap();
    let elsewhere = ApiKey::generate().unwrap();
    let err = svc
        .authenticate_api_key(elsewhere.secret.expose(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthError::Unknown), "{err}");
    svc.store()
        .insert_api_key(&ApiKeyRecord {
            id: "key_elsewhere000000000".to_owned(),
            identity_id: identity.id.clone(),
            label: None,
            hint: elsewhere.hint.clone(),
            key_hash: elsewhere.hash,
            created_at: NOW,
            expires_at: NOW + 100,
            revoked_at: None,
            last_used_at: None,
            replaced_by: None,
        })
        .await
        .unwrap();
    svc.refresh(NOW + 1).await.unwrap();
    let principal = svc
        .authenticate_api_key(elsewhere.secret.expose(), NOW + 2)
        .await
        .unwrap();
    assert_eq!(principal.credential_id, "key_elsewhere000000000");
    assert_eq!(principal.identity_id, identity.id);
}
