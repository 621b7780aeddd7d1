//! The first and last lines of an export file: the header that anchors a
//! range to the record before it, and the seal, an Ed25519 signature over
//! the whole range that makes truncation of the file detectable.
//!
//! ```text
//! {"export":{"format":"modelgate-audit-export-v1","replica":R,"since":MS|null,"until":MS|null,"anchor_seq":N,"anchor_hash":HEX}}
//! {"seal":{"replica":R,"since":..,"until":..,"anchor_seq":N,"anchor_hash":HEX,"last_seq":M,"head":HEX,"records":K,"checkpoints":C,"time":MS,"key_id":ID,"sig":B64}}
//! ```
//!
//! The seal's signature is over
//!
//! ```text
//! modelgate-audit-export-v1\n<replica as JSON>\n<since or ->\n<until or ->\n<anchor_seq>\n<anchor_hash>\n<last_seq>\n<head>\n<records>\n<checkpoints>\n<time>\n<key_id>\n
//! ```

use serde::{Deserialize, Serialize};

use crate::checkpoint::{AuditPublicKey, AuditSigner, b64};
use crate::codec::replica_json;
use crate::digest::Digest;
use crate::error::AuditError;

/// Format tag of export files.
pub const EXPORT_FORMAT: &str = "modelgate-audit-export-v1";

/// First line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// Replica whose chain this is.
    pub replica: String,
    /// First time included (unix ms), if bounded.
    pub since: Option<i64>,
    /// First time excluded (unix ms), if bounded.
    pub until: Option<i64>,
    /// Seq of the record before the first exported one (0: none).
    pub anchor_seq: u64,
    /// Its hash ([`Digest::ZERO`] for seq 0): the first exported record's
    /// `prev`.
    pub anchor_hash: Digest,
}

/// Last line of an export: what the exporter attests, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// As in the header.
    pub replica: String,
    /// As in the header.
    pub since: Option<i64>,
    /// As in the header.
    pub until: Option<i64>,
    /// As in the header.
    pub anchor_seq: u64,
    /// As in the header.
    pub anchor_hash: Digest,
    /// Seq of the last exported record (`anchor_seq` if none).
    pub last_seq: u64,
    /// Its hash.
    pub head: Digest,
    /// Records in the file.
    pub records: u64,
    /// Checkpoint lines in the file.
    pub checkpoints: u64,
    /// When the export was made, unix ms.
    pub time: i64,
    /// Signing key id.
    pub key_id: String,
    /// Ed25519 signature.
    #[serde(rename = "sig", with = "b64")]
    pub signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderLine<T> {
    export: T,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealLine<T> {
    seal: T,
}

fn opt(value: Option<i64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl ExportHeader {
    /// The JSON line.
    pub fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(&HeaderLine { export: self }).unwrap_or_default()
    }

    /// Parses a header line.
    pub fn from_line(line: &[u8]) -> Result<Self, AuditError> {
        serde_json::from_slice::<HeaderLine<ExportHeader>>(line)
            .map(|l| l.export)
            .map_err(|e| AuditError::Decode(e.to_string()))
    }
}

impl Seal {
    /// The signed message.
    pub fn message(&self) -> Vec<u8> {
        let mut msg = format!("{EXPORT_FORMAT}\n").into_bytes();
        msg.extend_from_slice(&replica_json(&self.replica));
        msg.extend_from_slice(
            format!(
                "\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
                opt(self.since),
                opt(self.until),
                self.anchor_seq,
                self.anchor_hash,
                self.last_seq,
                self.head,
                self.records,
                self.checkpoints,
                self.time,
                self.key_id
            )
            .as_bytes(),
        );
        msg
    }

    /// Signs the seal (sets key id and signature).
    pub fn sign(mut self, signer: &AuditSigner) -> Self {
        self.key_id = signer.key_id().to_owned();
        self.signature = signer.sign(&self.message());
        self
    }

    /// Whether one of `keys` (by key id) signed it.
    pub fn verify(&self, keys: &[AuditPublicKey]) -> bool {
        keys.iter()
            .filter(|k| k.key_id() == self.key_id)
            .any(|k| k.verify(&self.message(), &self.signature))
    }

    /// Whether it restates `header`.
    pub fn matches(&self, header: &ExportHeader) -> bool {
        self.replica == header.replica
            && self.since == header.since
            && self.until == header.until
            && self.anchor_seq == header.anchor_seq
            && self.anchor_hash == header.anchor_hash
    }

    /// The JSON line.
    pub fn to_line(&self) -> Vec<u8> {
        serde_json::to_vec(&SealLine { seal: self }).unwrap_or_default()
    }

    /// Parses a seal line.
    pub fn from_line(line: &[u8]) -> Result<Self, AuditError> {
        serde_json::from_slice::<SealLine<Seal>>(line)
            .map(|l| l.seal)
            .map_err(|e| AuditError::Decode(e.to_string()))
    }
}
