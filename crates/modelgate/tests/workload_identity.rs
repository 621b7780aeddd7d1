//! Workload identity end to end: federation with a test issuer serving real
//! discovery and JWKS over HTTP, the JWT attack suite through the token
//! endpoint, access tokens on the data plane, and delegation. Revocation
//! and rotation are in `workload_rotation.rs`, offboarding and the admin
//! API in `workload_admin.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::issuer::{TestKey, jws};
use common::tokens::*;
use common::*;
use serde_json::{Value, json};

/// Exchanges the access token `subject` with `actor` acting for it.
async fn delegate(gw: &TestGateway, subject: &str, actor: &str) -> Reply {
    exchange_with(
        gw,
        subject,
        AT_TYPE,
        &[("actor_token", actor), ("actor_token_type", AT_TYPE)],
    )
    .await
}

#[tokio::test]
async fn github_and_kubernetes_tokens_exchange_then_call_the_model() {
    let w = world_with_spiffe("").await;
    let t = now();
    let gh = w.github_token(&w.github_claims(t));
    let r = exchange(&w.gw, &gh).await;
    let access = issued(&r);
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_token_type"], AT_TYPE);
    assert_eq!(r.headers["cache-control"], "no-store");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in <= 300, "{expires_in}");
    let header = header_of(&access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let claims = claims_of(&access);
    assert_eq!(claims["client_id"], "billing-ci-prod");
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti"] {
        assert!(claims.get(claim).is_some(), "{claim} missing");
    }
    let r = chat_with(&w.gw, &access).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        !format!("{:?}", w.mock.requests()).contains(&access),
        "the access token never goes upstream"
    );

    let k8s_access = exchanged(&w.gw, &w.k8s_token(&w.k8s_claims(t))).await;
    assert_eq!(claims_of(&k8s_access)["client_id"], "payments-api");
    assert_eq!(chat_with(&w.gw, &k8s_access).await.status, 200);

    // The gateway publishes what verifies its tokens.
    let jwks = get_path(&w.gw, "/.well-known/jwks.json").await.json();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    let discovery = get_path(&w.gw, "/.well-known/openid-configuration")
        .await
        .json();
    assert!(
        discovery["token_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth2/token")
    );
    assert!(!w.gw.logs().contains(&access) && !w.gw.logs().contains(&gh));
}

#[tokio::test]
async fn jwt_attack_suite_is_refused() {
    let w = world_with_spiffe("").await;
    let (spiffe, spiffe_key) = w.spiffe.as_ref().unwrap();
    let t = now();
    let good = w.github_claims(t);
    let header = json!({"alg": "RS256", "kid": "gh-1"});
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = good.clone();
        f(&mut c);
        c
    };
    let b64 = |v: &Value| B64.encode(v.to_string());
    let sign = |c: &Value| jws(&w.github_key, &header, c);

    // HS256 keyed with the issuer's public key bytes.
    let hs_input = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "kid": "gh-1"})),
        b64(&good)
    );
    let public = w.github_key.jwk(json!({}))["n"]
        .as_str()
        .unwrap()
        .to_owned();
    let hmac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, public.as_bytes()),
        hs_input.as_bytes(),
    );
    let hs256 = format!("{hs_input}.{}", B64.encode(hmac.as_ref()));
    let good_token = sign(&good);
    let mut parts: Vec<&str> = good_token.split('.').collect();
    let tampered_payload = b64(&with(&|c| {
        c["sub"] = json!("repo:acme/payroll:environment:prod")
    }));
    parts[1] = &tampered_payload;
    let tampered = parts.join(".");
    let other_key = TestKey::ec("gh-1");
    let other = jws(&other_key, &json!({"alg": "ES256", "kid": "gh-1"}), &good);
    let big = with(&|c| c["padding"] = json!("x".repeat(10_000)));
    let svid_claims = json!({"iss": spiffe.url, "sub": "spiffe://acme.test/payments/api", "aud": [AUD], "exp": t + 300, "iat": t});
    let svid = jws(
        spiffe_key,
        &json!({"alg": "ES256", "kid": "svid-1", "typ": "JWT"}),
        &svid_claims,
    );

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&good)),
            "invalid_grant",
        ),
        ("HS256 with the public key", hs256, "invalid_grant"),
        (
            "unknown kid",
            jws(
                &w.github_key,
                &json!({"alg": "RS256", "kid": "nope"}),
                &good,
            ),
            "invalid_grant",
        ),
        (
            "expired",
            sign(&with(&|c| {
                c["exp"] = json!(t - 600);
                c["iat"] = json!(t - 900);
                c["nbf"] = json!(t - 900);
            })),
            "invalid_grant",
        ),
        (
            "nbf in the future",
            sign(&with(&|c| c["nbf"] = json!(t + 600))),
            "invalid_grant",
        ),
        (
            "wrong iss",
            sign(&with(&|c| c["iss"] = json!("https://evil.example"))),
            "invalid_grant",
        ),
        (
            "wrong aud",
            sign(&with(&|c| c["aud"] = json!("someone-else"))),
            "invalid_grant",
        ),
        (
            "missing exp",
            sign(&with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            "invalid_grant",
        ),
        ("tampered payload", tampered, "invalid_grant"),
        ("another key, same kid", other, "invalid_grant"),
        ("oversized", sign(&big), "invalid_request"),
        ("spiffe key without use jwt-svid", svid, "invalid_grant"),
        (
            "no matching rule",
            sign(&with(&|c| {
                c["sub"] = json!("repo:acme/billing:environment:dev")
            })),
            "invalid_grant",
        ),
        ("garbage", "not-a-jwt".to_owned(), "invalid_request"),
    ];
    for (name, token, code) in cases {
        let r = exchange(&w.gw, &token).await;
        assert_eq!(r.status, 400, "{name}: {}", r.text());
        let error = r.json()["error"].as_str().unwrap().to_owned();
        if name == "missing exp" {
            assert!(
                error == "invalid_grant" || error == "invalid_request",
                "{name}: {error}"
            );
        } else {
            assert_eq!(error, code, "{name}: {}", r.text());
        }
        assert!(
            !r.text().contains(&token[..token.len().min(40)]) || token.len() < 20,
            "{name}: token echoed"
        );
        // Nor does the raw token work as a data-plane credential.
        assert_eq!(chat_with(&w.gw, &token).await.status, 401, "{name}");
    }
    assert!(w.mock.requests().is_empty(), "nothing was forwarded");
    // Bad requests to the endpoint itself.
    let r = token_request(&w.gw, &[("grant_type", EXCHANGE), ("subject_token", "x")]).await;
    assert_eq!(
        r.json()["error"],
        "invalid_request",
        "no subject token type"
    );
    let r = token_request(&w.gw, &[("grant_type", "password")]).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let gh = w.github_token(&good);
    let r = exchange_with(&w.gw, &gh, JWT_TYPE, &[("audience", "https://elsewhere")]).await;
    assert_eq!(r.json()["error"], "invalid_target");
    let r = call(
        "POST",
        &w.gw.url("/oauth2/token"),
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 400, "a JSON body: {}", r.text());
}

#[tokio::test]
async fn delegation_chain_is_carried_and_visible() {
    let w = world_with_spiffe("").await;
    // The service's token is the subject; the agent acts for it.
    let service = exchanged(&w.gw, &w.k8s_token(&w.k8s_claims(now()))).await;
    let agent = token_for_key(&w.gw, &key_for(&w.gw, "support-agent")).await;
    let delegated = issued(&delegate(&w.gw, &service, &agent).await);
    let claims = claims_of(&delegated);
    assert_eq!(
        claims["client_id"], "payments-api",
        "the token is for the subject"
    );
    assert_eq!(claims["act"]["sub"], "support-agent", "the actor is in act");

    // A second hop nests the earlier actor.
    let tool_key = w.gw.new_identity("search-tool", "tool", "prod");
    let tool = token_for_key(&w.gw, &tool_key).await;
    let nested = issued(&delegate(&w.gw, &delegated, &tool).await);
    let claims = claims_of(&nested);
    assert_eq!(claims["act"]["sub"], "search-tool");
    assert_eq!(claims["act"]["act"]["sub"], "support-agent");
    assert_eq!(chat_with(&w.gw, &nested).await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        w.gw.logs().contains("delegation=search-tool>support-agent"),
        "the call path is logged: {}",
        w.gw.logs()
    );
}
