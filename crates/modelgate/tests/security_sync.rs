//! Issue 14, defect 11, through the live gateway: a failed state sync
//! invalidates cached state first, and a replica that cannot sync for
//! longer than `tokens.max_staleness` fails closed (in the caller's API
//! dialect) and says so in `/readyz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tokens::*;
use common::*;
use modelgate_store::{SigningKeyRecord, Store};

/// A Messages call on model `chat` with `key` as the Anthropic-style key.
async fn messages_with(gw: &TestGateway, key: &str) -> Reply {
    call(
        "POST",
        &gw.url("/v1/messages"),
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        messages("chat", false).to_string(),
    )
    .await
}

/// Writes a signing key the keyring cannot open (as someone with write
/// access to the store could): every reload of the signing keys fails
/// until the key is retired at `verify_until`.
async fn plant_unreadable_signing_key(store: &Store, verify_until: i64) {
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: "planted-1".to_owned(),
            algorithm: "EdDSA".to_owned(),
            public_key: vec![7u8; 32],
            sealed_private_key: vec![1u8; 60],
            created_at: now(),
            state: "previous".to_owned(),
            verify_until: Some(verify_until),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn failed_sync_invalidates_revocations_first() {
    let w = world("").await;
    let key = w.gw.new_identity("cached", "service", "prod");
    let key_id = key_id_of(&w.gw, "cached");
    // The key is now in this replica's key cache.
    assert_eq!(chat_with(&w.gw, &key).await.status, 200);
    let store = store_of(&w.gw).await;
    // Reloading the signing keys now fails on every sync...
    plant_unreadable_signing_key(&store, now() + 600).await;
    // ...and the key is revoked elsewhere (the CLI, another replica).
    ok(w.gw.cli(&["key", "revoke", &key_id]));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let r = chat_with(&w.gw, &key).await;
    assert_eq!(
        r.status,
        401,
        "a key revoked in the store is refused although the signing keys failed to reload: {}",
        r.text()
    );
    store.close().await;
}

#[tokio::test]
async fn stale_replica_fails_closed_and_readyz_says_so() {
    let w = world("max_staleness = \"2s\"").await;
    let key = w.gw.key.clone();
    let token = token_for_key(&w.gw, &key).await;
    assert_eq!(chat_with(&w.gw, &key).await.status, 200);
    assert_eq!(chat_with(&w.gw, &token).await.status, 200);
    let ready = get_path(&w.gw, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text());

    let store = store_of(&w.gw).await;
    let until = now() + 9;
    plant_unreadable_signing_key(&store, until).await;
    tokio::time::sleep(Duration::from_millis(4_000)).await;

    let api_key = chat_with(&w.gw, &key).await;
    let token_call = chat_with(&w.gw, &token).await;
    let anthropic = messages_with(&w.gw, &key).await;
    let minted = client_credentials(&w.gw, &key).await;
    let admin = admin_call(&w.gw, &key, "GET", "/admin/v1/identities", "").await;
    for (what, r) in [
        ("a stale replica refuses API keys", &api_key),
        ("a stale replica refuses tokens", &token_call),
        ("a stale replica refuses Messages calls", &anthropic),
        ("no token is minted", &minted),
        ("the admin API says unavailable", &admin),
    ] {
        assert_eq!(r.status, 503, "{what}: {}", r.text());
    }
    let message = api_key.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("cannot sync revocations"),
        "OpenAI dialect: {message}"
    );
    assert_eq!(
        anthropic.json()["type"],
        "error",
        "Anthropic dialect: {}",
        anthropic.text()
    );
    let metrics = w.gw.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("modelgate_auth_failures_total") && l.contains("state_stale")),
        "the refusals are counted with their reason: {metrics}"
    );
    let ready = get_path(&w.gw, "/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(
        ready.json()["reason"],
        "state sync stale",
        "{}",
        ready.text()
    );

    // The planted key retires at `until`; the sync succeeds again and the
    // replica serves again.
    let recovered = eventually(40, Duration::from_millis(500), || async {
        let _ = store.retire_signing_keys(now()).await;
        get_path(&w.gw, "/readyz").await.status == 200
    })
    .await;
    assert!(recovered, "the replica recovers once it syncs");
    assert_eq!(chat_with(&w.gw, &key).await.status, 200);
    assert_eq!(chat_with(&w.gw, &token).await.status, 200);
    store.close().await;
}
