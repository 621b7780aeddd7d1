//! Shared setup for the access token, keyring and lifecycle tests: a store,
//! a KEK, a keyring whose active key the test also holds (so it can forge
//! tokens with arbitrary headers and claims), access tokens and a service
//! with the tokens attached.

// Test support: failing setup should abort the test loudly; not every test
// file uses every helper.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, Identity, IdentityKind, IdentityService, KeyEncryptionKey,
    KeyPolicy, NewIdentity, SigningKeyring,
};
use modelgate_store::{SigningKeyRecord, Store};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::{Value, json};

/// The test clock.
pub const NOW: i64 = 1_700_000_000;
/// The kid of the key the test holds.
pub const TEST_KID: &str = "testKid000000001";
/// Issuer and audience of the test settings.
pub const ISSUER: &str = "https://gateway.test";
pub const AUDIENCE: &str = "https://gateway.test/v1";

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub kek: KeyEncryptionKey,
    pub keyring: SigningKeyring,
    pub tokens: AccessTokens,
    pub svc: IdentityService,
    /// The active signing key's pair, for forging tokens.
    pub pair: Ed25519KeyPair,
    /// The same key as PKCS#8, for leak checks.
    pub pkcs8: Vec<u8>,
}

pub fn settings() -> AccessTokenSettings {
    AccessTokenSettings {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        ..AccessTokenSettings::default()
    }
}

/// Inserts an active signing key the test knows, sealed with `kek`.
pub async fn insert_known_key(store: &Store, kek: &KeyEncryptionKey) -> (Ed25519KeyPair, Vec<u8>) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: TEST_KID.to_owned(),
            algorithm: "EdDSA".to_owned(),
            public_key: pair.public_key().as_ref().to_vec(),
            sealed_private_key: kek.seal(pkcs8.as_ref(), TEST_KID.as_bytes()).unwrap(),
            created_at: NOW - 10,
            state: "active".to_owned(),
            verify_until: None,
        })
        .await
        .unwrap();
    (pair, pkcs8.as_ref().to_vec())
}

pub async fn env_with(settings: AccessTokenSettings) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("id.db")).await.unwrap();
    let kek = KeyEncryptionKey::generate().unwrap();
    let (pair, pkcs8) = insert_known_key(&store, &kek).await;
    let keyring = SigningKeyring::load(store.clone(), kek.clone())
        .await
        .unwrap();
    let tokens = AccessTokens::new(store.clone(), keyring.clone(), settings, NOW)
        .await
        .unwrap();
    let svc = IdentityService::new(store.clone(), KeyPolicy::default()).with_tokens(tokens.clone());
    Env {
        dir,
        store,
        kek,
        keyring,
        tokens,
        svc,
        pair,
        pkcs8,
    }
}

pub async fn env() -> Env {
    env_with(settings()).await
}

/// A second replica over the same database file: its own store pool,
/// keyring and caches.
pub async fn replica(path: &Path, kek: &KeyEncryptionKey) -> (Store, AccessTokens) {
    let store = Store::open_sqlite(&path.join("id.db")).await.unwrap();
    let keyring = SigningKeyring::load(store.clone(), kek.clone())
        .await
        .unwrap();
    let tokens = AccessTokens::new(store.clone(), keyring, settings(), NOW)
        .await
        .unwrap();
    (store, tokens)
}

pub fn new_identity(name: &str, kind: IdentityKind) -> NewIdentity {
    NewIdentity {
        name: name.to_owned(),
        kind,
        owner: "team-payments".to_owned(),
        environment: "prod".to_owned(),
        purpose: "invoice summaries".to_owned(),
    }
}

pub async fn identity(env: &Env, name: &str) -> Identity {
    env.svc
        .create_identity(new_identity(name, IdentityKind::Service), NOW)
        .await
        .unwrap()
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The header the gateway writes.
pub fn header() -> Value {
    json!({"alg": "EdDSA", "typ": "at+jwt", "kid": TEST_KID})
}

/// Valid claims for `identity`, issued at `NOW` for 15 minutes.
pub fn claims(identity: &Identity) -> Value {
    json!({
        "iss": ISSUER,
        "sub": identity.id,
        "aud": AUDIENCE,
        "exp": NOW + 900,
        "iat": NOW,
        "nbf": NOW,
        "jti": "forgedJti0000000000001",
        "client_id": identity.name,
        "mg_kind": "service",
        "mg_env": identity.environment,
        "mg_owner": identity.owner,
    })
}

/// A token with any header and claims, signed with the test's key.
pub fn forge(pair: &Ed25519KeyPair, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header), b64(claims));
    let sig = pair.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Decodes a token's payload.
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Decodes a token's header.
pub fn token_header(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
