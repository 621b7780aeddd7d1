//! One 256-bit AES-GCM key and its public id: reading it from text, and
//! sealing and opening the raw `nonce ‖ ciphertext ‖ tag` form.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest as _, Sha256};

use super::error::KekError;
use super::id::KekId;
use crate::base62::RandomnessError;

/// Length of a KEK in bytes.
pub const KEK_LEN: usize = 32;
/// Bytes the AES-GCM part of a sealed value adds to its plaintext (nonce
/// and tag).
pub const SEAL_OVERHEAD: usize = 12 + 16;

/// Domain separation of the KEK id hash.
const ID_DOMAIN: &[u8] = b"modelgate-kek-id\n";

/// One AES-256-GCM key with its id.
#[derive(Clone)]
pub(super) struct SingleKek {
    bytes: [u8; KEK_LEN],
    key: LessSafeKey,
    id: KekId,
}

impl SingleKek {
    /// A key from its 32 bytes.
    pub(super) fn from_bytes(bytes: [u8; KEK_LEN]) -> Result<SingleKek, KekError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| KekError::Malformed)?;
        let digest = Sha256::new()
            .chain_update(ID_DOMAIN)
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Ok(SingleKek {
            bytes,
            key: LessSafeKey::new(unbound),
            id: KekId(id),
        })
    }

    /// A fresh random key.
    pub(super) fn generate() -> Result<SingleKek, KekError> {
        let mut bytes = [0u8; KEK_LEN];
        getrandom::fill(&mut bytes).map_err(|_| RandomnessError)?;
        SingleKek::from_bytes(bytes)
    }

    /// Reads a key from text: 64 hex characters (either case), or standard
    /// or URL-safe base64, with or without padding, of exactly 32 bytes.
    /// Surrounding whitespace is ignored. The error never echoes the text.
    pub(super) fn parse(text: &str) -> Result<SingleKek, KekError> {
        let text = text.trim();
        if text.len() == 2 * KEK_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut bytes = [0u8; KEK_LEN];
            for (slot, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
                *slot = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
            }
            return SingleKek::from_bytes(bytes);
        }
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(decoded) = engine.decode(text)
                && let Ok(bytes) = <[u8; KEK_LEN]>::try_from(decoded.as_slice())
            {
                return SingleKek::from_bytes(bytes);
            }
        }
        Err(KekError::Malformed)
    }

    /// The key's public id.
    pub(super) fn id(&self) -> KekId {
        self.id
    }

    /// The key as standard base64. A secret.
    pub(super) fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    /// Encrypts `plaintext` bound to `aad`: `nonce ‖ ciphertext ‖ tag`.
    pub(super) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
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

    /// Decrypts `nonce ‖ ciphertext ‖ tag` bound to `aad`.
    pub(super) fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KekError> {
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
    #![allow(clippy::unwrap_used)]
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
            assert_eq!(SingleKek::parse(&form).unwrap().to_base64(), want);
        }
        // Bytes whose encodings differ between the two alphabets.
        let url = URL_SAFE.encode([0xfb; 32]);
        assert!(url.contains('-') || url.contains('_'));
        for form in [url, URL_SAFE_NO_PAD.encode([0xfb; 32])] {
            assert_eq!(
                SingleKek::parse(&form).unwrap().to_base64(),
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
            let Err(err) = SingleKek::parse(bad) else {
                panic!("{bad:?} parsed");
            };
            assert_eq!(err, KekError::Malformed);
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
                assert!(!format!("{err:?}").contains(bad));
            }
        }
    }

    #[test]
    fn the_id_is_a_domain_separated_hash_not_the_key() {
        let kek = SingleKek::from_bytes(bytes()).unwrap();
        let digest = Sha256::new()
            .chain_update(b"modelgate-kek-id\n")
            .chain_update(bytes())
            .finalize();
        assert_eq!(kek.id().0, digest[..8]);
        assert_ne!(kek.id().0, bytes()[..8]);
        assert_ne!(kek.id(), SingleKek::generate().unwrap().id());
        assert_eq!(kek.id().to_string().len(), 16);
    }

    #[test]
    fn raw_seal_open_round_trip_and_failures() {
        let kek = SingleKek::generate().unwrap();
        let sealed = kek.seal(b"private key bytes", b"kid-1").unwrap();
        assert_eq!(sealed.len(), 17 + SEAL_OVERHEAD);
        assert_eq!(kek.open(&sealed, b"kid-1").unwrap(), b"private key bytes");
        assert_ne!(kek.seal(b"private key bytes", b"kid-1").unwrap(), sealed);
        let other = SingleKek::generate().unwrap();
        assert_eq!(other.open(&sealed, b"kid-1"), Err(KekError::Open));
        assert_eq!(kek.open(&sealed, b"kid-2"), Err(KekError::Open));
        for i in [0, NONCE_LEN, sealed.len() - 1] {
            let mut tampered = sealed.clone();
            tampered[i] ^= 1;
            assert_eq!(kek.open(&tampered, b"kid-1"), Err(KekError::Open), "{i}");
        }
        assert_eq!(kek.open(&sealed[..10], b"kid-1"), Err(KekError::Open));
        assert_eq!(kek.open(&[], b""), Err(KekError::Open));
    }
}
