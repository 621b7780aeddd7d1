//! Federation happy paths: realistic GitHub Actions, Kubernetes, SPIFFE and
//! OIDC tokens map to the identity their claim rules name, with every
//! supported algorithm; and the rule semantics (paths, globs, JSON text of
//! numbers and booleans, several rules).

mod common_federation;

use common_federation::*;
use modelgate_identity::federation::{FederationError, Preset};
use serde_json::json;

fn github_settings(rules: serde_json::Value) -> serde_json::Value {
    json!({
        "name": "github",
        "preset": "github_actions",
        "audience": AUDIENCE,
        "jwks_url": format!("{GITHUB_ISS}/.well-known/jwks"),
        "rules": rules,
    })
}

fn github() -> TestIssuer {
    let mut issuer = TestIssuer::new(GITHUB_ISS, vec![TestKey::rsa("gh-1")]);
    issuer.jwks_url = format!("{GITHUB_ISS}/.well-known/jwks");
    issuer
}

#[tokio::test]
async fn github_actions_token_maps_to_identity() {
    let source = MemorySource::new();
    let gh = github();
    gh.publish(&source);
    let fed = federation(
        vec![github_settings(json!([
            {"identity": "billing-ci-prod", "claims": {
                "sub": "repo:acme/billing:environment:prod",
                "job_workflow_ref": "acme/platform/.github/workflows/deploy.yml@refs/tags/*",
            }},
            {"identity": "billing-ci-dev", "claims": {
                "sub": "repo:acme/billing:environment:dev",
            }},
        ]))],
        &source,
    );
    let subject = fed.verify(&gh.token(&github_claims()), NOW).await.unwrap();
    assert_eq!(subject.identity, "billing-ci-prod");
    assert_eq!(subject.issuer_name, "github");
    assert_eq!(subject.issuer, GITHUB_ISS);
    assert_eq!(subject.subject, "repo:acme/billing:environment:prod");
    assert_eq!(subject.expires_at, NOW + 240);
    assert_eq!(subject.claims["runner_environment"], "github-hosted");
    assert_eq!(source.count(&gh.jwks_url), 1);

    // Another reusable workflow (not a tag of acme/platform) does not match.
    let mut claims = github_claims();
    claims["job_workflow_ref"] = json!("acme/billing/.github/workflows/yolo.yml@refs/heads/x");
    let err = fed.verify(&gh.token(&claims), NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::NoMatchingRule {
            issuer: "github".into(),
            claim: "job_workflow_ref".into(),
        }
    );

    // The dev environment maps to the dev identity.
    let mut claims = github_claims();
    claims["sub"] = json!("repo:acme/billing:environment:dev");
    let subject = fed.verify(&gh.token(&claims), NOW).await.unwrap();
    assert_eq!(subject.identity, "billing-ci-dev");
}

#[tokio::test]
async fn github_claims_of_the_wrong_type_are_refused() {
    let source = MemorySource::new();
    let gh = github();
    gh.publish(&source);
    let fed = federation(
        vec![github_settings(
            json!([{"identity": "billing-ci", "claims": {"sub": "repo:acme/*"}}]),
        )],
        &source,
    );
    let mut claims = github_claims();
    claims["repository"] = json!({"name": "acme/billing"});
    let err = fed.verify(&gh.token(&claims), NOW).await.unwrap_err();
    assert_eq!(err.label(), "malformed");
}

#[tokio::test]
async fn kubernetes_token_maps_by_nested_claims() {
    let source = MemorySource::new();
    let iss = "https://kubernetes.default.svc.cluster.local";
    let k8s = TestIssuer::new(iss, vec![TestKey::rsa("k8s-sa-1")]);
    k8s.publish(&source);
    let fed = federation(
        vec![json!({
            "name": "cluster-a",
            "preset": "kubernetes",
            "issuer": iss,
            "audience": AUDIENCE,
            "jwks_url": k8s.jwks_url,
            "rules": [
                {"identity": "payments-api", "claims": {
                    "sub": "system:serviceaccount:payments:*",
                    "/kubernetes.io/namespace": "payments",
                    "/kubernetes.io/serviceaccount/name": "api",
                }},
                {"identity": "payments-worker", "claims": {
                    "sub": "system:serviceaccount:payments:*",
                    "/kubernetes.io/serviceaccount/name": "worker",
                }},
            ],
        })],
        &source,
    );
    let subject = fed.verify(&k8s.token(&k8s_claims(iss)), NOW).await.unwrap();
    assert_eq!(subject.identity, "payments-api");
    assert_eq!(subject.subject, "system:serviceaccount:payments:api");
    assert_eq!(
        subject.claims["kubernetes.io"]["pod"]["name"],
        "api-7d9f8-abcde"
    );

    // A sub that is not a service account breaks the preset.
    let mut claims = k8s_claims(iss);
    claims["sub"] = json!("system:node:node-a");
    let err = fed.verify(&k8s.token(&claims), NOW).await.unwrap_err();
    assert_eq!(err.label(), "preset_violation");

    // An audience list without the gateway's audience.
    let mut claims = k8s_claims(iss);
    claims["aud"] = json!(["https://kubernetes.default.svc"]);
    let err = fed.verify(&k8s.token(&claims), NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::WrongAudience {
            issuer: "cluster-a".into()
        }
    );
}

fn spiffe_setup() -> (TestIssuer, std::sync::Arc<MemorySource>, serde_json::Value) {
    let source = MemorySource::new();
    let spire = TestIssuer::new("https://spire.example.org", vec![TestKey::es256("svid-1")]);
    let key = spire.keys[0].jwk_with(json!({"use": "jwt-svid"}));
    source.set(&spire.jwks_url, jwks(&[key]));
    let settings = json!({
        "name": "spire",
        "preset": "spiffe",
        "issuer": spire.iss,
        "audience": AUDIENCE,
        "jwks_url": spire.jwks_url,
        "rules": [{"identity": "ledger", "claims": {"sub": "spiffe://example.org/ns/prod/sa/ledger"}}],
    });
    (spire, source, settings)
}

#[tokio::test]
async fn spiffe_jwt_svid_maps_and_follows_the_spec() {
    let (spire, source, settings) = spiffe_setup();
    let fed = federation(vec![settings], &source);
    let claims = basic_claims(&spire.iss, "spiffe://example.org/ns/prod/sa/ledger");
    let subject = fed.verify(&spire.token(&claims), NOW).await.unwrap();
    assert_eq!(subject.identity, "ledger");

    // aud is required.
    let mut no_aud = claims.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    let err = fed.verify(&spire.token(&no_aud), NOW).await.unwrap_err();
    assert_eq!(err.label(), "wrong_audience");

    // kid is required, even with a single key.
    let token = spire.token_with(&spire.keys[0], json!({"kid": null}), &claims);
    let err = fed.verify(&token, NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::MissingKeyId {
            issuer: "spire".into()
        }
    );

    // sub must be a SPIFFE ID.
    let mut claims = claims;
    claims["sub"] = json!("ledger");
    let err = fed.verify(&spire.token(&claims), NOW).await.unwrap_err();
    assert_eq!(err.label(), "preset_violation");
}

#[tokio::test]
async fn every_supported_algorithm_verifies() {
    let cases = [
        ("RS256", TestKey::rsa("k")),
        ("RS384", TestKey::rsa("k")),
        ("RS512", TestKey::rsa("k")),
        ("PS256", TestKey::rsa("k")),
        ("PS384", TestKey::rsa("k")),
        ("PS512", TestKey::rsa("k")),
        ("ES256", TestKey::es256("k")),
        ("ES384", TestKey::es384("k")),
        ("EdDSA", TestKey::ed25519("k")),
    ];
    for (alg, key) in cases {
        let source = MemorySource::new();
        let issuer = TestIssuer::new("https://idp.example", vec![key]);
        source.set(&issuer.jwks_url, jwks(&[issuer.keys[0].jwk()]));
        let mut settings = oidc_settings("idp", &issuer, "svc-*", "svc");
        settings["algorithms"] = json!([alg]);
        let fed = federation(vec![settings], &source);
        let claims = basic_claims(&issuer.iss, "svc-1");
        let token = issuer.token_with(&issuer.keys[0], json!({"alg": alg}), &claims);
        let subject = fed.verify(&token, NOW).await;
        assert_eq!(subject.map(|s| s.identity), Ok("svc".to_owned()), "{alg}");
    }
}

#[tokio::test]
async fn rules_match_paths_globs_and_json_text() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new("https://idp.example", vec![TestKey::ed25519("ed")]);
    issuer.publish(&source);
    let mut settings = oidc_settings("idp", &issuer, "agent-*", "unused");
    settings["algorithms"] = json!(["EdDSA"]);
    settings["rules"] = json!([
        {"identity": "agent-a", "claims": {"sub": "agent-*", "tier": "3", "/flags/prod": "true"}},
        // Same identity twice: not ambiguous.
        {"identity": "agent-a", "claims": {"sub": "agent-*-x", "/groups/1": "ops"}},
        {"identity": "https-claim", "claims": {"sub": "svc", "https://idp.example/team": "infra*"}},
    ]);
    let fed = federation(vec![settings], &source);

    let mut claims = basic_claims(&issuer.iss, "agent-7-x");
    claims["tier"] = json!(3);
    claims["flags"] = json!({"prod": true});
    claims["groups"] = json!(["dev", "ops"]);
    assert_eq!(
        fed.verify(&issuer.token(&claims), NOW)
            .await
            .unwrap()
            .identity,
        "agent-a"
    );

    // A number matches only as its JSON text; an object never matches.
    claims["tier"] = json!("3.0");
    claims["groups"] = json!(["ops"]);
    let err = fed.verify(&issuer.token(&claims), NOW).await.unwrap_err();
    assert_eq!(err.label(), "no_matching_rule");
    claims["tier"] = json!({"v": 3});
    let err = fed.verify(&issuer.token(&claims), NOW).await.unwrap_err();
    assert_eq!(err.label(), "no_matching_rule");

    // A top-level claim whose name contains '/'.
    let mut claims = basic_claims(&issuer.iss, "svc");
    claims["https://idp.example/team"] = json!("infra-core");
    assert_eq!(
        fed.verify(&issuer.token(&claims), NOW)
            .await
            .unwrap()
            .identity,
        "https-claim"
    );
}

#[tokio::test]
async fn token_without_kid_uses_the_single_fitting_key_only() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(
        "https://idp.example",
        vec![TestKey::rsa("r1"), TestKey::es256("e1")],
    );
    issuer.publish(&source);
    let fed = federation(vec![oidc_settings("idp", &issuer, "svc", "svc")], &source);
    let claims = basic_claims(&issuer.iss, "svc");
    // One RSA key among the keys: usable without kid.
    let token = issuer.token_with(&issuer.keys[0], json!({"kid": null}), &claims);
    assert_eq!(fed.verify(&token, NOW).await.unwrap().identity, "svc");

    // Two RSA keys: kid required.
    let two = TestIssuer::new(
        "https://idp.example",
        vec![TestKey::rsa("r1"), TestKey::rsa_b("r2")],
    );
    two.publish(&source);
    let fed = federation(vec![oidc_settings("idp", &two, "svc", "svc")], &source);
    let token = two.token_with(&two.keys[1], json!({"kid": null}), &claims);
    let err = fed.verify(&token, NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::MissingKeyId {
            issuer: "idp".into()
        }
    );
}

#[tokio::test]
async fn jwk_alg_use_and_key_ops_are_enforced() {
    let claims_for = |iss: &str| basic_claims(iss, "svc");
    for (extra, ok) in [
        (
            json!({"alg": "RS256", "use": "sig", "key_ops": ["verify"]}),
            true,
        ),
        (json!({"alg": "RS384"}), false),
        (json!({"use": "enc"}), false),
        (json!({"key_ops": ["encrypt"]}), false),
    ] {
        let source = MemorySource::new();
        let issuer = TestIssuer::new("https://idp.example", vec![TestKey::rsa("r1")]);
        source.set(
            &issuer.jwks_url,
            jwks(&[issuer.keys[0].jwk_with(extra.clone())]),
        );
        let fed = federation(vec![oidc_settings("idp", &issuer, "svc", "svc")], &source);
        let result = fed
            .verify(&issuer.token(&claims_for(&issuer.iss)), NOW)
            .await;
        if ok {
            assert!(result.is_ok(), "{extra}");
        } else {
            assert_eq!(
                result.unwrap_err(),
                FederationError::KeyMismatch {
                    issuer: "idp".into()
                },
                "{extra}"
            );
        }
    }
}

#[tokio::test]
async fn jwks_is_discovered_from_openid_configuration() {
    let source = MemorySource::new();
    let iss = "http://127.0.0.1:8181";
    let issuer = TestIssuer::new(iss, vec![TestKey::es256("e1")]);
    let config_url = format!("{iss}/.well-known/openid-configuration");
    source.set(
        &config_url,
        json!({"issuer": iss, "jwks_uri": issuer.jwks_url})
            .to_string()
            .into_bytes(),
    );
    issuer.publish(&source);
    let mut settings = oidc_settings("local", &issuer, "svc", "svc");
    settings.as_object_mut().unwrap().remove("jwks_url");
    let fed = federation(vec![settings], &source);
    let summary = &fed.issuers()[0];
    assert_eq!(summary.discovery_url.as_deref(), Some(config_url.as_str()));
    assert_eq!(summary.cached_keys, 0);

    let subject = fed
        .verify(&issuer.token(&basic_claims(iss, "svc")), NOW)
        .await
        .unwrap();
    assert_eq!(subject.identity, "svc");
    assert_eq!(
        (source.count(&config_url), source.count(&issuer.jwks_url)),
        (1, 1)
    );
    assert_eq!(fed.issuers()[0].cached_keys, 1);
    assert_eq!(fed.issuers()[0].keys_loaded_at, Some(NOW));

    // A discovery document pointing at a plain-http JWKS of an https issuer
    // is refused (and no keys means unavailable).
    let https_iss = "https://idp.example";
    let issuer = TestIssuer::new(https_iss, vec![TestKey::es256("e1")]);
    source.set(
        &format!("{https_iss}/.well-known/openid-configuration"),
        json!({"issuer": https_iss, "jwks_uri": "http://idp.example/jwks"})
            .to_string()
            .into_bytes(),
    );
    let mut settings = oidc_settings("remote", &issuer, "svc", "svc");
    settings.as_object_mut().unwrap().remove("jwks_url");
    let fed = federation(vec![settings], &source);
    let err = fed
        .verify(&issuer.token(&basic_claims(https_iss, "svc")), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.oauth_error(), "temporarily_unavailable");
    assert_eq!(err.label(), "jwks_unavailable");
}

#[test]
fn issuer_summaries_list_defaults() {
    let source = MemorySource::new();
    let fed = federation(
        vec![github_settings(json!([
            {"identity": "a", "claims": {"sub": "repo:acme/a:*"}},
            {"identity": "b", "claims": {"sub": "repo:acme/b:*"}},
        ]))],
        &source,
    );
    let list = fed.issuers();
    assert_eq!(list.len(), 1);
    let s = &list[0];
    assert_eq!(s.name, "github");
    assert_eq!(s.preset, Preset::GithubActions);
    assert_eq!(s.issuer, GITHUB_ISS);
    assert_eq!(s.audience, AUDIENCE);
    assert_eq!(s.algorithms, ["RS256"]);
    assert_eq!(s.rules, 2);
    assert_eq!(s.keys_loaded_at, None);
    assert_eq!(source.total(), 0, "new() does no I/O");
}

#[test]
fn federation_is_shareable_and_verify_is_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let source = MemorySource::new();
    let fed = federation(vec![], &source);
    send_sync(&fed);
    let verify = fed.verify("x.y.z", NOW);
    send(&verify);
}

#[tokio::test]
async fn token_without_kid_and_no_fitting_key_needs_a_kid() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new("https://idp.example", vec![TestKey::es256("e1")]);
    issuer.publish(&source);
    let fed = federation(vec![oidc_settings("idp", &issuer, "svc", "svc")], &source);
    let rsa = TestKey::rsa("r1");
    let token = issuer.token_with(
        &rsa,
        json!({"kid": null}),
        &basic_claims(&issuer.iss, "svc"),
    );
    let err = fed.verify(&token, NOW).await.unwrap_err();
    assert_eq!(
        err,
        FederationError::MissingKeyId {
            issuer: "idp".into()
        }
    );
}
