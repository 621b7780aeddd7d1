//! The key-encryption key (KEK): AES-256-GCM over secrets the gateway keeps
//! in its store (the private halves of token signing keys, the audit keys).
//!
//! The KEK itself never touches the store. It comes from configuration (a
//! secret reference such as `env:MODELGATE_KEK`) as 64 hexadecimal
//! characters or the base64 (standard or URL-safe, padded or not) of 32
//! bytes. A sealed value is `"MGKEK" ‖ 0x01 ‖ kek id ‖ nonce (12 bytes) ‖
//! ciphertext ‖ tag (16 bytes)` with a fresh random nonce each time; the
//! caller's associated data (for a signing key, its kid) binds the
//! ciphertext to its row, so a sealed value copied onto another row does
//! not open.
//!
//! The KEK id ([`KekId`]) is the first 8 bytes of SHA-256 over a
//! domain-separated KEK: it names a KEK without revealing it. During a KEK
//! rotation a [`KeyEncryptionKey`] also holds the previous KEKs
//! (`tokens.previous_keks`): it opens values sealed with any of them and
//! seals only with the current one; [`KeyEncryptionKey::reseal`] moves a
//! value to the current KEK. Values sealed before KEK ids existed carry no
//! id and are opened by trying each KEK.

mod error;
mod id;
mod key;
mod tagged;

use std::fmt;

pub use error::KekError;
pub use id::KekId;
use key::SingleKek;
pub use key::{KEK_LEN, SEAL_OVERHEAD};

/// Which configured KEK opens a sealed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedBy {
    /// The KEK that opens it.
    pub kek: KekId,
    /// Whether the value names its KEK (false: sealed before KEK ids).
    pub tagged: bool,
}

/// The key-encryption key: the current KEK, which seals, and the previous
/// KEKs still accepted for opening until a rotation completes. `Debug`
/// prints the ids only.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    current: SingleKek,
    previous: Vec<SingleKek>,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("id", &self.current.id())
            .field("previous", &self.previous_ids())
            .finish_non_exhaustive()
    }
}

impl KeyEncryptionKey {
    fn single(current: SingleKek) -> KeyEncryptionKey {
        KeyEncryptionKey {
            current,
            previous: Vec::new(),
        }
    }

    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Result<KeyEncryptionKey, KekError> {
        SingleKek::from_bytes(bytes).map(KeyEncryptionKey::single)
    }

    /// A fresh random KEK.
    pub fn generate() -> Result<KeyEncryptionKey, KekError> {
        SingleKek::generate().map(KeyEncryptionKey::single)
    }

    /// Reads a KEK from text: 64 hex characters (either case), or standard
    /// or URL-safe base64, with or without padding, of exactly 32 bytes.
    /// Surrounding whitespace is ignored. The error never echoes the text.
    pub fn parse(text: &str) -> Result<KeyEncryptionKey, KekError> {
        SingleKek::parse(text).map(KeyEncryptionKey::single)
    }

    /// This KEK, also accepting the current KEKs of `previous` for
    /// opening. A previous KEK equal to the current one, or given twice, is
    /// kept once.
    pub fn with_previous(
        mut self,
        previous: impl IntoIterator<Item = KeyEncryptionKey>,
    ) -> KeyEncryptionKey {
        for kek in previous {
            for key in std::iter::once(kek.current).chain(kek.previous) {
                let id = key.id();
                if id != self.current.id() && !self.previous.iter().any(|p| p.id() == id) {
                    self.previous.push(key);
                }
            }
        }
        self
    }

    /// The id of the current KEK (the one that seals).
    pub fn id(&self) -> KekId {
        self.current.id()
    }

    /// The ids of the previous KEKs, in configuration order.
    pub fn previous_ids(&self) -> Vec<KekId> {
        self.previous.iter().map(SingleKek::id).collect()
    }

    /// The current KEK as standard base64, for the one place that must show
    /// a newly generated key to an operator. Treat the result as a secret.
    pub fn to_base64(&self) -> String {
        self.current.to_base64()
    }

    /// Encrypts `plaintext` with the current KEK, binding it to `aad`.
    /// Returns `header ‖ nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let header = tagged::header(self.current.id());
        let body = self.current.seal(plaintext, &tagged::aad(&header, aad))?;
        let mut out = Vec::with_capacity(header.len() + body.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value from [`KeyEncryptionKey::seal`] (with this KEK or a
    /// previous one) with the same `aad`. [`KekError::UnknownKek`] when the
    /// value names a KEK that is not configured; [`KekError::Open`] on a
    /// wrong KEK, a different `aad`, or any change to the sealed bytes.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        self.open_with(sealed, aad).map(|(plain, _)| plain)
    }

    /// Which configured KEK opens `sealed`, without returning the
    /// plaintext. Errors as [`KeyEncryptionKey::open`].
    pub fn sealed_by(&self, sealed: &[u8], aad: &[u8]) -> Result<SealedBy, KekError> {
        self.open_with(sealed, aad).map(|(_, by)| by)
    }

    /// The KEK id a sealed value names in its header, without opening it;
    /// `None` for a value sealed before KEK ids.
    pub fn named_kek(sealed: &[u8]) -> Option<KekId> {
        tagged::split(sealed).map(|(id, _, _)| id)
    }

    /// `sealed` sealed again with the current KEK, or `None` when it already
    /// is (and names it). Errors as [`KeyEncryptionKey::open`].
    pub fn reseal(&self, sealed: &[u8], aad: &[u8]) -> Result<Option<Vec<u8>>, KekError> {
        let (plain, by) = self.open_with(sealed, aad)?;
        if by.tagged && by.kek == self.current.id() {
            return Ok(None);
        }
        self.seal(&plain, aad).map(Some)
    }

    /// Every configured KEK, current first.
    fn all(&self) -> impl Iterator<Item = &SingleKek> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    fn open_with(&self, sealed: &[u8], aad: &[u8]) -> Result<(Vec<u8>, SealedBy), KekError> {
        let mut failure = KekError::Open;
        if let Some((id, header, body)) = tagged::split(sealed) {
            match self.all().find(|k| k.id() == id) {
                Some(key) => {
                    if let Ok(plain) = key.open(body, &tagged::aad(header, aad)) {
                        let by = SealedBy {
                            kek: id,
                            tagged: true,
                        };
                        return Ok((plain, by));
                    }
                }
                None => failure = KekError::UnknownKek(id),
            }
        }
        // No header (or, with odds of 2^-48, an untagged value whose random
        // nonce starts like one): try each KEK on the whole value.
        for key in self.all() {
            if let Ok(plain) = key.open(sealed, aad) {
                let by = SealedBy {
                    kek: key.id(),
                    tagged: false,
                };
                return Ok((plain, by));
            }
        }
        Err(failure)
    }
}

#[cfg(test)]
mod tests;
