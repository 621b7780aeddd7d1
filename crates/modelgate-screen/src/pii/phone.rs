//! Phone numbers in digit tokens: E.164 and `00` international forms,
//! NANP (`(415) 555-0132`), and European national formats with a trunk 0.

use super::token::{MAX_GROUPS, Token};
use crate::detect::Raw;
use crate::finding::Confidence::Medium;

pub(super) fn phone(tok: &Token<'_>) -> Option<Raw> {
    let digits = tok.digits();
    let first = tok.group(0);
    let mut len_buf = [0usize; MAX_GROUPS];
    for (slot, len) in len_buf.iter_mut().zip(tok.lens()) {
        *slot = len;
    }
    let lens = &len_buf[..tok.n];
    let span = tok.start..tok.end();
    let seps_ok = (1..tok.n).all(|i| {
        matches!(
            tok.sep(i),
            b" " | b"-" | b"." | b"/" | b") " | b")" | b" (" | b"(" | b")-"
        )
    });
    if !seps_ok {
        return None;
    }
    // E.164 and international: +CC …
    if tok.plus {
        let ok = first[0] != b'0' && (8..=15).contains(&digits) && (tok.n > 1 || digits >= 10);
        return ok.then(|| Raw::builtin("phone_number", span, Medium));
    }
    // Groups of four digits only (`0044 0323 0307`) are code points and
    // hex dumps, not numbers people write.
    let all_fours = lens.iter().all(|&l| l == 4);
    // 00 CC … (international prefix)
    if first.starts_with(b"00") && first.len() <= 4 {
        return ((11..=15).contains(&digits) && tok.n >= 2 && !all_fours)
            .then(|| Raw::builtin("phone_number", span, Medium));
    }
    // NANP: (NXX) NXX-XXXX, NXX-NXX-XXXX, 1-NXX-NXX-XXXX.
    let nanp = |a: usize| {
        let area = tok.group(a);
        let exchange = tok.group(a + 1);
        area[0] >= b'2'
            && exchange[0] >= b'2'
            && !matches!(tok.sep(a + 2), b")" | b") " | b" (" | b"(")
    };
    if lens == [3, 3, 4] && nanp(0) && (!tok.paren || matches!(tok.sep(1), b")" | b") " | b")-")) {
        let same = tok.sep(1) == tok.sep(2) || tok.paren;
        return same.then(|| Raw::builtin("phone_number", span, Medium));
    }
    if lens == [1, 3, 3, 4] && first == b"1" && !tok.paren && nanp(1) {
        return Some(Raw::builtin("phone_number", span, Medium));
    }
    // European national formats: a trunk 0, 10 to 12 digits in groups
    // (so not a ZIP+4 such as 02110-1301).
    if first[0] == b'0'
        && first.get(1).is_some_and(|&b| b != b'0')
        && (2..=5).contains(&first.len())
    {
        let uniform = [&b" "[..], b"-", b"/"].iter().any(|s| tok.seps_all(s))
            || (tok.seps_all(b".") && tok.n >= 4 && lens.iter().all(|&l| l <= 3))
            || (tok.paren
                && tok.n >= 2
                && tok.sep(1) == b") "
                && (2..tok.n).all(|i| tok.sep(i) == b" "));
        // Pairs are the French format, exactly five of them.
        let pairs = lens.iter().all(|&l| l == 2);
        let pairs_ok = !pairs || lens.len() == 5;
        if uniform
            && !all_fours
            && pairs_ok
            && (10..=12).contains(&digits)
            && (2..=6).contains(&tok.n)
        {
            return Some(Raw::builtin("phone_number", span, Medium));
        }
    }
    None
}
