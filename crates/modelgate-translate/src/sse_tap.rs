//! A tap on a server-sent event stream: it passes events through as they
//! complete, reads token usage from them, hides the usage chunk the gateway
//! asked for on the caller's behalf, names the public model where the
//! upstream named its deployment (`model` of each OpenAI chunk, of
//! Anthropic's `message_start`), and refuses malformed events.
//!
//! Events end at a blank line (`\n\n` or `\r\n\r\n`); bytes of an event not
//! yet complete are held until it is. Complete events from one upstream
//! chunk are forwarded together, so the caller sees the upstream's pace.

use bytes::{Bytes, BytesMut};

use modelgate_types::{Dialect, Usage};

use crate::frame::{data_span, event_end, event_fields};
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
    /// The model name events must carry, as a JSON string.
    model: Option<Box<str>>,
}

/// What becomes of one event.
enum Verdict {
    /// Forwarded as it is.
    Keep,
    /// Not forwarded.
    Drop,
    /// Forwarded with the JSON value at this span (of the event) replaced
    /// by the model name.
    Name(std::ops::Range<usize>),
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
            model: None,
        }
    }

    /// Events naming another model are forwarded naming `public` instead.
    pub fn naming_model(mut self, public: &str) -> Self {
        self.model = serde_json::to_string(public)
            .ok()
            .map(String::into_boxed_str);
        self
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
        // Spans to drop (`false`) or to name the model in (`true`).
        let mut edits: Vec<(std::ops::Range<usize>, bool)> = Vec::new();
        while let Some(len) = event_end(&self.pending[complete..]) {
            let range = complete..complete + len;
            match self.inspect(range.clone())? {
                Verdict::Keep => {}
                Verdict::Drop => edits.push((range.clone(), false)),
                Verdict::Name(span) => {
                    edits.push((complete + span.start..complete + span.end, true));
                }
            }
            complete = range.end;
        }
        if self.pending.len() - complete > self.max_event_bytes {
            return Err(MalformedStream);
        }
        let ready = self.pending.split_to(complete);
        Ok(self.edited(ready, &edits))
    }

    /// `ready` with `edits` applied (copied only when there are some).
    fn edited(&self, ready: BytesMut, edits: &[(std::ops::Range<usize>, bool)]) -> Bytes {
        if edits.is_empty() {
            return ready.freeze();
        }
        let model = self.model.as_deref().unwrap_or_default().as_bytes();
        let mut out = Vec::with_capacity(ready.len() + model.len());
        let mut at = 0;
        for (range, name) in edits {
            out.extend_from_slice(&ready[at..range.start]);
            if *name {
                out.extend_from_slice(model);
            }
            at = range.end;
        }
        out.extend_from_slice(&ready[at..]);
        Bytes::from(out)
    }

    /// Called at the end of the upstream body: a trailing event without its
    /// blank line is still checked and forwarded.
    pub fn finish(&mut self) -> Result<Bytes, MalformedStream> {
        if self.pending.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(self.pending.split().freeze());
        }
        let len = self.pending.len();
        match self.inspect(0..len)? {
            Verdict::Keep => Ok(self.pending.split().freeze()),
            Verdict::Drop => {
                self.pending.clear();
                Ok(Bytes::new())
            }
            Verdict::Name(span) => {
                let ready = self.pending.split();
                Ok(self.edited(ready, &[(span, true)]))
            }
        }
    }

    /// Whether the model value `raw` (borrowed from `data`, the data of the
    /// event at `range`) must be renamed; where it is in the event if so.
    fn rename(
        &self,
        range: std::ops::Range<usize>,
        data: &[u8],
        raw: Option<&serde_json::value::RawValue>,
    ) -> Verdict {
        let (Some(model), Some(raw)) = (self.model.as_deref(), raw) else {
            return Verdict::Keep;
        };
        if raw.get() == model {
            return Verdict::Keep;
        }
        let start = raw.get().as_ptr() as usize - data.as_ptr() as usize;
        match data_span(&self.pending[range], start..start + raw.get().len()) {
            Some(span) => Verdict::Name(span),
            None => Verdict::Keep,
        }
    }

    /// Checks one event and reads usage; says what becomes of it.
    fn inspect(&mut self, range: std::ops::Range<usize>) -> Result<Verdict, MalformedStream> {
        let Some(data) = event_fields(&self.pending[range.clone()]).data else {
            return Ok(Verdict::Keep); // comments, keep-alives, bare event names
        };
        match self.dialect {
            Dialect::OpenAi => {
                if data == b"[DONE]" {
                    return Ok(Verdict::Keep);
                }
                let chunk: OpenAiChunk<'_> =
                    serde_json::from_slice(&data).map_err(|_| MalformedStream)?;
                self.text_bytes += chunk.text_bytes();
                if let Some(u) = &chunk.usage {
                    self.usage.set_openai(u);
                    if self.hide_usage_chunk && chunk.has_no_choices() {
                        return Ok(Verdict::Drop);
                    }
                }
                Ok(self.rename(range, &data, chunk.model))
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
                Ok(self.rename(range, &data, event.message.and_then(|m| m.model)))
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
    fn events_name_the_public_model() {
        let chunk = "data: {\"model\":\"gpt-4o-2024\",\"choices\":[{\"delta\":{\"content\":\"model\"}}]}\n\n";
        let mut tap = SseTap::new(Dialect::OpenAi, true, 1 << 20).naming_model("chat");
        let out = feed_all(&mut tap, &[chunk, USAGE, chunk, DONE]).unwrap();
        let renamed = chunk.replace("gpt-4o-2024", "chat");
        assert_eq!(out, format!("{renamed}{renamed}{DONE}"));
        let mut tap = SseTap::new(Dialect::OpenAi, false, 1 << 20).naming_model("chat");
        assert_eq!(
            feed_all(&mut tap, &[&renamed]).unwrap(),
            renamed,
            "already named"
        );
        let mut tap = SseTap::new(Dialect::OpenAi, false, 1 << 20).naming_model("chat");
        let unterminated = "data: {\"model\":\"x\"}";
        assert_eq!(
            feed_all(&mut tap, &[unterminated]).unwrap(),
            "data: {\"model\":\"chat\"}"
        );

        let start = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":1}}}\n\n";
        let delta = "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n";
        let mut tap = SseTap::new(Dialect::Anthropic, false, 1 << 20).naming_model("claude");
        let out = feed_all(&mut tap, &[start, delta]).unwrap();
        assert_eq!(
            out,
            format!("{}{delta}", start.replace("claude-x", "claude"))
        );
        assert_eq!(tap.usage().input, 1);
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
