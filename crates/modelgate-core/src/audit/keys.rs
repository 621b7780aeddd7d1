//! The audit log's keys: the Ed25519 checkpoint key and the body HMAC key,
//! created on first start and kept in the store, sealed with the
//! key-encryption key like the token signing keys (with the current KEK; a
//! key sealed with one of `tokens.previous_keks` opens too until
//! `modelgate kek rotate` re-seals it).

use std::sync::Arc;

use modelgate_audit::{AuditHmacKey, AuditPublicKey, AuditSigner};
use modelgate_identity::KeyEncryptionKey;
use modelgate_store::{AuditKeyRecord, Store};

/// Why the audit keys could not be loaded. The message says the cause; it
/// is not also the `source()`, so a full error chain says it once.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    /// The store failed.
    #[error("audit keys: {0}")]
    Store(modelgate_store::StoreError),
    /// A key could not be unsealed (wrong key-encryption key?) or is bad.
    #[error("audit key {key_id}: {reason}")]
    Key {
        /// Which key.
        key_id: String,
        /// What is wrong (never key material).
        reason: String,
    },
    /// Key generation failed.
    #[error("audit keys: {0}")]
    Generate(String),
}

impl From<modelgate_store::StoreError> for AuditKeyError {
    fn from(e: modelgate_store::StoreError) -> Self {
        AuditKeyError::Store(e)
    }
}

/// The audit keys in use, and the retired checkpoint keys that still verify.
pub struct AuditKeys {
    /// Signs checkpoints and export seals.
    pub signer: Arc<AuditSigner>,
    /// Keys `hmac` bodies and `modelgate audit hash`.
    pub hmac: Arc<AuditHmacKey>,
    /// The public half of every checkpoint key whose sealed private key
    /// opens with the key-encryption key (the active one too), derived
    /// from that private key: a public key written into the store's plain
    /// column is never trusted by itself.
    pub trusted: Vec<AuditPublicKey>,
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKeys")
            .field("signer", &self.signer.key_id())
            .field("hmac", &self.hmac.id())
            .finish()
    }
}

const AAD_PREFIX: &str = "modelgate-audit-key\n";

fn sealing_aad(purpose: &str, key_id: &str) -> Vec<u8> {
    format!("{AAD_PREFIX}{purpose}\n{key_id}").into_bytes()
}

impl AuditKeys {
    /// The associated data the audit key `record` is sealed with: its
    /// purpose (`checkpoint` or `hmac`) and key id, so a sealed key copied
    /// onto another row does not open.
    pub fn sealing_aad(record: &AuditKeyRecord) -> Vec<u8> {
        sealing_aad(&record.purpose, &record.key_id)
    }

    /// Loads the active keys, creating them on first use. With `create`
    /// false (the CLI's read-only commands), missing keys are an error.
    pub async fn load(
        store: &Store,
        kek: &KeyEncryptionKey,
        now: i64,
        create: bool,
    ) -> Result<AuditKeys, AuditKeyError> {
        for attempt in 0..2 {
            let records = store.audit_keys().await?;
            let signer = records
                .iter()
                .find(|r| r.active && r.purpose == "checkpoint");
            let hmac = records.iter().find(|r| r.active && r.purpose == "hmac");
            match (signer, hmac) {
                (Some(s), Some(h)) => return Self::unseal(&records, s, h, kek),
                _ if !create || attempt == 1 => {
                    return Err(AuditKeyError::Generate(
                        "no audit keys in the store yet (start the gateway once)".into(),
                    ));
                }
                (signer, hmac) => {
                    if signer.is_none() {
                        insert_checkpoint_key(store, kek, now).await?;
                    }
                    if hmac.is_none() {
                        insert_hmac_key(store, kek, now).await?;
                    }
                }
            }
        }
        Err(AuditKeyError::Generate(
            "audit keys could not be created".into(),
        ))
    }

    fn unseal(
        records: &[AuditKeyRecord],
        signer: &AuditKeyRecord,
        hmac: &AuditKeyRecord,
        kek: &KeyEncryptionKey,
    ) -> Result<AuditKeys, AuditKeyError> {
        let bad = |r: &AuditKeyRecord, reason: String| AuditKeyError::Key {
            key_id: r.key_id.clone(),
            reason,
        };
        let der = kek
            .open(&signer.sealed, &sealing_aad("checkpoint", &signer.key_id))
            .map_err(|e| bad(signer, e.to_string()))?;
        let signer_key = AuditSigner::from_pkcs8(&der).map_err(|e| bad(signer, e.to_string()))?;
        let raw = kek
            .open(&hmac.sealed, &sealing_aad("hmac", &hmac.key_id))
            .map_err(|e| bad(hmac, e.to_string()))?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| bad(hmac, "not 32 bytes".into()))?;
        let trusted = records
            .iter()
            .filter(|r| r.purpose == "checkpoint")
            .filter_map(|r| bound_public_key(r, kek))
            .collect();
        Ok(AuditKeys {
            signer: Arc::new(signer_key),
            hmac: Arc::new(AuditHmacKey::new(&bytes)),
            trusted,
        })
    }
}

/// The public key of checkpoint key `record`, derived from its sealed
/// private key (bound to its key id by the sealing's associated data);
/// `None`, with a warning, for a row whose private key does not open with
/// the key-encryption key or does not match its key id: such a row was not
/// written by modelgate and its key vouches for nothing.
fn bound_public_key(record: &AuditKeyRecord, kek: &KeyEncryptionKey) -> Option<AuditPublicKey> {
    let key = kek
        .open(&record.sealed, &sealing_aad("checkpoint", &record.key_id))
        .ok()
        .and_then(|der| AuditSigner::from_pkcs8(&der).ok())
        .map(|signer| signer.public_key().clone())
        .filter(|public| public.key_id() == record.key_id);
    if key.is_none() {
        tracing::warn!(
            key_id = %record.key_id,
            "audit: a checkpoint key in the store is not sealed with the key-encryption key; not trusted"
        );
    }
    key
}

async fn insert_checkpoint_key(
    store: &Store,
    kek: &KeyEncryptionKey,
    now: i64,
) -> Result<(), AuditKeyError> {
    let (signer, der) =
        AuditSigner::generate().map_err(|e| AuditKeyError::Generate(e.to_string()))?;
    let key_id = signer.key_id().to_owned();
    let sealed = kek
        .seal(&der, &sealing_aad("checkpoint", &key_id))
        .map_err(|e| AuditKeyError::Generate(e.to_string()))?;
    store
        .insert_audit_key(&AuditKeyRecord {
            key_id,
            purpose: "checkpoint".into(),
            public_key: Some(signer.public_key().to_base64()),
            sealed,
            created_at: now,
            active: true,
        })
        .await?;
    Ok(())
}

async fn insert_hmac_key(
    store: &Store,
    kek: &KeyEncryptionKey,
    now: i64,
) -> Result<(), AuditKeyError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuditKeyError::Generate(e.to_string()))?;
    let key_id = AuditHmacKey::new(&bytes).id().to_owned();
    let sealed = kek
        .seal(&bytes, &sealing_aad("hmac", &key_id))
        .map_err(|e| AuditKeyError::Generate(e.to_string()))?;
    store
        .insert_audit_key(&AuditKeyRecord {
            key_id,
            purpose: "hmac".into(),
            public_key: None,
            sealed,
            created_at: now,
            active: true,
        })
        .await?;
    Ok(())
}
