//! Prompt and response retention: what of a body a route keeps in the audit
//! log (`none` by default, `hmac`, `redacted`, `full`) and for how long.
//!
//! `hmac` keeps HMAC-SHA256(audit HMAC key, text), as Vault's audit devices
//! do: a known value can be searched for (`modelgate audit hash VALUE`,
//! [`hash_value`]) without the log holding it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::SecureRandom as _;
use serde::{Deserialize, Serialize};

use crate::digest::{Digest, push_hex};
use crate::error::AuditError;
use crate::record::Body;

/// What a route keeps of prompts and responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    /// Nothing (the default).
    #[default]
    None,
    /// A keyed HMAC-SHA256 of the text.
    Hmac,
    /// The text after screening redacted it.
    Redacted,
    /// The text as sent.
    Full,
}

/// The audit HMAC key (32 bytes) and its id.
pub struct AuditHmacKey {
    id: String,
    key: hmac::Key,
}

impl std::fmt::Debug for AuditHmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditHmacKey({})", self.id)
    }
}

impl AuditHmacKey {
    /// A key whose id is derived from it (first 16 hex digits of
    /// SHA-256("modelgate-audit-hmac-key-id\n" || key)).
    pub fn new(bytes: &[u8; 32]) -> Self {
        let digest = Digest::sha256(&[b"modelgate-audit-hmac-key-id\n".as_slice(), bytes].concat());
        let mut id = String::with_capacity(16);
        push_hex(&mut id, &digest.0[..8]);
        Self::with_id(id, bytes)
    }

    /// A key with an id of the caller's choosing.
    pub fn with_id(id: impl Into<String>, bytes: &[u8; 32]) -> Self {
        Self {
            id: id.into(),
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
        }
    }

    /// The key id recorded with each HMAC body.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Standard base64 of HMAC-SHA256(key, value).
    pub fn tag(&self, value: &str) -> String {
        STANDARD.encode(hmac::sign(&self.key, value.as_bytes()).as_ref())
    }
}

/// What `modelgate audit hash VALUE` prints: the `value_b64` an HMAC body
/// holds for `value` under `key`.
pub fn hash_value(key: &AuditHmacKey, value: &str) -> String {
    key.tag(value)
}

/// A route's body retention: mode, HMAC key, and period.
#[derive(Debug, Clone, Default)]
pub struct BodyPolicy {
    retention: Retention,
    hmac: Option<Arc<AuditHmacKey>>,
    period: Option<Duration>,
}

impl BodyPolicy {
    /// A policy; `hmac` is required for [`Retention::Hmac`]. `period` is how
    /// long bodies are kept before pruning (`None`: until pruned by hand).
    pub fn new(
        retention: Retention,
        hmac: Option<Arc<AuditHmacKey>>,
        period: Option<Duration>,
    ) -> Result<Self, AuditError> {
        if retention == Retention::Hmac && hmac.is_none() {
            return Err(AuditError::Config(
                "hmac retention needs an audit HMAC key".into(),
            ));
        }
        Ok(Self {
            retention,
            hmac,
            period,
        })
    }

    /// The mode.
    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// What to keep of `text`. `redact` is the screen's redaction, called
    /// only under [`Retention::Redacted`].
    pub fn body(&self, text: &str, redact: &dyn Fn(&str) -> String) -> Option<Body> {
        match self.retention {
            Retention::None => None,
            Retention::Hmac => self.hmac.as_ref().map(|key| Body::Hmac {
                key_id: key.id().to_owned(),
                value_b64: key.tag(text),
            }),
            Retention::Redacted => Some(Body::Redacted {
                text: redact(text),
                salt: salt(),
            }),
            Retention::Full => Some(Body::Full {
                text: text.to_owned(),
                salt: salt(),
            }),
        }
    }

    /// When bodies recorded at `now_ms` may be pruned (the record's
    /// `bodies_expire`), if a body is kept and a period is set.
    pub fn expires(&self, now_ms: i64) -> Option<i64> {
        if self.retention == Retention::None {
            return None;
        }
        let period = i64::try_from(self.period?.as_millis()).unwrap_or(i64::MAX);
        Some(now_ms.saturating_add(period))
    }
}

/// Base64 of 16 random bytes.
fn salt() -> String {
    let mut bytes = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bytes).is_err() {
        // The OS RNG does not fail on supported systems; keep the salt
        // unique at least.
        tracing::warn!("audit: OS random source failed, salt from the clock");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes.copy_from_slice(&Digest::sha256(&nanos.to_le_bytes()).0[..16]);
    }
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() -> Result<(), AuditError> {
        let key = Arc::new(AuditHmacKey::new(&[7u8; 32]));
        let redact = |t: &str| t.replace("secret", "[REDACTED]");
        let text = "my secret";
        assert!(BodyPolicy::default().body(text, &redact).is_none());
        assert!(BodyPolicy::new(Retention::Hmac, None, None).is_err());
        let hmac = BodyPolicy::new(Retention::Hmac, Some(key.clone()), None)?;
        match hmac.body(text, &redact) {
            Some(Body::Hmac { key_id, value_b64 }) => {
                assert_eq!(key_id, key.id());
                assert_eq!(value_b64, hash_value(&key, text));
                assert_ne!(value_b64, hash_value(&key, "other"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let red = BodyPolicy::new(Retention::Redacted, None, Some(Duration::from_secs(1)))?;
        assert!(
            matches!(red.body(text, &redact), Some(Body::Redacted { text, .. }) if text == "my [REDACTED]")
        );
        assert_eq!(red.expires(1000), Some(2000));
        let full = BodyPolicy::new(Retention::Full, None, None)?;
        let (a, b) = (full.body(text, &redact), full.body(text, &redact));
        assert_ne!(a, b, "salts differ");
        assert_eq!(full.expires(5), None);
        Ok(())
    }

    #[test]
    fn key_id_is_stable_and_reveals_nothing_obvious() {
        let key = AuditHmacKey::new(&[1u8; 32]);
        assert_eq!(key.id(), AuditHmacKey::new(&[1u8; 32]).id());
        assert_eq!(key.id().len(), 16);
    }
}
