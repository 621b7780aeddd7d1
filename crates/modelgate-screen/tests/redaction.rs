//! Redaction: spans become `[REDACTED:kind]`, overlaps merge, and UTF-8
//! characters are never split.

mod common;

use common::{Lcg, crc_token};
use modelgate_screen::Screener;

fn token() -> String {
    crc_token("ghp_", "AbCdEfGhIjKlMnOpQrStUvWxYz0123")
}

#[test]
fn spans_are_replaced() {
    let s = Screener::builtin();
    let t = token();
    let text = format!("use {t} and mail jane@acme-corp.io, thanks");
    let f = s.scan(&text);
    assert_eq!(
        s.redact(&text, &f),
        "use [REDACTED:github_pat] and mail [REDACTED:email], thanks"
    );
}

#[test]
fn overlapping_findings_become_one_replacement() {
    let s = Screener::builtin();
    let t = token();
    // The generic detector and the GitHub detector both match the value;
    // the more specific kind names the single replacement.
    let text = format!("GITHUB_TOKEN=\"{t}\"");
    let f = s.scan(&text);
    assert_eq!(f.len(), 1);
    assert_eq!(
        s.redact(&text, &f),
        "GITHUB_TOKEN=\"[REDACTED:github_pat]\""
    );
    // A database URL holds an IP address and an email-like `user:pw@host`.
    let url = "postgres://app:Xk9mQ2vLp7Rt@10.0.3.17:5432/prod";
    let f = s.scan(url);
    assert_eq!(f.kinds(), vec!["database_url_with_password"]);
    assert_eq!(s.redact(url, &f), "[REDACTED:database_url_with_password]");
}

#[test]
fn non_ascii_text_around_secrets_survives() {
    let s = Screener::builtin();
    let t = token();
    let text = format!("Café – clé: {t} — 東京 ✓ jane@acme-corp.io…");
    let f = s.scan(&text);
    assert_eq!(f.len(), 2);
    for finding in &f {
        assert!(
            text.is_char_boundary(finding.span.start) && text.is_char_boundary(finding.span.end)
        );
    }
    assert_eq!(
        s.redact(&text, &f),
        "Café – clé: [REDACTED:github_pat] — 東京 ✓ [REDACTED:email]…"
    );
}

#[test]
fn spans_inside_a_character_widen_to_the_whole_character() {
    let s = Screener::builtin();
    let t = token();
    let ascii = format!("abcd {t} tail");
    let f = s.scan(&ascii);
    assert_eq!(f.iter().next().unwrap().span.start, 5);
    // Same findings applied to a text where byte 5 is inside '€' (bytes 3..6).
    let other = format!("abc€{}", &ascii[6..]);
    let out = s.redact(&other, &f);
    assert!(out.starts_with("abc[REDACTED:github_pat]"), "{out}");
    // Spans past the end are clamped.
    assert_eq!(s.redact("short", &f), "short");
}

#[test]
fn redacted_output_never_contains_a_found_secret() {
    let s = Screener::builtin();
    let pieces = [
        "é",
        "東京",
        " ",
        "\n",
        "a",
        "token=",
        ": ",
        "jane@acme-corp.io",
        "4111 1111 1111 1111",
        "ü",
    ];
    let mut g = Lcg(99);
    for _ in 0..300 {
        let mut text = String::new();
        let random: String = (0..30)
            .map(|_| char::from(b"abcdefghijkLMNOPQRST0123456789"[g.below(30)]))
            .collect();
        let t = crc_token("ghp_", &random);
        for _ in 0..g.below(12) {
            text.push_str(pieces[g.below(pieces.len())]);
            text.push(' ');
        }
        text.push(' ');
        text.push_str(&t);
        text.push(' ');
        for _ in 0..g.below(12) {
            text.push_str(pieces[g.below(pieces.len())]);
            text.push(' ');
        }
        let f = s.scan(&text);
        let out = s.redact(&text, &f);
        assert!(!out.contains(&t), "{text:?} -> {out:?}");
        assert!(!out.contains("4111 1111 1111 1111"), "{text:?} -> {out:?}");
        assert!(!out.contains("jane@acme-corp.io"));
    }
}
