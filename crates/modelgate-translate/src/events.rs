//! Splits an upstream byte stream into server-sent events and hands each
//! one to a [`StreamTranslator`]: the glue between a body of bytes and the
//! event-at-a-time translators.

use super::{StreamTranslator, TranslateError};
use crate::frame::{event_end, event_fields};

/// Buffers upstream bytes until events are complete (a blank line, `\n\n`
/// or `\r\n\r\n`), then pushes each event's name and data to a translator.
#[derive(Debug)]
pub struct EventSplitter {
    pending: Vec<u8>,
    max_event_bytes: usize,
}

impl EventSplitter {
    /// A splitter refusing events longer than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            pending: Vec::new(),
            max_event_bytes,
        }
    }

    /// Takes an upstream chunk; translates the events it completes into `out`.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        translator: &mut dyn StreamTranslator,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        self.pending.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(len) = event_end(&self.pending[start..]) {
            let event = &self.pending[start..start + len];
            push_event(event, translator, out)?;
            start += len;
        }
        self.pending.drain(..start);
        if self.pending.len() > self.max_event_bytes {
            return Err(TranslateError::MalformedStream {
                reason: "an event is too large",
            });
        }
        Ok(())
    }

    /// The upstream body ended: translates a last event lacking its blank
    /// line, then lets the translator close the stream.
    pub fn finish(
        &mut self,
        translator: &mut dyn StreamTranslator,
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        let rest = std::mem::take(&mut self.pending);
        if !rest.iter().all(u8::is_ascii_whitespace) {
            push_event(&rest, translator, out)?;
        }
        translator.finish(out);
        Ok(())
    }
}

fn push_event(
    event: &[u8],
    translator: &mut dyn StreamTranslator,
    out: &mut Vec<u8>,
) -> Result<(), TranslateError> {
    let fields = event_fields(event);
    match fields.data {
        Some(d) => translator.push(fields.name, &d, out),
        None => Ok(()), // comments and keep-alives
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_types::Usage;

    #[derive(Default)]
    struct Recorder {
        seen: Vec<(Option<String>, String)>,
        finished: bool,
    }

    impl StreamTranslator for Recorder {
        fn push(
            &mut self,
            e: Option<&str>,
            d: &[u8],
            _: &mut Vec<u8>,
        ) -> Result<(), TranslateError> {
            self.seen.push((
                e.map(str::to_owned),
                String::from_utf8_lossy(d).into_owned(),
            ));
            Ok(())
        }
        fn finish(&mut self, _: &mut Vec<u8>) {
            self.finished = true;
        }
        fn is_done(&self) -> bool {
            self.finished
        }
        fn usage(&self) -> Usage {
            Usage::default()
        }
    }

    #[test]
    fn splits_across_chunks_and_framings() {
        let mut s = EventSplitter::new(1024);
        let mut r = Recorder::default();
        let mut out = Vec::new();
        let stream = "event: ping\ndata: {\"type\":\"ping\"}\n\n: keep-alive\n\ndata: a\r\ndata: b\r\n\r\ndata: [DONE]";
        for piece in stream.as_bytes().chunks(5) {
            s.feed(piece, &mut r, &mut out).unwrap();
        }
        assert_eq!(r.seen.len(), 2);
        s.finish(&mut r, &mut out).unwrap();
        assert_eq!(
            r.seen,
            [
                (Some("ping".into()), "{\"type\":\"ping\"}".into()),
                (None, "a\nb".into()),
                (None, "[DONE]".into()),
            ]
        );
        assert!(r.finished);
    }

    #[test]
    fn refuses_oversized_events() {
        let mut s = EventSplitter::new(8);
        let mut r = Recorder::default();
        assert!(matches!(
            s.feed(&[b'x'; 32], &mut r, &mut Vec::new()),
            Err(TranslateError::MalformedStream { .. })
        ));
    }
}
