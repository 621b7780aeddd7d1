//! Access token benchmarks: verification (the data plane's per-request cost,
//! target at most 50 µs) and minting (the token endpoint's).
//!
//! `verify access token` is a token seen for the first time (full parse and
//! Ed25519 check); `verify access token (remembered)` is the same token
//! presented again, which skips the signature check but still checks key,
//! expiry and revocation; the ring baseline shows the bare signature cost.
//!
//! Run with `cargo bench -p modelgate-identity --bench tokens`. Sample sizes
//! and times are kept small so the whole run takes well under a minute.

// Benchmark setup: a failure should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, Actor, Identity, IdentityKind, IdentityService,
    KeyEncryptionKey, KeyPolicy, NewIdentity, SigningKeyring,
};
use modelgate_store::Store;
use ring::signature::{ED25519, UnparsedPublicKey};

const NOW: i64 = 1_700_000_000;

struct Setup {
    _dir: tempfile::TempDir,
    /// Verified-token memo on (the default).
    tokens: AccessTokens,
    /// Verified-token memo off: every verification is a first one.
    cold: AccessTokens,
    identity: Identity,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap();
        let kek = KeyEncryptionKey::generate().unwrap();
        let keyring = SigningKeyring::load(store.clone(), kek).await.unwrap();
        keyring.ensure_active(NOW).await.unwrap();
        let settings = AccessTokenSettings {
            issuer: "https://gateway.example".to_owned(),
            audience: "https://gateway.example/v1".to_owned(),
            ..AccessTokenSettings::default()
        };
        let cold = AccessTokens::new(
            store.clone(),
            keyring.clone(),
            AccessTokenSettings {
                verified_cache_capacity: 0,
                ..settings.clone()
            },
            NOW,
        )
        .await
        .unwrap();
        let tokens = AccessTokens::new(store.clone(), keyring, settings, NOW)
            .await
            .unwrap();
        let service = IdentityService::new(store, KeyPolicy::default());
        let identity = service
            .create_identity(
                NewIdentity {
                    name: "support-agent".to_owned(),
                    kind: IdentityKind::Agent,
                    owner: "team-support".to_owned(),
                    environment: "prod".to_owned(),
                    purpose: "ticket triage".to_owned(),
                },
                NOW,
            )
            .await
            .unwrap();
        // A few revocations so the cache lookups are not trivially empty.
        for i in 0..100 {
            tokens
                .revoke_jti(&format!("revoked{i:015}"), &identity.id, NOW + 900, NOW)
                .await
                .unwrap();
        }
        cold.refresh(NOW).await.unwrap();
        Setup {
            _dir: dir,
            tokens,
            cold,
            identity,
        }
    })
}

fn bench_tokens(c: &mut Criterion) {
    let s = setup();
    let actors = [Actor {
        subject: "orchestrator".to_owned(),
    }];
    let minted = s
        .tokens
        .mint(&s.identity, Some("chat embeddings"), &actors, None, NOW)
        .unwrap();
    let token = minted.token.expose().to_owned();
    assert!(s.tokens.verify(&token, NOW + 1).is_ok());
    assert!(s.cold.verify(&token, NOW + 1).is_ok());
    assert_eq!(s.cold.revocations().revoked_count(), 100);

    c.bench_function("verify access token", |b| {
        b.iter(|| s.cold.verify(black_box(&token), black_box(NOW + 1)))
    });
    c.bench_function("verify access token (remembered)", |b| {
        b.iter(|| s.tokens.verify(black_box(&token), black_box(NOW + 1)))
    });
    // Baseline: ring's Ed25519 verification alone, over the same bytes.
    let jwks = s.tokens.jwks();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let public = URL_SAFE_NO_PAD.decode(x).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let key = UnparsedPublicKey::new(&ED25519, public);
    c.bench_function("ed25519 verify (ring, baseline)", |b| {
        b.iter(|| key.verify(black_box(input.as_bytes()), black_box(&signature)))
    });
    c.bench_function("mint access token", |b| {
        b.iter(|| {
            s.tokens.mint(
                black_box(&s.identity),
                Some("chat embeddings"),
                &actors,
                None,
                black_box(NOW),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_tokens
}
criterion_main!(benches);
