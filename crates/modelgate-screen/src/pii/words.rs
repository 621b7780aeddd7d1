//! Word-shaped personal data: email addresses, IBANs, IPv6 addresses.

use std::net::Ipv6Addr;

use crate::charset::{self, ALNUM, DASH, DOT, HEX_ANY};
use crate::detect::Raw;
use crate::finding::Confidence::{High, Low};
use crate::validate;

/// Top-level "domains" that are file extensions (`icon@2x.png`).
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "tiff", "js", "mjs", "ts", "tsx",
    "jsx", "css", "scss", "html", "htm", "json", "yaml", "yml", "toml", "xml", "md", "txt", "py",
    "rb", "rs", "go", "java", "kt", "swift", "php", "sh", "lock", "zip", "gz", "tar", "pdf", "csv",
    "log", "map", "wasm", "woff", "woff2", "ttf", "mp4", "mp3", "wav", "exe", "dll", "so",
];

/// Domains reserved for examples and tests (RFC 2606, RFC 6761).
fn reserved(domain: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    let under = |e: &str| d == e || (d.ends_with(e) && d.as_bytes()[d.len() - e.len() - 1] == b'.');
    ["example.com", "example.org", "example.net"]
        .iter()
        .any(|e| under(e))
        || [".example", ".test", ".invalid", ".localhost", ".local"]
            .iter()
            .any(|t| d.ends_with(t))
}

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// An email address around the `@` at `at`. Returns where to resume.
pub(super) fn email(text: &[u8], at: usize, out: &mut Vec<Raw>) -> usize {
    let mut s = at;
    while s > 0 && at - s < 64 && is_local(text[s - 1]) {
        s -= 1;
    }
    while s < at && matches!(text[s], b'.' | b'-' | b'+') {
        s += 1;
    }
    let mut e = at + 1;
    while e < text.len() && e - at <= 253 && charset::is(text[e], ALNUM | DASH | DOT) {
        e += 1;
    }
    let resume = e;
    while e > at + 1 && matches!(text[e - 1], b'.' | b'-') {
        e -= 1;
    }
    let local = &text[s..at];
    let domain = &text[at + 1..e];
    if local.is_empty() || local.ends_with(b".") || (s > 0 && text[s - 1] == b'@') {
        return resume;
    }
    let Ok(domain_str) = std::str::from_utf8(domain) else {
        return resume;
    };
    let labels: Vec<&str> = domain_str.split('.').collect();
    let Some(tld) = labels.last() else {
        return resume;
    };
    let labels_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.len() <= 63);
    let tld_ok = (2..=24).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_alphabetic())
        && !FILE_EXTENSIONS.contains(&tld.to_ascii_lowercase().as_str());
    // `git@github.com:org/repo.git` is an SSH remote, not a person.
    let ssh_remote = local == b"git";
    if labels_ok && tld_ok && !ssh_remote {
        let confidence = if reserved(domain_str) { Low } else { High };
        out.push(Raw::builtin("email", s..e, confidence));
    }
    resume
}

/// An IBAN starting at `start` (two letters, two digits already seen),
/// compact or in groups of four. `Some(end)` when one was found.
pub(super) fn iban(text: &[u8], start: usize, out: &mut Vec<Raw>) -> Option<usize> {
    let len = validate::iban_length(&text[start..start + 2])?;
    let mut compact = [0u8; 34];
    let mut n = 0;
    let mut i = start;
    while n < len && i < text.len() {
        let b = text[i];
        if b.is_ascii_digit() || b.is_ascii_uppercase() {
            compact[n] = b;
            n += 1;
            i += 1;
        } else if b == b' ' && n % 4 == 0 && text.get(i + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            i += 1;
        } else {
            break;
        }
    }
    if n != len
        || text
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        return None;
    }
    validate::iban_mod97(&compact[..n]).then(|| {
        out.push(Raw::builtin("iban", start..i, High));
        i
    })
}

fn is_v6(b: u8) -> bool {
    charset::is(b, HEX_ANY) || b == b':' || b == b'.'
}

/// An IPv6 address around the hex group at `ws`. `Some(end)` when the text
/// there is an address (reported unless loopback or unspecified).
pub(super) fn ipv6(text: &[u8], ws: usize, out: &mut Vec<Raw>) -> Option<usize> {
    let mut s = ws;
    while s > 0 && ws - s < 45 && is_v6(text[s - 1]) {
        s -= 1;
    }
    let mut e = ws;
    while e < text.len() && e - s < 46 && is_v6(text[e]) {
        e += 1;
    }
    let end = e;
    while e > s && text[e - 1] == b'.' {
        e -= 1;
    }
    if e > s + 1 && text[e - 1] == b':' && text[e - 2] != b':' {
        e -= 1;
    }
    while s < e && text[s] == b':' && text.get(s + 1) != Some(&b':') {
        s += 1;
    }
    let glued = (s > 0 && (text[s - 1].is_ascii_alphanumeric() || text[s - 1] == b'_'))
        || text
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let token = &text[s..e];
    if glued || token.iter().filter(|&&b| b == b':').count() < 2 {
        return None;
    }
    let addr: Ipv6Addr = std::str::from_utf8(token).ok()?.parse().ok()?;
    // Version- and time-like strings (`1:2:3:4:5:6:7:8`) have no group of
    // three or more hex digits.
    let has_long_group = token.split(|&b| b == b':').any(|g| g.len() >= 3);
    if !addr.is_loopback() && !addr.is_unspecified() && has_long_group {
        out.push(Raw::builtin("ipv6_address", s..e, Low));
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emails(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let at = text.find('@').unwrap();
        email(text.as_bytes(), at, &mut out);
        out.into_iter().map(|r| text[r.span].to_owned()).collect()
    }

    #[test]
    fn email_shapes() {
        assert_eq!(
            emails("mail jane.doe+tag@acme-corp.io."),
            ["jane.doe+tag@acme-corp.io"]
        );
        assert_eq!(emails("<ops@mail.example.com>"), ["ops@mail.example.com"]);
        for no in [
            "icon@2x.png",
            "git@github.com:org/repo",
            "@decorator",
            "a@b",
            "pkg@1.2.3",
            "x@y.c0m",
        ] {
            assert!(emails(no).is_empty(), "{no}");
        }
    }

    #[test]
    fn iban_shapes() {
        for (text, ok) in [
            ("DE89370400440532013000", true),
            ("DE89 3704 0044 0532 0130 00", true),
            ("GB82 WEST 1234 5698 7654 32", true),
            ("DE89370400440532013001", false),
            ("DE8937040044053201300", false),
            ("DE893704004405320130001", false),
        ] {
            let mut out = Vec::new();
            assert_eq!(iban(text.as_bytes(), 0, &mut out).is_some(), ok, "{text}");
        }
    }

    #[test]
    fn ipv6_shapes() {
        for (text, ok) in [
            ("2001:db8:85a3::8a2e:370:7334", true),
            ("fe80::1ff:fe23:4567:890a", true),
            ("1:2:3:4:5:6:7:8", false),
            ("::1", false),
            ("12:30:45", false),
            ("00:1a:2b:3c:4d:5e", false),
        ] {
            let mut out = Vec::new();
            let ws = text.find(|c: char| c.is_ascii_hexdigit()).unwrap();
            ipv6(text.as_bytes(), ws, &mut out);
            assert_eq!(!out.is_empty(), ok, "{text}");
        }
    }
}
