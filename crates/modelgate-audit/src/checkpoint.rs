//! Signed checkpoints over the chain head, the Ed25519 audit signing key and
//! its public half.
//!
//! A checkpoint line is `{"checkpoint":{"replica":R,"seq":N,"head":HEX,
//! "time":MS,"key_id":ID,"sig":B64}}`; it follows the record it covers. The
//! signature is Ed25519 over the message
//!
//! ```text
//! modelgate-audit-checkpoint-v1\n<replica as JSON string>\n<seq>\n<head hex>\n<time>\n<key_id>\n
//! ```
//!
//! The key id is the first 16 hex digits of SHA-256 of the raw 32-byte
//! public key; the public key is exchanged as standard base64 of those 32
//! bytes (what `modelgate audit verify --public-key` takes).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::codec::replica_json;
use crate::digest::{Digest, push_hex};
use crate::error::AuditError;
use crate::record::ChainHead;

const CHECKPOINT_DOMAIN: &str = "modelgate-audit-checkpoint-v1\n";

/// The public half of an audit signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditPublicKey {
    bytes: [u8; 32],
    key_id: String,
}

impl AuditPublicKey {
    /// From the raw 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = Digest::sha256(&bytes);
        let mut key_id = String::with_capacity(16);
        push_hex(&mut key_id, &digest.0[..8]);
        Self { bytes, key_id }
    }

    /// From base64 (standard or URL-safe, padding optional) of the raw 32
    /// bytes; surrounding whitespace is ignored.
    pub fn from_base64(text: &str) -> Result<Self, AuditError> {
        let text = text.trim();
        let raw = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| AuditError::Key("public key is not base64".into()))?;
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| AuditError::Key("public key must be 32 bytes".into()))?;
        Ok(Self::from_bytes(bytes))
    }

    /// Standard base64 of the raw 32 bytes.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// First 16 hex digits of SHA-256 of the key.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.bytes)
            .verify(message, signature)
            .is_ok()
    }
}

impl std::fmt::Debug for AuditPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditPublicKey({})", self.key_id)
    }
}

/// The Ed25519 key that signs checkpoints and export seals.
pub struct AuditSigner {
    pair: Ed25519KeyPair,
    public: AuditPublicKey,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditSigner({})", self.public.key_id)
    }
}

impl AuditSigner {
    /// A new random key; also returns its PKCS#8 (v2) DER to store.
    pub fn generate() -> Result<(Self, Vec<u8>), AuditError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| AuditError::Key("cannot generate an Ed25519 key".into()))?;
        let signer = Self::from_pkcs8(pkcs8.as_ref())?;
        Ok((signer, pkcs8.as_ref().to_vec()))
    }

    /// From PKCS#8 DER (as written by [`AuditSigner::generate`]).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, AuditError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| AuditError::Key(format!("bad Ed25519 PKCS#8 key: {e}")))?;
        Ok(Self::from_pair(pair))
    }

    /// From a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, AuditError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| AuditError::Key(format!("bad Ed25519 seed: {e}")))?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: Ed25519KeyPair) -> Self {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(pair.public_key().as_ref());
        Self {
            pair,
            public: AuditPublicKey::from_bytes(bytes),
        }
    }

    /// The public key (for `--public-key`).
    pub fn public_key(&self) -> &AuditPublicKey {
        &self.public
    }

    /// The key id.
    pub fn key_id(&self) -> &str {
        self.public.key_id()
    }

    /// Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }

    /// A signed checkpoint over `head` of `replica`'s chain.
    pub fn checkpoint(&self, replica: &str, head: &ChainHead, time: i64) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            replica: replica.to_owned(),
            seq: head.seq,
            head_hash: head.hash,
            time,
            key_id: self.key_id().to_owned(),
            signature: Vec::new(),
        };
        checkpoint.signature = self.sign(&checkpoint.message());
        checkpoint
    }
}

/// A signature over the chain head at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Replica whose chain this is.
    pub replica: String,
    /// Seq of the record covered (0: the empty chain).
    pub seq: u64,
    /// Hash of that record.
    #[serde(rename = "head")]
    pub head_hash: Digest,
    /// When it was signed, unix ms.
    pub time: i64,
    /// Id of the signing key.
    pub key_id: String,
    /// Ed25519 signature (64 bytes), base64 in JSON.
    #[serde(rename = "sig", with = "b64")]
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointLine<T> {
    checkpoint: T,
}

impl Checkpoint {
    /// The signed message.
    pub fn message(&self) -> Vec<u8> {
        let mut msg = Vec::with_capacity(180);
        msg.extend_from_slice(CHECKPOINT_DOMAIN.as_bytes());
        msg.extend_from_slice(&replica_json(&self.replica));
        msg.extend_from_slice(
            format!(
                "\n{}\n{}\n{}\n{}\n",
                self.seq, self.head_hash, self.time, self.key_id
            )
            .as_bytes(),
        );
        msg
    }

    /// Whether one of `keys` (chosen by key id) signed it.
    pub fn verify(&self, keys: &[AuditPublicKey]) -> bool {
        keys.iter()
            .filter(|k| k.key_id() == self.key_id)
            .any(|k| k.verify(&self.message(), &self.signature))
    }

    /// The JSON line (no newline).
    pub fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(&CheckpointLine { checkpoint: self }).unwrap_or_default()
    }

    /// Parses a checkpoint line.
    pub fn from_line(line: &[u8]) -> Result<Self, AuditError> {
        serde_json::from_slice::<CheckpointLine<Checkpoint>>(line)
            .map(|l| l.checkpoint)
            .map_err(|e| AuditError::Decode(e.to_string()))
    }
}

/// Serde helper: bytes as standard base64.
pub(crate) mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes as base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    /// Deserializes base64 into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_signs_and_round_trips() -> Result<(), AuditError> {
        let (signer, pkcs8) = AuditSigner::generate()?;
        let again = AuditSigner::from_pkcs8(&pkcs8)?;
        assert_eq!(again.public_key(), signer.public_key());
        let head = ChainHead {
            seq: 7,
            hash: Digest::sha256(b"x"),
            time: 1,
        };
        let cp = signer.checkpoint("gw \"1\"", &head, 42);
        let keys = [AuditPublicKey::from_base64(
            &signer.public_key().to_base64(),
        )?];
        assert!(cp.verify(&keys));
        let parsed = Checkpoint::from_line(&cp.to_line())?;
        assert_eq!(parsed, cp);
        let mut forged = cp.clone();
        forged.seq = 8;
        assert!(!forged.verify(&keys));
        let (other, _) = AuditSigner::generate()?;
        assert!(!cp.verify(&[other.public_key().clone()]));
        assert_eq!(signer.key_id().len(), 16);
        Ok(())
    }
}
