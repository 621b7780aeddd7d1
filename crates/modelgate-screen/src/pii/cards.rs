//! Payment card numbers in digit tokens: grouping, issuer prefixes (IIN)
//! and lengths, the Luhn check, and cards listed one after another.

use super::token::Token;
use crate::detect::Raw;
use crate::finding::Confidence::High;
use crate::validate;

pub(super) fn card(tok: &Token<'_>) -> Option<Raw> {
    let digits = tok.digits();
    if tok.plus || tok.paren || !(13..=19).contains(&digits) {
        return None;
    }
    let lens: Vec<usize> = tok.lens().collect();
    let grouped = card_grouping(&lens) && (tok.seps_all(b" ") || tok.seps_all(b"-"));
    // 17 to 19 ungrouped digits are far more often a 64-bit constant than a
    // card, unless the text says it is a card.
    let plain = tok.n == 1 && (digits <= 16 || card_context(tok));
    if !plain && !grouped {
        return None;
    }
    valid_card(&tok.digit_string())
        .then(|| Raw::builtin("payment_card", tok.start..tok.end(), High))
}

/// Whether a card word (`card`, `visa`, `credit`, …) comes shortly before.
fn card_context(tok: &Token<'_>) -> bool {
    let before = tok.text[tok.start.saturating_sub(40)..tok.start].to_ascii_lowercase();
    [
        "card",
        "visa",
        "mastercard",
        "amex",
        "credit",
        "debit",
        "pan",
    ]
    .iter()
    .any(|w| before.windows(w.len()).any(|x| x == w.as_bytes()))
}

/// How card numbers are grouped: fours (the last group shorter for 13, 17,
/// 18 or 19 digits), or 4-6-5 / 4-6-4 (Amex, Diners).
fn card_grouping(lens: &[usize]) -> bool {
    match lens {
        [4, 6, 5] | [4, 6, 4] => true,
        [rest @ .., last] if (3..=4).contains(&lens.len()) || lens.len() == 5 => {
            rest.len() >= 3 && rest.iter().all(|&l| l == 4) && (1..=4).contains(last)
        }
        _ => false,
    }
}

fn valid_card(number: &[u8]) -> bool {
    iin_ok(number) && validate::luhn(number)
}

/// Card numbers listed one after another with the same separator as their
/// groups (`4111 1111 1111 1111 5555 5555 5555 4444`): runs of 3 to 5
/// groups that are valid cards on their own.
pub(super) fn cards_in_sequence(tok: &Token<'_>, out: &mut Vec<Raw>) -> bool {
    if tok.plus || tok.paren || tok.n < 6 || !(tok.seps_all(b" ") || tok.seps_all(b"-")) {
        return false;
    }
    let mut found = false;
    let mut i = 0;
    while i < tok.n {
        let mut number = Vec::with_capacity(19);
        let mut hit = None;
        for j in i..tok.n.min(i + 5) {
            number.extend_from_slice(tok.group(j));
            let lens: Vec<usize> = (i..=j).map(|g| tok.group(g).len()).collect();
            if j >= i + 2
                && (13..=19).contains(&number.len())
                && card_grouping(&lens)
                && valid_card(&number)
            {
                hit = Some(j);
                break;
            }
            if number.len() > 19 {
                break;
            }
        }
        match hit {
            Some(j) => {
                out.push(Raw::builtin(
                    "payment_card",
                    tok.groups[i].0..tok.groups[j].1,
                    High,
                ));
                found = true;
                i = j + 1;
            }
            None => i += 1,
        }
    }
    found
}

/// Whether a card number starts with a known issuer prefix and has a length
/// that issuer uses.
pub(crate) fn iin_ok(n: &[u8]) -> bool {
    let prefix = |len: usize| -> u32 {
        n[..len]
            .iter()
            .fold(0, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    let len = n.len();
    if len < 13 {
        return false;
    }
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    match n[0] {
        b'4' => matches!(len, 13 | 16 | 19),          // Visa
        b'5' if (51..=55).contains(&p2) => len == 16, // Mastercard
        b'5' if matches!(p4, 5018 | 5020 | 5038 | 5893) => len >= 13, // Maestro
        b'2' if (2221..=2720).contains(&p4) => len == 16, // Mastercard
        b'2' if (2200..=2204).contains(&p4) => (16..=19).contains(&len), // Mir
        b'3' if p2 == 34 || p2 == 37 => len == 15,    // Amex
        b'3' if (3528..=3589).contains(&p4) => (16..=19).contains(&len), // JCB
        b'3' if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) => (14..=19).contains(&len), // Diners
        b'6' if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) => (16..=19).contains(&len), // Discover
        b'6' if p2 == 62 => (16..=19).contains(&len), // UnionPay
        b'6' if matches!(p4, 6304 | 6759 | 6761..=6763) => len >= 13, // Maestro
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert!(iin_ok(b"4111111111111111"));
        assert!(iin_ok(b"5555555555554444"));
        assert!(iin_ok(b"2223003122003222"));
        assert!(iin_ok(b"378282246310005"));
        assert!(iin_ok(b"6011111111111117"));
        assert!(iin_ok(b"3530111333300000"));
        assert!(!iin_ok(b"1111111111111111"));
        assert!(!iin_ok(b"9111111111111111"));
        assert!(!iin_ok(b"411111111111111"));
    }
}
