//! The key-encryption key (KEK): AES-256-GCM over secrets the gateway keeps
//! in its store (the private halves of token signing keys).
//!
//! The KEK itself never touches the store. It comes from configuration (a
//! secret reference such as `env:MODELGATE_KEK`) as 64 hexadecimal
//! characters or the base64 (standard or URL-safe, padded or not) of 32
//! bytes. A sealed value is `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)`
//! with a fresh random nonce each time; the caller's associated data (for a
//! signing key, its kid) binds the ciphertext to its row, so a sealed value
//! copied onto another row does not open.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::base62::RandomnessError;

/// Length of a KEK in bytes.
pub const KEK_LEN: usize = 32;
/// Bytes a sealed value adds to its plaintext (nonce and tag).
pub const SEAL_OVERHEAD: usize = NONCE_LEN + 16;

/// Why a KEK could not be read, or a value not sealed or opened. Never
/// contains the KEK, the input text or the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The text is neither 64 hex characters nor base64 of 32 bytes.
    #[error(
        "invalid key-encryption key: expected 64 hexadecimal characters or the base64 \
         of 32 bytes (for example from `openssl rand -base64 32`)"
    )]
    Malformed,
    /// Randomness for a key or a nonce could not be drawn.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// Encryption failed.
    #[error("could not seal a value with the key-encryption key")]
    Seal,
    /// Decryption failed: the KEK is not the one that sealed the value, the
    /// associated data differs, or the sealed value was altered.
    #[error(
        "could not open a sealed value: wrong key-encryption key, or the stored value was altered"
    )]
    Open,
}

/// A 256-bit key-encryption key. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    bytes: [u8; KEK_LEN],
    key: LessSafeKey,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEK_LEN]) -> Result<KeyEncryptionKey, KekError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KekError::Malformed)?;
        Ok(KeyEncryptionKey {
            bytes,
            key: LessSafeKey::new(unbound),
        })
    }

    /// A fresh random KEK.
    pub fn generate() -> Result<KeyEncryptionKey, KekError> {
        let mut bytes = [0u8; KEK_LEN];
        getrandom::fill(&mut bytes).map_err(|_| RandomnessError)?;
        KeyEncryptionKey::from_bytes(bytes)
    }

    /// Reads a KEK from text: 64 hex characters (either case), or standard
    /// or URL-safe base64, with or without padding, of exactly 32 bytes.
    /// Surrounding whitespace is ignored. The error never echoes the text.
    pub fn parse(text: &str) -> Result<KeyEncryptionKey, KekError> {
        let text = text.trim();
        if text.len() == 2 * KEK_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut bytes = [0u8; KEK_LEN];
            for (slot, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *slot = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            return KeyEncryptionKey::from_bytes(bytes);
        }
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(decoded) = engine.decode(text)
                && let Ok(bytes) = <[u8; KEK_LEN]>::try_from(decoded.as_slice())
            {
                return KeyEncryptionKey::from_bytes(bytes);
            }
        }
        Err(KekError::Malformed)
    }

    /// The KEK as standard base64, for the one place that must show a newly
    /// generated key to an operator. Treat the result as a secret.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// Encrypts `plaintext`, binding it to `aad`. Returns
    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| RandomnessError)?;
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .map_err(|_| KekError::Seal)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Decrypts a value from [`KeyEncryptionKey::seal`] with the same `aad`.
    /// [`KekError::Open`] on a wrong KEK, a different `aad`, or any change to
    /// the sealed bytes.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(KekError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| KekError::Open)?;
        let mut body = body.to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| KekError::Open)?
            .len();
        body.truncate(plain_len);
        Ok(body)
    }
}

/// The value of an ASCII hex digit (the caller checked it is one).
fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn bytes() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    #[test]
    fn parse_accepts_hex_and_every_base64_form() {
        let want = STANDARD.encode(bytes());
        for form in [
            HEX.to_owned(),
            HEX.to_uppercase(),
            format!("  {HEX}\n"),
            STANDARD.encode(bytes()),
            STANDARD_NO_PAD.encode(bytes()),
            URL_SAFE_NO_PAD.encode(bytes()),
            format!("\t{}  ", STANDARD.encode(bytes())),
        ] {
            assert_eq!(KeyEncryptionKey::parse(&form).unwrap().to_base64(), want);
        }
        // Bytes whose encodings differ between the two alphabets.
        let url = URL_SAFE.encode([0xfb; 32]);
        assert!(url.contains('-') || url.contains('_'));
        for form in [url, URL_SAFE_NO_PAD.encode([0xfb; 32])] {
            assert_eq!(
                KeyEncryptionKey::parse(&form).unwrap().to_base64(),
                STANDARD.encode([0xfb; 32])
            );
        }
    }

    #[test]
    fn parse_refuses_wrong_sizes_and_never_echoes() {
        let secretish = "s3cr3tS3CR3Ts3cr3tS3CR3Ts3cr3tS3CR3T";
        for bad in [
            "",
            &HEX[..62],
            &format!("{HEX}00"),
            &STANDARD.encode([1u8; 31]),
            &STANDARD.encode([1u8; 33]),
            secretish,
            "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ] {
            let err = KeyEncryptionKey::parse(bad).unwrap_err();
            assert_eq!(err, KekError::Malformed);
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
                assert!(!format!("{err:?}").contains(bad));
            }
        }
    }

    #[test]
    fn seal_open_round_trip_and_failures() {
        let kek = KeyEncryptionKey::generate().unwrap();
        let sealed = kek.seal(b"private key bytes", b"kid-1").unwrap();
        assert_eq!(sealed.len(), 17 + SEAL_OVERHEAD);
        assert_eq!(kek.open(&sealed, b"kid-1").unwrap(), b"private key bytes");
        // Fresh nonce each time.
        assert_ne!(kek.seal(b"private key bytes", b"kid-1").unwrap(), sealed);
        // Wrong KEK, wrong AAD, any flipped bit, truncation.
        let other = KeyEncryptionKey::generate().unwrap();
        assert_eq!(other.open(&sealed, b"kid-1"), Err(KekError::Open));
        assert_eq!(kek.open(&sealed, b"kid-2"), Err(KekError::Open));
        for i in [0, NONCE_LEN, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert_eq!(kek.open(&tampered, b"kid-1"), Err(KekError::Open), "{i}");
        }
        assert_eq!(kek.open(&sealed[..10], b"kid-1"), Err(KekError::Open));
        assert_eq!(kek.open(&[], b""), Err(KekError::Open));
        // An empty plaintext works too.
        let empty = kek.seal(b"", b"").unwrap();
        assert_eq!(kek.open(&empty, b"").unwrap(), b"");
    }

    #[test]
    fn debug_is_redacted() {
        let kek = KeyEncryptionKey::from_bytes(bytes()).unwrap();
        let text = format!("{kek:?}");
        assert_eq!(text, "KeyEncryptionKey([redacted])");
        assert!(!text.contains(&kek.to_base64()));
    }
}
