//! The JWS header and the claims of a gateway access token, as JSON.
//!
//! Deserialisation is strict where it matters: numeric claims must be JSON
//! integers (a string or a float `exp` is refused), required claims must be
//! present, and a repeated claim is refused. Unknown claims are ignored.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use modelgate_types::IdentityKind;

/// The header the gateway writes.
#[derive(Serialize)]
pub(crate) struct HeaderOut<'a> {
    pub alg: &'static str,
    pub typ: &'static str,
    pub kid: &'a str,
}

/// The header as read; checked field by field by the verifier.
#[derive(Deserialize)]
pub(crate) struct HeaderIn {
    pub alg: String,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    /// Present at all → refused: no critical extension is understood.
    #[serde(default)]
    pub crit: Option<IgnoredAny>,
}

/// `aud`: one string (as minted) or an array of strings (RFC 7519).
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Reads a string or an array of strings directly (an untagged enum would
/// buffer the value first, on the hot path).
impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AudienceVisitor;

        impl<'de> serde::de::Visitor<'de> for AudienceVisitor {
            type Value = Audience;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Audience, E> {
                Ok(Audience::One(v.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Audience, A::Error> {
                let mut all = Vec::new();
                while let Some(one) = seq.next_element::<String>()? {
                    all.push(one);
                }
                Ok(Audience::Many(all))
            }
        }

        deserializer.deserialize_any(AudienceVisitor)
    }
}

impl Audience {
    pub(crate) fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(a) => a == audience,
            Audience::Many(list) => list.iter().any(|a| a == audience),
        }
    }
}

/// RFC 8693 §4.1 actor: the current actor's `sub`, and the actor before it
/// nested in `act`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ActClaim {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<ActClaim>>,
}

/// RFC 9068 claims plus the gateway's private `mg_*` claims, which let the
/// data plane build the principal without a store lookup, and the token
/// family `fam`.
#[derive(Serialize, Deserialize)]
pub(crate) struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub mg_kind: IdentityKind,
    pub mg_env: String,
    pub mg_owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<ActClaim>>,
    /// The token family: the `jti` of the first token of the chain of
    /// exchanges this one came from (its own `jti` when it starts one).
    /// Absent in tokens minted before families existed: then the family is
    /// the token's own `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}
