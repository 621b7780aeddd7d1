//! Helpers shared by the integration tests: key builders with valid
//! checksums and finding summaries.
#![allow(dead_code)]

use modelgate_screen::{Findings, Screener};

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Fixed-width base62, most significant digit first.
pub fn base62(mut v: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A GitHub/npm style token: prefix, 30 random base62, CRC32 of those.
pub fn crc_token(prefix: &str, random: &str) -> String {
    assert_eq!(random.len(), 30);
    format!(
        "{prefix}{random}{}",
        base62(u64::from(crc32fast::hash(random.as_bytes())), 6)
    )
}

/// A modelgate key with a valid checksum.
pub fn mgk(body: &str) -> String {
    assert_eq!(body.len(), 40);
    let head = format!("mgk_{body}");
    format!(
        "{head}{}",
        base62(u64::from(crc32fast::hash(head.as_bytes())), 6)
    )
}

/// `(kind, matched text)` for each finding.
pub fn found(s: &Screener, text: &str) -> Vec<(String, String)> {
    summarize(text, &s.scan(text))
}

/// `(kind, matched text)` for each finding of `findings` in `text`.
pub fn summarize(text: &str, findings: &Findings) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| (f.kind.to_string(), text[f.span.clone()].to_owned()))
        .collect()
}

/// Asserts that `text` yields exactly one finding, of `kind`, covering `value`.
pub fn expect_one(s: &Screener, text: &str, kind: &str, value: &str) {
    let got = found(s, text);
    assert_eq!(
        got,
        vec![(kind.to_owned(), value.to_owned())],
        "in {text:?}"
    );
}

/// A small deterministic generator for property-style loops.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
