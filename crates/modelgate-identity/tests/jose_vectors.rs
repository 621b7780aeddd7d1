//! The federated-JWT verifier against the published JOSE examples, so it is
//! not checked only against a signer built on the same library: RFC 7515
//! Appendix A.2 (RS256) and A.3 (ES256), and RFC 8037 Appendix A (Ed25519),
//! with the keys as the RFCs print them (JWKs, served as the issuer's JWKS).
//!
//! The RFC 7515 payloads (`{"iss":"joe","exp":1300819380,...}`) name no
//! audience and no subject, so through the public API
//! ([`Federation::verify`]) a vector gets past the signature and is then
//! refused for its claims ([`FederationError::WrongAudience`]); the same
//! token with one byte changed in the payload or the signature is refused
//! for its signature ([`FederationError::BadSignature`]). RFC 8037 A.4 signs
//! a text payload, which is not a JWT: the verifier refuses it before any
//! signature check, by design, and the test shows that. Its key is then
//! proven against the RFC (ring's signature with the RFC's private key is
//! the RFC's signature, byte for byte; Ed25519 is deterministic) and used to
//! sign a full token, which the verifier accepts with the RFC's public JWK.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelgate_identity::federation::{
    ClaimRule, Federation, FederationError, IssuerSettings, JwksSource, Preset,
};
use ring::signature::Ed25519KeyPair;
use serde_json::{Value, json};

/// RFC 7515 A.2, the JWS Compact Serialization.
const A2_JWS: &str = include_str!("rfc_vectors/rfc7515_a2.jws");
/// RFC 7515 A.2, the RSA public key.
const A2_JWK: &str = r#"{"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB"}"#;
/// RFC 7515 A.3, the JWS Compact Serialization.
const A3_JWS: &str = include_str!("rfc_vectors/rfc7515_a3.jws");
/// RFC 7515 A.3, the P-256 public key.
const A3_JWK: &str = r#"{"kty":"EC","crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
/// RFC 8037 A.4, the JWS Compact Serialization.
const A4_JWS: &str = include_str!("rfc_vectors/rfc8037_a4.jws");
/// RFC 8037 A.2, the Ed25519 public key.
const A4_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// RFC 8037 A.1, the private key `d` (the Ed25519 seed).
const A4_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// The RFC 7515 payloads' issuer, and a time before their `exp`.
const JOE: &str = "joe";
const BEFORE_EXP: i64 = 1_300_819_380 - 60;
const AUDIENCE: &str = "https://modelgate.example";
const JWKS_URL: &str = "https://issuer.example/jwks";

/// Serves one JWKS.
struct Jwks(Vec<u8>);

impl JwksSource for Jwks {
    fn fetch<'a>(
        &'a self,
        _url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move { Ok(self.0.clone()) })
    }
}

/// A federation with one issuer `iss` allowing `alg`, whose JWKS is `jwk`.
fn federation(iss: &str, alg: &str, jwk: &str) -> Federation {
    let jwk: Value = serde_json::from_str(jwk).unwrap();
    let jwks = json!({ "keys": [jwk] }).to_string().into_bytes();
    let settings = IssuerSettings {
        name: "rfc".to_owned(),
        preset: Preset::Oidc,
        issuer: Some(iss.to_owned()),
        audience: AUDIENCE.to_owned(),
        jwks_url: Some(JWKS_URL.to_owned()),
        jwks_file: None,
        algorithms: Some(vec![alg.to_owned()]),
        refresh_interval: None,
        cache_ttl: None,
        leeway: None,
        max_token_bytes: None,
        rules: vec![ClaimRule {
            identity: "rfc-workload".to_owned(),
            claims: [("sub".to_owned(), "rfc-subject".to_owned())].into(),
        }],
    };
    Federation::new(vec![settings], Arc::new(Jwks(jwks))).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// `token` with one byte of its decoded segment `index` changed by `edit`.
fn tampered(token: &str, index: usize, edit: impl Fn(&mut [u8])) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut bytes = unb64(&parts[index]);
    edit(&mut bytes);
    parts[index] = b64(&bytes);
    parts.join(".")
}

/// The RFC 7515 payload with its `exp` one second later: one byte changed.
fn later_exp(payload: &mut [u8]) {
    let at = payload
        .windows(10)
        .position(|w| w == b"1300819380")
        .unwrap();
    payload[at + 9] = b'1';
}

fn flip_last(signature: &mut [u8]) {
    *signature.last_mut().unwrap() ^= 0x01;
}

async fn check_rfc7515(token: &str, alg: &str, jwk: &str) {
    let token = token.trim();
    let fed = federation(JOE, alg, jwk);
    // The signature verifies; the claims (no `aud`) are what is refused.
    let err = fed.verify(token, BEFORE_EXP).await.unwrap_err();
    assert!(
        matches!(err, FederationError::WrongAudience { .. }),
        "{alg}: {err:?}"
    );
    for changed in [tampered(token, 1, later_exp), tampered(token, 2, flip_last)] {
        let err = fed.verify(&changed, BEFORE_EXP).await.unwrap_err();
        assert!(
            matches!(err, FederationError::BadSignature { .. }),
            "{alg}: {err:?}"
        );
    }
}

#[tokio::test]
async fn rfc7515_a2_rs256_verifies_and_one_changed_byte_does_not() {
    check_rfc7515(A2_JWS, "RS256", A2_JWK).await;
}

#[tokio::test]
async fn rfc7515_a3_es256_verifies_and_one_changed_byte_does_not() {
    check_rfc7515(A3_JWS, "ES256", A3_JWK).await;
}

#[tokio::test]
async fn rfc8037_a4_is_not_a_jwt_and_is_refused_cleanly() {
    let fed = federation(JOE, "EdDSA", A4_JWK);
    let err = fed.verify(A4_JWS.trim(), BEFORE_EXP).await.unwrap_err();
    assert!(matches!(err, FederationError::Malformed { .. }), "{err:?}");
}

#[tokio::test]
async fn rfc8037_key_signs_as_the_rfc_and_its_tokens_verify() {
    let seed = unb64(A4_D);
    let jwk: Value = serde_json::from_str(A4_JWK).unwrap();
    let x = unb64(jwk["x"].as_str().unwrap());
    let pair = Ed25519KeyPair::from_seed_and_public_key(&seed, &x).unwrap();
    // ring with the RFC's key makes the RFC's signature.
    let (input, signature) = A4_JWS.trim().rsplit_once('.').unwrap();
    assert_eq!(b64(pair.sign(input.as_bytes()).as_ref()), signature);

    // A full token signed with it verifies with the RFC's public JWK.
    let iss = "https://issuer.example";
    let now = 1_700_000_000;
    let header = b64(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let claims =
        json!({"iss": iss, "aud": AUDIENCE, "sub": "rfc-subject", "exp": now + 300, "iat": now});
    let input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let token = format!("{input}.{}", b64(pair.sign(input.as_bytes()).as_ref()));
    let fed = federation(iss, "EdDSA", A4_JWK);
    let subject = fed.verify(&token, now).await.unwrap();
    assert_eq!(subject.identity, "rfc-workload");
    assert_eq!(subject.subject, "rfc-subject");

    let changed_payload = tampered(&token, 1, |p| {
        let at = p.windows(11).position(|w| w == b"rfc-subject").unwrap();
        p[at] = b'R';
    });
    for changed in [changed_payload, tampered(&token, 2, flip_last)] {
        let err = fed.verify(&changed, now).await.unwrap_err();
        assert!(
            matches!(err, FederationError::BadSignature { .. }),
            "{err:?}"
        );
    }
}
