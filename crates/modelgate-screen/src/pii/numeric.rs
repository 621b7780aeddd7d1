//! Digit tokens (groups joined by short separators) and the kinds read
//! from them: IPv4 and US SSNs here, payment cards and phone numbers in
//! their own modules.
//!
//! A token is a run of digit groups joined by short separators (` `, `-`,
//! `.`, `/`, parentheses). It is classified once, by its group lengths and
//! separators, then validated (Luhn and IIN, SSN ranges, NANP rules, octets).

use super::token::{MAX_GROUPS, Token};
use super::{cards, phone};
use crate::detect::Raw;
use crate::finding::Confidence::{Low, Medium};

fn is_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'/' | b'(' | b')')
}

/// Reads the token whose first group is `start..first_end`, reports what it
/// is, and returns its end.
pub(super) fn token(text: &[u8], start: usize, first_end: usize, out: &mut Vec<Raw>) -> usize {
    let prev = |i: usize| i.checked_sub(1).map(|j| text[j]);
    let mut tok = Token {
        text,
        start,
        plus: false,
        paren: false,
        groups: [(0, 0); MAX_GROUPS],
        seps: [(0, 0); MAX_GROUPS],
        n: 1,
    };
    tok.groups[0] = (start, first_end);
    // `(415) 555-…`: an area code in parentheses belongs to the number.
    if prev(start) == Some(b'(') && text.get(first_end) == Some(&b')') {
        tok.paren = true;
        tok.start -= 1;
    }
    if prev(tok.start) == Some(b'+') {
        tok.plus = true;
        tok.start -= 1;
    }
    let mut i = first_end;
    while tok.n < MAX_GROUPS {
        let mut j = i;
        while j < text.len() && j - i < 2 && is_sep(text[j]) {
            j += 1;
        }
        if j == i || j >= text.len() || !text[j].is_ascii_digit() {
            break;
        }
        let mut k = j;
        while k < text.len() && text[k].is_ascii_digit() {
            k += 1;
        }
        tok.seps[tok.n] = (i, j);
        tok.groups[tok.n] = (j, k);
        tok.n += 1;
        i = k;
    }
    // `(4111111111111111)`: parentheses around a whole number are punctuation.
    if tok.paren && tok.n == 1 {
        tok.paren = false;
        tok.start += 1;
    }
    let end = tok.end();
    // Glued to a word, a version, an identifier: not a standalone number.
    let glued_left = !tok.plus
        && !tok.paren
        && prev(start).is_some_and(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/' | b':')
        });
    let next_digit = text.get(end + 1).is_some_and(u8::is_ascii_digit);
    let glued_right = text
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        || (matches!(text.get(end), Some(b'.' | b'-')) && next_digit);
    if glued_left || glued_right {
        return end;
    }
    // Nothing below fits fewer than 4 groups of fewer than 8 digits.
    if tok.n < 4 && tok.digits() < 8 {
        return end;
    }
    // `a.b.c.d:port` is an address; other numbers before `:digit` are times.
    let before_port = text.get(end) == Some(&b':') && next_digit;
    let found = if before_port {
        ipv4(&tok)
    } else {
        ipv4(&tok)
            .or_else(|| ssn(&tok))
            .or_else(|| cards::card(&tok))
            .or_else(|| phone::phone(&tok))
    };
    match found {
        Some(raw) => out.push(raw),
        None => {
            cards::cards_in_sequence(&tok, out);
        }
    }
    end
}

fn ipv4(tok: &Token<'_>) -> Option<Raw> {
    if tok.plus || tok.paren || tok.n < 4 || !(1..4).all(|i| tok.sep(i) == b".") {
        return None;
    }
    if tok.n > 4 && tok.sep(4) == b"." {
        return None; // OIDs, longer dotted numbers
    }
    let mut octets = [0u16; 4];
    for (i, octet) in octets.iter_mut().enumerate() {
        let g = tok.group(i);
        if g.len() > 3 || (g.len() > 1 && g[0] == b'0') {
            return None;
        }
        *octet = g.iter().fold(0, |acc, &b| acc * 10 + u16::from(b - b'0'));
        if *octet > 255 {
            return None;
        }
    }
    // Not about anyone: unspecified, loopback, broadcast and netmasks.
    if matches!(octets[0], 0 | 127 | 255) {
        return None;
    }
    // Version numbers: `version 1.2.3.4`, `v1.2.3.4`.
    let before = &tok.text[tok.start.saturating_sub(10)..tok.start];
    let lower = String::from_utf8_lossy(before).to_ascii_lowercase();
    if lower.contains("version") || lower.ends_with("ver ") || lower.ends_with("v") {
        return None;
    }
    // Private, link-local and documentation ranges identify nobody outside
    // a network: Low. Public addresses: Medium.
    let local = matches!(
        octets,
        [10, ..]
            | [192, 168, ..]
            | [169, 254, ..]
            | [192, 0, 2, _]
            | [198, 51, 100, _]
            | [203, 0, 113, _]
    ) || (octets[0] == 172 && (16..=31).contains(&octets[1]));
    let confidence = if local { Low } else { Medium };
    Some(Raw::builtin(
        "ipv4_address",
        tok.start..tok.groups[3].1,
        confidence,
    ))
}

fn ssn(tok: &Token<'_>) -> Option<Raw> {
    if tok.plus || tok.paren || tok.n != 3 || !tok.seps_all(b"-") {
        return None;
    }
    let (a, g, s) = (tok.group(0), tok.group(1), tok.group(2));
    if a.len() != 3 || g.len() != 2 || s.len() != 4 {
        return None;
    }
    // Never issued: area 000, 666, 900-999; group 00; serial 0000.
    if a == b"000" || a == b"666" || a[0] == b'9' || g == b"00" || s == b"0000" {
        return None;
    }
    Some(Raw::builtin("us_ssn", tok.start..tok.end(), Medium))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let start = text.find(|c: char| c.is_ascii_digit()).unwrap();
        let first_end = start
            + text[start..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len() - start);
        token(text.as_bytes(), start, first_end, &mut out);
        out.into_iter()
            .map(|r| (r.kind.to_string(), text[r.span].to_owned()))
            .collect()
    }

    fn one(text: &str, kind: &str, value: &str) {
        assert_eq!(
            kinds(text),
            vec![(kind.to_owned(), value.to_owned())],
            "{text}"
        );
    }

    #[test]
    fn positives() {
        one(
            "card 4111 1111 1111 1111 exp",
            "payment_card",
            "4111 1111 1111 1111",
        );
        one(
            "card 4111-1111-1111-1111.",
            "payment_card",
            "4111-1111-1111-1111",
        );
        one("amex 378282246310005,", "payment_card", "378282246310005");
        one("ssn 219-09-9999 on file", "us_ssn", "219-09-9999");
        one("host 192.168.1.20:8080", "ipv4_address", "192.168.1.20");
        one(
            "call +1 415 555 2671 now",
            "phone_number",
            "+1 415 555 2671",
        );
        one("call (415) 555-2671 now", "phone_number", "(415) 555-2671");
        one("call 415-555-2671 now", "phone_number", "415-555-2671");
        one("tel +44 20 7946 0958", "phone_number", "+44 20 7946 0958");
        one("tel 020 7946 0958", "phone_number", "020 7946 0958");
        one("tel 06 12 34 56 78", "phone_number", "06 12 34 56 78");
        one("tel +4930123456789", "phone_number", "+4930123456789");
        one("ref (219-09-9999) ok", "us_ssn", "219-09-9999");
        one(
            "(4111 1111 1111 1111)",
            "payment_card",
            "4111 1111 1111 1111",
        );
        one("(10.1.2.3)", "ipv4_address", "10.1.2.3");
        one(
            "visa 4111111111111111110 ok",
            "payment_card",
            "4111111111111111110",
        );
        one("(4111111111111111)", "payment_card", "4111111111111111");
        assert_eq!(kinds("4111 1111 1111 1111 5555 5555 5555 4444 ok").len(), 2);
    }

    #[test]
    fn negatives() {
        for text in [
            "card 4111 1111 1111 1112 exp",
            "ts 1700000000123 ms",
            "date 2024-01-15 ok",
            "ver 1.2.3.4 is out",
            "version 10.0.0.1 ships",
            "oid 1.3.6.1.4.1 here",
            "ssn 666-12-3456",
            "ssn 123-00-4567",
            "loop 127.0.0.1",
            "ip 300.1.2.3",
            "id 550e8400",
            "n 1234567",
            "at 12:30:45",
            "d 01.02.2024",
            "x 0 100 200 300",
            "uuid 12345678-1234-5678-1234-567812345678",
            "k 4111111111111111110 ok",
            "order 20240115093012",
            "call 155-555-2671",
            "(4111 1111 1111 1112)",
        ] {
            assert!(kinds(text).is_empty(), "{text}: {:?}", kinds(text));
        }
    }
}
