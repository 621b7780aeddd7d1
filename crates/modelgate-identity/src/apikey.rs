//! The API key format.
//!
//! A key is `mgk_`, 40 random base62 characters, and 6 base62 characters
//! encoding the CRC32 of everything before them: 50 characters in all. The
//! prefix and checksum let scanners (and the gateway's own screen) recognise
//! a key with almost no false positives, and let the gateway reject garbage
//! before it costs a store lookup. Only the SHA-256 of the key is stored.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::base62::{self, RandomnessError};

/// Prefix of every API key.
pub const API_KEY_PREFIX: &str = "mgk_";
/// Total length of an API key in characters (all ASCII).
pub const API_KEY_LEN: usize = 50;
/// Random base62 characters after the prefix.
const BODY_LEN: usize = 40;
/// Base62 characters of the CRC32 checksum at the end.
const CHECKSUM_LEN: usize = 6;
/// Characters covered by the checksum (prefix and body).
const CHECKED_LEN: usize = API_KEY_LEN - CHECKSUM_LEN;

/// Why a string is not a well-formed API key. Never contains the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    /// It does not start with `mgk_`.
    #[error("not a modelgate API key (expected the mgk_ prefix)")]
    WrongPrefix,
    /// It is not 50 characters long.
    #[error("malformed API key (expected 50 characters)")]
    WrongLength,
    /// It contains a character outside `[0-9A-Za-z]` after the prefix.
    #[error("malformed API key (unexpected character)")]
    InvalidCharacter,
    /// The checksum suffix does not match (a typo or a truncated copy).
    #[error("malformed API key (checksum mismatch)")]
    ChecksumMismatch,
}

/// A secret API key value.
///
/// `Debug` and `Display` print only the hint (`mgk_…` and the last four
/// characters). Use [`ApiKey::expose`] in the one place that must show the
/// key to its new holder.
pub struct ApiKey(String);

/// A freshly generated key: the secret (shown once), its hint and its hash.
pub struct GeneratedKey {
    /// The key itself. Show it once; never store or log it.
    pub secret: ApiKey,
    /// `mgk_…` and the last four characters: safe to store and display.
    pub hint: String,
    /// SHA-256 of the key: what the store keeps.
    pub hash: [u8; 32],
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("secret", &self.secret)
            .field("hint", &self.hint)
            .field("hash", &"[redacted]")
            .finish()
    }
}

impl ApiKey {
    /// Generates a new key from the operating system's random generator.
    pub fn generate() -> Result<GeneratedKey, RandomnessError> {
        let mut key = String::with_capacity(API_KEY_LEN);
        key.push_str(API_KEY_PREFIX);
        key.push_str(&base62::random(BODY_LEN)?);
        let crc = crc32fast::hash(key.as_bytes());
        key.push_str(&base62::encode_fixed(u64::from(crc), CHECKSUM_LEN));
        let secret = ApiKey(key);
        Ok(GeneratedKey {
            hint: secret.hint(),
            hash: secret.hash(),
            secret,
        })
    }

    /// Checks the format of `text` and wraps it.
    pub fn parse(text: &str) -> Result<ApiKey, KeyFormatError> {
        check_format(text)?;
        Ok(ApiKey(text.to_owned()))
    }

    /// The key itself, for the one place that hands it to its holder.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `mgk_…` and the last four characters.
    pub fn hint(&self) -> String {
        hint_of(&self.0)
    }

    /// SHA-256 of the key.
    pub fn hash(&self) -> [u8; 32] {
        sha256(&self.0)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.hint())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hint())
    }
}

fn hint_of(key: &str) -> String {
    let tail_start = key.len().saturating_sub(4);
    let tail = key.get(tail_start..).unwrap_or("");
    format!("{API_KEY_PREFIX}…{tail}")
}

fn sha256(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Checks prefix, length, charset and checksum, in that order.
fn check_format(text: &str) -> Result<(), KeyFormatError> {
    let bytes = text.as_bytes();
    if !bytes.starts_with(API_KEY_PREFIX.as_bytes()) {
        return Err(KeyFormatError::WrongPrefix);
    }
    if bytes.len() != API_KEY_LEN {
        return Err(KeyFormatError::WrongLength);
    }
    if !bytes[API_KEY_PREFIX.len()..]
        .iter()
        .all(|b| base62::is_base62(*b))
    {
        return Err(KeyFormatError::InvalidCharacter);
    }
    let (checked, suffix) = bytes.split_at(CHECKED_LEN);
    let expected = u64::from(crc32fast::hash(checked));
    if base62::decode(suffix) != Some(expected) {
        return Err(KeyFormatError::ChecksumMismatch);
    }
    Ok(())
}

/// Validates the format of a presented key (prefix, length, charset,
/// checksum) and only then returns its SHA-256, the store lookup value.
pub fn parse_api_key(presented: &str) -> Result<[u8; 32], KeyFormatError> {
    check_format(presented)?;
    Ok(sha256(presented))
}

/// Whether `text` is exactly a well-formed API key (checksum included). For
/// scanners: a match is almost certainly a real key.
pub fn looks_like_api_key(text: &str) -> bool {
    check_format(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn fresh() -> GeneratedKey {
        ApiKey::generate().unwrap()
    }

    #[test]
    fn generated_key_format() {
        let key = fresh();
        let text = key.secret.expose();
        assert_eq!(text.len(), API_KEY_LEN);
        assert!(text.starts_with("mgk_"));
        assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(parse_api_key(text), Ok(key.hash));
        assert!(looks_like_api_key(text));
        assert_eq!(key.hint, format!("mgk_…{}", &text[46..]));
        assert_eq!(key.hash, sha256(text));
    }

    #[test]
    fn secret_never_prints() {
        let key = fresh();
        let text = key.secret.expose().to_owned();
        for printed in [
            format!("{}", key.secret),
            format!("{:?}", key.secret),
            format!("{key:?}"),
        ] {
            assert!(!printed.contains(&text[4..20]), "{printed}");
            assert!(printed.contains(&key.hint), "{printed}");
        }
    }

    #[test]
    fn thousand_keys_are_unique() {
        let keys: HashSet<String> = (0..1000)
            .map(|_| fresh().secret.expose().to_owned())
            .collect();
        assert_eq!(keys.len(), 1000);
    }

    #[test]
    fn checksum_detects_any_single_changed_character() {
        let key = fresh();
        let text = key.secret.expose();
        for pos in 4..API_KEY_LEN {
            let original = text.as_bytes()[pos];
            let replacement = if original == b'a' { b'b' } else { b'a' };
            let mut bytes = text.as_bytes().to_vec();
            bytes[pos] = replacement;
            let changed = String::from_utf8(bytes).unwrap();
            assert_eq!(
                parse_api_key(&changed),
                Err(KeyFormatError::ChecksumMismatch),
                "position {pos}"
            );
        }
    }

    #[test]
    fn rejects_wrong_prefix_length_and_charset() {
        let key = fresh();
        let text = key.secret.expose();
        let wrong_prefix = format!("mgx_{}", &text[4..]);
        assert_eq!(
            parse_api_key(&wrong_prefix),
            Err(KeyFormatError::WrongPrefix)
        );
        assert_eq!(parse_api_key(""), Err(KeyFormatError::WrongPrefix));
        assert_eq!(parse_api_key("Bearer x"), Err(KeyFormatError::WrongPrefix));
        assert_eq!(parse_api_key(&text[..49]), Err(KeyFormatError::WrongLength));
        assert_eq!(
            parse_api_key(&format!("{text}A")),
            Err(KeyFormatError::WrongLength)
        );
        let bad_char = format!("{}-{}", &text[..10], &text[11..]);
        assert_eq!(
            parse_api_key(&bad_char),
            Err(KeyFormatError::InvalidCharacter)
        );
        // Multi-byte characters count as bytes and never panic.
        let unicode = format!("mgk_{}", "é".repeat(23));
        assert_eq!(unicode.len(), API_KEY_LEN);
        assert_eq!(
            parse_api_key(&unicode),
            Err(KeyFormatError::InvalidCharacter)
        );
        assert!(!looks_like_api_key(&wrong_prefix));
    }

    #[test]
    fn parse_wraps_valid_keys_only() {
        let key = fresh();
        let parsed = ApiKey::parse(key.secret.expose()).unwrap();
        assert_eq!(parsed.hash(), key.hash);
        assert!(ApiKey::parse("mgk_nope").is_err());
    }
}
