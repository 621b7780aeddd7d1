//! `access_token`: the gateway's own access tokens, verified as
//! `Authorization: Bearer` is (from memory, against the keyring and the
//! revocation state), with a signing key the seeds were made with.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, AuthMethod, KeyEncryptionKey, SigningKeyring,
};
use modelgate_store::{SigningKeyRecord, Store};
use ring::signature::KeyPair as _;
use serde_json::Value;

use crate::keys::{
    ACCESS_TOKEN_AUDIENCE, ACCESS_TOKEN_ISSUER, ACCESS_TOKEN_KID, ACCESS_TOKEN_SEED, NOW,
    ed25519_pair, ed25519_pkcs8,
};
use crate::runtime::block_on;

/// The settings the target verifies with: the fixed issuer and audience,
/// and no memo of verified tokens (so every input is parsed and checked).
pub fn settings() -> AccessTokenSettings {
    AccessTokenSettings {
        issuer: ACCESS_TOKEN_ISSUER.to_owned(),
        audience: ACCESS_TOKEN_AUDIENCE.to_owned(),
        verified_cache_capacity: 0,
        ..AccessTokenSettings::default()
    }
}

/// Access tokens over a store holding the fixed key as the active one
/// (built once; the seeds mint with it). The store's directory is removed
/// once loaded: verification reads memory.
pub fn access_tokens() -> &'static AccessTokens {
    static TOKENS: OnceLock<AccessTokens> = OnceLock::new();
    TOKENS.get_or_init(|| match block_on(build()) {
        Ok(tokens) => tokens,
        Err(e) => panic!("access token setup failed: {e}"),
    })
}

async fn build() -> Result<AccessTokens, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Store::open_sqlite(&dir.path().join("fuzz.db"))
        .await
        .map_err(|e| e.to_string())?;
    let kek = KeyEncryptionKey::generate().map_err(|e| e.to_string())?;
    let pair = ed25519_pair(&ACCESS_TOKEN_SEED);
    let sealed = kek
        .seal(
            &ed25519_pkcs8(&ACCESS_TOKEN_SEED),
            ACCESS_TOKEN_KID.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: ACCESS_TOKEN_KID.to_owned(),
            algorithm: "EdDSA".to_owned(),
            public_key: pair.public_key().as_ref().to_vec(),
            sealed_private_key: sealed,
            created_at: NOW - 10,
            state: "active".to_owned(),
            verify_until: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    let keyring = SigningKeyring::load(store.clone(), kek)
        .await
        .map_err(|e| e.to_string())?;
    AccessTokens::new(store, keyring, settings(), NOW)
        .await
        .map_err(|e| e.to_string())
}

/// The payload of a compact JWS as JSON, if it is one.
fn payload(token: &str) -> Option<Value> {
    let segment = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).ok()?).ok()
}

/// Verifies `data` as an access token. An accepted token's principal must
/// be the one its claims describe.
pub fn access_token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let tokens = access_tokens();
    let Ok(principal) = tokens.verify(token, NOW) else {
        return;
    };
    let claims = payload(token);
    let claim = |name: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(claim("iss").as_deref(), Some(ACCESS_TOKEN_ISSUER));
    assert_eq!(
        claim("sub").as_deref(),
        Some(principal.identity_id.as_str())
    );
    assert_eq!(
        claim("jti").as_deref(),
        Some(principal.credential_id.as_str())
    );
    assert_eq!(
        claim("client_id").as_deref(),
        Some(principal.identity_name.as_str())
    );
    assert_eq!(claim("scope"), principal.scope);
    assert_eq!(principal.auth_method, AuthMethod::AccessToken);
    let exp = claims
        .as_ref()
        .and_then(|c| c.get("exp"))
        .and_then(Value::as_i64);
    assert!(
        exp.is_some_and(|exp| exp > NOW - 60),
        "accepted an expired token"
    );
    // A second look gives the same answer.
    assert_eq!(tokens.verify(token, NOW).ok(), Some(principal));
}
