//! Signing keys: persistence under the KEK, rotation, retirement, JWKS and
//! reloads across replicas.

// Helpers below are test support: failing setup should abort loudly.
#![allow(clippy::unwrap_used)]

mod token_support;

use std::time::Duration;

use modelgate_identity::{
    AccessTokens, AuthError, KeyEncryptionKey, KeyState, KeyringError, SigningKeyring,
    TokenRejection,
};
use modelgate_store::Store;
use token_support::{NOW, identity, new_identity, settings, token_header};

const HOUR: Duration = Duration::from_secs(3_600);

async fn fresh() -> (tempfile::TempDir, Store, KeyEncryptionKey) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("id.db")).await.unwrap();
    (dir, store, KeyEncryptionKey::generate().unwrap())
}

async fn tokens(store: &Store, keyring: &SigningKeyring) -> AccessTokens {
    AccessTokens::new(store.clone(), keyring.clone(), settings(), NOW)
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_persist_across_restarts_with_the_kek() {
    let (dir, store, kek) = fresh().await;
    let keyring = SigningKeyring::load(store.clone(), kek.clone())
        .await
        .unwrap();
    assert_eq!(keyring.active_kid(), None);
    assert!(keyring.jwks()["keys"].as_array().unwrap().is_empty());
    let kid = keyring.ensure_active(NOW).await.unwrap();
    assert_eq!(kid.len(), 16);
    assert!(kid.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(keyring.ensure_active(NOW + 1).await.unwrap(), kid);

    let svc = modelgate_identity::IdentityService::new(store.clone(), Default::default());
    let who = svc
        .create_identity(
            new_identity("billing", modelgate_identity::IdentityKind::Agent),
            NOW,
        )
        .await
        .unwrap();
    let minted = tokens(&store, &keyring)
        .await
        .mint(&who, None, &[], None, NOW)
        .unwrap();
    assert_eq!(token_header(minted.token.expose())["kid"], kid.as_str());
    store.close().await;

    // A restart: new pool, same file, same KEK.
    let store = Store::open_sqlite(&dir.path().join("id.db")).await.unwrap();
    let reloaded = SigningKeyring::load(store.clone(), kek).await.unwrap();
    assert_eq!(reloaded.active_kid().as_deref(), Some(kid.as_str()));
    let verifier = tokens(&store, &reloaded).await;
    let p = verifier.verify(minted.token.expose(), NOW + 5).unwrap();
    assert_eq!(p.identity_name, "billing");
    // And it signs with the same key.
    let again = verifier.mint(&who, None, &[], None, NOW).unwrap();
    assert_eq!(token_header(again.token.expose())["kid"], kid.as_str());

    // A different KEK is a clear startup error naming the key, nothing more.
    let wrong = KeyEncryptionKey::generate().unwrap();
    let err = SigningKeyring::load(store.clone(), wrong)
        .await
        .unwrap_err();
    assert!(matches!(err, KeyringError::WrongKek { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&kid), "{text}");
    assert!(text.contains("key-encryption key"), "{text}");
}

#[tokio::test]
async fn concurrent_first_keys_agree() {
    let (_dir, store, kek) = fresh().await;
    let a = SigningKeyring::load(store.clone(), kek.clone())
        .await
        .unwrap();
    let b = SigningKeyring::load(store.clone(), kek).await.unwrap();
    let (ka, kb) = tokio::join!(a.ensure_active(NOW), b.ensure_active(NOW));
    let (ka, kb) = (ka.unwrap(), kb.unwrap());
    assert_eq!(ka, kb);
    assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_retirement() {
    let env = token_support::env().await;
    let who = identity(&env, "billing").await;
    let t = &env.tokens;
    let old_kid = env.keyring.active_kid().unwrap();
    // An hour-long token signed with the old key.
    let old_token = t.mint(&who, None, &[], Some(HOUR), NOW).unwrap();

    let new_kid = t.rotate_signing_key(NOW + 100).await.unwrap();
    assert_ne!(new_kid, old_kid);
    assert_eq!(env.keyring.active_kid().as_deref(), Some(new_kid.as_str()));
    let keys = env.keyring.keys();
    let old = keys.iter().find(|k| k.kid == old_kid).unwrap();
    assert_eq!(old.state, KeyState::Previous);
    assert_eq!(old.verify_until, Some(NOW + 100 + 3_600));

    // New tokens carry the new kid; old ones still verify.
    let new_token = t.mint(&who, None, &[], None, NOW + 200).unwrap();
    assert_eq!(
        token_header(new_token.token.expose())["kid"],
        new_kid.as_str()
    );
    assert!(t.verify(old_token.token.expose(), NOW + 3_000).is_ok());
    assert!(t.verify(new_token.token.expose(), NOW + 300).is_ok());

    // JWKS publishes both, active first, in the RFC 8037 shape.
    let jwks = t.jwks();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(published.len(), 2);
    assert_eq!(published[0]["kid"], new_kid.as_str());
    assert_eq!(published[1]["kid"], old_kid.as_str());
    for key in published {
        let obj = key.as_object().unwrap();
        let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["x"].as_str().unwrap().len(), 43);
    }

    // Nothing to retire before verify_until; at it, the old key goes.
    assert!(t.retire_signing_keys(NOW + 3_699).await.unwrap().is_empty());
    assert_eq!(
        t.retire_signing_keys(NOW + 3_700).await.unwrap(),
        std::slice::from_ref(&old_kid)
    );
    let jwks = t.jwks();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
    let retired = env.keyring.keys();
    assert_eq!(
        retired.iter().find(|k| k.kid == old_kid).unwrap().state,
        KeyState::Retired
    );
    // A retired key verifies nothing, whatever the clock says.
    assert!(matches!(
        t.verify(old_token.token.expose(), NOW + 3_000),
        Err(AuthError::InvalidToken(TokenRejection::UnknownKey))
    ));
    assert!(t.verify(new_token.token.expose(), NOW + 300).is_ok());
}

#[tokio::test]
async fn previous_key_stops_verifying_after_verify_until_even_before_retirement() {
    let env = token_support::env().await;
    let who = identity(&env, "billing").await;
    let t = &env.tokens;
    let old = t.mint(&who, None, &[], Some(HOUR), NOW).unwrap();
    // Rotation with a shorter overlap than the token's life (as if the
    // maximum had been lowered): the key check applies on its own.
    env.keyring
        .rotate(NOW + 10, Duration::from_secs(600))
        .await
        .unwrap();
    assert!(t.verify(old.token.expose(), NOW + 600).is_ok());
    assert!(matches!(
        t.verify(old.token.expose(), NOW + 10 + 600 + 5),
        Err(AuthError::InvalidToken(TokenRejection::UnknownKey))
    ));
}

#[tokio::test]
async fn other_replicas_pick_up_rotation_on_refresh() {
    let env = token_support::env().await;
    let who = identity(&env, "billing").await;
    let (_store2, other) = token_support::replica(env.dir.path(), &env.kek).await;
    env.tokens.rotate_signing_key(NOW + 1).await.unwrap();
    let minted = env.tokens.mint(&who, None, &[], None, NOW + 2).unwrap();
    assert!(matches!(
        other.verify(minted.token.expose(), NOW + 2),
        Err(AuthError::InvalidToken(TokenRejection::UnknownKey))
    ));
    assert!(other.refresh(NOW + 2).await.unwrap());
    assert!(other.verify(minted.token.expose(), NOW + 2).is_ok());
    assert_eq!(
        other.keyring().active_kid(),
        env.keyring.active_kid(),
        "the replica signs with the new key too"
    );
}
