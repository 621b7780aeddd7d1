//! Validators that turn a plausible shape into a confident finding: Luhn,
//! IBAN mod-97, CRC32 checksums in base62 (modelgate, GitHub, npm), Shannon
//! entropy, base64 decoding, placeholder values.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::charset::{self, ALNUM};

/// Luhn check over ASCII digits (other bytes are skipped).
pub(crate) fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    let mut double = false;
    let mut count = 0;
    for &b in digits.iter().rev().filter(|b| b.is_ascii_digit()) {
        let mut d = u32::from(b - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
        count += 1;
    }
    count > 1 && sum.is_multiple_of(10)
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// The IBAN length of a country code, if it has IBANs.
pub(crate) fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.as_slice() == country)
        .map(|&(_, n)| n)
}

/// ISO 7064 mod-97-10 over a compact IBAN (no spaces, upper case).
pub(crate) fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 || !charset::all(iban, charset::DIGIT | charset::UPPER) {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem = 0u32;
    for &b in tail.iter().chain(head) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(b - b'A') + 10) % 97;
        }
    }
    rem == 1
}

/// Shannon entropy of `s` in bits per byte.
pub(crate) fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Value of base62 digits (`0-9A-Za-z`), most significant first.
pub(crate) fn base62_decode(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |acc, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        acc.checked_mul(62)?.checked_add(u64::from(d))
    })
}

/// A modelgate API key: `mgk_`, 40 base62, 6 base62 digits of the CRC32 of
/// everything before them (mirrors `modelgate-identity`'s `apikey.rs`).
pub(crate) fn mgk_checksum_ok(key: &[u8]) -> bool {
    key.len() == 50
        && key.starts_with(b"mgk_")
        && charset::all(&key[4..], ALNUM)
        && base62_decode(&key[44..]) == Some(u64::from(crc32fast::hash(&key[..44])))
}

/// GitHub and npm token checksum: the last 6 base62 characters encode the
/// CRC32 of the random part before them (the prefix is not covered).
pub(crate) fn crc_suffix_ok(body: &[u8]) -> bool {
    body.len() > 6 && {
        let (random, check) = body.split_at(body.len() - 6);
        base62_decode(check) == Some(u64::from(crc32fast::hash(random)))
    }
}

/// Decodes base64 (standard or URL-safe alphabet, padding optional).
pub(crate) fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in text {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

/// Fragments (ASCII case-insensitive) that mark a value as a placeholder,
/// an example or a reference to a secret kept elsewhere.
const PLACEHOLDER_MARKS: &[&str] = &[
    "${",
    "{{",
    "<",
    ">",
    "xxx",
    "***",
    "...",
    "…",
    "changeme",
    "change_me",
    "change-me",
    "example",
    "placeholder",
    "your_",
    "your-",
    "yourpass",
    "redacted",
    "dummy",
    "notreal",
    "not_real",
    "not-real",
    "fake",
    "sample",
    "insert",
    "replace",
    "todo",
    "fixme",
    "process.env",
    "os.environ",
    "getenv",
    "env(",
    "$(",
    "%(",
    "%s",
    "secretsmanager",
    "vault:",
    "env:",
    "file:",
];

/// Exact values (ASCII case-insensitive) that are placeholders.
const PLACEHOLDER_VALUES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "string",
    "required",
    "optional",
    "hidden",
    "empty",
    "default",
    "test",
    "testing",
    "password123",
    "admin",
    "root",
    "pass",
    "p@ssw0rd",
    "letmein",
    "qwerty",
    "12345678",
    "123456789",
    "abcdefgh",
    "abcdefghijklmnop",
];

/// One automaton for every mark, built on first use.
static MARKS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(PLACEHOLDER_MARKS)
        .ok()
});

/// Whether a credential-like value is really a placeholder or a reference
/// (`${VAR}`, `<password>`, `changeme`, `xxx`, `os.environ[...]`, …).
pub(crate) fn is_placeholder(value: &[u8]) -> bool {
    let Some(&first) = value.first() else {
        return true;
    };
    if matches!(first, b'$' | b'%') && !value.starts_with(b"$2") {
        return true;
    }
    if PLACEHOLDER_VALUES
        .iter()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(value))
    {
        return true;
    }
    let marked = match &*MARKS {
        Some(ac) => ac.is_match(value),
        None => {
            let lower = value.to_ascii_lowercase();
            PLACEHOLDER_MARKS
                .iter()
                .any(|m| lower.windows(m.len()).any(|w| w == m.as_bytes()))
        }
    };
    // One character repeated most of the time ("aaaaaaaa", "00000000").
    marked || value.iter().filter(|&&b| b == first).count() * 2 > value.len()
}

/// How many of lower, upper, digit and other classes `value` uses.
pub(crate) fn char_classes(value: &[u8]) -> usize {
    let mut seen = [false; 4];
    for &b in value {
        let i = if b.is_ascii_lowercase() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            3
        };
        seen[i] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_numbers() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"4111 1111 1111 1111"));
        assert!(luhn(b"378282246310005"));
        assert!(luhn(b"5555555555554444"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b"1234567812345678"));
        assert!(!luhn(b"0"));
    }

    #[test]
    fn iban_known_numbers() {
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(iban_mod97(b"FR1420041010050500013M02606"));
        assert!(!iban_mod97(b"DE89370400440532013001"));
        assert!(!iban_mod97(b"GB82WEST1234569876543"));
        assert_eq!(iban_length(b"DE"), Some(22));
        assert_eq!(iban_length(b"ZZ"), None);
    }

    #[test]
    fn entropy_values() {
        assert_eq!(entropy(b""), 0.0);
        assert_eq!(entropy(b"aaaa"), 0.0);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(entropy(b"q8Zr2LmX9vKp4TfWy7Nc") > 4.0);
    }

    #[test]
    fn base62_and_checksums() {
        assert_eq!(base62_decode(b"0z"), Some(61));
        assert_eq!(base62_decode(b"10"), Some(62));
        assert_eq!(base62_decode(b"1-"), None);
        // A modelgate key built the way modelgate-identity builds one.
        let mut key = String::from("mgk_");
        key.push_str("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd");
        let crc = crc32fast::hash(key.as_bytes());
        key.push_str(&encode6(u64::from(crc)));
        assert!(mgk_checksum_ok(key.as_bytes()));
        let mut bad = key.clone().into_bytes();
        bad[10] = b'z';
        assert!(!mgk_checksum_ok(&bad));
        let random = "abcdefghijklmnopqrstuvwxyz0123";
        let body = format!(
            "{random}{}",
            encode6(u64::from(crc32fast::hash(random.as_bytes())))
        );
        assert!(crc_suffix_ok(body.as_bytes()));
        assert!(!crc_suffix_ok(b"abcdefghijklmnopqrstuvwxyz0123000000"));
    }

    fn encode6(mut v: u64) -> String {
        const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut out = [b'0'; 6];
        for slot in out.iter_mut().rev() {
            *slot = A[(v % 62) as usize];
            v /= 62;
        }
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode(b"eyJhbGciOiJIUzI1NiJ9").unwrap(),
            br#"{"alg":"HS256"}"#
        );
        assert_eq!(base64_decode(b"aGk=").unwrap(), b"hi");
        assert!(base64_decode(b"a!b").is_none());
    }

    #[test]
    fn placeholders() {
        for p in [
            "${DB_PASSWORD}",
            "<password>",
            "changeme",
            "xxxxxxxx",
            "your_api_key_here",
            "os.environ['X']",
            "$SECRET",
            "********",
            "password",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        for real in ["q8Zr2LmX9vKp4TfW", "hunter2-Correct-Horse"] {
            assert!(!is_placeholder(real.as_bytes()), "{real}");
        }
        assert_eq!(char_classes(b"aB3!"), 4);
        assert_eq!(char_classes(b"abc"), 1);
    }
}
