//! The gateway's token signing keys: Ed25519 key pairs kept in the store
//! with the private half sealed by the [`KeyEncryptionKey`], and an
//! in-memory keyring that signs and verifies.
//!
//! Lifecycle of a key: `active` (signs, verifies, published in JWKS) →
//! `previous` after a rotation (verifies tokens it signed until
//! `verify_until` = rotation time + the longest token lifetime, still
//! published) → `retired` (neither verifies nor is published). At most one
//! key is active; the store enforces it.
//!
//! Private key bytes never appear in `Debug` output or errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelgate_store::{SigningKeyRecord, Store, StoreError};
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::Serialize;

use crate::base62;
use crate::kek::KeyEncryptionKey;
pub use crate::signing_error::KeyringError;

/// The JWS `alg` of every key (Ed25519).
pub const SIGNING_ALGORITHM: &str = "EdDSA";
/// Length of a kid: random base62 characters.
pub const KID_LEN: usize = 16;
/// Length of an Ed25519 public key.
const PUBLIC_KEY_LEN: usize = 32;
/// Seconds of clock skew tolerated on `verify_until`.
pub(crate) const CLOCK_LEEWAY_SECS: i64 = 5;

/// The associated data a signing key's private half is sealed with: its
/// kid, so a sealed key copied onto another row does not open.
pub fn sealing_aad(kid: &str) -> &[u8] {
    kid.as_bytes()
}

/// Where a signing key is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// Signs new tokens.
    Active,
    /// Verifies tokens it signed until `verify_until`.
    Previous,
    /// Neither signs nor verifies.
    Retired,
}

impl KeyState {
    /// `active`, `previous` or `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Previous => "previous",
            KeyState::Retired => "retired",
        }
    }

    fn parse(text: &str) -> Option<KeyState> {
        [KeyState::Active, KeyState::Previous, KeyState::Retired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What may be shown about a signing key: no key material but the public
/// key's JWKS form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SigningKeyInfo {
    /// Key id.
    pub kid: String,
    /// Lifecycle state.
    pub state: KeyState,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// For a previous key: last moment it verifies, unix seconds.
    pub verify_until: Option<i64>,
}

/// The active key: its id and the key pair that signs.
pub(crate) struct Signer {
    kid: String,
    pair: Ed25519KeyPair,
}

impl Signer {
    /// The key id that goes in the token header.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// An Ed25519 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> ring::signature::Signature {
        self.pair.sign(message)
    }
}

/// A key that verifies: active or previous.
#[derive(Clone, Copy)]
struct Verifier {
    public: [u8; PUBLIC_KEY_LEN],
    state: KeyState,
    verify_until: Option<i64>,
}

impl Verifier {
    fn usable_at(&self, now: i64) -> bool {
        match self.state {
            KeyState::Active => true,
            KeyState::Previous => self
                .verify_until
                .is_some_and(|until| now < until.saturating_add(CLOCK_LEEWAY_SECS)),
            KeyState::Retired => false,
        }
    }
}

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VerifyFailure {
    /// No key with this kid verifies at this time.
    UnknownKey,
    /// The signature does not match.
    BadSignature,
}

#[derive(Default)]
struct KeyringState {
    signer: Option<Arc<Signer>>,
    verifiers: HashMap<String, Verifier>,
    /// Every stored key, oldest first.
    infos: Vec<SigningKeyInfo>,
}

struct KeyringInner {
    store: Store,
    kek: KeyEncryptionKey,
    state: RwLock<KeyringState>,
    /// Serialises reloads so an older listing never replaces a newer one.
    reloads: tokio::sync::Mutex<()>,
}

/// The signing keys in memory, loaded from the store.
///
/// Cheap to clone: clones share the keys. Reads (signing, verifying) take a
/// read lock for a map lookup only.
#[derive(Clone)]
pub struct SigningKeyring {
    inner: Arc<KeyringInner>,
}

impl fmt::Debug for SigningKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("SigningKeyring")
            .field("keys", &state.infos)
            .finish_non_exhaustive()
    }
}

impl SigningKeyring {
    /// Loads every key from the store and opens the private halves of the
    /// active and previous ones with `kek`. Fails with
    /// [`KeyringError::WrongKek`] if `kek` is not the KEK that sealed them:
    /// a clear startup error rather than tokens nobody can verify.
    pub async fn load(store: Store, kek: KeyEncryptionKey) -> Result<SigningKeyring, KeyringError> {
        let keyring = SigningKeyring {
            inner: Arc::new(KeyringInner {
                store,
                kek,
                state: RwLock::new(KeyringState::default()),
                reloads: tokio::sync::Mutex::new(()),
            }),
        };
        keyring.reload().await?;
        Ok(keyring)
    }

    fn state(&self) -> RwLockReadGuard<'_, KeyringState> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-reads the keys from the store (another replica or the CLI may have
    /// rotated). Keys already loaded are not decrypted again.
    pub async fn reload(&self) -> Result<(), KeyringError> {
        let _one_at_a_time = self.inner.reloads.lock().await;
        let records = self.inner.store.list_signing_keys().await?;
        let next = {
            let current = self.state();
            self.build(records, &current)?
        };
        *self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner) = next;
        Ok(())
    }

    /// Builds the in-memory state from stored records, reusing keys that
    /// `current` already opened.
    fn build(
        &self,
        records: Vec<SigningKeyRecord>,
        current: &KeyringState,
    ) -> Result<KeyringState, KeyringError> {
        let mut next = KeyringState::default();
        for record in records {
            let corrupt = |what| KeyringError::Corrupt {
                kid: record.kid.clone(),
                what,
            };
            let state = KeyState::parse(&record.state).ok_or_else(|| corrupt("unknown state"))?;
            next.infos.push(SigningKeyInfo {
                kid: record.kid.clone(),
                state,
                created_at: record.created_at,
                verify_until: record.verify_until,
            });
            if state == KeyState::Retired {
                continue;
            }
            if record.algorithm != SIGNING_ALGORITHM {
                return Err(corrupt("unsupported algorithm"));
            }
            let public: [u8; PUBLIC_KEY_LEN] = record
                .public_key
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("public key is not 32 bytes"))?;
            let reuse = current.signer.as_ref().filter(|s| s.kid == record.kid);
            let known = current
                .verifiers
                .get(&record.kid)
                .is_some_and(|v| v.public == public);
            if state == KeyState::Active {
                if next.signer.is_some() {
                    return Err(corrupt("more than one active key"));
                }
                let signer = match reuse {
                    Some(signer) => Arc::clone(signer),
                    None => Arc::new(self.open(&record, &public)?),
                };
                next.signer = Some(signer);
            } else if !known {
                // Not needed to verify, but opening it proves the KEK is the
                // right one before this replica signs anything.
                self.open(&record, &public)?;
            }
            next.verifiers.insert(
                record.kid.clone(),
                Verifier {
                    public,
                    state,
                    verify_until: record.verify_until,
                },
            );
        }
        Ok(next)
    }

    /// Opens a stored private key and checks it matches its public half.
    fn open(
        &self,
        record: &SigningKeyRecord,
        public: &[u8; PUBLIC_KEY_LEN],
    ) -> Result<Signer, KeyringError> {
        let pkcs8 = self
            .inner
            .kek
            .open(&record.sealed_private_key, sealing_aad(&record.kid))
            .map_err(|reason| KeyringError::WrongKek {
                kid: record.kid.clone(),
                reason,
            })?;
        let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| KeyringError::Corrupt {
            kid: record.kid.clone(),
            what: "private key does not parse",
        })?;
        if pair.public_key().as_ref() != public {
            return Err(KeyringError::Corrupt {
                kid: record.kid.clone(),
                what: "private and public halves do not match",
            });
        }
        Ok(Signer {
            kid: record.kid.clone(),
            pair,
        })
    }

    /// A new key pair as a record in `state`, the private half sealed with
    /// the kid as associated data.
    fn generate(&self, state: KeyState, now: i64) -> Result<SigningKeyRecord, KeyringError> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| KeyringError::Generate)?;
        let pair =
            Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyringError::Generate)?;
        let kid = base62::random(KID_LEN)?;
        let sealed = self.inner.kek.seal(pkcs8.as_ref(), sealing_aad(&kid))?;
        Ok(SigningKeyRecord {
            algorithm: SIGNING_ALGORITHM.to_owned(),
            public_key: pair.public_key().as_ref().to_vec(),
            sealed_private_key: sealed,
            created_at: now,
            state: state.as_str().to_owned(),
            verify_until: None,
            kid,
        })
    }

    /// Makes sure there is an active key, creating the first one if the
    /// store has none, and returns its kid. Safe to call from several
    /// replicas at once: the store keeps one active key, the losers reload.
    pub async fn ensure_active(&self, now: i64) -> Result<String, KeyringError> {
        if let Some(kid) = self.active_kid() {
            return Ok(kid);
        }
        self.reload().await?;
        if let Some(kid) = self.active_kid() {
            return Ok(kid);
        }
        let record = self.generate(KeyState::Active, now)?;
        match self.inner.store.insert_signing_key(&record).await {
            Ok(()) => tracing::info!(kid = %record.kid, "created the first token signing key"),
            Err(StoreError::Conflict(_)) => {} // another replica was first
            Err(err) => return Err(err.into()),
        }
        self.reload().await?;
        self.active_kid().ok_or(KeyringError::NoActiveKey)
    }

    /// Rotates: a new key becomes active; the old active key becomes
    /// previous with `verify_until = now + max_token_lifetime`, so every
    /// token it signed still verifies until it expires. Returns the new kid.
    pub async fn rotate(
        &self,
        now: i64,
        max_token_lifetime: Duration,
    ) -> Result<String, KeyringError> {
        let record = self.generate(KeyState::Active, now)?;
        let lifetime = i64::try_from(max_token_lifetime.as_secs()).unwrap_or(i64::MAX);
        let verify_until = now.saturating_add(lifetime);
        let demoted = self
            .inner
            .store
            .rotate_signing_key(&record, verify_until)
            .await?;
        tracing::info!(
            kid = %record.kid,
            previous = demoted.as_deref().unwrap_or("none"),
            verify_until,
            "rotated the token signing key"
        );
        self.reload().await?;
        Ok(record.kid)
    }

    /// Retires previous keys whose `verify_until` has passed: they no longer
    /// verify and are no longer published. Returns their kids.
    pub async fn retire_expired(&self, now: i64) -> Result<Vec<String>, KeyringError> {
        let retired = self.inner.store.retire_signing_keys(now).await?;
        if !retired.is_empty() {
            tracing::info!(kids = ?retired, "retired token signing keys");
            self.reload().await?;
        }
        Ok(retired)
    }

    /// The active key's id, if there is one.
    pub fn active_kid(&self) -> Option<String> {
        self.state().signer.as_ref().map(|s| s.kid.clone())
    }

    /// Every stored key (retired ones too), oldest first, without key
    /// material.
    pub fn keys(&self) -> Vec<SigningKeyInfo> {
        self.state().infos.clone()
    }

    /// The public keys of the active and previous keys as a JWKS document:
    /// `{"keys":[{"kty":"OKP","crv":"Ed25519","x":…,"kid":…,"alg":"EdDSA",
    /// "use":"sig"}]}`, active key first, then previous keys newest first.
    pub fn jwks(&self) -> serde_json::Value {
        let state = self.state();
        let mut published: Vec<&SigningKeyInfo> = state
            .infos
            .iter()
            .filter(|i| i.state != KeyState::Retired)
            .collect();
        published.sort_by_key(|i| (i.state != KeyState::Active, std::cmp::Reverse(i.created_at)));
        let keys: Vec<serde_json::Value> = published
            .into_iter()
            .filter_map(|info| {
                let verifier = state.verifiers.get(&info.kid)?;
                Some(serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(verifier.public),
                    "kid": info.kid,
                    "alg": SIGNING_ALGORITHM,
                    "use": "sig",
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The active signer.
    pub(crate) fn signer(&self) -> Option<Arc<Signer>> {
        self.state().signer.clone()
    }

    /// Whether the key `kid` verifies at `now`: active, or previous and not
    /// past its `verify_until` (with the clock leeway).
    pub(crate) fn is_usable(&self, kid: &str, now: i64) -> bool {
        self.state()
            .verifiers
            .get(kid)
            .is_some_and(|v| v.usable_at(now))
    }

    /// Verifies an Ed25519 signature with the key `kid`, which must be
    /// usable at `now` (see [`SigningKeyring::is_usable`]).
    pub(crate) fn verify(
        &self,
        kid: &str,
        message: &[u8],
        signature: &[u8],
        now: i64,
    ) -> Result<(), VerifyFailure> {
        let verifier = {
            let state = self.state();
            *state.verifiers.get(kid).ok_or(VerifyFailure::UnknownKey)?
        };
        if !verifier.usable_at(now) {
            return Err(VerifyFailure::UnknownKey);
        }
        UnparsedPublicKey::new(&ED25519, &verifier.public)
            .verify(message, signature)
            .map_err(|_| VerifyFailure::BadSignature)
    }
}
