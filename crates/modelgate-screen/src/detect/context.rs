//! Window detectors: credentials recognised by their context (an assignment
//! to a name that says what the value is), as regexes run in a small window
//! around each keyword hit, then checked.

use std::ops::Range;

use super::{Tuning, Value, Verdict, WindowSpec};
use crate::charset;
use crate::finding::Confidence::{High, Medium};
use crate::validate;

/// Case variants of `secret`.
const SECRET: &[&str] = &["secret", "Secret", "SECRET"];
/// Case and separator variants of `api key`.
const API_KEY: &[&str] = &[
    "api_key", "API_KEY", "apikey", "apiKey", "ApiKey", "APIKEY", "api-key", "API-KEY", "Api-Key",
    "API key", "api key",
];
/// Every keyword of the generic assignment detector.
const GENERIC: &[&str] = &[
    "passw",
    "Passw",
    "PASSW",
    "secret",
    "Secret",
    "SECRET",
    "token",
    "Token",
    "TOKEN",
    "api_key",
    "API_KEY",
    "apikey",
    "apiKey",
    "ApiKey",
    "APIKEY",
    "api-key",
    "API-KEY",
    "Api-Key",
    "API key",
    "api key",
    "access_key",
    "ACCESS_KEY",
    "accessKey",
    "private_key",
    "PRIVATE_KEY",
    "Bearer",
];

/// An assignment operator between a name and a value, with optional quotes:
/// `=`, `:`, `:=`, `=>`, an XML tag's `>`, or the word `is` in prose.
const ASSIGN: &str = r#"["']?[ \t]*(?::=|=>|=|:|>|[ \t]is)[ \t]*["'`]?"#;

/// Every window detector.
pub(crate) fn specs() -> Vec<WindowSpec> {
    vec![
        WindowSpec {
            kind: "aws_secret_access_key",
            keywords: SECRET,
            pattern: format!(
                r"(?i-u:aws[A-Za-z0-9_.\- ]{{0,24}}?secret[A-Za-z0-9_.\- ]{{0,24}}|secret[_\-. ]?access[_\-. ]?key(?:[_\-. ]?id)?){ASSIGN}"
            ),
            before: 40,
            after: 64,
            value: Value::After(|t, m| exact_run(t, m.end, charset::BASE64, 40, 40, charset::EQUALS)),
            precheck: Some(|t, hit| near(t, hit, 40, 24, b"aws") || near(t, hit, 0, 24, b"access")),
            check: aws_secret,
        },
        WindowSpec {
            kind: "azure_client_secret",
            keywords: SECRET,
            pattern: format!(r"(?i-u:secret)[A-Za-z0-9_.\-]{{0,24}}{ASSIGN}"),
            before: 8,
            after: 48,
            precheck: Some(|t, hit| near(t, hit, 0, 96, b"q~")),
            value: Value::After(|t, m| {
                let set = charset::ALNUM | charset::UNDERSCORE | charset::DOT | charset::DASH | charset::TILDE;
                // A sentence may end right after the secret: `… is abc8Q~….`
                exact_run(t, m.end, set, 37, 40, 0).or_else(|| {
                    let r = exact_run(t, m.end, set, 38, 41, 0)?;
                    (t[r.end - 1] == b'.').then(|| r.start..r.end - 1)
                })
            }),
            check: |v, _, _| {
                (v[3].is_ascii_digit() && &v[4..6] == b"Q~").then_some((0..v.len(), High))
            },
        },
        WindowSpec {
            kind: "datadog_api_key",
            keywords: API_KEY,
            pattern: format!(
                r#"(?i-u:(?:datadog|dd)[A-Za-z0-9_.\-:\s"']{{0,24}}?api[_\-. ]?key)[A-Za-z0-9_.\-]{{0,8}}{ASSIGN}"#
            ),
            before: 48,
            after: 48,
            value: Value::After(|t, m| exact_run(t, m.end, charset::ALNUM, 32, 32, 0)),
            precheck: Some(|t, hit| near(t, hit, 48, 0, b"dd") || near(t, hit, 48, 0, b"datadog")),
            check: |v, _, _| {
                (charset::all(v, charset::HEX)
                    && v.iter().any(u8::is_ascii_digit)
                    && v.iter().any(u8::is_ascii_alphabetic))
                .then_some((0..v.len(), High))
            },
        },
        WindowSpec {
            kind: "discord_bot_token",
            keywords: &["discord", "Discord", "DISCORD"],
            pattern: r"(?-u:\b)[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}".into(),
            before: 512,
            after: 1024,
            precheck: None,
            value: Value::After(|t, m| {
                // Not followed by more token characters (a sentence's final
                // dot is fine).
                let token = |i: usize| t.get(i).is_some_and(|&b| charset::is(b, charset::URLSAFE));
                let dot_then_token = t.get(m.end) == Some(&b'.') && token(m.end + 1);
                (!token(m.end) && !dot_then_token).then_some(m)
            }),
            check: discord,
        },
        WindowSpec {
            kind: "generic_secret_assignment",
            keywords: GENERIC,
            pattern: concat!(
                r#"(?i-u:[A-Za-z0-9_.\-]*?(?:passw(?:or)?d|secret|token|api[_\- ]?key|access[_\-]?key|private[_\-]?key)[A-Za-z0-9_.\-]*)"#,
                r#"["']?[ \t]*(?::=|=>|=|:|>|[ \t]is[ \t])[ \t]*"#,
                r"|(?i-u:bearer)[ \t]+",
                r"|--(?i-u:[a-z\-]*(?:password|token|secret|api-key))[ =]",
            )
            .into(),
            before: 48,
            after: 96,
            value: Value::After(|t, m| assigned_value(t, m.end)),
            precheck: Some(assignment_ahead),
            check: generic,
        },
    ]
}

/// The run of `set` bytes at `at`, if its length is in `min..=max` and the
/// byte after it is in neither `set` nor `also_not`.
fn exact_run(
    text: &[u8],
    at: usize,
    set: u16,
    min: usize,
    max: usize,
    also_not: u16,
) -> Option<Range<usize>> {
    let mut end = at;
    while end < text.len() && end - at <= max && charset::is(text[end], set) {
        end += 1;
    }
    let len = end - at;
    let next_ok = text
        .get(end)
        .is_none_or(|&b| !charset::is(b, set | also_not));
    ((min..=max).contains(&len) && next_ok).then_some(at..end)
}

/// Whether `needle` (lower case) occurs, ignoring ASCII case, within
/// `before` bytes before the hit or `after` bytes after it.
fn near(text: &[u8], hit: &Range<usize>, before: usize, after: usize, needle: &[u8]) -> bool {
    let area = &text[hit.start.saturating_sub(before)..text.len().min(hit.end + after)];
    area.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether an assignment can follow the keyword: `:`, `=` or `>` (or
/// ` is `) on the same line within 64 bytes, a `Bearer` keyword, or a
/// `--flag`.
fn assignment_ahead(text: &[u8], hit: &Range<usize>) -> bool {
    if text[hit.start] == b'B' {
        return true;
    }
    let ahead = &text[hit.end..text.len().min(hit.end + 64)];
    let line = ahead.split(|&b| b == b'\n').next().unwrap_or(ahead);
    line.iter().any(|&b| matches!(b, b':' | b'=' | b'>'))
        || line.windows(4).any(|w| w == b" is ")
        || text[hit.start.saturating_sub(24)..hit.start]
            .windows(2)
            .any(|w| w == b"--")
}

/// Longest value read after an assignment.
const MAX_VALUE: usize = 256;

/// The value after an assignment: a quoted string (same quote, one line),
/// or a bare run up to whitespace or punctuation that ends a value. A bare
/// run followed by `(` or `[` is code (`os.environ[…]`, `get()`), not a value.
fn assigned_value(text: &[u8], at: usize) -> Option<Range<usize>> {
    let first = *text.get(at)?;
    if matches!(first, b'"' | b'\'' | b'`') {
        let body = &text[at + 1..text.len().min(at + 1 + MAX_VALUE + 1)];
        let close = body
            .iter()
            .position(|&b| b == first || b == b'\n' || b == b'\r')?;
        return (body[close] == first).then_some(at + 1..at + 1 + close);
    }
    let stop = |b: u8| b.is_ascii_whitespace() || b"\"'`,;<>(){}[]".contains(&b);
    let mut end = at;
    while end < text.len() && end - at < MAX_VALUE && !stop(text[end]) {
        end += 1;
    }
    let follow_ok = text
        .get(end)
        .is_none_or(|&b| b.is_ascii_whitespace() || b",;)]}<".contains(&b));
    (end > at && follow_ok).then_some(at..end)
}

fn aws_secret(v: &[u8], _: &[u8], _: &Tuning) -> Verdict {
    // AWS's documented example secret ends in EXAMPLEKEY.
    let example = v.windows(7).any(|w| w == b"EXAMPLE");
    (!example && validate::char_classes(v) >= 3).then_some((0..v.len(), High))
}

fn discord(v: &[u8], _: &[u8], _: &Tuning) -> Verdict {
    // The first part is the bot's user id (a snowflake) in base64.
    let id = v.split(|&b| b == b'.').next()?;
    let decoded = validate::base64_decode(id)?;
    ((17..=20).contains(&decoded.len()) && decoded.iter().all(u8::is_ascii_digit))
        .then_some((0..v.len(), High))
}

/// Whether `seg` is written like a word: lower case, UPPER case, or
/// camel/Pascal humps (`dialogToken`, `KemSharedSecret`), then optional digits.
fn word_case(seg: &[u8]) -> bool {
    let letters = seg.iter().position(u8::is_ascii_digit).unwrap_or(seg.len());
    let (word, digits) = seg.split_at(letters);
    if !digits.iter().all(u8::is_ascii_digit) || !word.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    if word.iter().all(u8::is_ascii_lowercase) || word.iter().all(u8::is_ascii_uppercase) {
        return true;
    }
    // Humps: an optional lower-case head, then Upper + at least one lower.
    let mut i = word.iter().position(u8::is_ascii_uppercase).unwrap_or(0);
    while i < word.len() {
        let hump = word[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase())
            .count();
        if !word[i].is_ascii_uppercase() || hump == 0 {
            return false;
        }
        i += 1 + hump;
    }
    true
}

/// Code rather than a value: identifiers and paths made of word-like parts
/// (`_bindgen_ty_7`, `node.dot2_token`, `DOT11_DIALOG_TOKEN`, `PULONG64`,
/// `&KemSharedSecret`). Random secrets mix case inside their parts.
fn identifier_like(v: &[u8]) -> bool {
    let v = v
        .strip_prefix(b"&")
        .or_else(|| v.strip_prefix(b"*"))
        .unwrap_or(v);
    if !v
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':'))
    {
        return false;
    }
    let segments: Vec<&[u8]> = v
        .split(|&b| matches!(b, b'_' | b'.' | b':'))
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        [] => true,
        [one] => {
            let letters = one.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let screaming = letters >= 2 && one[..letters].iter().all(u8::is_ascii_uppercase);
            let humps = one.iter().filter(|b| b.is_ascii_uppercase()).count() >= 2;
            word_case(one) && (screaming || (humps && one[0].is_ascii_uppercase()))
        }
        many => many.iter().all(|s| word_case(s)),
    }
}

/// Minimum length of a generic secret value.
const GENERIC_MIN_LEN: usize = 8;

/// Name endings that say the value describes a secret without being one
/// (`private_key_id`, `token_url`, `password_hash`, `secret_name`).
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "id", "url", "uri", "path", "file", "name", "type", "len", "length", "count", "ttl", "expiry",
    "expires", "endpoint", "header", "format", "policy", "hash", "field", "label", "hint",
    "version", "ref", "arn",
];

/// Whether an assigned name ends in one of [`NOT_SECRET_SUFFIXES`], as a
/// separate word (`key_id`, `key-id`, `keyId`).
fn descriptive_name(name: &[u8]) -> bool {
    let end = name
        .iter()
        .rposition(u8::is_ascii_alphanumeric)
        .map_or(0, |i| i + 1);
    let name = &name[..end];
    let lower = name.to_ascii_lowercase();
    NOT_SECRET_SUFFIXES.iter().any(|suffix| {
        let s = suffix.as_bytes();
        if !lower.ends_with(s) || lower.len() == s.len() {
            return false;
        }
        let at = name.len() - s.len();
        matches!(name[at - 1], b'_' | b'-' | b'.')
            || (name[at].is_ascii_uppercase() && name[at - 1].is_ascii_lowercase())
    })
}

fn generic(value: &[u8], name: &[u8], tuning: &Tuning) -> Verdict {
    let mut end = value.len();
    while end > 0 && matches!(value[end - 1], b'.' | b',' | b';' | b')') {
        end -= 1;
    }
    let v = &value[..end];
    if v.len() < GENERIC_MIN_LEN {
        return None;
    }
    // A name, a path or a URL, not a secret: `self.token`, `/run/secrets/x`,
    // `https://auth.example/token`.
    // Identifiers and code paths (`token::Bracket`, `self.api_key`) have no
    // digits.
    let word_like = v
        .iter()
        .all(|&b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-' | b':'));
    // Resource paths (`projects/4829/secrets/db/versions/latest`) have
    // lower-case segments; base64 secrets with slashes mix cases.
    let resource_path =
        v.iter().filter(|&&b| b == b'/').count() >= 2 && !v.iter().any(u8::is_ascii_uppercase);
    let path_like =
        v.starts_with(b"/") || v.starts_with(b"./") || v.starts_with(b"~/") || resource_path;
    let url_like = v.windows(3).any(|w| w == b"://");
    // Readable slugs (`prod/session`, `app-secret`) have one letter case
    // and no digits; secrets mix them.
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let digit = v.iter().any(u8::is_ascii_digit);
    let mixed = (digit && (lower || upper)) || (lower && upper);
    // Words with spaces are prose (`'Password used to generate key'`).
    let prose = v.contains(&b' ');
    if word_like || path_like || url_like || prose || !mixed || identifier_like(v) {
        return None;
    }
    if validate::entropy(v) < tuning.entropy_threshold
        || descriptive_name(name)
        || validate::is_placeholder(v)
    {
        return None;
    }
    Some((0..end, Medium))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Tuning = Tuning {
        entropy_threshold: 3.0,
    };

    #[test]
    fn generic_values() {
        assert!(generic(b"q8Zr2LmX9vKp4TfW", b"password = ", &T).is_some());
        assert!(generic(b"q8Zr2LmX9vKp4TfW", b"\"private_key_id\": \"", &T).is_none());
        assert!(generic(b"q8Zr2LmX9vKp4TfW", b"tokenUrl=", &T).is_none());
        assert!(generic(b"q8Zr2LmX9vKp4TfW.", b"token: ", &T) == Some((0..16, Medium)));
        for no in [
            &b"changeme"[..],
            b"self.token",
            b"${TOKEN}",
            b"/run/secrets/db",
            b"abc",
            b"aaaaaaaaaaaa",
            b"https://auth.acme.io/token",
            b"12345678901",
            b"_bindgen_ty_7",
            b"node.dot2_token",
            b"DOT11_DIALOG_TOKEN",
            b"PULONG64",
            b"&KemSharedSecret",
            b"token::Bracket",
        ] {
            assert!(
                generic(no, b"secret=", &T).is_none(),
                "{}",
                String::from_utf8_lossy(no)
            );
        }
    }

    #[test]
    fn identifiers_are_not_values() {
        for id in [
            &b"_bindgen_ty_7"[..],
            b"DOT11_DIALOG_TOKEN",
            b"PULONG64",
            b"KemSharedSecret",
        ] {
            assert!(identifier_like(id), "{}", String::from_utf8_lossy(id));
        }
        for secret in [
            &b"q8Zr2LmX9vKp4TfW"[..],
            b"aB3_xYz9Kq",
            b"Summer2024",
            b"Tr0ub4dor_3xKq9",
        ] {
            assert!(
                !identifier_like(secret),
                "{}",
                String::from_utf8_lossy(secret)
            );
        }
    }

    #[test]
    fn patterns_compile() {
        for spec in specs() {
            if let Err(e) = regex::bytes::Regex::new(&spec.pattern) {
                panic!("{}: {e}", spec.kind);
            }
        }
    }
}
