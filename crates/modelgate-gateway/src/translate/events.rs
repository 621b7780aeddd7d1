//! Splits an upstream byte stream into server-sent events and hands each
//! one to a [`StreamTranslator`]: the glue between a body of bytes and the
//! event-at-a-time translators.

use super::{StreamTranslator, TranslateError};

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
    let mut name: Option<&str> = None;
    let mut data: Option<Vec<u8>> = None;
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            match &mut data {
                None => data = Some(rest.to_vec()),
                Some(d) => {
                    d.push(b'\n');
                    d.extend_from_slice(rest);
                }
            }
        } else if let Some(rest) = line.strip_prefix(b"event:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            name = std::str::from_utf8(rest).ok();
        }
    }
    match data {
        Some(d) => translator.push(name, &d, out),
        None => Ok(()), // comments and keep-alives
    }
}

/// Index just past the blank line ending the first event in `buf`.
fn event_end(buf: &[u8]) -> Option<usize> {
    for i in memchr::memchr_iter(b'\n', buf) {
        match buf.get(i + 1) {
            Some(b'\n') => return Some(i + 2),
            Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::Usage;

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
