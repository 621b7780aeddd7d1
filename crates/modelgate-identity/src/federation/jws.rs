//! Compact JWS (RFC 7515) with a strict, minimal parser, verified with ring.
//!
//! Only what federation needs: three base64url segments without padding,
//! a JSON-object header with `alg` (from a fixed public-key list), optional
//! `kid`, and no `crit`. Every other header member is ignored; in particular
//! `jku`, `jwk`, `x5u` and `x5c` are never used to find a key.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::error::FederationError;
use super::json;
use super::material::{Curve, KeyMaterial};

/// A JWS algorithm that federation can verify. HMAC and `none` are not
/// representable: a token naming them is refused before any key is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// The JOSE name (`RS256`, `EdDSA`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE name, exactly (case-sensitive).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// Whether `key` has the type (and curve) this algorithm needs: RSA for
    /// RS*/PS*, EC P-256 for ES256, EC P-384 for ES384, OKP Ed25519 for
    /// EdDSA. This is the check that prevents key confusion.
    pub(crate) fn fits(self, key: &KeyMaterial) -> bool {
        match (self, key) {
            (
                Algorithm::Rs256
                | Algorithm::Rs384
                | Algorithm::Rs512
                | Algorithm::Ps256
                | Algorithm::Ps384
                | Algorithm::Ps512,
                KeyMaterial::Rsa { .. },
            ) => true,
            (Algorithm::Es256, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P256,
            (Algorithm::Es384, KeyMaterial::Ec { curve, .. }) => *curve == Curve::P384,
            (Algorithm::EdDsa, KeyMaterial::Ed25519 { .. }) => true,
            _ => false,
        }
    }

    /// Verifies `sig` over `input` with `key`. False on any failure,
    /// including a key that does not fit (never reached: callers check
    /// [`Algorithm::fits`] first, but the pairing is enforced here too).
    pub(crate) fn verify(self, key: &KeyMaterial, input: &[u8], sig: &[u8]) -> bool {
        match (self, key) {
            (_, KeyMaterial::Rsa { n, e }) => {
                let params: &signature::RsaParameters = match self {
                    Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Algorithm::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    Algorithm::Es256 | Algorithm::Es384 | Algorithm::EdDsa => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, input, sig)
                    .is_ok()
            }
            (
                Algorithm::Es256,
                KeyMaterial::Ec {
                    curve: Curve::P256,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input, sig)
                .is_ok(),
            (
                Algorithm::Es384,
                KeyMaterial::Ec {
                    curve: Curve::P384,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                .verify(input, sig)
                .is_ok(),
            (Algorithm::EdDsa, KeyMaterial::Ed25519 { x }) => {
                UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(input, sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compact JWS split and decoded, signature not yet verified.
pub(crate) struct Compact<'t> {
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'t str,
    /// The decoded header.
    pub header: Header,
    /// The decoded payload, a JSON object with unique keys. Untrusted until
    /// the signature is verified.
    pub claims: Map<String, Value>,
    /// The decoded signature (possibly empty).
    pub signature: Vec<u8>,
}

/// The header members federation uses.
pub(crate) struct Header {
    /// `alg`, known to be a supported public-key algorithm.
    pub alg: Algorithm,
    /// `kid`, if present.
    pub kid: Option<String>,
}

/// Splits and decodes `token` in the order that matters for safety: shape,
/// then header (`alg` in the supported set, no `crit`, `kid` a string), then
/// the payload as a JSON object.
pub(crate) fn parse(token: &str) -> Result<Compact<'_>, FederationError> {
    let mut parts = token.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(FederationError::malformed(
            "not a compact JWS (three dot-separated parts)",
        ));
    };
    if h64.is_empty() || p64.is_empty() {
        return Err(FederationError::malformed(
            "empty header or payload segment",
        ));
    }
    let header_bytes = decode(h64)?;
    let header_json = json::parse_object(&header_bytes)
        .ok_or(FederationError::malformed("header is not a JSON object"))?;
    let header = read_header(&header_json)?;
    let payload = decode(p64)?;
    let signature = decode(s64)?;
    let claims = json::parse_object(&payload)
        .ok_or(FederationError::malformed("payload is not a JSON object"))?;
    Ok(Compact {
        signing_input: &token[..h64.len() + 1 + p64.len()],
        header,
        claims,
        signature,
    })
}

fn read_header(header: &Map<String, Value>) -> Result<Header, FederationError> {
    let alg = match header.get("alg") {
        Some(Value::String(name)) => {
            Algorithm::from_name(name).ok_or(FederationError::UnsupportedAlgorithm)?
        }
        Some(_) => return Err(FederationError::malformed("header alg is not a string")),
        None => return Err(FederationError::malformed("header has no alg")),
    };
    if header.contains_key("crit") {
        return Err(FederationError::CriticalHeader);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(FederationError::malformed("header kid is not a string")),
    };
    Ok(Header { alg, kid })
}

/// Strict base64url: only `A-Z a-z 0-9 - _`, no padding, canonical trailing
/// bits (the engine refuses non-zero trailing bits and impossible lengths).
fn decode(segment: &str) -> Result<Vec<u8>, FederationError> {
    let alphabet_ok = segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !alphabet_ok {
        return Err(FederationError::malformed(
            "segment is not unpadded base64url",
        ));
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| FederationError::malformed("segment is not unpadded base64url"))
}

/// Base64url without padding, for JWK members.
pub(crate) fn decode_member(text: &str) -> Option<Vec<u8>> {
    decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn token(header: &str, payload: &str, sig: &str) -> String {
        format!(
            "{}.{}.{sig}",
            enc(header.as_bytes()),
            enc(payload.as_bytes())
        )
    }

    fn reason(t: &str) -> FederationError {
        match parse(t) {
            Ok(_) => panic!("parsed"),
            Err(e) => e,
        }
    }

    #[test]
    fn shape_is_strict() {
        let ok = token(r#"{"alg":"RS256"}"#, r#"{"iss":"x"}"#, "AAAA");
        assert!(parse(&ok).is_ok());
        assert_eq!(reason(&format!("{ok}.AAAA")).label(), "malformed");
        assert_eq!(reason("a.b").label(), "malformed");
        assert_eq!(reason(&ok.replace("AAAA", "AA==")).label(), "malformed");
        assert_eq!(reason(&ok.replace("AAAA", "AA+/")).label(), "malformed");
        // Non-canonical trailing bits ("AB" decodes like "AA").
        assert_eq!(reason(&ok.replace("AAAA", "AB")).label(), "malformed");
        assert_eq!(reason(&format!(" {ok}")).label(), "malformed");
        let empty_payload = format!("{}..AAAA", enc(br#"{"alg":"RS256"}"#));
        assert_eq!(reason(&empty_payload).label(), "malformed");
    }

    #[test]
    fn header_is_strict() {
        let t = token(r#"{"alg":"none"}"#, "{}", "");
        assert_eq!(reason(&t), FederationError::UnsupportedAlgorithm);
        let t = token(r#"{"alg":"rs256"}"#, "{}", "");
        assert_eq!(reason(&t), FederationError::UnsupportedAlgorithm);
        let t = token(r#"{"alg":"RS256","crit":["exp"]}"#, "{}", "");
        assert_eq!(reason(&t), FederationError::CriticalHeader);
        let t = token(r#"{"alg":"RS256","kid":7}"#, "{}", "");
        assert_eq!(reason(&t).label(), "malformed");
        let t = token(r#"["RS256"]"#, "{}", "");
        assert_eq!(reason(&t).label(), "malformed");
        let t = token(r#"{"alg":"RS256","alg":"none"}"#, "{}", "");
        assert_eq!(reason(&t).label(), "malformed");
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.as_str()), Some(alg));
        }
        assert_eq!(Algorithm::from_name("HS256"), None);
        assert_eq!(Algorithm::from_name("none"), None);
    }
}
