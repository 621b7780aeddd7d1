//! What the token tests share (`workload_*.rs`, `security_tokens.rs`,
//! `security_revoke.rs`, `security_sync.rs`): a gateway that trusts test
//! workload issuers, requests to the token endpoint, the claims of the
//! access tokens it mints, and the gateway's store.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use modelgate_store::Store;
use serde_json::{Value, json};

use super::issuer::{TestIssuer, TestKey, jws};
use super::{
    MockHandle, MockUpstream, Reply, TOKENS_SECTION, TestGateway, admin_call, call, chat, ok,
    upstreams_on,
};

/// Unix time in seconds (the gateway's own clock).
pub use modelgate_types::clock::unix_now as now;

/// The audience every test issuer's tokens are minted for.
pub const AUD: &str = "modelgate-test";
/// The token-exchange grant type.
pub const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// A subject token that is a workload JWT.
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// A subject or actor token that is a gateway access token.
pub const AT_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The GitHub subject the `billing-ci-prod` rule matches.
pub const GITHUB_SUB: &str = "repo:acme/billing:environment:prod";

/// A gateway with a mock upstream (model `chat`), the trusted issuers and
/// the identities their rules map to.
pub struct World {
    pub mock: MockHandle,
    pub github: TestIssuer,
    pub github_key: TestKey,
    pub k8s: TestIssuer,
    pub k8s_key: TestKey,
    /// The SPIFFE issuer and its key, when the world trusts one.
    pub spiffe: Option<(TestIssuer, TestKey)>,
    pub gw: TestGateway,
}

/// A world trusting GitHub Actions (rule: `billing-ci-prod`) and Kubernetes
/// (rule: `payments-api`); `tokens` is added to the `[tokens]` section.
pub async fn world(tokens: &str) -> World {
    build(tokens, false).await
}

/// [`world`] plus a SPIFFE issuer (rule: `payments-api`) whose bundle key
/// is published for `sig`, not `jwt-svid`, and the identity `support-agent`.
pub async fn world_with_spiffe(tokens: &str) -> World {
    build(tokens, true).await
}

/// One `[[issuers]]` entry with a single rule.
fn issuer_section(name: &str, preset: &str, url: &str, identity: &str, claims: &str) -> String {
    format!(
        "\n[[issuers]]\nname = \"{name}\"\npreset = \"{preset}\"\nissuer = \"{url}\"\n\
         audience = \"{AUD}\"\nrefresh_interval = \"1s\"\n[[issuers.rules]]\n\
         identity = \"{identity}\"\nclaims = {{ {claims} }}\n"
    )
}

/// Starts the issuers and the gateway and creates the identities the
/// issuers' rules map to (owner `team-b@example.com`, no keys). The attack
/// suites fail far more often than a source's default failed-authentication
/// budget allows, so the budget is raised (`exposure_auth_limits.rs` tests it).
async fn build(tokens: &str, with_spiffe: bool) -> World {
    let mock = MockUpstream::start().await.unwrap();
    let github_key = TestKey::rsa("gh-1");
    let github = TestIssuer::start(vec![github_key.jwk(json!({}))]).await;
    let k8s_key = TestKey::ec("k8s-1");
    let k8s = TestIssuer::start(vec![k8s_key.jwk(json!({}))]).await;
    let mut issuers = issuer_section(
        "github",
        "github_actions",
        &github.url,
        "billing-ci-prod",
        &format!(
            "sub = \"{GITHUB_SUB}\", job_workflow_ref = \"acme/billing/.github/workflows/*@refs/heads/main\""
        ),
    );
    issuers += &issuer_section(
        "k8s",
        "kubernetes",
        &k8s.url,
        "payments-api",
        "sub = \"system:serviceaccount:payments:api\", \"/kubernetes.io/namespace\" = \"payments\"",
    );
    let mut identities = vec![("billing-ci-prod", "ci_job"), ("payments-api", "service")];
    let spiffe = if with_spiffe {
        let key = TestKey::ec("svid-1");
        let server = TestIssuer::start(vec![key.jwk(json!({"use": "sig"}))]).await;
        issuers += &issuer_section(
            "spiffe",
            "spiffe",
            &server.url,
            "payments-api",
            "sub = \"spiffe://acme.test/payments/api\"",
        );
        identities.push(("support-agent", "agent"));
        Some((server, key))
    } else {
        None
    };
    let config = format!(
        "{TOKENS_SECTION}default_lifetime = \"5m\"\n{tokens}\n{issuers}\n{upstreams}\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"m-openai\", model = \"demo-chat\" }}]\n\
         [limits]\nfailed_auth_per_source = {{ burst = 1000, per_minute = 1000 }}\n",
        upstreams = upstreams_on(&mock, "m", ""),
    );
    let gw = TestGateway::start(&config).await;
    for (name, kind) in identities {
        ok(gw.cli(&[
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
        ]));
    }
    World {
        mock,
        github,
        github_key,
        k8s,
        k8s_key,
        spiffe,
        gw,
    }
}

impl World {
    /// GitHub Actions claims that the `billing-ci-prod` rule matches, issued
    /// at `t`.
    pub fn github_claims(&self, t: i64) -> Value {
        self.github.github_claims(AUD, t, GITHUB_SUB)
    }

    /// `claims` signed by the GitHub issuer's key.
    pub fn github_token(&self, claims: &Value) -> String {
        jws(
            &self.github_key,
            &json!({"alg": "RS256", "typ": "JWT", "kid": "gh-1"}),
            claims,
        )
    }

    /// Kubernetes claims of `payments:api` (the `payments-api` rule),
    /// issued at `t`.
    pub fn k8s_claims(&self, t: i64) -> Value {
        self.k8s.kubernetes_claims(AUD, t, "payments", "api")
    }

    /// `claims` signed by the Kubernetes issuer's key.
    pub fn k8s_token(&self, claims: &Value) -> String {
        jws(
            &self.k8s_key,
            &json!({"alg": "ES256", "kid": "k8s-1"}),
            claims,
        )
    }
}

/// A form-encoded body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// POST `pairs` to `/oauth2/token`.
pub async fn token_request(gw: &TestGateway, pairs: &[(&str, &str)]) -> Reply {
    call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        form(pairs),
    )
    .await
}

/// A `client_credentials` request with the API key `secret`.
pub async fn client_credentials(gw: &TestGateway, secret: &str) -> Reply {
    token_request(
        gw,
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", secret),
        ],
    )
    .await
}

/// The access token of a token-endpoint reply that must have succeeded.
pub fn issued(r: &Reply) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// An access token for the API key's identity (`client_credentials`).
pub async fn token_for_key(gw: &TestGateway, key: &str) -> String {
    issued(&client_credentials(gw, key).await)
}

/// A token exchange of `subject` (of type `subject_type`), with `extra`
/// form fields (an actor token, an audience).
pub async fn exchange_with(
    gw: &TestGateway,
    subject: &str,
    subject_type: &str,
    extra: &[(&str, &str)],
) -> Reply {
    let mut pairs = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", subject_type),
    ];
    pairs.extend_from_slice(extra);
    token_request(gw, &pairs).await
}

/// Exchanges a workload JWT for an access token.
pub async fn exchange(gw: &TestGateway, jwt: &str) -> Reply {
    exchange_with(gw, jwt, JWT_TYPE, &[]).await
}

/// The access token a workload JWT exchanges for (which must succeed).
pub async fn exchanged(gw: &TestGateway, jwt: &str) -> String {
    issued(&exchange(gw, jwt).await)
}

/// Exchanges a gateway access token for a new one.
pub async fn reexchange(gw: &TestGateway, subject: &str) -> Reply {
    exchange_with(gw, subject, AT_TYPE, &[]).await
}

/// The access token a gateway access token re-exchanges for (which must
/// succeed).
pub async fn reexchanged(gw: &TestGateway, subject: &str) -> String {
    issued(&reexchange(gw, subject).await)
}

/// `GET path` on the gateway, without credentials.
pub async fn get_path(gw: &TestGateway, path: &str) -> Reply {
    call("GET", &gw.url(path), &[], "").await
}

/// A chat completion on model `chat` with `token` as the bearer.
pub async fn chat_with(gw: &TestGateway, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[("authorization", &auth)],
        chat("chat", false).to_string(),
    )
    .await
}

/// Part `index` of a compact JWS, decoded as JSON.
fn jws_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

/// A token's JOSE header.
pub fn header_of(token: &str) -> Value {
    jws_part(token, 0)
}

/// A token's claims (unverified).
pub fn claims_of(token: &str) -> Value {
    jws_part(token, 1)
}

/// A token's `jti`.
pub fn jti_of(token: &str) -> String {
    claims_of(token)["jti"].as_str().unwrap().to_owned()
}

/// A token's `exp`.
pub fn exp_of(token: &str) -> i64 {
    claims_of(token)["exp"].as_i64().unwrap()
}

/// Creates a one-day key for the existing identity `identity`; its secret.
pub fn key_for(gw: &TestGateway, identity: &str) -> String {
    let out = ok(gw.cli(&[
        "key",
        "create",
        "--identity",
        identity,
        "--expires-in",
        "1d",
        "--format",
        "json",
    ]));
    serde_json::from_str::<Value>(&out).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The id of `identity`'s first key, from `key list`.
pub fn key_id_of(gw: &TestGateway, identity: &str) -> String {
    let out = ok(gw.cli(&["key", "list", "--identity", identity, "--format", "json"]));
    serde_json::from_str::<Value>(&out).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Revokes token `jti` of `identity` through the admin API.
pub async fn revoke_token(gw: &TestGateway, admin: &str, jti: &str, identity: &str) -> Reply {
    admin_call(
        gw,
        admin,
        "POST",
        "/admin/v1/tokens/revoke",
        &json!({"jti": jti, "identity": identity}).to_string(),
    )
    .await
}

/// Revokes token `jti` of `identity` through the CLI (another process).
pub fn cli_revoke_token(gw: &TestGateway, jti: &str, identity: &str) -> Output {
    gw.cli(&["token", "revoke", jti, "--identity", identity])
}

/// Waits out the gateway's state sync (`sync_interval` is one second), for
/// what the CLI wrote to the store to reach the running gateway.
pub async fn after_sync() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

/// The gateway's store, opened beside it (as the CLI or another replica).
pub async fn store_of(gw: &TestGateway) -> Store {
    gw.store.open().await
}
