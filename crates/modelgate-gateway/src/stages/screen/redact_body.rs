//! Redaction of a body kept in the audit log under `redacted` retention.
//!
//! The request screen reads JSON strings decoded, so a secret written with
//! escapes (`AKIA\u005A…`, `postgres:\/\/…`) is found there; the kept
//! body must be redacted the same way, or the escaped secret would be
//! stored verbatim. A JSON body has each decoded string (keys included,
//! prose joined as the screen joins it, [`BodyScan`]) redacted and spliced
//! back; an event stream has each `data:` payload that is JSON redacted
//! alike. Then the raw text is scanned once more, as before, so nothing the
//! raw scan finds (a secret spread over a key and its value) is kept.

use modelgate_screen::Screener;

use super::body_scan::BodyScan;
use super::json_text::CheckedJson;

/// `text` (a request or response body) with every finding replaced.
pub fn redact_retained(screener: &Screener, text: &str) -> String {
    let decoded = match redact_json(screener, text) {
        Some(json) => json,
        None if text.contains("data:") => redact_events(screener, text),
        None => text.to_owned(),
    };
    screener.redact(&decoded, &screener.scan(&decoded))
}

/// A JSON document with its decoded strings redacted, or `None` when
/// `text` is not one.
fn redact_json(screener: &Screener, text: &str) -> Option<String> {
    let json = CheckedJson::check(text.as_bytes()).ok()?;
    let scan = BodyScan::new(screener, json, &[]).ok()?;
    if scan.is_empty() {
        return Some(text.to_owned());
    }
    String::from_utf8(scan.redacted(screener, text.as_bytes())).ok()
}

/// Server-sent events with each JSON `data:` payload redacted decoded.
fn redact_events(screener: &Screener, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let redacted = body.strip_prefix("data:").and_then(|data| {
            let payload = data.strip_prefix(' ').unwrap_or(data);
            redact_json(screener, payload)
        });
        match redacted {
            Some(payload) => {
                out.push_str("data: ");
                out.push_str(&payload);
                out.push_str(&line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_secrets_are_redacted_decoded() {
        let screener = Screener::builtin();
        let body = r#"{"messages":[{"content":"key AKIA\u005A7VQH4NDXK2LMP3Q and postgres:\/\/admin:Sup3rS3cretPassw0rd@db.example.com\/app"}],"metadata":{"AKIA\u005A7VQH4NDXK2LMP3Q":1}}"#;
        let out = redact_retained(&screener, body);
        assert!(!out.contains("7VQH4NDXK2LMP3Q"), "{out}");
        assert!(!out.contains("Sup3rS3cretPassw0rd"), "{out}");
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            value["messages"][0]["content"],
            "key [REDACTED:aws_access_key_id] and [REDACTED:database_url_with_password]"
        );
    }

    #[test]
    fn event_streams_and_plain_text_are_redacted() {
        let screener = Screener::builtin();
        let sse = "data: {\"choices\":[{\"delta\":{\"content\":\"AKIA\\u005A7VQH4NDXK2LMP3Q\"}}]}\n\ndata: [DONE]\n\n";
        let out = redact_retained(&screener, sse);
        assert!(!out.contains("7VQH4NDXK2LMP3Q"), "{out}");
        assert!(out.ends_with("data: [DONE]\n\n"), "{out}");
        let plain = "not json AKIAZ7VQH4NDXK2LMP3Q";
        assert_eq!(
            redact_retained(&screener, plain),
            "not json [REDACTED:aws_access_key_id]"
        );
    }
}
