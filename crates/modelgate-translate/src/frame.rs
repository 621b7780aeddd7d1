//! Server-sent event framing, as both the stream tap and the stream
//! translators read it: where an event ends (a blank line, `\n\n` or
//! `\r\n\r\n`), and its `event:` name and `data:` lines.

/// Index just past the blank line that ends the first event in `buf`.
pub fn event_end(buf: &[u8]) -> Option<usize> {
    for i in memchr::memchr_iter(b'\n', buf) {
        match buf.get(i + 1) {
            Some(b'\n') => return Some(i + 2),
            Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
            _ => {}
        }
    }
    None
}

/// The fields of one event that the gateway reads.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EventFields<'a> {
    /// The `event:` name, if any (and if it is UTF-8).
    pub name: Option<&'a str>,
    /// The `data:` lines joined by `\n`, if there were any.
    pub data: Option<Vec<u8>>,
}

/// Reads the `event:` and `data:` lines of one event (comments and other
/// fields are skipped; one space after the colon is dropped).
pub fn event_fields(event: &[u8]) -> EventFields<'_> {
    let mut fields = EventFields::default();
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            match &mut fields.data {
                None => fields.data = Some(rest.to_vec()),
                Some(d) => {
                    d.push(b'\n');
                    d.extend_from_slice(rest);
                }
            }
        } else if let Some(rest) = line.strip_prefix(b"event:") {
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            fields.name = std::str::from_utf8(rest).ok();
        }
    }
    fields
}

/// Where the bytes `at` of an event's data (as [`event_fields`] joins its
/// `data:` lines) lie in the event itself, when they lie on one line.
pub fn data_span(event: &[u8], at: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
    let mut joined = 0;
    let mut line_start = 0;
    for line in event.split(|&b| b == b'\n') {
        let this_line = line_start;
        line_start += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(rest) = line.strip_prefix(b"data:") else {
            continue;
        };
        let skip = 5 + usize::from(rest.first() == Some(&b' '));
        let len = line.len() - skip;
        if at.start >= joined && at.end <= joined + len {
            let base = this_line + skip - joined;
            return Some(base + at.start..base + at.end);
        }
        joined += len + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_end_at_a_blank_line_in_either_newline() {
        assert_eq!(event_end(b"data: a\n\ndata: b"), Some(9));
        assert_eq!(event_end(b"data: a\r\n\r\n"), Some(11));
        assert_eq!(event_end(b"data: a\n"), None);
    }

    #[test]
    fn data_lines_join_and_names_are_read() {
        let f = event_fields(b"event: x\r\ndata: one\ndata:two\n: comment\n\n");
        assert_eq!(f.name, Some("x"));
        assert_eq!(f.data.as_deref(), Some(&b"one\ntwo"[..]));
        assert_eq!(event_fields(b": keep-alive\n\n"), EventFields::default());
    }

    #[test]
    fn data_spans_map_back_to_the_event() {
        let event = b"event: x\r\ndata: one\ndata:two\n\n";
        let data = event_fields(event).data.unwrap();
        let at = |needle: &[u8]| {
            let start = data
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap();
            start..start + needle.len()
        };
        let span = data_span(event, at(b"ne")).unwrap();
        assert_eq!(&event[span], b"ne");
        let span = data_span(event, at(b"two")).unwrap();
        assert_eq!(&event[span], b"two");
        assert_eq!(data_span(event, at(b"e\nt")), None, "across lines");
    }
}
