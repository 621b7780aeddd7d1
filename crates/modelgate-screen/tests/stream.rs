//! The stream scanner: secrets split across chunks are still found and
//! redacted, key blocks are held until complete (or redacted whole past the
//! cap), `finish` flushes, and the released text equals one-shot redaction.

mod common;

use common::{crc_token, mgk};
use modelgate_screen::{PEM_HOLD_CAP, Screener, StreamScanner};

/// Streams `chunks` and returns the released text and the finding kinds.
fn run(mut stream: StreamScanner<'_>, chunks: &[&str]) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut kinds = Vec::new();
    for chunk in chunks {
        let out = stream.push(chunk);
        text.push_str(&out.text);
        kinds.extend(out.findings.iter().map(|f| f.kind.to_string()));
    }
    let out = stream.finish();
    text.push_str(&out.text);
    kinds.extend(out.findings.iter().map(|f| f.kind.to_string()));
    (text, kinds)
}

fn secrets() -> Vec<(&'static str, String)> {
    vec![
        ("github_pat", crc_token("ghp_", "AbCdEfGhIjKlMnOpQrStUvWxYz0123")),
        ("aws_access_key_id", "AKIAZ7VQH4NDXK2LMP3Q".to_owned()),
        ("modelgate_api_key", mgk("Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa9876")),
        ("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_owned()),
        ("email", "jane.doe@acme-corp.io".to_owned()),
        ("payment_card", "4111 1111 1111 1111".to_owned()),
        ("database_url_with_password", "postgres://app:Xk9mQ2vLp7Rt@db.internal:5432/prod".to_owned()),
    ]
}

#[test]
fn a_secret_split_at_every_byte_is_found() {
    let s = Screener::builtin();
    for (kind, secret) in secrets() {
        let text = format!(
            "Sure! Here is the config you asked for: {secret} and some more words after it."
        );
        let expected = s.redact(&text, &s.scan(&text));
        assert!(!expected.contains(&secret));
        for cut in 1..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let (a, b) = text.split_at(cut);
            let (out, kinds) = run(s.stream(), &[a, b]);
            assert_eq!(out, expected, "{kind} split at {cut}");
            assert_eq!(kinds, vec![kind.to_owned()], "{kind} split at {cut}");
        }
    }
}

#[test]
fn a_secret_after_its_keyword_in_an_earlier_chunk_is_found() {
    let s = Screener::builtin();
    let filler = "lorem ipsum dolor sit amet ".repeat(60);
    let text = format!("{filler}DB_PASSWORD=Tr0ub4dor3xKq9 and then {filler}");
    let at = text.find("Tr0ub").unwrap();
    for cut in [at - 5, at, at + 3] {
        let (out, kinds) = run(s.stream(), &[&text[..cut], &text[cut..]]);
        assert!(!out.contains("Tr0ub4dor3xKq9"), "cut {cut}");
        assert_eq!(kinds, vec!["generic_secret_assignment"]);
    }
}

#[test]
fn a_pem_block_across_many_chunks_is_redacted_whole() {
    let s = Screener::builtin();
    let line = "MIIEowIBAAKCAQEA7yR1mJ0bq3oKp9X2vVtq8sZ4n1fHc0uT6aB9w2LkE5dYxQrZ";
    let body = format!("{line}\n").repeat(60); // ~4 KiB, more than the 1 KiB hold
    let text = format!(
        "Here is the key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----\nDone."
    );
    let chunks: Vec<&str> = text
        .as_bytes()
        .chunks(37)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let (out, kinds) = run(s.stream(), &chunks);
    assert_eq!(out, "Here is the key:\n[REDACTED:private_key_pem]\nDone.");
    assert_eq!(kinds, vec!["private_key_pem"]);
}

#[test]
fn a_pem_block_past_the_cap_is_redacted_as_it_arrives() {
    let s = Screener::builtin();
    let line = "MIIEowIBAAKCAQEA7yR1mJ0bq3oKp9X2vVtq8sZ4n1fHc0uT6aB9w2LkE5dYxQrZ\n";
    let body = line.repeat(PEM_HOLD_CAP / line.len() + 40);
    let text = format!(
        "key:\n-----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY-----\nafter the key"
    );
    let mut stream = s.stream();
    let mut out = String::new();
    let mut held_max = 0;
    for chunk in text.as_bytes().chunks(500) {
        out.push_str(&stream.push(std::str::from_utf8(chunk).unwrap()).text);
        held_max = held_max.max(stream.held());
    }
    out.push_str(&stream.finish().text);
    assert!(held_max <= PEM_HOLD_CAP + 1024, "held {held_max}");
    assert!(
        !out.contains("MIIEowIBAAKCAQEA"),
        "{}",
        &out[..out.len().min(300)]
    );
    assert_eq!(out, "key:\n[REDACTED:private_key_pem]\nafter the key");
}

#[test]
fn finish_flushes_what_is_held() {
    let s = Screener::builtin();
    let mut stream = s.stream();
    let first = stream.push("Hello, ");
    let second = stream.push("world.");
    assert_eq!(first.text, "");
    assert_eq!(second.text, "");
    assert_eq!(stream.held(), 13);
    let last = stream.finish();
    assert_eq!(last.text, "Hello, world.");
    assert!(last.findings.is_empty());
}

#[test]
fn long_clean_streams_are_released_with_bounded_hold() {
    let s = Screener::builtin();
    let mut stream = s.stream();
    let mut out = String::new();
    let text = "Streaming is a sequence of small deltas from the model; café, 東京. ".repeat(400);
    for piece in text.split_inclusive(' ') {
        out.push_str(&stream.push(piece).text);
        assert!(stream.held() <= 1024 + 64, "held {}", stream.held());
    }
    out.push_str(&stream.finish().text);
    assert_eq!(out, text);
}

#[test]
fn stream_findings_have_stream_offsets() {
    let s = Screener::builtin();
    let secret = crc_token("ghp_", "AbCdEfGhIjKlMnOpQrStUvWxYz0123");
    let filler = "word ".repeat(500);
    let text = format!("{filler}{secret} {filler}");
    let mut stream = s.stream();
    let mut spans = Vec::new();
    for chunk in text.as_bytes().chunks(100) {
        spans.extend(
            stream
                .push(std::str::from_utf8(chunk).unwrap())
                .findings
                .iter()
                .map(|f| f.span.clone()),
        );
    }
    spans.extend(stream.finish().findings.iter().map(|f| f.span.clone()));
    assert_eq!(spans, vec![filler.len()..filler.len() + secret.len()]);
}

#[test]
fn corpus_samples_streamed_in_random_chunks_match_one_shot_redaction() {
    let s = Screener::builtin();
    let corpus = modelgate_screen::corpus::generate(modelgate_screen::corpus::DEFAULT_SEED);
    let mut g = common::Lcg(7);
    for sample in corpus.samples.iter().step_by(5) {
        let text = &sample.text;
        let expected = s.redact(text, &s.scan(text));
        let mut chunks = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let mut end = (at + 1 + g.below(120)).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            chunks.push(&text[at..end]);
            at = end;
        }
        let (out, _) = run(s.stream(), &chunks);
        assert_eq!(out, expected, "{}", sample.id);
        for label in &sample.labels {
            assert!(
                !out.contains(&text[label.start..label.end]),
                "{} leaked",
                sample.id
            );
        }
    }
}
