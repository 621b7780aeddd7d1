use super::{open, temp_db};
use crate::{SigningKeyRecord, StoreError};

fn key(kid: &str, state: &str, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        algorithm: "EdDSA".to_owned(),
        public_key: vec![1; 32],
        sealed_private_key: vec![0xab; 60],
        created_at,
        state: state.to_owned(),
        verify_until: None,
    }
}

#[tokio::test]
async fn insert_list_and_one_active_at_most() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    assert!(store.list_signing_keys().await.unwrap().is_empty());
    store
        .insert_signing_key(&key("k1", "active", 1_000))
        .await
        .unwrap();
    assert_eq!(store.revision().await.unwrap(), 1);
    let err = store
        .insert_signing_key(&key("k2", "active", 1_001))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref w) if w == "active signing key"),
        "{err}"
    );
    let err = store
        .insert_signing_key(&key("k1", "retired", 1_001))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref w) if w == "signing key id"),
        "{err}"
    );
    assert_eq!(store.revision().await.unwrap(), 1);
    let err = store
        .insert_signing_key(&key("k3", "bogus", 1_001))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err}");
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys, vec![key("k1", "active", 1_000)]);
    // Debug never shows the sealed private key.
    let text = format!("{:?}", keys[0]);
    assert!(
        text.contains("[redacted]") && !text.contains("171"),
        "{text}"
    );
}

#[tokio::test]
async fn rotate_and_retire() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    // Rotation with no active key just inserts.
    assert_eq!(
        store
            .rotate_signing_key(&key("k1", "active", 1_000), 0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .rotate_signing_key(&key("k2", "active", 2_000), 5_600)
            .await
            .unwrap()
            .as_deref(),
        Some("k1")
    );
    assert_eq!(store.revision().await.unwrap(), 2);
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys[0].kid, "k1");
    assert_eq!(keys[0].state, "previous");
    assert_eq!(keys[0].verify_until, Some(5_600));
    assert_eq!(keys[1].kid, "k2");
    assert_eq!(keys[1].state, "active");

    // Failed rotation (kid taken) changes nothing.
    let err = store
        .rotate_signing_key(&key("k1", "active", 3_000), 9_000)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let after = store.list_signing_keys().await.unwrap();
    assert_eq!(after, keys);
    assert_eq!(store.revision().await.unwrap(), 2);

    // Nothing to retire before verify_until; then k1 goes.
    assert!(store.retire_signing_keys(5_599).await.unwrap().is_empty());
    assert_eq!(store.revision().await.unwrap(), 2);
    assert_eq!(store.retire_signing_keys(5_600).await.unwrap(), ["k1"]);
    assert_eq!(store.revision().await.unwrap(), 3);
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys[0].state, "retired");
    assert_eq!(keys[1].state, "active");
    assert!(store.retire_signing_keys(9_999).await.unwrap().is_empty());
}
