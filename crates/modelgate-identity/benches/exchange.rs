//! Token-exchange throughput on one core (target: at least 5,000 per
//! second): a GitHub-Actions-shaped RS256 token verified against cached
//! JWKS, mapped by claim rules to a registered identity (read from SQLite),
//! and an Ed25519 access token minted; and the `client_credentials` grant
//! with an API key. A current-thread runtime keeps it on one core.
//!
//! Run with `cargo bench -p modelgate-identity --bench exchange`.

// Benchmark setup: a failure should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../tests/common_federation/mod.rs"]
mod common_federation;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use common_federation::{MemorySource, TestIssuer, TestKey};
use criterion::{Criterion, criterion_group, criterion_main};
use modelgate_identity::exchange::{ExchangeRequest, TokenExchange, token_type};
use modelgate_identity::federation::{Federation, IssuerSettings};
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, IdentityKind, IdentityService, KeyEncryptionKey, KeyPolicy,
    NewIdentity, SigningKeyring,
};
use modelgate_store::Store;
use serde_json::json;

const ISS: &str = "https://token.actions.githubusercontent.com";

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = modelgate_types::clock::unix_now();
    let dir = tempfile::tempdir().unwrap();
    let (exchange, github_token, api_key) = runtime.block_on(async {
        let store = Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap();
        let keyring = SigningKeyring::load(store.clone(), KeyEncryptionKey::generate().unwrap())
            .await
            .unwrap();
        keyring.ensure_active(now).await.unwrap();
        let settings = AccessTokenSettings {
            issuer: "https://gateway.example".to_owned(),
            audience: "https://gateway.example".to_owned(),
            ..AccessTokenSettings::default()
        };
        let tokens = AccessTokens::new(store.clone(), keyring, settings, now)
            .await
            .unwrap();
        let identity =
            IdentityService::new(store, KeyPolicy::default()).with_tokens(tokens.clone());
        identity
            .create_identity(
                NewIdentity {
                    name: "billing-ci-prod".to_owned(),
                    kind: IdentityKind::CiJob,
                    owner: "payments-team".to_owned(),
                    environment: "prod".to_owned(),
                    purpose: "bench".to_owned(),
                },
                now,
            )
            .await
            .unwrap();
        let key = identity
            .issue_key("billing-ci-prod", Duration::from_secs(3600), None, now)
            .await
            .unwrap();
        let issuer = TestIssuer::new(ISS, vec![TestKey::rsa("gh-1")]);
        let source = MemorySource::new();
        issuer.publish(&source);
        let settings: IssuerSettings = serde_json::from_value(json!({
            "name": "github",
            "preset": "github_actions",
            "audience": "https://gateway.example",
            "jwks_url": issuer.jwks_url,
            "rules": [{
                "identity": "billing-ci-prod",
                "claims": {
                    "sub": "repo:acme/billing:environment:prod",
                    "job_workflow_ref": "acme/billing/.github/workflows/*@refs/heads/main"
                }
            }]
        }))
        .unwrap();
        let federation = Federation::new(vec![settings], source).unwrap();
        let token = issuer.token(&json!({
            "iss": ISS, "aud": "https://gateway.example",
            "sub": "repo:acme/billing:environment:prod",
            "repository": "acme/billing", "repository_owner": "acme",
            "job_workflow_ref": "acme/billing/.github/workflows/deploy.yml@refs/heads/main",
            "ref": "refs/heads/main", "environment": "prod",
            "iat": now, "nbf": now, "exp": now + 3600,
        }));
        let exchange = TokenExchange::new(
            identity,
            tokens,
            Arc::new(federation),
            vec!["https://gateway.example".to_owned()],
        );
        (exchange, token, key.secret.expose().to_owned())
    });
    let request = |token: &str| ExchangeRequest::TokenExchange {
        subject_token: token.to_owned(),
        subject_token_type: token_type::JWT.to_owned(),
        actor: None,
        audiences: Vec::new(),
        resources: Vec::new(),
        scope: None,
        requested_token_type: None,
    };
    // Warm the JWKS cache and make sure the path succeeds.
    runtime
        .block_on(exchange.exchange(request(&github_token), now))
        .unwrap();

    let mut group = c.benchmark_group("token exchange");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    group.bench_function("github actions RS256 -> access token", |b| {
        b.iter(|| {
            runtime
                .block_on(exchange.exchange(black_box(request(&github_token)), now))
                .unwrap()
        })
    });
    group.bench_function("client_credentials (API key) -> access token", |b| {
        b.iter(|| {
            let grant = ExchangeRequest::ClientCredentials {
                api_key: api_key.clone(),
                scope: None,
            };
            runtime
                .block_on(exchange.exchange(black_box(grant), now))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
