//! One screening pass over a JSON body: every string, object keys included,
//! is scanned decoded; then the prose values ([`Role::Text`]: message
//! content, content parts, system prompts, tool arguments) are read joined
//! in document order, so a secret split across two content parts, two
//! messages or a system prompt and a message is found too.
//!
//! The join puts nothing between two pieces. A secret split mid-token
//! (`"xoxb-1234"` + `"5678-…"`) is only whole when the pieces abut; any
//! separator (a space, a newline) would cut it again for every detector
//! that reads a token up to whitespace. False positives are kept out by
//! what is joined and what is kept: only prose values are joined (never
//! keys, roles, types, ids or tool names), and only a finding that crosses
//! a boundary between two pieces is new; a finding inside one piece was
//! already reported by that piece's own scan, and a crossing finding that
//! overlaps a finding of the same kind in a piece is the same secret seen
//! again (it widens the redaction, it is not counted twice). The detectors
//! themselves demand prefixes, checksums or entropy, which two unrelated
//! strings put end to end do not produce.
//!
//! Only the text within [`MAX_SECRET_LEN`] bytes of a boundary is scanned
//! joined (the windows of neighbouring boundaries merged, so each byte is
//! scanned joined at most once): a long prompt in few messages costs a few
//! KiB more, many short parts at most one more pass over their text.

use std::collections::HashSet;
use std::ops::Range;

use modelgate_screen::{Finding, Findings, MAX_SECRET_LEN, Screener};

use super::json_text::{CheckedJson, JsonString, JsonTextError, Role, splice_strings};

/// Strings up to this long are scanned once per distinct text.
const SHORT: usize = 64;

/// The kind of a modelgate key, revoked when found.
const MODELGATE_KEY: &str = "modelgate_api_key";

/// What one pass found in a body.
#[derive(Debug)]
pub struct BodyScan {
    strings: Vec<JsonString>,
    /// Per string (same index): what to redact in it.
    redact: Vec<Vec<Finding>>,
    /// Every distinct finding (spans are not meaningful here).
    found: Vec<Finding>,
    /// The text of each modelgate key found.
    leaked: Vec<String>,
}

impl BodyScan {
    /// Scans every string of `json` but the members under the top-level
    /// keys in `skip`.
    pub fn new(
        screener: &Screener,
        json: CheckedJson<'_>,
        skip: &[&str],
    ) -> Result<BodyScan, JsonTextError> {
        let strings = json.strings(skip)?;
        let mut redact = vec![Vec::new(); strings.len()];
        let mut found = Vec::new();
        let mut leaked = Vec::new();
        // Short strings repeat (keys, roles, part types): one clean scan
        // of each is enough.
        let mut clean: HashSet<&str> = HashSet::new();
        for (i, string) in strings.iter().enumerate() {
            let text = string.text.as_str();
            let short = text.len() <= SHORT;
            if short && clean.contains(text) {
                continue;
            }
            let findings = screener.scan(text);
            if findings.is_empty() {
                if short {
                    clean.insert(text);
                }
                continue;
            }
            for finding in findings {
                if finding.kind.as_str() == MODELGATE_KEY
                    && let Some(secret) = text.get(finding.span.clone())
                {
                    leaked.push(secret.to_owned());
                }
                found.push(finding.clone());
                redact[i].push(finding);
            }
        }
        let mut scan = BodyScan {
            strings,
            redact,
            found,
            leaked,
        };
        scan.joined(screener);
        Ok(scan)
    }

    /// Every finding, once each.
    pub fn findings(&self) -> &[Finding] {
        &self.found
    }

    /// The modelgate keys found, as text (never logged).
    pub fn leaked(&self) -> &[String] {
        &self.leaked
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// `body` (the scanned one) with every finding replaced, each piece
    /// of a split secret in the string that held it.
    pub fn redacted(&self, screener: &Screener, body: &[u8]) -> Vec<u8> {
        let edits = self
            .strings
            .iter()
            .zip(&self.redact)
            .filter(|(_, found)| !found.is_empty())
            .map(|(string, found)| {
                let findings = Findings::from_spans(found.clone());
                (
                    string.span.clone(),
                    screener.redact(&string.text, &findings),
                )
            })
            .collect();
        splice_strings(body, edits)
    }

    /// Scans the prose values joined, around each boundary between them.
    fn joined(&mut self, screener: &Screener) {
        let pieces: Vec<usize> = (0..self.strings.len())
            .filter(|&i| self.strings[i].role == Role::Text)
            .collect();
        if pieces.len() < 2 {
            return;
        }
        let mut joined = String::new();
        // Start of each piece in `joined`, then its end.
        let mut starts = Vec::with_capacity(pieces.len() + 1);
        for &i in &pieces {
            starts.push(joined.len());
            joined.push_str(&self.strings[i].text);
        }
        starts.push(joined.len());
        let own: Vec<Vec<Finding>> = pieces.iter().map(|&i| self.redact[i].clone()).collect();
        for window in windows(&joined, &starts[1..pieces.len()]) {
            let Some(text) = joined.get(window.clone()) else {
                continue;
            };
            for mut finding in screener.scan(text) {
                finding.span = finding.span.start + window.start..finding.span.end + window.start;
                let cut = (finding.span.start == window.start && window.start != 0)
                    || (finding.span.end == window.end && window.end != joined.len());
                if !cut {
                    self.crossing(&joined, &starts, &pieces, &own, finding);
                }
            }
        }
    }

    /// Takes a finding of the joined text if it crosses a boundary: each
    /// piece redacts its share; it is counted unless a piece already found
    /// a secret of the same kind there.
    fn crossing(
        &mut self,
        joined: &str,
        starts: &[usize],
        pieces: &[usize],
        own: &[Vec<Finding>],
        finding: Finding,
    ) {
        let span = finding.span.clone();
        let piece_of = |at: usize| starts.partition_point(|&s| s <= at).saturating_sub(1);
        let (first, last) = (piece_of(span.start), piece_of(span.end.saturating_sub(1)));
        if first >= last {
            return;
        }
        let mut seen = false;
        for k in first..=last {
            let local =
                span.start.max(starts[k]) - starts[k]..span.end.min(starts[k + 1]) - starts[k];
            if local.is_empty() {
                continue;
            }
            seen |= own[k]
                .iter()
                .any(|f| f.kind == finding.kind && overlaps(&f.span, &local));
            self.redact[pieces[k]].push(Finding {
                span: local,
                ..finding.clone()
            });
        }
        if seen {
            return;
        }
        if finding.kind.as_str() == MODELGATE_KEY
            && let Some(text) = joined.get(span)
        {
            self.leaked.push(text.to_owned());
        }
        self.found.push(finding);
    }
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The ranges of `text` within [`MAX_SECRET_LEN`] bytes of each boundary,
/// on `char` boundaries, overlapping ones merged.
fn windows(text: &str, boundaries: &[usize]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for &at in boundaries {
        let mut start = at.saturating_sub(MAX_SECRET_LEN);
        let mut end = (at + MAX_SECRET_LEN).min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        match out.last_mut() {
            Some(prev) if prev.end >= start => prev.end = prev.end.max(end),
            _ => out.push(start..end),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";

    fn scan(body: &str) -> (BodyScan, String) {
        let screener = Screener::builtin();
        let json = CheckedJson::check(body.as_bytes()).unwrap();
        let scan = BodyScan::new(&screener, json, &["model"]).unwrap();
        let out = String::from_utf8(scan.redacted(&screener, body.as_bytes())).unwrap();
        (scan, out)
    }

    fn kinds(scan: &BodyScan) -> Vec<&str> {
        scan.findings().iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn a_secret_split_three_ways_is_found_once_and_redacted_in_each_piece() {
        let (a, rest) = SECRET.split_at(10);
        let (b, c) = rest.split_at(20);
        let body = serde_json::json!({"model": "m", "messages": [
            {"role": "user", "content": format!("see {a}")},
            {"role": "user", "content": [{"type": "text", "text": b}, {"type": "text", "text": format!("{c} ok")}]}]})
        .to_string();
        let (scan, out) = scan(&body);
        assert_eq!(kinds(&scan), ["slack_bot_token"]);
        let out: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            out["messages"][0]["content"],
            "see [REDACTED:slack_bot_token]"
        );
        assert_eq!(
            out["messages"][1]["content"][0]["text"],
            "[REDACTED:slack_bot_token]"
        );
        assert_eq!(
            out["messages"][1]["content"][1]["text"],
            "[REDACTED:slack_bot_token] ok"
        );
    }

    #[test]
    fn keys_are_screened_and_whole_secrets_counted_once() {
        let body = serde_json::json!({"model": "m", "metadata": {SECRET: "v"},
            "messages": [{"role": "user", "content": "xoxb"}, {"role": "user", "content": SECRET}]})
        .to_string();
        let (scan, out) = scan(&body);
        assert_eq!(kinds(&scan), ["slack_bot_token", "slack_bot_token"]);
        assert!(!out.contains(SECRET), "{out}");
        assert!(out.contains(r#""[REDACTED:slack_bot_token]":"v""#), "{out}");
    }

    #[test]
    fn roles_and_types_are_not_joined() {
        let body = serde_json::json!({"messages": [{"role": "xoxb-1234567890123-", "content": "1234567890123-CANARYabcdefghijklmnopqr"}]})
        .to_string();
        let (scan, _) = scan(&body);
        assert!(scan.is_empty(), "{:?}", kinds(&scan));
    }

    #[test]
    fn windows_merge_and_stay_on_char_boundaries() {
        let text = "é".repeat(2000);
        let w = windows(&text, &[1000, 1002, 3000]);
        assert_eq!(w, vec![0..4000]);
        let w = windows(&text, &[2]);
        assert_eq!(w, vec![0..1026]);
    }

    /// The request screen's cost against the values-only scan it replaced
    /// (`cargo test --release -p modelgate-gateway request_screening_cost
    /// -- --ignored --nocapture`).
    #[test]
    #[ignore = "a measurement, not a check"]
    fn request_screening_cost() {
        let screener = Screener::builtin();
        let prose = "Please summarise the quarterly report for the team meeting on Tuesday, \
            including revenue by region, the 12 open issues and next steps. ";
        let bodies = [
            (
                "1 message, 8 KiB",
                serde_json::json!({"model": "m", "messages": [
                {"role": "user", "content": prose.repeat(8192 / prose.len())}]}),
            ),
            (
                "20 messages, 2 KiB each",
                serde_json::json!({"model": "m", "messages":
                (0..20).map(|i| serde_json::json!({"role": if i % 2 == 0 { "user" } else { "assistant" },
                    "content": prose.repeat(2048 / prose.len())})).collect::<Vec<_>>()}),
            ),
            (
                "200 parts of 40 B, tools",
                serde_json::json!({"model": "m", "messages": [
                {"role": "user", "content": (0..200).map(|_| serde_json::json!({"type": "text", "text": &prose[..40]})).collect::<Vec<_>>()}],
                "tools": (0..10).map(|i| serde_json::json!({"type": "function", "function": {"name": format!("tool_{i}"),
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}}}})).collect::<Vec<_>>()}),
            ),
        ];
        for (name, body) in bodies {
            let body = body.to_string();
            let json = CheckedJson::check(body.as_bytes()).unwrap();
            let runs = 200;
            let started = std::time::Instant::now();
            for _ in 0..runs {
                let values = json.string_values(&["model"]).unwrap();
                for v in &values {
                    std::hint::black_box(screener.scan(&v.text));
                }
            }
            let before = started.elapsed() / runs;
            let started = std::time::Instant::now();
            for _ in 0..runs {
                std::hint::black_box(BodyScan::new(&screener, json, &["model"]).unwrap());
            }
            let after = started.elapsed() / runs;
            println!(
                "{name} ({} B): values only {before:?}, keys and joined {after:?} ({:.2}x)",
                body.len(),
                after.as_secs_f64() / before.as_secs_f64()
            );
        }
    }
}
