//! Detectors without a keyword: personal data (and Twilio SIDs) found from
//! digits and `@` signs.
//!
//! A SWAR pass reads 16 bytes at a time and stops only at a digit or an
//! `@`. Each stop looks at the word around it once (then jumps past it), so
//! clean prose costs one pass, and code, where digits are common, a few
//! byte comparisons per number.

mod cards;
mod numeric;
mod phone;
mod token;
mod words;

pub(crate) use cards::iin_ok;

use crate::charset::{self, ALNUM, HEX, HEX_ANY};
use crate::detect::Raw;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `x` is an ASCII digit or `@` (exact, branch-free).
#[inline]
fn has_candidate(x: u64) -> bool {
    let d = x ^ (ONES * u64::from(b'0'));
    let digit = d.wrapping_sub(ONES * 10) & !d & HIGHS;
    let a = x ^ (ONES * u64::from(b'@'));
    let at = a.wrapping_sub(ONES) & !a & HIGHS;
    (digit | at) != 0
}

#[inline]
fn load(block: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&block[..8]);
    u64::from_le_bytes(bytes)
}

/// The next digit or `@` at or after `from`.
#[inline]
fn next_candidate(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(block) = text.get(i..i + 16) {
        if has_candidate(load(block)) || has_candidate(load(&block[8..])) {
            break;
        }
        i += 16;
    }
    let rest = text.get(i..)?;
    rest.iter()
        .position(|&b| b.is_ascii_digit() || b == b'@')
        .map(|p| i + p)
}

/// Scans `text` for personal data and Twilio SIDs.
pub(crate) fn scan(text: &[u8], out: &mut Vec<Raw>) {
    let mut i = 0;
    while let Some(p) = next_candidate(text, i) {
        let next = if text[p] == b'@' {
            words::email(text, p, out)
        } else {
            digit_word(text, p, out)
        };
        i = next.max(p + 1);
    }
}

/// Looks at the alphanumeric word holding the digit at `p`; returns where
/// to resume.
fn digit_word(text: &[u8], p: usize, out: &mut Vec<Raw>) -> usize {
    let mut ws = p;
    while ws > 0 && p - ws < 64 && charset::is(text[ws - 1], ALNUM) {
        ws -= 1;
    }
    let mut we = p + 1;
    while we < text.len() && charset::is(text[we], ALNUM) {
        we += 1;
    }
    let word = &text[ws..we];
    let glued = |i: usize| text.get(i).is_some_and(|&b| b == b'_');
    if word.len() == 34
        && (word.starts_with(b"SK") || word.starts_with(b"AC"))
        && charset::all(&word[2..], HEX)
        && !glued(we)
        && !(ws > 0 && glued(ws - 1))
    {
        let kind = if word[0] == b'S' {
            "twilio_api_key"
        } else {
            "twilio_account_sid"
        };
        let confidence = if word[0] == b'S' {
            crate::Confidence::High
        } else {
            crate::Confidence::Medium
        };
        out.push(Raw::builtin(kind, ws..we, confidence));
        return we;
    }
    if word.len() >= 4
        && word[0].is_ascii_uppercase()
        && word[1].is_ascii_uppercase()
        && word[2].is_ascii_digit()
        && word[3].is_ascii_digit()
        && (ws == 0 || !charset::is(text[ws - 1], ALNUM | charset::UNDERSCORE))
        && let Some(end) = words::iban(text, ws, out)
    {
        return end;
    }
    let colon_near = text.get(we) == Some(&b':') || (ws > 0 && text[ws - 1] == b':');
    if colon_near
        && word.len() <= 4
        && charset::all(word, HEX_ANY)
        && let Some(end) = words::ipv6(text, ws, out)
    {
        return end;
    }
    if ws == p && word.iter().all(u8::is_ascii_digit) {
        return numeric::token(text, ws, we, out);
    }
    we
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_agrees_with_scalar() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = state;
            let scalar = x
                .to_le_bytes()
                .iter()
                .any(|&b| b.is_ascii_digit() || b == b'@');
            assert_eq!(has_candidate(x), scalar, "{x:#x}");
        }
        for b in 0..=255u8 {
            let x = ((ONES * u64::from(b'x')) & !0xff) | u64::from(b);
            assert_eq!(has_candidate(x), b.is_ascii_digit() || b == b'@', "{b}");
        }
    }

    #[test]
    fn candidates() {
        assert_eq!(next_candidate(b"abcdefghijklmnopqrstuvwxyz 7", 0), Some(27));
        assert_eq!(
            next_candidate(b"no candidates in this long line at all!", 0),
            None
        );
        assert_eq!(next_candidate(b"a@b", 0), Some(1));
    }
}
