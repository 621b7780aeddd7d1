//! The attack suite: each forged, stale, misdirected or confusing token is
//! refused with its exact error.

mod common_federation;

use common_federation::*;
use modelgate_identity::federation::{Federation, FederationError};
use ring::hmac;
use serde_json::json;

const ISS: &str = "https://idp.example";

fn name() -> String {
    "idp".to_owned()
}

/// An oidc issuer (RS256, ES256) with an RSA key `rsa-1` and an EC key
/// `ec-1`; rules: `svc-a` -> identity `svc-a`.
fn setup() -> (TestIssuer, std::sync::Arc<MemorySource>, Federation) {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(ISS, vec![TestKey::rsa("rsa-1"), TestKey::es256("ec-1")]);
    issuer.publish(&source);
    let mut settings = oidc_settings("idp", &issuer, "svc-a", "svc-a");
    settings["refresh_interval"] = json!("1s");
    let fed = federation(vec![settings], &source);
    (issuer, source, fed)
}

fn claims() -> serde_json::Value {
    basic_claims(ISS, "svc-a")
}

async fn refuse(fed: &Federation, token: &str) -> FederationError {
    match fed.verify(token, NOW).await {
        Ok(s) => panic!("accepted a token that must be refused: {s:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn the_honest_token_is_accepted() {
    let (issuer, _, fed) = setup();
    assert_eq!(
        fed.verify(&issuer.token(&claims()), NOW)
            .await
            .unwrap()
            .identity,
        "svc-a"
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (_, source, fed) = setup();
    let token = assemble(r#"{"alg":"none"}"#, &claims().to_string(), b"");
    assert!(token.ends_with('.'));
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::UnsupportedAlgorithm
    );
    // Also with a kid and other spellings.
    for alg in ["none", "None", "NONE", ""] {
        let header = json!({"alg": alg, "kid": "rsa-1"}).to_string();
        let token = assemble(&header, &claims().to_string(), b"");
        assert_eq!(
            refuse(&fed, &token).await,
            FederationError::UnsupportedAlgorithm,
            "{alg}"
        );
    }
    assert_eq!(source.total(), 0, "refused before any key was loaded");
}

#[tokio::test]
async fn hs256_with_the_public_key_as_secret_is_refused() {
    let (issuer, _, fed) = setup();
    let rsa = &issuer.keys[0];
    let header = json!({"alg": "HS256", "kid": "rsa-1"}).to_string();
    let payload = claims().to_string();
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    for secret in [rsa.public_key_bytes(), issuer.jwks()] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
        let tag = hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", b64(tag.as_ref()));
        assert_eq!(
            refuse(&fed, &token).await,
            FederationError::UnsupportedAlgorithm
        );
    }
}

#[tokio::test]
async fn unknown_kid_refetches_once_then_is_refused() {
    let (issuer, source, fed) = setup();
    fed.verify(&issuer.token(&claims()), NOW).await.unwrap();
    assert_eq!(source.count(&issuer.jwks_url), 1);

    let stranger = TestKey::rsa_b("rsa-9");
    let token = issuer.token_with(&stranger, json!({}), &claims());
    let later = NOW + 5;
    let err = fed.verify(&token, later).await.unwrap_err();
    assert_eq!(err, FederationError::UnknownKey { issuer: name() });
    assert_eq!(source.count(&issuer.jwks_url), 2, "one refetch");

    // An immediate second attempt does not refetch.
    let err = fed.verify(&token, later).await.unwrap_err();
    assert_eq!(err, FederationError::UnknownKey { issuer: name() });
    assert_eq!(source.count(&issuer.jwks_url), 2, "rate limited");
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let (issuer, _, fed) = setup();
    let mut c = claims();
    c["exp"] = json!(NOW - 31); // beyond the default 30 s leeway
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::Expired { issuer: name() }
    );
    let mut c = claims();
    c["exp"] = json!(NOW - 29); // within leeway
    assert!(fed.verify(&issuer.token(&c), NOW).await.is_ok());

    let mut c = claims();
    c["nbf"] = json!(NOW + 120);
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::NotYetValid { issuer: name() }
    );
    let mut c = claims();
    c["iat"] = json!(NOW + 120);
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::IssuedInFuture { issuer: name() }
    );
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let (issuer, _, fed) = setup();
    for iss in [
        json!("https://evil.example"),
        json!("https://idp.example/"),
        json!("HTTPS://IDP.EXAMPLE"),
    ] {
        let mut c = claims();
        c["iss"] = iss;
        assert_eq!(
            refuse(&fed, &issuer.token(&c)).await,
            FederationError::UnknownIssuer
        );
    }
    let mut c = claims();
    c.as_object_mut().unwrap().remove("iss");
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::UnknownIssuer
    );
    let mut c = claims();
    c["iss"] = json!([ISS]);
    assert_eq!(refuse(&fed, &issuer.token(&c)).await.label(), "malformed");
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let (issuer, _, fed) = setup();
    for aud in [json!("https://other.example"), json!(["a", "b"]), json!([])] {
        let mut c = claims();
        c["aud"] = aud;
        assert_eq!(
            refuse(&fed, &issuer.token(&c)).await,
            FederationError::WrongAudience { issuer: name() }
        );
    }
    let mut c = claims();
    c["aud"] = json!([AUDIENCE, 7]);
    assert_eq!(refuse(&fed, &issuer.token(&c)).await.label(), "malformed");
}

#[tokio::test]
async fn missing_or_string_exp_is_refused() {
    let (issuer, _, fed) = setup();
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::MissingClaim {
            issuer: name(),
            claim: "exp"
        }
    );
    let mut c = claims();
    c["exp"] = json!((NOW + 300).to_string());
    let err = refuse(&fed, &issuer.token(&c)).await;
    assert_eq!(err.label(), "malformed");
    assert_eq!(err.oauth_error(), "invalid_request");
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let (issuer, _, fed) = setup();
    let token = issuer.token(&claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let mut forged = claims();
    forged["sub"] = json!("svc-admin");
    let forged = b64(forged.to_string().as_bytes());
    parts[1] = &forged;
    assert_eq!(
        refuse(&fed, &parts.join(".")).await,
        FederationError::BadSignature { issuer: name() }
    );
}

#[tokio::test]
async fn another_issuers_key_with_the_same_kid_is_refused() {
    let (issuer, _, fed) = setup();
    let impostor = TestKey::rsa_b("rsa-1");
    let token = issuer.token_with(&impostor, json!({}), &claims());
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::BadSignature { issuer: name() }
    );
    let impostor = TestKey::es256("ec-1");
    let token = issuer.token_with(&impostor, json!({}), &claims());
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::BadSignature { issuer: name() }
    );
}

#[tokio::test]
async fn oversized_token_is_refused_before_parsing() {
    let (issuer, source, fed) = setup();
    let mut c = claims();
    c["padding"] = json!("x".repeat(9000));
    let token = issuer.token(&c);
    assert!(token.len() > 8192);
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::TooLarge { limit: 8192 }
    );
    let junk = "!".repeat(8193);
    assert_eq!(
        refuse(&fed, &junk).await,
        FederationError::TooLarge { limit: 8192 }
    );
    assert_eq!(source.total(), 0);
}

#[tokio::test]
async fn spiffe_key_without_jwt_svid_use_is_refused() {
    let source = MemorySource::new();
    let spire = TestIssuer::new(
        "https://spire.example.org",
        vec![TestKey::es256("svid-1"), TestKey::rsa("x509")],
    );
    let keys = [
        spire.keys[0].jwk_with(json!({"use": "jwt-svid"})),
        spire.keys[1].jwk_with(json!({"use": "x509-svid"})),
    ];
    source.set(&spire.jwks_url, jwks(&keys));
    let fed = federation(
        vec![json!({
            "name": "spire", "preset": "spiffe", "issuer": spire.iss, "audience": AUDIENCE,
            "jwks_url": spire.jwks_url,
            "rules": [{"identity": "ledger", "claims": {"sub": "spiffe://example.org/*"}}],
        })],
        &source,
    );
    let c = basic_claims(&spire.iss, "spiffe://example.org/ledger");
    assert!(fed.verify(&spire.token(&c), NOW).await.is_ok());
    let token = spire.token_with(&spire.keys[1], json!({}), &c);
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::KeyNotForJwtSvid {
            issuer: "spire".into()
        }
    );
}

#[tokio::test]
async fn token_matching_no_rule_is_refused() {
    let (issuer, _, fed) = setup();
    let c = basic_claims(ISS, "svc-b");
    assert_eq!(
        refuse(&fed, &issuer.token(&c)).await,
        FederationError::NoMatchingRule {
            issuer: name(),
            claim: "sub".into(),
        }
    );
}

#[tokio::test]
async fn two_rules_for_different_identities_are_ambiguous() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(ISS, vec![TestKey::rsa("rsa-1")]);
    issuer.publish(&source);
    let mut settings = oidc_settings("idp", &issuer, "svc-a", "svc-a");
    settings["rules"] = json!([
        {"identity": "svc-a", "claims": {"sub": "svc-a"}},
        {"identity": "svc-admin", "claims": {"sub": "svc-*"}},
    ]);
    let fed = federation(vec![settings], &source);
    let err = refuse(&fed, &issuer.token(&claims())).await;
    assert_eq!(err, FederationError::AmbiguousRule { issuer: name() });
    assert_eq!(err.oauth_error(), "invalid_grant");
}

#[tokio::test]
async fn rsa_key_with_an_es256_header_is_key_confusion() {
    let (issuer, source, fed) = setup();
    // Publish the keys without `alg` members (as many issuers do), so that
    // only the key type decides.
    let bare: Vec<_> = issuer.keys.iter().map(|k| k.jwk()).collect();
    source.set(&issuer.jwks_url, jwks(&bare));
    assert!(bare.iter().all(|k| k.get("alg").is_none()));
    let rsa = &issuer.keys[0];
    let ec = &issuer.keys[1];
    // ES256 header naming the RSA key, signed by an EC key (any signature).
    let token = mint(&json!({"alg": "ES256", "kid": rsa.kid}), &claims(), ec);
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::KeyMismatch { issuer: name() }
    );
    // RS256 header naming the EC key.
    let token = mint(&json!({"alg": "RS256", "kid": ec.kid}), &claims(), rsa);
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::KeyMismatch { issuer: name() }
    );
}

#[tokio::test]
async fn crit_header_is_refused() {
    let (issuer, _, fed) = setup();
    let token = issuer.token_with(
        &issuer.keys[0],
        json!({"crit": ["b64"], "b64": false}),
        &claims(),
    );
    assert_eq!(refuse(&fed, &token).await, FederationError::CriticalHeader);
    let token = issuer.token_with(&issuer.keys[0], json!({"crit": []}), &claims());
    assert_eq!(refuse(&fed, &token).await, FederationError::CriticalHeader);
}

#[tokio::test]
async fn algorithm_outside_the_issuers_allow_list_is_refused() {
    let (issuer, _, fed) = setup();
    // PS256 is a supported algorithm, but not in oidc's default [RS256, ES256].
    let token = issuer.token_with(&issuer.keys[0], json!({"alg": "PS256"}), &claims());
    assert_eq!(
        refuse(&fed, &token).await,
        FederationError::UnsupportedAlgorithm
    );
}

#[tokio::test]
async fn malformed_shapes_are_invalid_requests() {
    let (issuer, _, fed) = setup();
    let good = issuer.token(&claims());
    let (head, rest) = good.split_once('.').unwrap();
    let cases = [
        String::new(),
        "abc".to_owned(),
        format!("{good}."),
        format!("{good}.x"),
        format!("{head}={rest}"),
        format!("{head}.{}", rest.replacen('.', ".+", 1)),
        format!("{}.{rest}", b64(br#"{"alg":"RS256","alg":"RS256"}"#)),
        format!("{}.{rest}", b64(b"[]")),
        good.replace('.', ". "),
    ];
    for token in cases {
        let err = refuse(&fed, &token).await;
        assert_eq!(err.label(), "malformed", "{token:.40}");
        assert_eq!(err.oauth_error(), "invalid_request");
    }
    let dup_claims = format!(r#"{{"sub":"svc-b","sub":"svc-a","iss":"{ISS}"}}"#);
    let token = assemble(r#"{"alg":"RS256","kid":"rsa-1"}"#, &dup_claims, b"sig");
    assert_eq!(refuse(&fed, &token).await.label(), "malformed");
}
