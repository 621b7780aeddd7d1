//! The fixed keys, names and clock of the targets, public so that corpus
//! seeds can be made with them: a token signed here stays valid for the
//! target in every later run.
//!
//! None of these is a secret: the access-token key is a constant of this
//! crate, and the federation keys are the published examples of RFC 7515
//! (Appendix A.2, A.3) and RFC 8037 (Appendix A).

use ring::signature::{Ed25519KeyPair, KeyPair as _};

/// The clock of every target (unix seconds).
pub const NOW: i64 = 1_700_000_000;

/// Seed of the Ed25519 key that signs the gateway's own access tokens.
pub const ACCESS_TOKEN_SEED: [u8; 32] = *b"modelgate-fuzz access token key!";
/// Its `kid`.
pub const ACCESS_TOKEN_KID: &str = "fuzzKid000000001";
/// `iss` of the access tokens.
pub const ACCESS_TOKEN_ISSUER: &str = "https://gateway.fuzz.test";
/// `aud` of the access tokens.
pub const ACCESS_TOKEN_AUDIENCE: &str = "https://gateway.fuzz.test/v1";

/// `iss` of the federated issuer.
pub const FEDERATED_ISSUER: &str = "https://issuer.fuzz.test";
/// The audience it must name.
pub const FEDERATED_AUDIENCE: &str = "https://modelgate.fuzz.test";
/// Where its JWKS is served (from memory).
pub const FEDERATED_JWKS_URL: &str = "https://issuer.fuzz.test/jwks";
/// The `sub` its claim rule maps.
pub const FEDERATED_SUBJECT: &str = "repo:acme/fuzz:ref:refs/heads/main";
/// The identity that rule maps to.
pub const FEDERATED_IDENTITY: &str = "fuzz-workload";

/// RFC 7515 A.2: the RSA public key's modulus `n` (base64url).
pub const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
/// RFC 7515 A.2: the exponent `e`.
pub const RFC7515_A2_E: &str = "AQAB";
/// RFC 7515 A.3: the P-256 public key's `x`.
pub const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
/// RFC 7515 A.3: `y`.
pub const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
/// RFC 7515 A.3: the private scalar `d` (published in the RFC).
pub const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
/// RFC 8037 A.2: the Ed25519 public key `x`.
pub const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 A.1: the Ed25519 private key `d` (the seed, published in the RFC).
pub const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

/// `kid` of the RFC 7515 A.2 key in the federated JWKS.
pub const KID_RS256: &str = "rfc7515-a2";
/// `kid` of the RFC 7515 A.3 key.
pub const KID_ES256: &str = "rfc7515-a3";
/// `kid` of the RFC 8037 key.
pub const KID_EDDSA: &str = "rfc8037-a";

/// The federated issuer's JWKS: the three RFC keys.
pub fn federated_jwks() -> Vec<u8> {
    serde_json::json!({"keys": [
        {"kty": "RSA", "kid": KID_RS256, "use": "sig", "alg": "RS256", "n": RFC7515_A2_N, "e": RFC7515_A2_E},
        {"kty": "EC", "kid": KID_ES256, "use": "sig", "alg": "ES256", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y},
        {"kty": "OKP", "kid": KID_EDDSA, "use": "sig", "alg": "EdDSA", "crv": "Ed25519", "x": RFC8037_X},
    ]})
    .to_string()
    .into_bytes()
}

/// The PKCS#8 v2 document (RFC 5958, as ring writes it) of the Ed25519 key
/// with `seed`.
pub fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    const PREFIX: [u8; 16] = [
        0x30, 0x53, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    const MIDDLE: [u8; 5] = [0xa1, 0x23, 0x03, 0x21, 0x00];
    let public = ed25519_pair(seed).public_key().as_ref().to_vec();
    [&PREFIX[..], seed, &MIDDLE[..], &public].concat()
}

/// The Ed25519 key pair of `seed`.
pub fn ed25519_pair(seed: &[u8; 32]) -> Ed25519KeyPair {
    match Ed25519KeyPair::from_seed_unchecked(seed) {
        Ok(pair) => pair,
        // Any 32 bytes are a valid seed.
        Err(e) => panic!("an Ed25519 seed was refused: {e}"),
    }
}
