//! The JWKS cache: rotation via refetch on an unknown kid, the refetch rate
//! limit, TTL expiry, fetch failures with and without cached keys, single
//! flight under concurrency, and static JWKS files.

// Helpers below unwrap: a failing setup should abort the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_federation;

use std::sync::Arc;
use std::time::Duration;

use common_federation::*;
use modelgate_identity::federation::{Federation, FederationError};
use serde_json::json;

const ISS: &str = "https://idp.example";

fn claims() -> serde_json::Value {
    basic_claims(ISS, "svc")
}

fn setup(refresh: Option<&str>) -> (TestIssuer, Arc<MemorySource>, Federation) {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(ISS, vec![TestKey::es256("k1")]);
    issuer.publish(&source);
    let mut settings = oidc_settings("idp", &issuer, "svc", "svc");
    if let Some(refresh) = refresh {
        settings["refresh_interval"] = json!(refresh);
    }
    let fed = federation(vec![settings], &source);
    (issuer, source, fed)
}

fn unknown_key() -> FederationError {
    FederationError::UnknownKey {
        issuer: "idp".into(),
    }
}

#[tokio::test]
async fn key_rotation_is_picked_up_by_refetch_on_unknown_kid() {
    let (mut issuer, source, fed) = setup(Some("1s"));
    fed.verify(&issuer.token(&claims()), NOW).await.unwrap();
    assert_eq!(source.count(&issuer.jwks_url), 1);

    // The issuer rotates: k2 replaces k1.
    issuer.keys = vec![TestKey::es256("k2")];
    issuer.publish(&source);
    let subject = fed.verify(&issuer.token(&claims()), NOW + 2).await.unwrap();
    assert_eq!(subject.identity, "svc");
    assert_eq!(source.count(&issuer.jwks_url), 2);

    // Known kid afterwards: no more fetches.
    fed.verify(&issuer.token(&claims()), NOW + 3).await.unwrap();
    assert_eq!(source.count(&issuer.jwks_url), 2);
}

#[tokio::test]
async fn refetches_are_rate_limited_by_refresh_interval() {
    let (mut issuer, source, fed) = setup(None); // default 5m
    fed.verify(&issuer.token(&claims()), NOW).await.unwrap();
    issuer.keys = vec![TestKey::es256("k2")];
    issuer.publish(&source);
    let token = issuer.token(&claims());

    assert_eq!(
        fed.verify(&token, NOW + 60).await.unwrap_err(),
        unknown_key()
    );
    assert_eq!(
        fed.verify(&token, NOW + 299).await.unwrap_err(),
        unknown_key()
    );
    assert_eq!(
        source.count(&issuer.jwks_url),
        1,
        "within 5m of the last fetch"
    );
    assert!(fed.verify(&token, NOW + 300).await.is_ok());
    assert_eq!(source.count(&issuer.jwks_url), 2);
}

#[tokio::test]
async fn cache_ttl_expiry_refetches_on_next_verify() {
    let (issuer, source, fed) = setup(None);
    let token = issuer.token(&claims_valid_until(NOW + 7200));
    fed.verify(&token, NOW).await.unwrap();
    fed.verify(&token, NOW + 3599).await.unwrap();
    assert_eq!(source.count(&issuer.jwks_url), 1);
    fed.verify(&token, NOW + 3600).await.unwrap();
    assert_eq!(source.count(&issuer.jwks_url), 2);
    assert_eq!(fed.issuers()[0].keys_loaded_at, Some(NOW + 3600));
}

fn claims_valid_until(exp: i64) -> serde_json::Value {
    let mut c = claims();
    c["exp"] = json!(exp);
    c
}

#[tokio::test]
async fn fetch_failure_keeps_the_cached_keys() {
    let (issuer, source, fed) = setup(None);
    let token = issuer.token(&claims_valid_until(NOW + 9000));
    fed.verify(&token, NOW).await.unwrap();

    source.fail(&issuer.jwks_url);
    let stale = NOW + 3601;
    assert!(fed.verify(&token, stale).await.is_ok());
    assert_eq!(source.count(&issuer.jwks_url), 2, "the refetch was tried");
    assert!(fed.verify(&token, stale + 1).await.is_ok());
    assert_eq!(
        source.count(&issuer.jwks_url),
        2,
        "no retry within refresh_interval"
    );

    // A garbage document is a failure too.
    source.set(&issuer.jwks_url, b"<html>oops</html>".to_vec());
    assert!(fed.verify(&token, stale + 300).await.is_ok());
    assert_eq!(source.count(&issuer.jwks_url), 3);

    // Back to normal: the next allowed refetch stores a fresh set.
    issuer.publish(&source);
    assert!(fed.verify(&token, stale + 600).await.is_ok());
    assert_eq!(source.count(&issuer.jwks_url), 4);
    assert_eq!(fed.issuers()[0].keys_loaded_at, Some(stale + 600));
}

#[tokio::test]
async fn fetch_failure_without_cached_keys_is_unavailable() {
    let (issuer, source, fed) = setup(None);
    source.fail(&issuer.jwks_url);
    let token = issuer.token(&claims());
    let err = fed.verify(&token, NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::JwksUnavailable {
            issuer: "idp".into()
        }
    );
    assert_eq!(err.oauth_error(), "temporarily_unavailable");
    // Retried at most every 10 s while nothing is cached.
    assert!(fed.verify(&token, NOW + 9).await.is_err());
    assert_eq!(source.count(&issuer.jwks_url), 1);
    issuer.publish(&source);
    assert!(fed.verify(&token, NOW + 10).await.is_ok());
    assert_eq!(source.count(&issuer.jwks_url), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifies_share_one_fetch() {
    let (mut issuer, source, fed) = setup(Some("1s"));
    source.set_delay(Duration::from_millis(150));
    let fed = Arc::new(fed);

    // Cold cache: 8 concurrent verifies, one fetch.
    let token = issuer.token(&claims());
    let results = run_concurrently(&fed, &token, NOW, 8).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(source.count(&issuer.jwks_url), 1);

    // Rotation: 8 concurrent verifies with the new kid, one refetch.
    issuer.keys = vec![TestKey::es256("k2")];
    issuer.publish(&source);
    let token = issuer.token(&claims());
    let results = run_concurrently(&fed, &token, NOW + 5, 8).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(source.count(&issuer.jwks_url), 2);

    // A kid nobody has: 8 concurrent verifies, one refetch, all refused.
    let stranger = TestKey::es256("k-unknown");
    let token = issuer.token_with(&stranger, json!({}), &claims());
    let results = run_concurrently(&fed, &token, NOW + 10, 8).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().err() == Some(&unknown_key())),
        "{results:?}"
    );
    assert_eq!(source.count(&issuer.jwks_url), 3);
}

async fn run_concurrently(
    fed: &Arc<Federation>,
    token: &str,
    now: i64,
    n: usize,
) -> Vec<Result<String, FederationError>> {
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let fed = Arc::clone(fed);
            let token = token.to_owned();
            tokio::spawn(async move { fed.verify(&token, now).await.map(|s| s.identity) })
        })
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
async fn jwks_file_is_read_lazily_and_reread_on_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    let source = MemorySource::new();
    let mut issuer = TestIssuer::new(ISS, vec![TestKey::rsa("f1")]);
    let mut settings = oidc_settings("idp", &issuer, "svc", "svc");
    settings.as_object_mut().unwrap().remove("jwks_url");
    settings["jwks_file"] = json!(path);
    settings["refresh_interval"] = json!("1s");
    // The file does not exist yet: new() does not read it.
    let fed = federation(vec![settings], &source);
    let err = fed.verify(&issuer.token(&claims()), NOW).await.unwrap_err();
    assert_eq!(err.label(), "jwks_unavailable");

    std::fs::write(&path, issuer.jwks()).unwrap();
    assert!(fed.verify(&issuer.token(&claims()), NOW + 1).await.is_ok());

    // Rotate the file; the unknown kid triggers a re-read.
    issuer.keys = vec![TestKey::rsa_b("f2")];
    std::fs::write(&path, issuer.jwks()).unwrap();
    assert!(fed.verify(&issuer.token(&claims()), NOW + 3).await.is_ok());
    assert_eq!(
        source.total(),
        0,
        "files are not fetched through the source"
    );
}

#[tokio::test]
async fn weak_and_unsupported_keys_are_skipped_not_fatal() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(ISS, vec![TestKey::es256("good")]);
    let mut short_n = vec![0xC3_u8; 128]; // 1024-bit modulus
    short_n[127] |= 1;
    let keys = [
        json!({"kty": "RSA", "kid": "weak", "n": b64(&short_n), "e": "AQAB"}),
        json!({"kty": "oct", "kid": "hmac", "k": b64(b"secret")}),
        json!({"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"}),
        issuer.keys[0].jwk(),
    ];
    source.set(&issuer.jwks_url, jwks(&keys));
    let fed = federation(vec![oidc_settings("idp", &issuer, "svc", "svc")], &source);
    assert!(fed.verify(&issuer.token(&claims()), NOW).await.is_ok());
    assert_eq!(fed.issuers()[0].cached_keys, 1);
    let header = json!({"alg": "RS256", "kid": "weak"}).to_string();
    let token = assemble(&header, &claims().to_string(), &[1; 128]);
    assert_eq!(fed.verify(&token, NOW).await.unwrap_err(), unknown_key());
}
