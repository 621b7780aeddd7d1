//! Never leak, never panic: findings print no secret, and arbitrary or huge
//! inputs scan without panicking.

mod common;

use common::{Lcg, crc_token};
use modelgate_screen::{ScreenConfig, Screener};

#[test]
fn debug_and_serialised_findings_never_contain_the_secret() {
    let s = Screener::builtin();
    let canary = crc_token("ghp_", "CanaryCanaryCanary0123456789Zz");
    let text =
        format!("token {canary} and password=Canary7Secret9Value and jane.canary@acme-corp.io");
    let findings = s.scan(&text);
    assert_eq!(findings.len(), 3);
    let printed = format!("{findings:?} {:?} {:#?}", findings.iter().next(), findings);
    let json = serde_json::to_string(&findings).unwrap();
    for out in [printed, json] {
        assert!(!out.contains("Canary"), "{out}");
        assert!(!out.contains("canary"), "{out}");
        assert!(out.contains("github_pat"));
    }
    let mut stream = s.stream();
    stream.push(&text);
    assert!(!format!("{stream:?}").contains("Canary"));
    assert!(!format!("{s:?}").contains("Canary"));
}

/// Fragments that steer random text into every detector's code path.
const FRAGMENTS: &[&str] = &[
    "ghp_",
    "AKIA",
    "eyJ",
    "://",
    "@",
    "sk-ant-",
    "T3BlbkFJ",
    "-----BEGIN ",
    "PRIVATE KEY",
    "-----",
    "-----END ",
    "password",
    "=",
    ":",
    "\"",
    "'",
    " ",
    "\n",
    "\\n",
    "0",
    "7",
    "4111",
    "+1 ",
    "(",
    ")",
    "-",
    ".",
    "::",
    "DE89",
    "SK",
    "AC",
    "xoxb-",
    "hf_",
    "SG.",
    ":AA",
    "mgk_",
    "Bearer ",
    "service_account",
    "\"type\": \"",
    "\"private_key\": \"",
    "AccountKey=",
    "Q~",
    "discord",
    "é",
    "東",
    "\u{200b}",
    "🙂",
    "key-",
    "api_key",
    "secret",
    "token",
    "dd",
    "~",
];

#[test]
fn random_text_never_panics() {
    let s = Screener::builtin();
    let mut g = Lcg(2024);
    for _ in 0..3000 {
        let mut text = String::new();
        for _ in 0..g.below(80) {
            if g.below(4) == 0 {
                let len = g.below(40);
                text.extend((0..len).map(|_| char::from(b"aZ9_-+/=."[g.below(9)])));
            } else {
                text.push_str(FRAGMENTS[g.below(FRAGMENTS.len())]);
            }
        }
        let f = s.scan(&text);
        for finding in &f {
            assert!(finding.span.start < finding.span.end && finding.span.end <= text.len());
            assert!(
                text.is_char_boundary(finding.span.start)
                    && text.is_char_boundary(finding.span.end)
            );
        }
        let _ = s.redact(&text, &f);
        let mut stream = s.stream();
        for chunk in text.split_inclusive(' ') {
            let _ = stream.push(chunk);
        }
        let _ = stream.finish();
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let s = Screener::builtin();
    let mut g = Lcg(77);
    for _ in 0..3000 {
        let len = g.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| g.next() as u8).collect();
        if g.below(2) == 0 && len > 8 {
            let at = g.below(len - 8);
            let frag = FRAGMENTS[g.below(FRAGMENTS.len())].as_bytes();
            let n = frag.len().min(len - at);
            bytes[at..at + n].copy_from_slice(&frag[..n]);
        }
        for f in &s.scan_bytes(&bytes) {
            assert!(f.span.end <= bytes.len());
        }
    }
}

#[test]
fn huge_and_repetitive_inputs_finish() {
    let s = Screener::builtin();
    for unit in [
        "ghp_",
        "eyJ",
        "://a:b@",
        "@",
        "4111 ",
        "-----BEGIN PRIVATE KEY-----\n",
        "password=",
        "a",
        "é",
        "1.",
        "::",
        "DE89",
    ] {
        let text = unit.repeat((1 << 20) / unit.len());
        let started = std::time::Instant::now();
        let f = s.scan(&text);
        assert!(!f.truncated());
        assert!(
            started.elapsed().as_secs() < 30,
            "{unit:?} took {:?}",
            started.elapsed()
        );
    }
    let small = Screener::new(&ScreenConfig {
        max_scan_bytes: Some(1 << 16),
        ..ScreenConfig::default()
    })
    .unwrap();
    assert!(small.scan(&"x".repeat(1 << 17)).truncated());
    assert!(small.scan_bytes(&vec![0xff; 1 << 17]).truncated());
}
