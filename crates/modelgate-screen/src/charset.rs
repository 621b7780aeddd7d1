//! Byte classes: a 256-entry table of bit flags, for token runs and
//! validators. One table lookup per byte, no branches on ranges.

/// A set of byte classes (bitwise OR of the constants below).
pub(crate) type Charset = u16;

/// `0-9`.
pub(crate) const DIGIT: Charset = 1;
/// `A-Z`.
pub(crate) const UPPER: Charset = 1 << 1;
/// `a-z`.
pub(crate) const LOWER: Charset = 1 << 2;
/// `_`.
pub(crate) const UNDERSCORE: Charset = 1 << 3;
/// `-`.
pub(crate) const DASH: Charset = 1 << 4;
/// `.`.
pub(crate) const DOT: Charset = 1 << 5;
/// `+`.
pub(crate) const PLUS: Charset = 1 << 6;
/// `/`.
pub(crate) const SLASH: Charset = 1 << 7;
/// `=`.
pub(crate) const EQUALS: Charset = 1 << 8;
/// `:`.
pub(crate) const COLON: Charset = 1 << 9;
/// `a-f` (also in [`LOWER`]).
pub(crate) const HEX_LOWER: Charset = 1 << 10;
/// `2-7` (also in [`DIGIT`]): with [`UPPER`] the base32 alphabet.
pub(crate) const DIGIT_2_7: Charset = 1 << 11;
/// `A-F` (also in [`UPPER`]).
pub(crate) const HEX_UPPER: Charset = 1 << 12;
/// `\\`.
pub(crate) const BACKSLASH: Charset = 1 << 13;
/// `~`.
pub(crate) const TILDE: Charset = 1 << 14;

/// `0-9A-Za-z`.
pub(crate) const ALNUM: Charset = DIGIT | UPPER | LOWER;
/// Base64url: `0-9A-Za-z_-`.
pub(crate) const URLSAFE: Charset = ALNUM | UNDERSCORE | DASH;
/// Standard base64 without padding: `0-9A-Za-z+/`.
pub(crate) const BASE64: Charset = ALNUM | PLUS | SLASH;
/// `0-9a-f`.
pub(crate) const HEX: Charset = DIGIT | HEX_LOWER;
/// `0-9a-fA-F`.
pub(crate) const HEX_ANY: Charset = DIGIT | HEX_LOWER | HEX_UPPER;
/// `A-Z2-7`.
pub(crate) const BASE32: Charset = UPPER | DIGIT_2_7;

static TABLE: [Charset; 256] = build();

const fn build() -> [Charset; 256] {
    let mut t = [0; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0;
        if b.is_ascii_digit() {
            c |= DIGIT;
            if b >= b'2' && b <= b'7' {
                c |= DIGIT_2_7;
            }
        }
        if b.is_ascii_uppercase() {
            c |= UPPER;
            if b <= b'F' {
                c |= HEX_UPPER;
            }
        }
        if b.is_ascii_lowercase() {
            c |= LOWER;
            if b <= b'f' {
                c |= HEX_LOWER;
            }
        }
        c |= match b {
            b'_' => UNDERSCORE,
            b'-' => DASH,
            b'.' => DOT,
            b'+' => PLUS,
            b'/' => SLASH,
            b'=' => EQUALS,
            b':' => COLON,
            b'\\' => BACKSLASH,
            b'~' => TILDE,
            _ => 0,
        };
        t[i] = c;
        i += 1;
    }
    t
}

/// Whether `b` is in `set`.
#[inline]
pub(crate) fn is(b: u8, set: Charset) -> bool {
    TABLE[usize::from(b)] & set != 0
}

/// Whether every byte of `s` is in `set`.
pub(crate) fn all(s: &[u8], set: Charset) -> bool {
    s.iter().all(|&b| is(b, set))
}

/// The maximal run of `set` bytes around `at..at_end` (which must itself be
/// in the run), scanning at most `cap` bytes each way. `Err(skip)` when the
/// run goes on past the cap (nothing that long is a token): no token can
/// start before `skip` either, since it would be part of the same run.
pub(crate) fn run_around(
    text: &[u8],
    at: usize,
    at_end: usize,
    set: Charset,
    cap: usize,
) -> Result<(usize, usize), usize> {
    let high = (at_end + cap).min(text.len());
    let mut end = at_end;
    while end < high && is(text[end], set) {
        end += 1;
    }
    if end == high && high < text.len() && is(text[high], set) {
        return Err(high);
    }
    let mut start = at;
    let low = at.saturating_sub(cap);
    while start > low && is(text[start - 1], set) {
        start -= 1;
    }
    if start == low && low > 0 && is(text[low - 1], set) {
        return Err(end);
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(is(b'7', BASE32) && !is(b'8', BASE32) && !is(b'a', BASE32));
        assert!(is(b'f', HEX) && !is(b'g', HEX) && !is(b'F', HEX));
        assert!(is(b'F', HEX_ANY) && !is(b'G', HEX_ANY));
        assert!(all(b"a-b_c", URLSAFE) && !all(b"a+b", URLSAFE));
        assert!(!is(
            0xC3,
            ALNUM | DASH | DOT | PLUS | SLASH | EQUALS | COLON
        ));
    }

    #[test]
    fn runs() {
        let t = b"x = ghp_abc; y";
        assert_eq!(run_around(t, 4, 8, ALNUM | UNDERSCORE, 64), Ok((4, 11)));
        let long = [b'a'; 100];
        assert_eq!(run_around(&long, 50, 51, ALNUM, 10), Err(61));
        assert_eq!(run_around(&long, 95, 96, ALNUM, 10), Err(100));
        assert_eq!(run_around(&long, 50, 51, ALNUM, 100), Ok((0, 100)));
    }
}
