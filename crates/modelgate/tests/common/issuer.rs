//! A test workload-identity issuer: serves OpenID discovery and a JWKS over
//! HTTP on loopback, and mints tokens in the exact shape of GitHub Actions
//! and Kubernetes tokens, signed with RS256 (a committed test-only key) or
//! ES256 (generated per run).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

/// The committed RSA key (test data only).
fn rsa_fixture() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../modelgate-identity/tests/fixtures/test-only-rsa2048.pk8"
    );
    std::fs::read(path).expect("RSA test fixture")
}

/// A signing key of the test issuer.
pub enum TestKey {
    Rsa {
        kid: String,
        pair: Arc<RsaKeyPair>,
    },
    Ec {
        kid: String,
        pair: Arc<EcdsaKeyPair>,
    },
}

impl TestKey {
    pub fn rsa(kid: &str) -> TestKey {
        TestKey::Rsa {
            kid: kid.into(),
            pair: Arc::new(RsaKeyPair::from_pkcs8(&rsa_fixture()).unwrap()),
        }
    }
    pub fn ec(kid: &str) -> TestKey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        TestKey::Ec {
            kid: kid.into(),
            pair: Arc::new(pair),
        }
    }
    pub fn kid(&self) -> &str {
        match self {
            TestKey::Rsa { kid, .. } | TestKey::Ec { kid, .. } => kid,
        }
    }
    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Rsa { .. } => "RS256",
            TestKey::Ec { .. } => "ES256",
        }
    }
    /// The public JWK, with `extra` fields merged in (e.g. `use`).
    pub fn jwk(&self, extra: Value) -> Value {
        let mut jwk = match self {
            TestKey::Rsa { kid, pair } => {
                let public = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public());
                json!({
                    "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                    "n": B64.encode(&public.n),
                    "e": B64.encode(&public.e),
                })
            }
            TestKey::Ec { kid, pair } => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                    "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65]),
                })
            }
        };
        if let (Some(jwk), Some(extra)) = (jwk.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                jwk.insert(k.clone(), v.clone());
            }
        }
        jwk
    }
    /// Signs `header.payload`.
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa { pair, .. } => {
                let mut sig = vec![0u8; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, input, &mut sig)
                    .unwrap();
                sig
            }
            TestKey::Ec { pair, .. } => pair.sign(&rng, input).unwrap().as_ref().to_vec(),
        }
    }
}

/// Compact JWS from raw header and claims.
pub fn jws(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", B64.encode(sig))
}

/// A running issuer.
pub struct TestIssuer {
    pub url: String,
    pub keys: Arc<Mutex<Vec<Value>>>,
    pub fetches: Arc<Mutex<u32>>,
}

impl TestIssuer {
    /// Serves discovery and `jwks` on loopback.
    pub async fn start(jwks: Vec<Value>) -> TestIssuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let keys = Arc::new(Mutex::new(jwks));
        let fetches = Arc::new(Mutex::new(0));
        let (served_keys, served_fetches, issuer) = (keys.clone(), fetches.clone(), url.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (keys, fetches, issuer) =
                    (served_keys.clone(), served_fetches.clone(), issuer.clone());
                tokio::spawn(async move {
                    let service = service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let body = match request.uri().path() {
                            "/.well-known/openid-configuration" => {
                                json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks") }).to_string()
                            }
                            "/jwks" => {
                                *fetches.lock().unwrap() += 1;
                                json!({ "keys": *keys.lock().unwrap() }).to_string()
                            }
                            _ => String::from("{}"),
                        };
                            async move {
                                Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                    Bytes::from(body),
                                )))
                            }
                        },
                    );
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestIssuer { url, keys, fetches }
    }

    pub fn set_keys(&self, jwks: Vec<Value>) {
        *self.keys.lock().unwrap() = jwks;
    }

    pub fn fetches(&self) -> u32 {
        *self.fetches.lock().unwrap()
    }

    /// A token in the shape GitHub Actions issues.
    pub fn github_claims(&self, aud: &str, now: i64, sub: &str) -> Value {
        json!({
            "jti": format!("gh-{now}"), "sub": sub, "aud": aud,
            "ref": "refs/heads/main", "sha": "a1b2c3", "repository": "acme/billing",
            "repository_owner": "acme", "repository_id": "42", "repository_owner_id": "7",
            "run_id": "1001", "run_number": "12", "run_attempt": "1",
            "repository_visibility": "private", "actor": "octocat", "actor_id": "9",
            "workflow": "deploy", "workflow_ref": "acme/billing/.github/workflows/deploy.yml@refs/heads/main",
            "workflow_sha": "a1b2c3",
            "job_workflow_ref": "acme/billing/.github/workflows/deploy.yml@refs/heads/main",
            "job_workflow_sha": "a1b2c3", "event_name": "push", "ref_type": "branch",
            "environment": "prod", "runner_environment": "github-hosted",
            "iss": self.url, "nbf": now - 5, "exp": now + 300, "iat": now - 5,
        })
    }

    /// A token in the shape of a Kubernetes projected service-account token.
    pub fn kubernetes_claims(&self, aud: &str, now: i64, namespace: &str, account: &str) -> Value {
        json!({
            "aud": [aud, "https://kubernetes.default.svc"],
            "exp": now + 600, "iat": now - 5, "nbf": now - 5, "iss": self.url,
            "jti": format!("k8s-{now}"),
            "kubernetes.io": {
                "namespace": namespace,
                "node": { "name": "node-1", "uid": "n-uid" },
                "pod": { "name": format!("{account}-7d9f"), "uid": "p-uid" },
                "serviceaccount": { "name": account, "uid": "sa-uid" },
                "warnafter": now + 3000
            },
            "sub": format!("system:serviceaccount:{namespace}:{account}"),
        })
    }
}
