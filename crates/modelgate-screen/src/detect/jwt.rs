//! JSON Web Tokens: `header.payload.signature`, each base64url, header and
//! payload JSON objects (`eyJ` is `{"` in base64). The header is decoded to
//! confirm it is a JOSE header.

use std::ops::Range;

use super::Verdict;
use crate::finding::Confidence::{High, Medium};
use crate::validate;

/// Checks a run of base64url-and-dot characters holding an `eyJ` keyword.
pub(crate) fn check(run: &[u8], _kw: usize) -> Verdict {
    let run = {
        let mut end = run.len();
        // A trailing sentence dot after a signature; an unsigned token keeps one.
        while end >= 2 && run[end - 1] == b'.' && run[end - 2] == b'.' {
            end -= 1;
        }
        &run[..end]
    };
    let parts: Vec<Range<usize>> = split_ranges(run, b'.');
    // The header is the first part starting eyJ whose next part does too.
    let first = (0..parts.len().saturating_sub(1)).find(|&i| {
        run[parts[i].clone()].starts_with(b"eyJ") && run[parts[i + 1].clone()].starts_with(b"eyJ")
    })?;
    let header = &run[parts[first].clone()];
    let payload = &run[parts[first + 1].clone()];
    let signature = parts.get(first + 2).map_or(0..0, Clone::clone);
    let extra = parts.len() > first + 3 && !parts[first + 3].is_empty();
    let sig = &run[signature.clone()];
    if header.len() < 10 || payload.len() < 10 || extra || (!sig.is_empty() && sig.len() < 16) {
        return None;
    }
    let decoded = validate::base64_decode(header)?;
    if !decoded.starts_with(b"{") {
        return None;
    }
    let has_alg = decoded.windows(5).any(|w| w == b"\"alg\"");
    let end = if parts.len() > first + 2 {
        signature.end
    } else {
        parts[first + 1].end
    };
    Some((parts[first].start..end, if has_alg { High } else { Medium }))
}

fn split_ranges(s: &[u8], sep: u8) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == sep {
            out.push(start..i);
            start = i + 1;
        }
    }
    out.push(start..s.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(text: &str) -> Verdict {
        check(text.as_bytes(), text.find("eyJ").unwrap_or(0))
    }

    #[test]
    fn jwt_structure() {
        let h = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        let p = "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ";
        let s = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let token = format!("{h}.{p}.{s}");
        assert_eq!(jwt(&token), Some((0..token.len(), High)));
        let dotted = format!("{token}.");
        assert_eq!(jwt(&dotted), Some((0..token.len(), High)));
        assert!(jwt(&format!("{h}.notjson.{s}")).is_none());
        assert!(jwt("eyJhbGciOi").is_none());
    }
}
