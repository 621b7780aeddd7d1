//! A tap on a server-sent event stream: it passes events through as they
//! complete, reads token usage from them, hides the usage chunk the gateway
//! asked for on the caller's behalf, and refuses malformed events.
//!
//! Events end at a blank line (`\n\n` or `\r\n\r\n`); bytes of an event not
//! yet complete are held until it is. Complete events from one upstream
//! chunk are forwarded together, so the caller sees the upstream's pace.

use bytes::{Bytes, BytesMut};

use modelgate_types::{Dialect, Usage};

use crate::frame::{event_end, event_fields};
use crate::stream_text::{AnthropicEvent, OpenAiChunk};

/// The upstream sent something that is not a well-formed event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the upstream sent a malformed event stream")]
pub struct MalformedStream;

/// The stream tap's state.
#[derive(Debug)]
pub struct SseTap {
    dialect: Dialect,
    hide_usage_chunk: bool,
    pending: BytesMut,
    usage: Usage,
    text_bytes: u64,
    max_event_bytes: usize,
}

impl SseTap {
    /// A tap for a stream in `dialect`. With `hide_usage_chunk`, the OpenAI
    /// usage-only chunk (empty `choices`) is read and not forwarded.
    pub fn new(dialect: Dialect, hide_usage_chunk: bool, max_event_bytes: usize) -> Self {
        Self {
            dialect,
            hide_usage_chunk,
            pending: BytesMut::new(),
            usage: Usage::default(),
            text_bytes: 0,
            max_event_bytes,
        }
    }

    /// Usage read so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Bytes of generated text seen so far (see [`crate::stream_text`]),
    /// to estimate usage the upstream did not report.
    pub fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// Takes a chunk from the upstream; returns the bytes to forward now.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Bytes, MalformedStream> {
        self.pending.extend_from_slice(chunk);
        let mut complete = 0;
        let mut dropped: Vec<std::ops::Range<usize>> = Vec::new();
        while let Some(len) = event_end(&self.pending[complete..]) {
            let range = complete..complete + len;
            if !self.inspect(range.clone())? {
                dropped.push(range.clone());
            }
            complete = range.end;
        }
        if self.pending.len() - complete > self.max_event_bytes {
            return Err(MalformedStream);
        }
        let ready = self.pending.split_to(complete);
        if dropped.is_empty() {
            return Ok(ready.freeze());
        }
        let mut out = Vec::with_capacity(ready.len());
        let mut at = 0;
        for range in dropped {
            out.extend_from_slice(&ready[at..range.start]);
            at = range.end;
        }
        out.extend_from_slice(&ready[at..]);
        Ok(Bytes::from(out))
    }

    /// Called at the end of the upstream body: a trailing event without its
    /// blank line is still checked and forwarded.
    pub fn finish(&mut self) -> Result<Bytes, MalformedStream> {
        if self.pending.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(self.pending.split().freeze());
        }
        let len = self.pending.len();
        if self.inspect(0..len)? {
            Ok(self.pending.split().freeze())
        } else {
            self.pending.clear();
            Ok(Bytes::new())
        }
    }

    /// Checks one event and reads usage; false if it must not be forwarded.
    fn inspect(&mut self, range: std::ops::Range<usize>) -> Result<bool, MalformedStream> {
        let Some(data) = event_fields(&self.pending[range]).data else {
            return Ok(true); // comments, keep-alives, bare event names
        };
        match self.dialect {
            Dialect::OpenAi => {
                if data == b"[DONE]" {
                    return Ok(true);
                }
                let chunk: OpenAiChunk<'_> =
                    serde_json::from_slice(&data).map_err(|_| MalformedStream)?;
                self.text_bytes += chunk.text_bytes();
                if let Some(u) = &chunk.usage {
                    self.usage.set_openai(u);
                    if self.hide_usage_chunk && chunk.has_no_choices() {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Dialect::Anthropic => {
                let event: AnthropicEvent<'_> =
                    serde_json::from_slice(&data).map_err(|_| MalformedStream)?;
                self.text_bytes += event.text_bytes();
                if let Some(u) = &event.usage {
                    self.usage.merge_anthropic(u);
                }
                if let Some(u) = event.message.as_ref().and_then(|m| m.usage.as_ref()) {
                    self.usage.merge_anthropic(u);
                }
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(tap: &mut SseTap, parts: &[&str]) -> Result<String, MalformedStream> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&tap.feed(p.as_bytes())?);
        }
        out.extend_from_slice(&tap.finish()?);
        Ok(String::from_utf8(out).unwrap())
    }

    const CONTENT: &str =
        "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
    const USAGE: &str =
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":9}}\n\n";
    const DONE: &str = "data: [DONE]\n\n";

    #[test]
    fn passes_events_and_hides_injected_usage() {
        let mut tap = SseTap::new(Dialect::OpenAi, true, 1 << 20);
        let out = feed_all(&mut tap, &[CONTENT, USAGE, DONE]).unwrap();
        assert_eq!(out, format!("{CONTENT}{DONE}"));
        assert_eq!((tap.usage().input, tap.usage().output), (2, 9));
        assert_eq!(tap.text_bytes(), 2, "the streamed text");
    }

    #[test]
    fn keeps_usage_when_caller_asked() {
        let mut tap = SseTap::new(Dialect::OpenAi, false, 1 << 20);
        let out = feed_all(&mut tap, &[CONTENT, USAGE, DONE]).unwrap();
        assert_eq!(out, format!("{CONTENT}{USAGE}{DONE}"));
    }

    #[test]
    fn holds_partial_events_until_complete() {
        let mut tap = SseTap::new(Dialect::OpenAi, true, 1 << 20);
        let (a, b) = CONTENT.split_at(10);
        assert!(tap.feed(a.as_bytes()).unwrap().is_empty());
        assert_eq!(tap.feed(b.as_bytes()).unwrap(), CONTENT.as_bytes());
        // Split inside the usage chunk and across the blank line.
        let (u1, u2) = USAGE.split_at(USAGE.len() - 1);
        assert!(tap.feed(u1.as_bytes()).unwrap().is_empty());
        assert!(
            tap.feed(u2.as_bytes()).unwrap().is_empty(),
            "usage chunk hidden"
        );
        assert_eq!(tap.usage().output, 9);
    }

    #[test]
    fn crlf_framing() {
        let mut tap = SseTap::new(Dialect::OpenAi, false, 1 << 20);
        let ev = "data: {\"choices\":[]}\r\n\r\n";
        assert_eq!(tap.feed(ev.as_bytes()).unwrap(), ev.as_bytes());
    }

    #[test]
    fn malformed_events_are_refused() {
        let mut tap = SseTap::new(Dialect::OpenAi, true, 1 << 20);
        assert_eq!(
            feed_all(&mut tap, &["data: {not json\n\n"]),
            Err(MalformedStream)
        );
        let mut tap = SseTap::new(Dialect::Anthropic, false, 1 << 20);
        assert_eq!(
            feed_all(&mut tap, &["event: x\ndata: nope\n\n"]),
            Err(MalformedStream)
        );
        let mut tap = SseTap::new(Dialect::OpenAi, true, 16);
        assert_eq!(
            tap.feed(&[b'x'; 64]),
            Err(MalformedStream),
            "oversized event"
        );
    }

    #[test]
    fn anthropic_usage_is_merged() {
        let mut tap = SseTap::new(Dialect::Anthropic, false, 1 << 20);
        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n";
        let delta = "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":30}}\n\n";
        let ping = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
        let out = feed_all(&mut tap, &[start, ping, delta]).unwrap();
        assert_eq!(out, format!("{start}{ping}{delta}"));
        assert_eq!((tap.usage().input, tap.usage().output), (12, 30));
    }

    #[test]
    fn comments_pass() {
        let mut tap = SseTap::new(Dialect::OpenAi, true, 1 << 20);
        assert_eq!(
            feed_all(&mut tap, &[": keep-alive\n\n"]).unwrap(),
            ": keep-alive\n\n"
        );
    }
}
