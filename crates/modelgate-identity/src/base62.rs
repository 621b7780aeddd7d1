//! Base62 text: unbiased random strings and fixed-width number encoding.

/// The base62 alphabet, in digit order.
pub(crate) const ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The operating system's random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError;

/// Whether `b` is a base62 character.
pub(crate) fn is_base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// The value of a base62 digit, if `b` is one.
fn digit_value(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'A'..=b'Z' => Some(u32::from(b - b'A') + 10),
        b'a'..=b'z' => Some(u32::from(b - b'a') + 36),
        _ => None,
    }
}

/// `len` random base62 characters from the OS generator.
///
/// Rejection sampling keeps the distribution uniform: a byte is used only if
/// it is below 248 (the largest multiple of 62 that fits in a byte), then
/// reduced modulo 62.
pub(crate) fn random(len: usize) -> Result<String, RandomnessError> {
    const LIMIT: u8 = 248; // 62 * 4
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|_| RandomnessError)?;
        for &b in buf.iter().filter(|b| **b < LIMIT) {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b % 62)]));
        }
    }
    Ok(out)
}

/// Encodes `value` as exactly `width` base62 digits, most significant first.
/// `width` must be large enough (6 digits hold any `u32`).
pub(crate) fn encode_fixed(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    digits.into_iter().map(char::from).collect()
}

/// Decodes base62 digits, most significant first. `None` on a non-base62
/// character or overflow.
pub(crate) fn decode(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(62)?.checked_add(u64::from(digit_value(b)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_has_length_and_charset() {
        for len in [0, 1, 20, 40, 200] {
            let s = random(len).unwrap();
            assert_eq!(s.len(), len);
            assert!(s.bytes().all(is_base62));
        }
    }

    #[test]
    fn random_uses_the_whole_alphabet() {
        let s = random(20_000).unwrap();
        for &c in ALPHABET {
            assert!(s.as_bytes().contains(&c), "{}", char::from(c));
        }
    }

    #[test]
    fn fixed_width_round_trips() {
        for v in [0u64, 1, 61, 62, 3_844, u64::from(u32::MAX)] {
            let text = encode_fixed(v, 6);
            assert_eq!(text.len(), 6);
            assert_eq!(decode(text.as_bytes()), Some(v));
        }
        assert_eq!(encode_fixed(61, 2), "0z");
        assert_eq!(decode(b"0-"), None);
    }
}
