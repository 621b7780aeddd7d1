//! JSON Web Key Sets (RFC 7517/7518/8037): parsing the public keys an issuer
//! publishes, and choosing the one that may verify a given token.
//!
//! Keys of unsupported types or curves, malformed keys, RSA moduli outside
//! 2048..=8192 bits and keys published with private members are skipped
//! (logged), never fatal: one odd key must not take a whole issuer down.

use serde_json::{Map, Value};

use super::jws::{Algorithm, decode_member};
use super::material::{Curve, KeyMaterial};
use super::preset::Preset;

/// Largest JWKS or discovery document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 1 << 20;
/// Most keys kept from one JWKS; the rest are skipped.
pub const MAX_JWKS_KEYS: usize = 64;

const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// JWK members that only a private key has.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// One usable public key of a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Jwk {
    /// `kid`, if any.
    pub kid: Option<String>,
    /// `alg`, if any (not checked against the supported list here: a key
    /// whose `alg` is unknown simply never fits a token).
    pub alg: Option<String>,
    /// `use`, if any.
    pub key_use: Option<String>,
    /// `key_ops`, if any.
    pub key_ops: Option<Vec<String>>,
    /// The key.
    pub material: KeyMaterial,
}

/// Why a key cannot verify a token although its `kid` matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unfit {
    /// Wrong type/curve, different `alg`, or not a signature key.
    Mismatch,
    /// SPIFFE: `use` is not `jwt-svid`.
    NotJwtSvid,
}

impl Jwk {
    /// Whether this key may verify a token signed with `alg` from an issuer
    /// with `preset`.
    pub(crate) fn check_fit(&self, alg: Algorithm, preset: Preset) -> Result<(), Unfit> {
        if preset == Preset::Spiffe {
            if self.key_use.as_deref() != Some("jwt-svid") {
                return Err(Unfit::NotJwtSvid);
            }
        } else if self.key_use.as_deref().is_some_and(|u| u != "sig") {
            return Err(Unfit::Mismatch);
        }
        if !alg.fits(&self.material) {
            return Err(Unfit::Mismatch);
        }
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return Err(Unfit::Mismatch);
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(Unfit::Mismatch);
        }
        Ok(())
    }
}

/// Parses a JWKS document. Fails only when the document itself is not
/// `{"keys": [...]}` (or is too large); individual keys that cannot be used
/// are skipped with a debug log naming the issuer.
pub(crate) fn parse_jwks(bytes: &[u8], issuer: &str) -> Result<Vec<Jwk>, &'static str> {
    if bytes.len() > MAX_JWKS_BYTES {
        return Err("JWKS document is too large");
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|_| "JWKS document is not JSON")?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err("JWKS document has no keys array");
    };
    let mut keys = Vec::new();
    for entry in entries {
        if keys.len() == MAX_JWKS_KEYS {
            tracing::warn!(
                issuer,
                max = MAX_JWKS_KEYS,
                "JWKS has too many keys; extra keys skipped"
            );
            break;
        }
        let Value::Object(member) = entry else {
            tracing::debug!(issuer, "skipping JWKS entry that is not an object");
            continue;
        };
        match parse_key(member) {
            Ok(key) => keys.push(key),
            Err(why) => {
                let kid = member.get("kid").and_then(|v| v.as_str()).unwrap_or("");
                let kty = member.get("kty").and_then(|v| v.as_str()).unwrap_or("");
                tracing::debug!(issuer, kid, kty, why, "skipping JWKS key");
            }
        }
    }
    Ok(keys)
}

fn parse_key(member: &Map<String, Value>) -> Result<Jwk, &'static str> {
    if PRIVATE_MEMBERS.iter().any(|m| member.contains_key(*m)) {
        tracing::warn!("a JWKS publishes private key material; that key is skipped");
        return Err("private key material published");
    }
    let kid = optional_string(member, "kid")?;
    let alg = optional_string(member, "alg")?;
    let key_use = optional_string(member, "use")?;
    let key_ops = match member.get("key_ops") {
        None => None,
        Some(Value::Array(ops)) => Some(
            ops.iter()
                .map(|op| op.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("key_ops is not an array of strings")?,
        ),
        Some(_) => return Err("key_ops is not an array"),
    };
    let material = match member.get("kty").and_then(Value::as_str) {
        Some("RSA") => rsa_material(member)?,
        Some("EC") => ec_material(member)?,
        Some("OKP") => okp_material(member)?,
        _ => return Err("unsupported kty"),
    };
    Ok(Jwk {
        kid,
        alg,
        key_use,
        key_ops,
        material,
    })
}

fn optional_string(
    member: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, &'static str> {
    match member.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err("a string member has another type"),
    }
}

fn bytes_member(member: &Map<String, Value>, name: &str) -> Result<Vec<u8>, &'static str> {
    member
        .get(name)
        .and_then(Value::as_str)
        .and_then(decode_member)
        .ok_or("missing or invalid base64url member")
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn rsa_material(member: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    let n = strip_leading_zeros(bytes_member(member, "n")?);
    let e = strip_leading_zeros(bytes_member(member, "e")?);
    let bits = match n.first() {
        Some(top) => n.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err("RSA modulus is not 2048 to 8192 bits");
    }
    if e.is_empty() || e.len() > 4 {
        return Err("RSA exponent out of range");
    }
    Ok(KeyMaterial::Rsa { n, e })
}

fn ec_material(member: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    let curve = match member.get("crv").and_then(Value::as_str) {
        Some("P-256") => Curve::P256,
        Some("P-384") => Curve::P384,
        _ => return Err("unsupported EC curve"),
    };
    let x = bytes_member(member, "x")?;
    let y = bytes_member(member, "y")?;
    let len = curve.coordinate_len();
    if x.len() != len || y.len() != len {
        return Err("EC coordinate has the wrong length");
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(KeyMaterial::Ec { curve, point })
}

fn okp_material(member: &Map<String, Value>) -> Result<KeyMaterial, &'static str> {
    if member.get("crv").and_then(Value::as_str) != Some("Ed25519") {
        return Err("unsupported OKP curve");
    }
    let x = bytes_member(member, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 key has the wrong length");
    }
    Ok(KeyMaterial::Ed25519 { x })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    #[test]
    fn skips_unusable_keys_and_keeps_good_ones() {
        let mut n = vec![0xC5_u8; 256];
        n[255] |= 1;
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "small", "n": b64(&[0xC5; 128]), "e": "AQAB"},
            {"kty": "RSA", "kid": "good", "n": b64(&n), "e": "AQAB"},
            {"kty": "RSA", "kid": "private", "n": b64(&n), "e": "AQAB", "d": "AQAB"},
            {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": b64(&[1; 31]), "y": b64(&[1; 32])},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": b64(&[1; 32])},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": b64(&[1; 32])},
            "not an object"
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes(), "test").unwrap();
        let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        assert_eq!(kids, ["good", "ed"]);
    }

    #[test]
    fn refuses_documents_without_keys() {
        assert!(parse_jwks(b"{}", "t").is_err());
        assert!(parse_jwks(b"{\"keys\":{}}", "t").is_err());
        assert!(parse_jwks(b"nope", "t").is_err());
        assert_eq!(parse_jwks(b"{\"keys\":[]}", "t").unwrap(), vec![]);
    }
}
