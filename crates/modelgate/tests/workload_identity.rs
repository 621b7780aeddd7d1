//! Workload identity end to end: federation with a test issuer serving real
//! discovery and JWKS over HTTP, the JWT attack suite through the token
//! endpoint, access tokens on the data plane, revocation, rotation,
//! offboarding and delegation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use common::issuer::{TestIssuer, TestKey, jws};
use common::*;
use serde_json::{Value, json};

const AUD: &str = "modelgate-test";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

struct World {
    mock: MockHandle,
    github: TestIssuer,
    github_key: TestKey,
    k8s: TestIssuer,
    k8s_key: TestKey,
    spiffe: TestIssuer,
    spiffe_key: TestKey,
    gw: TestGateway,
}

async fn world(extra: &str) -> World {
    let mock = MockUpstream::start().await.unwrap();
    let github_key = TestKey::rsa("gh-1");
    let github = TestIssuer::start(vec![github_key.jwk(json!({}))]).await;
    let k8s_key = TestKey::ec("k8s-1");
    let k8s = TestIssuer::start(vec![k8s_key.jwk(json!({}))]).await;
    let spiffe_key = TestKey::ec("svid-1");
    // A SPIFFE bundle key published for `sig`, not `jwt-svid`.
    let spiffe = TestIssuer::start(vec![spiffe_key.jwk(json!({"use": "sig"}))]).await;
    let config = format!(
        r#"{TOKENS_SECTION}default_lifetime = "5m"
{extra}

[[issuers]]
name = "github"
preset = "github_actions"
issuer = "{gh}"
audience = "{AUD}"
refresh_interval = "1s"
[[issuers.rules]]
identity = "billing-ci-prod"
claims = {{ sub = "repo:acme/billing:environment:prod", job_workflow_ref = "acme/billing/.github/workflows/*@refs/heads/main" }}

[[issuers]]
name = "k8s"
preset = "kubernetes"
issuer = "{k8s}"
audience = "{AUD}"
refresh_interval = "1s"
[[issuers.rules]]
identity = "payments-api"
claims = {{ sub = "system:serviceaccount:payments:api", "/kubernetes.io/namespace" = "payments" }}

[[issuers]]
name = "spiffe"
preset = "spiffe"
issuer = "{spiffe}"
audience = "{AUD}"
refresh_interval = "1s"
[[issuers.rules]]
identity = "payments-api"
claims = {{ sub = "spiffe://acme.test/payments/api" }}

{upstreams}
[[models]]
name = "chat"
targets = [{{ upstream = "m-openai", model = "demo-chat" }}]
"#,
        gh = github.url,
        k8s = k8s.url,
        spiffe = spiffe.url,
        upstreams = upstreams_on(&mock, "m", ""),
    );
    let gw = TestGateway::start(&config).await;
    for (name, kind) in [
        ("billing-ci-prod", "ci_job"),
        ("payments-api", "service"),
        ("support-agent", "agent"),
    ] {
        let out = gw.cli(&[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            kind,
            "--owner",
            "team-b@example.com",
            "--environment",
            "prod",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    World {
        mock,
        github,
        github_key,
        k8s,
        k8s_key,
        spiffe,
        spiffe_key,
        gw,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

async fn token_request(gw: &TestGateway, pairs: &[(&str, &str)]) -> Reply {
    call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form(pairs),
    )
    .await
}

async fn exchange(gw: &TestGateway, subject: &str) -> Reply {
    token_request(
        gw,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", JWT_TYPE),
        ],
    )
    .await
}

async fn chat_with(gw: &TestGateway, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[("authorization", &auth)],
        chat("chat", false).to_string(),
    )
    .await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

fn github_token(w: &World, claims: &Value) -> String {
    jws(
        &w.github_key,
        &json!({"alg": "RS256", "typ": "JWT", "kid": "gh-1"}),
        claims,
    )
}

#[tokio::test]
async fn github_and_kubernetes_tokens_exchange_then_call_the_model() {
    let w = world("").await;
    let t = now();
    let gh = github_token(
        &w,
        &w.github
            .github_claims(AUD, t, "repo:acme/billing:environment:prod"),
    );
    let r = exchange(&w.gw, &gh).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_token_type"], AT_TYPE);
    assert_eq!(r.headers["cache-control"], "no-store");
    let expires_in = body["expires_in"].as_u64().unwrap();
    assert!(expires_in > 0 && expires_in <= 300, "{expires_in}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let header: Value =
        serde_json::from_slice(&B64.decode(access.split('.').next().unwrap()).unwrap()).unwrap();
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

    let k8s = jws(
        &w.k8s_key,
        &json!({"alg": "ES256", "kid": "k8s-1"}),
        &w.k8s.kubernetes_claims(AUD, t, "payments", "api"),
    );
    let r = exchange(&w.gw, &k8s).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&access)["client_id"], "payments-api");
    assert_eq!(chat_with(&w.gw, &access).await.status, 200);

    // The gateway publishes what verifies its tokens.
    let jwks = call("GET", &w.gw.url("/.well-known/jwks.json"), &[], "")
        .await
        .json();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    let discovery = call(
        "GET",
        &w.gw.url("/.well-known/openid-configuration"),
        &[],
        "",
    )
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
    let w = world("").await;
    let t = now();
    let good = w
        .github
        .github_claims(AUD, t, "repo:acme/billing:environment:prod");
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
    let svid_claims = json!({"iss": w.spiffe.url, "sub": "spiffe://acme.test/payments/api", "aud": [AUD], "exp": t + 300, "iat": t});
    let svid = jws(
        &w.spiffe_key,
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
    assert_eq!(r.json()["error"], "invalid_request");
    let r = token_request(&w.gw, &[("grant_type", "password")]).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let gh = github_token(&w, &good);
    let r = token_request(
        &w.gw,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &gh),
            ("subject_token_type", JWT_TYPE),
            ("audience", "https://elsewhere"),
        ],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_target");
    let r = call(
        "POST",
        &w.gw.url("/oauth2/token"),
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn revoked_token_is_refused_on_replay() {
    let w = world("").await;
    let gh = github_token(
        &w,
        &w.github
            .github_claims(AUD, now(), "repo:acme/billing:environment:prod"),
    );
    let access = exchange(&w.gw, &gh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(chat_with(&w.gw, &access).await.status, 200);
    let jti = claims_of(&access)["jti"].as_str().unwrap().to_owned();
    let out =
        w.gw.cli(&["token", "revoke", &jti, "--identity", "billing-ci-prod"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The CLI wrote the store; the gateway syncs within tokens.sync_interval (1s).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let r = chat_with(&w.gw, &access).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["message"], "invalid access token");
}

#[tokio::test]
async fn api_key_rotation_grace_and_client_credentials() {
    let w = world("").await;
    let old = w.gw.key.clone();
    // Long-lived keys need only ever go to the token endpoint.
    let r = token_request(
        &w.gw,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &old),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        claims_of(r.json()["access_token"].as_str().unwrap())["client_id"],
        "app"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("app:{old}"));
    let r = call(
        "POST",
        &w.gw.url("/oauth2/token"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Basic {basic}")),
        ],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = token_request(
        &w.gw,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", "mgk_wrong"),
        ],
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");

    let keys: Value =
        serde_json::from_slice(&w.gw.cli(&["key", "list", "--format", "json"]).stdout).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_owned();
    let out =
        w.gw.cli(&["key", "rotate", &id, "--grace", "2s", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        chat_with(&w.gw, &old).await.status,
        200,
        "old key works in its grace window"
    );
    assert_eq!(chat_with(&w.gw, &new).await.status, 200);
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert_eq!(
        chat_with(&w.gw, &old).await.status,
        401,
        "old key stops after the grace window"
    );
    assert_eq!(chat_with(&w.gw, &new).await.status, 200);
    assert!(
        !w.gw.cli(&["key", "rotate", &id]).status.success(),
        "a rotated key cannot be rotated again"
    );
}

#[tokio::test]
async fn signing_key_rotation_keeps_previous_tokens_valid_until_they_expire() {
    let w = world("max_lifetime = \"5m\"").await;
    let gh = github_token(
        &w,
        &w.github
            .github_claims(AUD, now(), "repo:acme/billing:environment:prod"),
    );
    let before = exchange(&w.gw, &gh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = w.gw.cli(&["signing-key", "rotate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let jwks = call("GET", &w.gw.url("/.well-known/jwks.json"), &[], "")
        .await
        .json();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "active and previous are published"
    );
    let after = exchange(&w.gw, &gh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let kid = |t: &str| {
        serde_json::from_slice::<Value>(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap()
            ["kid"]
            .clone()
    };
    assert_ne!(
        kid(&before),
        kid(&after),
        "new tokens are signed by the new key"
    );
    assert_eq!(
        chat_with(&w.gw, &before).await.status,
        200,
        "previous key still verifies its tokens"
    );
    assert_eq!(chat_with(&w.gw, &after).await.status, 200);
    let keys: Value = serde_json::from_slice(
        &w.gw
            .cli(&["signing-key", "list", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let states: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"active") && states.contains(&"previous"),
        "{states:?}"
    );
}

#[tokio::test]
async fn offboarding_cascades_to_keys_and_tokens() {
    let w = world("").await;
    let out = w.gw.cli(&[
        "key",
        "create",
        "--identity",
        "payments-api",
        "--expires-in",
        "1d",
        "--format",
        "json",
    ]);
    let key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let k8s = jws(
        &w.k8s_key,
        &json!({"alg": "ES256", "kid": "k8s-1"}),
        &w.k8s.kubernetes_claims(AUD, now(), "payments", "api"),
    );
    let token = exchange(&w.gw, &k8s).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(chat_with(&w.gw, &key).await.status, 200);
    assert_eq!(chat_with(&w.gw, &token).await.status, 200);

    // Through the admin API: effective on the very next request.
    let admin = bootstrap_admin(&w.gw);
    let r = admin_call(
        &w.gw,
        &admin,
        "POST",
        "/admin/v1/identities/payments-api/offboard",
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["keys_revoked"], 1);
    assert_eq!(chat_with(&w.gw, &key).await.status, 401, "key refused");
    assert_eq!(chat_with(&w.gw, &token).await.status, 401, "token refused");
    assert_eq!(exchange(&w.gw, &k8s).await.status, 400, "no new tokens");
    let r = admin_call(
        &w.gw,
        &admin,
        "POST",
        "/admin/v1/identities/payments-api/enable",
        "",
    )
    .await;
    assert_eq!(r.status, 400, "offboarding cannot be undone: {}", r.text());
    assert!(
        !w.gw
            .cli(&[
                "key",
                "create",
                "--identity",
                "payments-api",
                "--expires-in",
                "1d"
            ])
            .status
            .success()
    );
    assert!(
        !w.gw
            .cli(&[
                "identity",
                "create",
                "--name",
                "payments-api",
                "--kind",
                "service",
                "--owner",
                "x",
                "--environment",
                "prod"
            ])
            .status
            .success(),
        "the name is retired"
    );

    // Through the CLI on another identity: effective within the sync interval.
    let gh = github_token(
        &w,
        &w.github
            .github_claims(AUD, now(), "repo:acme/billing:environment:prod"),
    );
    let token = exchange(&w.gw, &gh).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        w.gw.cli(&["identity", "offboard", "billing-ci-prod"])
            .status
            .success()
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(chat_with(&w.gw, &token).await.status, 401);
}

#[tokio::test]
async fn delegation_chain_is_carried_and_visible() {
    let w = world("").await;
    // The service's token is the subject; the agent acts for it.
    let k8s = jws(
        &w.k8s_key,
        &json!({"alg": "ES256", "kid": "k8s-1"}),
        &w.k8s.kubernetes_claims(AUD, now(), "payments", "api"),
    );
    let service = exchange(&w.gw, &k8s).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = w.gw.cli(&[
        "key",
        "create",
        "--identity",
        "support-agent",
        "--expires-in",
        "1d",
        "--format",
        "json",
    ]);
    let agent_key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let agent = token_request(
        &w.gw,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &agent_key),
        ],
    )
    .await
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = token_request(
        &w.gw,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &service),
            ("subject_token_type", AT_TYPE),
            ("actor_token", &agent),
            ("actor_token_type", AT_TYPE),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let delegated = r.json()["access_token"].as_str().unwrap().to_owned();
    let claims = claims_of(&delegated);
    assert_eq!(
        claims["client_id"], "payments-api",
        "the token is for the subject"
    );
    assert_eq!(claims["act"]["sub"], "support-agent", "the actor is in act");

    // A second hop nests the earlier actor.
    let out = w.gw.cli(&[
        "identity",
        "create",
        "--name",
        "search-tool",
        "--kind",
        "tool",
        "--owner",
        "team-b@example.com",
        "--environment",
        "prod",
    ]);
    assert!(out.status.success());
    let out = w.gw.cli(&[
        "key",
        "create",
        "--identity",
        "search-tool",
        "--expires-in",
        "1d",
        "--format",
        "json",
    ]);
    let tool_key = serde_json::from_slice::<Value>(&out.stdout).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let tool = token_request(
        &w.gw,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &tool_key),
        ],
    )
    .await
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = token_request(
        &w.gw,
        &[
            ("grant_type", EXCHANGE),
            ("subject_token", &delegated),
            ("subject_token_type", AT_TYPE),
            ("actor_token", &tool),
            ("actor_token_type", AT_TYPE),
        ],
    )
    .await;
    let nested = r.json()["access_token"].as_str().unwrap().to_owned();
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

/// Bootstraps the admin through the CLI; returns its key.
#[tokio::test]
async fn admin_api_is_role_checked_and_owner_scoped() {
    let w = world("").await;
    assert_eq!(
        admin_call(&w.gw, &w.gw.key, "GET", "/admin/v1/identities", "")
            .await
            .status,
        403,
        "not an admin"
    );
    assert_eq!(
        admin_call(&w.gw, "mgk_nope", "GET", "/admin/v1/identities", "")
            .await
            .status,
        401
    );
    let admin = bootstrap_admin(&w.gw);
    assert!(
        !w.gw.cli(&["admin", "bootstrap"]).status.success(),
        "bootstrap happens once"
    );
    let r = admin_call(
        &w.gw,
        &admin,
        "POST",
        "/admin/v1/identities",
        r#"{"name":"ledger","kind":"service","owner":"team-c@example.com","environment":"prod"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = admin_call(
        &w.gw,
        &admin,
        "POST",
        "/admin/v1/identities/ledger/keys",
        r#"{"expires_in":"1d"}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    let ledger_key = r.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(chat_with(&w.gw, &ledger_key).await.status, 200);

    // An owner-scoped admin for team-c sees only team-c's identities.
    assert!(
        w.gw.cli(&[
            "admin",
            "grant",
            "--identity",
            "ledger",
            "--owner",
            "team-c@example.com"
        ])
        .status
        .success()
    );
    let names: Vec<String> = admin_call(&w.gw, &ledger_key, "GET", "/admin/v1/identities", "")
        .await
        .json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ledger"]);
    assert_eq!(
        admin_call(
            &w.gw,
            &ledger_key,
            "GET",
            "/admin/v1/identities/payments-api",
            ""
        )
        .await
        .status,
        404
    );
    assert_eq!(
        admin_call(
            &w.gw,
            &ledger_key,
            "POST",
            "/admin/v1/identities/payments-api/offboard",
            ""
        )
        .await
        .status,
        404
    );
    let r = admin_call(
        &w.gw,
        &ledger_key,
        "POST",
        "/admin/v1/identities",
        r#"{"name":"x","kind":"service","owner":"team-b@example.com","environment":"prod"}"#,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        admin_call(
            &w.gw,
            &ledger_key,
            "POST",
            "/admin/v1/signing-keys/rotate",
            ""
        )
        .await
        .status,
        403
    );

    // Global admin operations.
    let r = admin_call(&w.gw, &admin, "GET", "/admin/v1/issuers", "").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 3);
    let r = admin_call(&w.gw, &admin, "POST", "/admin/v1/signing-keys/rotate", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let keys = admin_call(&w.gw, &admin, "GET", "/admin/v1/identities/ledger/keys", "")
        .await
        .json();
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let r = admin_call(
        &w.gw,
        &admin,
        "POST",
        &format!("/admin/v1/keys/{key_id}/revoke"),
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(chat_with(&w.gw, &ledger_key).await.status, 401);
    let r = admin_call(&w.gw, &admin, "POST", "/admin/v1/identities", "{not json").await;
    assert_eq!(r.status, 400);
    assert!(
        !w.gw.logs().contains(&admin),
        "the admin key is never logged"
    );
    assert!(w.gw.logs().contains("admin action"));
}
