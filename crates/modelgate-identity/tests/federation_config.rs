//! Configuration errors: refused at load with the issuer and field named.

mod common_federation;

use std::sync::Arc;

use common_federation::*;
use modelgate_identity::federation::{
    Federation, FederationConfigError, IssuerSettings, JwksSource, Preset,
};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "name": "github",
        "preset": "github_actions",
        "audience": AUDIENCE,
        "rules": [{"identity": "billing-ci", "claims": {"sub": "repo:acme/billing:*"}}],
    })
}

fn with(key: &str, value: Value) -> Value {
    let mut v = base();
    v[key] = value;
    v
}

fn load(issuers: Vec<Value>) -> Result<Federation, FederationConfigError> {
    let settings: Vec<IssuerSettings> = issuers.into_iter().map(settings).collect();
    let source: Arc<dyn JwksSource> = MemorySource::new();
    Federation::new(settings, source)
}

/// The error's text, which must start with `issuers[{issuer}].{field}: `.
fn refused(issuers: Vec<Value>, prefix: &str) -> String {
    match load(issuers) {
        Ok(_) => panic!("accepted a configuration that must be refused ({prefix})"),
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.starts_with(prefix),
                "{text:?} does not start with {prefix:?}"
            );
            text
        }
    }
}

#[test]
fn the_base_config_loads_with_preset_defaults() {
    let fed = load(vec![base()]).unwrap();
    let s = &fed.issuers()[0];
    assert_eq!(s.issuer, "https://token.actions.githubusercontent.com");
    assert_eq!(
        s.discovery_url.as_deref(),
        Some("https://token.actions.githubusercontent.com/.well-known/openid-configuration")
    );
    for (preset, algs) in [
        ("kubernetes", vec!["RS256", "ES256"]),
        ("oidc", vec!["RS256", "ES256"]),
        (
            "spiffe",
            vec![
                "RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384", "PS512",
            ],
        ),
    ] {
        let mut v = with("preset", json!(preset));
        v["issuer"] = json!("https://idp.example");
        v["rules"] = json!([{"identity": "x", "claims": {"sub": "x"}}]);
        assert_eq!(
            load(vec![v]).unwrap().issuers()[0].algorithms,
            algs,
            "{preset}"
        );
    }
}

#[test]
fn rule_without_sub_is_refused() {
    let v = with(
        "rules",
        json!([{"identity": "ci", "claims": {"repository": "acme/billing"}}]),
    );
    let text = refused(vec![v], "issuers[github].rules[0].claims: ");
    assert!(text.contains("a rule must constrain the subject"));
}

#[test]
fn sub_of_only_wildcards_is_refused() {
    for sub in ["*", "**"] {
        let v = with(
            "rules",
            json!([
                {"identity": "ci", "claims": {"sub": "repo:acme/billing:*"}},
                {"identity": "ci2", "claims": {"sub": sub, "repository_owner": "acme"}},
            ]),
        );
        let text = refused(vec![v], "issuers[github].rules[1].claims: ");
        assert!(text.contains("a rule must constrain the subject"));
    }
}

#[test]
fn github_rule_must_pin_the_owner() {
    for sub in ["repo:*", "repo:*/billing:*", "repo:acme*"] {
        let v = with("rules", json!([{"identity": "ci", "claims": {"sub": sub}}]));
        refused(vec![v], "issuers[github].rules[0].claims: ");
    }
    let v = with(
        "rules",
        json!([{"identity": "ci", "claims": {"sub": "repo:*", "repository_owner": "acme"}}]),
    );
    assert!(load(vec![v]).is_ok());
}

#[test]
fn hmac_and_none_algorithms_are_refused() {
    for alg in ["HS256", "HS384", "HS512", "hs256"] {
        let text = refused(
            vec![with("algorithms", json!(["RS256", alg]))],
            "issuers[github].algorithms: ",
        );
        assert!(text.contains("HMAC"), "{text}");
    }
    let text = refused(
        vec![with("algorithms", json!(["none"]))],
        "issuers[github].algorithms: ",
    );
    assert!(text.contains("never accepted"));
    let text = refused(
        vec![with("algorithms", json!(["ES512"]))],
        "issuers[github].algorithms: ",
    );
    assert!(text.contains("supported: RS256"));
    refused(
        vec![with("algorithms", json!([]))],
        "issuers[github].algorithms: ",
    );
    let mut spiffe = with("preset", json!("spiffe"));
    spiffe["name"] = json!("spire");
    spiffe["issuer"] = json!("https://spire.example");
    spiffe["algorithms"] = json!(["EdDSA"]);
    spiffe["rules"] = json!([{"identity": "x", "claims": {"sub": "spiffe://example.org/x"}}]);
    refused(vec![spiffe], "issuers[spire].algorithms: ");
}

#[test]
fn unknown_fields_and_presets_are_refused_by_serde() {
    let err = serde_json::from_value::<IssuerSettings>(with("presett", json!("oidc"))).unwrap_err();
    assert!(err.to_string().contains("unknown field `presett`"), "{err}");
    let err =
        serde_json::from_value::<IssuerSettings>(with("preset", json!("gitlab"))).unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `gitlab`"),
        "{err}"
    );
    let mut v = base();
    v["rules"][0]["claim"] = json!({});
    assert!(serde_json::from_value::<IssuerSettings>(v).is_err());
    let ok: IssuerSettings = serde_json::from_value(base()).unwrap();
    assert_eq!(ok.preset, Preset::GithubActions);
}

#[test]
fn jwks_url_and_jwks_file_together_are_refused() {
    let mut v = with(
        "jwks_url",
        json!("https://token.actions.githubusercontent.com/.well-known/jwks"),
    );
    v["jwks_file"] = json!("/etc/modelgate/github-jwks.json");
    let text = refused(vec![v], "issuers[github].jwks_url: ");
    assert!(text.contains("mutually exclusive"));
}

#[test]
fn other_field_errors_name_issuer_and_field() {
    let cases: Vec<(Value, &str)> = vec![
        (with("rules", json!([])), "issuers[github].rules: "),
        (with("name", json!("GitHub Prod")), "issuers[0].name: "),
        (with("audience", json!("")), "issuers[github].audience: "),
        (with("preset", json!("oidc")), "issuers[github].issuer: "),
        (
            with("issuer", json!("kubernetes/serviceaccount")),
            "issuers[github].issuer: ",
        ),
        (
            with("jwks_url", json!("http://keys.example/jwks")),
            "issuers[github].jwks_url: ",
        ),
        (with("leeway", json!("10m")), "issuers[github].leeway: "),
        (with("leeway", json!("soon")), "issuers[github].leeway: "),
        (
            with("refresh_interval", json!("0s")),
            "issuers[github].refresh_interval: ",
        ),
        (
            with("refresh_interval", json!("1500ms")),
            "issuers[github].refresh_interval: ",
        ),
        (
            with("cache_ttl", json!("1s")),
            "issuers[github].cache_ttl: ",
        ),
        (
            with("cache_ttl", json!("30d")),
            "issuers[github].cache_ttl: ",
        ),
        (
            with("max_token_bytes", json!(16)),
            "issuers[github].max_token_bytes: ",
        ),
        (
            with(
                "rules",
                json!([{"identity": "Billing CI", "claims": {"sub": "repo:acme/x"}}]),
            ),
            "issuers[github].rules[0].identity: ",
        ),
        (
            with(
                "rules",
                json!([{"identity": "ci", "claims": {"sub": "repo:acme/x", "/a~2": "x"}}]),
            ),
            "issuers[github].rules[0].claims: ",
        ),
        (
            with(
                "rules",
                json!([{"identity": "ci", "claims": {"sub": "repo:acme/x", "ref": ""}}]),
            ),
            "issuers[github].rules[0].claims: ",
        ),
    ];
    for (v, prefix) in cases {
        refused(vec![v], prefix);
    }
}

#[test]
fn non_url_issuer_is_fine_with_a_static_jwks() {
    let v = json!({
        "name": "legacy-k8s",
        "preset": "kubernetes",
        "issuer": "kubernetes/serviceaccount",
        "audience": AUDIENCE,
        "jwks_file": "/etc/modelgate/k8s-jwks.json",
        "rules": [{"identity": "x", "claims": {"sub": "system:serviceaccount:a:b"}}],
    });
    let fed = load(vec![v]).unwrap();
    assert!(fed.issuers()[0].jwks_file.is_some());
}

#[test]
fn duplicate_names_and_issuers_are_refused() {
    let mut second = base();
    second["audience"] = json!("other");
    let err = load(vec![base(), second]).unwrap_err();
    assert_eq!(
        err,
        FederationConfigError::Duplicate {
            issuer: "github".into(),
            field: "name"
        }
    );

    let mut second = base();
    second["name"] = json!("github-2");
    let err = load(vec![base(), second]).unwrap_err();
    assert_eq!(
        err,
        FederationConfigError::Duplicate {
            issuer: "github-2".into(),
            field: "issuer"
        }
    );
    assert_eq!(
        err.to_string(),
        "issuers[github-2].issuer: another issuer has the same issuer"
    );
}

#[test]
fn an_empty_issuer_list_loads() {
    let fed = load(vec![]).unwrap();
    assert!(fed.issuers().is_empty());
}
