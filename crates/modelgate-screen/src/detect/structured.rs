//! Hand-written detectors for structured secrets: PEM private key blocks,
//! Google service account JSON, and URLs with `user:password@`.

use std::ops::Range;

use super::Raw;
use crate::charset::{self, ALNUM, BASE64, DASH, DOT, EQUALS, PLUS};
use crate::finding::Confidence::High;
use crate::validate;

/// Longest private key block followed (PGP blocks with photos run long).
pub(crate) const PEM_CAP: usize = 256 * 1024;

/// Minimum base64 characters in a private key body (placeholders such as
/// `...` or `<key>` have none).
const PEM_MIN_BODY: usize = 40;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The kind of the private key block whose header contains `PRIVATE KEY` at
/// `hit`, and where its `-----BEGIN ` starts and its header ends.
pub(crate) fn pem_header(text: &[u8], hit: &Range<usize>) -> Option<(&'static str, usize, usize)> {
    let low = hit.start.saturating_sub(32);
    let begin = low + rfind(&text[low..hit.start], b"-----BEGIN ")?;
    let label = &text[begin + 11..hit.start];
    if !label.iter().all(|&b| b.is_ascii_uppercase() || b == b' ') {
        return None;
    }
    let kind = if label.starts_with(b"OPENSSH") {
        "openssh_private_key"
    } else if label.starts_with(b"PGP") {
        "pgp_private_key"
    } else {
        "private_key_pem"
    };
    let after = &text[hit.end..text.len().min(hit.end + 16)];
    let close = if after.starts_with(b" BLOCK-----") {
        hit.end + 11
    } else if after.starts_with(b"-----") {
        hit.end + 5
    } else {
        return None;
    };
    Some((kind, begin, close))
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// A private key block found from its header.
pub(crate) struct Block {
    pub kind: &'static str,
    pub begin: usize,
    pub end: usize,
    /// An END line closes it.
    pub complete: bool,
    /// Base64 characters in its body.
    pub body: usize,
}

/// The block whose header holds the `PRIVATE KEY` at `hit`: the header, the
/// key-like lines after it (at most [`PEM_CAP`] bytes), and the END line if
/// one follows them. Linear in the block's length.
pub(crate) fn pem_block(text: &[u8], hit: &Range<usize>) -> Option<Block> {
    let (kind, begin, body_start) = pem_header(text, hit)?;
    let limit = text.len().min(begin + PEM_CAP);
    let area = &text[body_start..limit];
    let run = key_lines(area);
    let mut after = run;
    loop {
        let rest = &area[after..];
        if rest.first().is_some_and(u8::is_ascii_whitespace) {
            after += 1;
        } else if rest.starts_with(b"\\n") {
            after += 2;
        } else {
            break;
        }
    }
    let body = body_chars(&area[..run]);
    Some(match end_line(&area[after..]) {
        Some(line_end) => Block {
            kind,
            begin,
            end: body_start + after + line_end,
            complete: true,
            body,
        },
        None => Block {
            kind,
            begin,
            end: body_start + run,
            complete: false,
            body,
        },
    })
}

/// A PEM private key block (RSA, EC, DSA, PKCS#8, encrypted, OpenSSH, PGP)
/// with at least [`PEM_MIN_BODY`] base64 characters. Without an END line,
/// the header and the key-like lines that follow it: a truncated paste
/// still leaks the key.
pub(crate) fn pem(text: &[u8], hit: &Range<usize>) -> Option<Raw> {
    let block = pem_block(text, hit)?;
    (block.body >= PEM_MIN_BODY).then(|| Raw::builtin(block.kind, block.begin..block.end, High))
}

/// The end of the line starting at `pos`: a newline or a JSON `\n` escape.
fn line_end(area: &[u8], pos: usize) -> (usize, usize) {
    let mut i = pos;
    while i < area.len() {
        if area[i] == b'\n' {
            return (i, i + 1);
        }
        if area[i] == b'\\' && area.get(i + 1) == Some(&b'n') {
            return (i, i + 2);
        }
        i += 1;
    }
    (area.len(), area.len())
}

/// Length of the key-like lines at the start of `area` (base64 lines,
/// `Name: value` headers, blank lines), ending after the last base64 line.
fn key_lines(area: &[u8]) -> usize {
    let mut pos = 0;
    let mut good = 0;
    while pos < area.len() {
        let (end, next) = line_end(area, pos);
        let line = trim_end_ws(&area[pos..end]);
        let key_like = !line.is_empty() && charset::all(line, BASE64 | EQUALS);
        let header = line.first().is_some_and(u8::is_ascii_uppercase)
            && line.len() < 80
            && line.contains(&b':')
            && !line.contains(&b'?');
        if key_like {
            good = pos + line.len();
        } else if !(line.is_empty() || header) {
            break;
        }
        pos = next;
    }
    good
}

/// The length of the `-----END …-----` line at the start of `area`.
fn end_line(area: &[u8]) -> Option<usize> {
    let rest = area.strip_prefix(b"-----END ".as_slice())?;
    let close = find(&rest[..rest.len().min(48)], b"-----")?;
    Some(9 + close + 5)
}

fn body_chars(body: &[u8]) -> usize {
    body.iter().filter(|&&b| charset::is(b, BASE64)).count()
}

/// `"type": "service_account"` and, within a few KiB, a `"private_key"`
/// string: the finding is that string's value.
pub(crate) fn gcp_service_account(text: &[u8], hit: &Range<usize>) -> Option<Raw> {
    // The hit must be the value of "type".
    let before = &text[hit.start.saturating_sub(24)..hit.start];
    let trimmed = trim_json_gap(before)?;
    if !trimmed.ends_with(b"\"type\"") {
        return None;
    }
    let low = hit.start.saturating_sub(4096);
    let high = text.len().min(hit.end + 8192);
    let area = &text[low..high];
    let mut from = 0;
    while let Some(at) = find(&area[from..], b"\"private_key\"") {
        let key_end = low + from + at + 13;
        from += at + 13;
        let rest = &text[key_end..high];
        let colon = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
        if rest[colon] != b':' {
            continue;
        }
        let quote = colon
            + 1
            + rest[colon + 1..]
                .iter()
                .position(|&b| !b.is_ascii_whitespace())?;
        if rest[quote] != b'"' {
            continue;
        }
        let value_start = key_end + quote + 1;
        let value_end = value_start + json_string_len(&text[value_start..high])?;
        let value = &text[value_start..value_end];
        if body_chars(value) >= PEM_MIN_BODY && find(value, b"PRIVATE KEY").is_some() {
            return Some(Raw::builtin(
                "gcp_service_account",
                value_start..value_end,
                High,
            ));
        }
    }
    None
}

/// `before` ends with `"type"`, optional spaces, `:`, optional spaces, `"`;
/// returns the part up to `"type"` inclusive.
fn trim_json_gap(before: &[u8]) -> Option<&[u8]> {
    let s = before.strip_suffix(b"\"")?;
    let s = trim_end_ws(s);
    let s = s.strip_suffix(b":")?;
    Some(trim_end_ws(s))
}

fn trim_end_ws(mut s: &[u8]) -> &[u8] {
    while let Some((last, rest)) = s.split_last() {
        if !last.is_ascii_whitespace() {
            break;
        }
        s = rest;
    }
    s
}

/// Length of a JSON string body up to its closing quote (escapes skipped).
fn json_string_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

/// Schemes whose URLs are database or broker connection strings.
const DB_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "mssql",
    "sqlserver",
    "couchdb",
    "cockroachdb",
    "clickhouse",
    "neo4j",
    "neo4j+s",
    "cassandra",
    "memcached",
    "nats",
    "mqtt",
    "mqtts",
    "oracle",
];

/// Schemes whose URLs carry HTTP-style basic credentials.
const AUTH_SCHEMES: &[&str] = &[
    "http",
    "https",
    "ftp",
    "ftps",
    "sftp",
    "smtp",
    "smtps",
    "imap",
    "imaps",
    "ldap",
    "ldaps",
    "ssh",
    "git+https",
    "git+ssh",
    "ws",
    "wss",
    "svn",
    "webdav",
];

/// Passwords that only stand in for one.
const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "pass", "pwd", "pw", "passw0rd", "p4ssword", "user", "username",
];

fn url_stop(b: u8) -> bool {
    b.is_ascii_whitespace() || b"\"'`<>{}|\\^[]".contains(&b)
}

/// `scheme://user:password@host…` with a real-looking password. The hit is
/// the `://`.
pub(crate) fn credential_url(text: &[u8], hit: &Range<usize>) -> Option<Raw> {
    let mut start = hit.start;
    while start > 0
        && hit.start - start < 24
        && charset::is(text[start - 1], ALNUM | PLUS | DASH | DOT)
    {
        start -= 1;
    }
    while start < hit.start && !text[start].is_ascii_alphabetic() {
        start += 1;
    }
    let scheme = std::str::from_utf8(&text[start..hit.start])
        .ok()?
        .to_ascii_lowercase();
    let kind = if DB_SCHEMES.contains(&scheme.as_str()) {
        "database_url_with_password"
    } else if AUTH_SCHEMES.contains(&scheme.as_str()) {
        "basic_auth_url"
    } else {
        return None;
    };
    // The authority runs to the first `/` or stop byte (a password may hold
    // `?` or `#`); the credentials end at its last `@`.
    let auth_start = hit.end;
    let limit = text.len().min(auth_start + 512);
    let auth_len = text[auth_start..limit]
        .iter()
        .position(|&b| url_stop(b) || b == b'/')
        .unwrap_or(limit - auth_start);
    let authority = &text[auth_start..auth_start + auth_len];
    let at = authority.iter().rposition(|&b| b == b'@')?;
    let userinfo = &authority[..at];
    let colon = userinfo.iter().position(|&b| b == b':')?;
    let user = &userinfo[..colon];
    let password = &userinfo[colon + 1..];
    if user.iter().any(|b| b"?#=&".contains(b)) {
        return None;
    }
    let host = &authority[at + 1..];
    if password.is_empty()
        || !host
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'[')
    {
        return None;
    }
    let lower = String::from_utf8_lossy(password).to_ascii_lowercase();
    if validate::is_placeholder(password) || PLACEHOLDER_PASSWORDS.contains(&lower.as_str()) {
        return None;
    }
    // The finding covers the whole URL (path and query included).
    let mut end = auth_start + auth_len;
    while end < text.len() && end - start < 2048 && !url_stop(text[end]) {
        end += 1;
    }
    while end > auth_start + at + 1 && matches!(text[end - 1], b'.' | b',' | b';' | b')' | b':') {
        end -= 1;
    }
    Some(Raw::builtin(kind, start..end, High))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Option<(String, String)> {
        let at = text.find("://")?;
        let raw = credential_url(text.as_bytes(), &(at..at + 3))?;
        Some((raw.kind.to_string(), text[raw.span].to_owned()))
    }

    #[test]
    fn urls() {
        assert_eq!(
            url("DATABASE_URL=postgres://app:Xk9#mQ2vLp@db.internal:5432/prod."),
            Some((
                "database_url_with_password".into(),
                "postgres://app:Xk9#mQ2vLp@db.internal:5432/prod".into()
            ))
        );
        assert_eq!(
            url("see https://bob:Tr0ub4dor3@git.acme.io/repo"),
            Some((
                "basic_auth_url".into(),
                "https://bob:Tr0ub4dor3@git.acme.io/repo".into()
            ))
        );
        assert!(url("mongodb+srv://u:${MONGO_PASSWORD}@cluster0.mongodb.net").is_none());
        assert!(url("postgres://user:<password>@localhost/db").is_none());
        assert!(url("postgres://user:@localhost/db").is_none());
        assert!(url("postgres://user@localhost/db").is_none());
        assert!(url("https://example.com/a:b@c").is_none());
        assert!(url("redis://:s3cr3tV4lue@cache:6379").is_some());
    }

    #[test]
    fn pem_blocks() {
        let body = "MIIEowIBAAKCAQEA7yR1mJ0bq3oKp9X2vVtq8sZ+4n1fHc0uT6aB9w2LkE5dYxQr\n".repeat(3);
        let block = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
        let text = format!("key:\n{block}\nthanks");
        let at = text.find("PRIVATE KEY").unwrap();
        let raw = pem(text.as_bytes(), &(at..at + 11)).unwrap();
        assert_eq!(&text[raw.span], block);
        let placeholder = "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----";
        let at = placeholder.find("PRIVATE KEY").unwrap();
        assert!(pem(placeholder.as_bytes(), &(at..at + 11)).is_none());
        let truncated = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}");
        let at = truncated.find("PRIVATE KEY").unwrap();
        let raw = pem(truncated.as_bytes(), &(at..at + 11)).unwrap();
        assert_eq!(raw.kind.as_str(), "openssh_private_key");
        assert_eq!(raw.span, 0..truncated.trim_end().len());
    }
}
