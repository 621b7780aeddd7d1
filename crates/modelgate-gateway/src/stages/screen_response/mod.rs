//! The screen-response stage: screening of responses as `[screen]
//! responses` says (`off`, `log_only`, `redact`): a complete body's string
//! values, or a stream's deltas as they pass ([`stream`]: text, tool call
//! arguments, tool input JSON, thinking), with a secret split across events
//! still found. Findings (kinds and counts) go
//! on the complete record.

mod lanes;
mod stream;
mod stream_anthropic;
mod stream_openai;

use std::collections::BTreeMap;

use bytes::Bytes;
use http::StatusCode;
use modelgate_config::ResponseAction;
use modelgate_screen::Screener;
use modelgate_types::Dialect;

pub use stream::ResponseStreamScreen;

use crate::record::CallRecord;
use crate::stages::screen::ScreenRules;
use crate::stages::screen::json_text::{splice_strings, string_values};

/// Finding kinds and counts.
pub type FindingCounts = BTreeMap<String, u32>;

/// Screens a complete response (caller's dialect) as `rules` say; returns
/// the body to send. Error responses are not screened.
pub fn complete(
    rules: &ScreenRules,
    record: &mut CallRecord,
    status: StatusCode,
    body: Bytes,
) -> Bytes {
    let mode = rules.responses();
    if mode == ResponseAction::Off || !status.is_success() {
        return body;
    }
    let (body, counts) = screen_body(rules.screener(), body, mode == ResponseAction::Redact);
    record.response_findings = counts.into_iter().collect();
    body
}

/// The screen for a streamed response in `dialect`, if responses are
/// screened; events longer than `max_event_bytes` end the stream.
pub fn for_stream(
    rules: &ScreenRules,
    dialect: Dialect,
    max_event_bytes: usize,
) -> Option<ResponseStreamScreen> {
    let mode = rules.responses();
    (mode != ResponseAction::Off).then(|| {
        ResponseStreamScreen::new(
            dialect,
            rules.screener().clone(),
            mode == ResponseAction::Redact,
            max_event_bytes,
        )
    })
}

/// Screens a complete response body (caller's dialect). Returns the body
/// to send (redacted if `redact`) and the findings.
pub fn screen_body(screener: &Screener, body: Bytes, redact: bool) -> (Bytes, FindingCounts) {
    let mut counts = FindingCounts::new();
    let Ok(values) = string_values(&body, &["id", "model", "object"]) else {
        return (body, counts);
    };
    let mut edits = Vec::new();
    for value in &values {
        let findings = screener.scan(&value.text);
        if findings.is_empty() {
            continue;
        }
        for finding in findings.iter() {
            *counts.entry(finding.kind.as_str().to_owned()).or_default() += 1;
        }
        if redact {
            edits.push((value.span.clone(), screener.redact(&value.text, &findings)));
        }
    }
    if edits.is_empty() {
        return (body, counts);
    }
    (Bytes::from(splice_strings(&body, edits)), counts)
}
