//! Screening of a response stream: in `redact` mode each text delta is
//! replaced by what the [`StreamScanner`] releases (held-back text is
//! released, redacted, in a delta of its own before the event that ends
//! the text: a finish chunk, `content_block_stop`, `[DONE]`). In `log_only`
//! mode events pass unchanged and only the findings are counted.

use std::sync::Arc;

use bytes::Bytes;
use modelgate_screen::{Screener, StreamScanner};
use modelgate_translate::sse_tap::MalformedStream;
use modelgate_translate::{EventSplitter, StreamTranslator, TranslateError};
use modelgate_types::{Dialect, Usage};
use serde_json::Value;

use super::FindingCounts;

/// Screens a response stream in the caller's dialect.
pub struct ResponseStreamScreen {
    splitter: EventSplitter,
    events: EventScreen,
}

impl std::fmt::Debug for ResponseStreamScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStreamScreen")
            .finish_non_exhaustive()
    }
}

struct EventScreen {
    dialect: Dialect,
    screener: Arc<Screener>,
    scanner: Option<StreamScanner<'static>>,
    redact: bool,
    counts: FindingCounts,
    /// OpenAI: the last text chunk, as the template of a flush chunk.
    template: Option<Value>,
    /// Anthropic: index of the text block being screened.
    block: Option<u64>,
    /// `log_only`: text not yet handed to the scanner. Nothing is released
    /// to the caller from it, so it is scanned in pieces of
    /// [`LOG_ONLY_BATCH`] bytes rather than event by event.
    unscanned: String,
}

/// Bytes of text gathered before a `log_only` scan.
const LOG_ONLY_BATCH: usize = 4096;

/// Just the text of an OpenAI chunk (`log_only` reads nothing else).
#[derive(serde::Deserialize)]
struct ChunkText<'a> {
    #[serde(borrow, default)]
    choices: Vec<ChoiceText<'a>>,
}

#[derive(serde::Deserialize)]
struct ChoiceText<'a> {
    #[serde(borrow, default)]
    delta: Option<DeltaText<'a>>,
    #[serde(borrow, default)]
    text: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct DeltaText<'a> {
    #[serde(borrow, default)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<std::borrow::Cow<'a, str>>,
}

/// Just the text of an Anthropic `content_block_delta`.
#[derive(serde::Deserialize)]
struct BlockDeltaText<'a> {
    #[serde(borrow)]
    delta: DeltaText<'a>,
}

impl ResponseStreamScreen {
    /// A screen for a stream in `dialect`.
    pub fn new(dialect: Dialect, screener: Arc<Screener>, redact: bool, max_event: usize) -> Self {
        Self {
            splitter: EventSplitter::new(max_event),
            events: EventScreen {
                dialect,
                screener,
                scanner: None,
                redact,
                counts: FindingCounts::new(),
                template: None,
                block: None,
                unscanned: String::new(),
            },
        }
    }

    /// Screens the caller-bound bytes; returns what to send now.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Bytes, MalformedStream> {
        let mut out = Vec::with_capacity(bytes.len() + 64);
        self.splitter
            .feed(bytes, &mut self.events, &mut out)
            .map_err(|_| MalformedStream)?;
        Ok(Bytes::from(out))
    }

    /// The stream ended: releases what is held.
    pub fn finish(&mut self) -> Result<Bytes, MalformedStream> {
        let mut out = Vec::new();
        self.splitter
            .finish(&mut self.events, &mut out)
            .map_err(|_| MalformedStream)?;
        Ok(Bytes::from(out))
    }

    /// Findings so far.
    pub fn findings(&self) -> &FindingCounts {
        &self.events.counts
    }
}

fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
}

impl EventScreen {
    /// Scans `text`; returns the text to release.
    fn scan(&mut self, text: &str) -> String {
        let screener = &self.screener;
        let scanner = self
            .scanner
            .get_or_insert_with(|| StreamScanner::shared(screener.clone()));
        let released = scanner.push(text);
        for finding in released.findings.iter() {
            *self
                .counts
                .entry(finding.kind.as_str().to_owned())
                .or_default() += 1;
        }
        released.text
    }

    /// `log_only`: gathers `text`, scanning once enough has come.
    fn gather(&mut self, text: &str) {
        self.unscanned.push_str(text);
        if self.unscanned.len() >= LOG_ONLY_BATCH {
            let batch = std::mem::take(&mut self.unscanned);
            self.scan(&batch);
        }
    }

    /// Ends the current text: what the scanner still holds.
    fn flush(&mut self) -> String {
        if !self.unscanned.is_empty() {
            let batch = std::mem::take(&mut self.unscanned);
            self.scan(&batch);
        }
        let Some(scanner) = self.scanner.take() else {
            return String::new();
        };
        let released = scanner.finish();
        for finding in released.findings.iter() {
            *self
                .counts
                .entry(finding.kind.as_str().to_owned())
                .or_default() += 1;
        }
        released.text
    }

    /// Writes the held text as a delta of its own (redact mode).
    fn write_flush(&mut self, out: &mut Vec<u8>) {
        let text = self.flush();
        if text.is_empty() || !self.redact {
            return;
        }
        match self.dialect {
            Dialect::OpenAi => {
                let mut chunk = self.template.clone().unwrap_or_else(|| {
                    serde_json::json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}}]})
                });
                if let Some(choice) = chunk["choices"].get_mut(0) {
                    if choice.get("delta").is_some() {
                        choice["delta"] = serde_json::json!({ "content": text });
                    } else {
                        choice["text"] = Value::String(text);
                    }
                    choice["finish_reason"] = Value::Null;
                }
                write_event(out, None, chunk.to_string().as_bytes());
            }
            Dialect::Anthropic => {
                let delta = serde_json::json!({
                    "type": "content_block_delta",
                    "index": self.block.unwrap_or(0),
                    "delta": {"type": "text_delta", "text": text},
                });
                write_event(
                    out,
                    Some("content_block_delta"),
                    delta.to_string().as_bytes(),
                );
            }
        }
    }

    fn push_openai(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if !self.redact {
            if let Ok(chunk) = serde_json::from_slice::<ChunkText<'_>>(data)
                && let Some(choice) = chunk.choices.first()
            {
                let text = choice
                    .delta
                    .as_ref()
                    .and_then(|d| d.content.as_deref())
                    .or(choice.text.as_deref());
                if let Some(text) = text {
                    self.gather(text);
                }
            }
            return write_event(out, None, data);
        }
        if data == b"[DONE]" {
            self.write_flush(out);
            return write_event(out, None, data);
        }
        let Ok(mut chunk) = serde_json::from_slice::<Value>(data) else {
            return write_event(out, None, data);
        };
        let choice = chunk["choices"].get(0);
        let text = choice
            .and_then(|c| {
                c["delta"]["content"]
                    .as_str()
                    .or_else(|| c["text"].as_str())
            })
            .map(str::to_owned);
        let finishing = choice.is_some_and(|c| !c["finish_reason"].is_null());
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            if finishing || choice.is_some_and(|c| c["delta"].get("tool_calls").is_some()) {
                self.write_flush(out);
            }
            return write_event(out, None, data);
        };
        let released = self.scan(&text);
        if finishing {
            // The last text: release everything with it.
            let rest = self.flush();
            if self.redact {
                set_openai_text(&mut chunk, released + &rest);
                return write_event(out, None, chunk.to_string().as_bytes());
            }
            return write_event(out, None, data);
        }
        if !self.redact {
            return write_event(out, None, data);
        }
        let mut template = chunk.clone();
        set_openai_text(&mut template, String::new());
        self.template = Some(template);
        set_openai_text(&mut chunk, released);
        write_event(out, None, chunk.to_string().as_bytes());
    }

    fn push_anthropic(&mut self, event: Option<&str>, data: &[u8], out: &mut Vec<u8>) {
        if !self.redact {
            if event == Some("content_block_delta")
                && let Ok(delta) = serde_json::from_slice::<BlockDeltaText<'_>>(data)
                && let Some(text) = delta.delta.text.as_deref()
            {
                self.gather(text);
            }
            return write_event(out, event, data);
        }
        if event != Some("content_block_delta") {
            if matches!(
                event,
                Some(
                    "content_block_stop" | "message_delta" | "message_stop" | "content_block_start"
                )
            ) {
                self.write_flush(out);
            }
            return write_event(out, event, data);
        }
        let Ok(mut delta) = serde_json::from_slice::<Value>(data) else {
            return write_event(out, event, data);
        };
        let Some(text) = delta["delta"]["text"].as_str().map(str::to_owned) else {
            return write_event(out, event, data);
        };
        self.block = delta["index"].as_u64();
        let released = self.scan(&text);
        if !self.redact {
            return write_event(out, event, data);
        }
        delta["delta"]["text"] = Value::String(released);
        write_event(out, event, delta.to_string().as_bytes());
    }
}

fn set_openai_text(chunk: &mut Value, text: String) {
    if let Some(choice) = chunk["choices"].get_mut(0) {
        if choice["delta"].get("content").is_some() {
            choice["delta"]["content"] = Value::String(text);
        } else {
            choice["text"] = Value::String(text);
        }
    }
}

impl StreamTranslator for EventScreen {
    fn push(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        match self.dialect {
            Dialect::OpenAi => self.push_openai(data, out),
            Dialect::Anthropic => self.push_anthropic(event, data, out),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.write_flush(out);
    }

    fn is_done(&self) -> bool {
        false
    }

    fn usage(&self) -> Usage {
        Usage::default()
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
