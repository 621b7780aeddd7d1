//! `sse_frame`: an upstream's server-sent event stream through the framing
//! ([`modelgate_translate::frame`]) and the usage-reading stream tap the
//! gateway runs on every streamed answer.

use modelgate_translate::frame::{event_end, event_fields};
use modelgate_translate::sse_tap::SseTap;
use modelgate_types::{Dialect, Usage};

use crate::input::{chunks, selector};

/// Larger than any input, so the tap's event limit never depends on how
/// the stream was cut.
const MAX_EVENT_BYTES: usize = 1 << 20;

/// How many bytes after the selector give the chunk sizes.
const SIZE_BYTES: usize = 4;

/// What a tap made of a stream: the bytes forwarded and the usage read, or
/// that it refused the stream.
type Tapped = Option<(Vec<u8>, Usage, u64)>;

fn tap(dialect: Dialect, hide: bool, pieces: &[&[u8]]) -> Tapped {
    let mut tap = SseTap::new(dialect, hide, MAX_EVENT_BYTES);
    let mut out = Vec::new();
    for piece in pieces {
        out.extend_from_slice(&tap.feed(piece).ok()?);
    }
    out.extend_from_slice(&tap.finish().ok()?);
    Some((out, tap.usage(), tap.text_bytes()))
}

/// Selector: bit 0 the dialect, bit 1 whether the usage chunk is hidden;
/// then [`SIZE_BYTES`] chunk sizes; then the stream. The tap must forward
/// the same bytes and read the same usage however the stream is cut.
pub fn sse_frame(data: &[u8]) {
    let Some((pick, rest)) = selector(data) else {
        return;
    };
    let dialect = if pick & 1 == 0 {
        Dialect::OpenAi
    } else {
        Dialect::Anthropic
    };
    let hide = pick & 2 != 0;
    let (sizes, stream) = rest.split_at(rest.len().min(SIZE_BYTES));

    let mut at = 0;
    while let Some(len) = event_end(&stream[at..]) {
        assert!(len > 0, "an empty event");
        let fields = event_fields(&stream[at..at + len]);
        if let Some(data) = &fields.data {
            assert!(data.len() < len, "data longer than its event");
        }
        at += len;
    }

    let whole = tap(dialect, hide, &[stream]);
    let cut = tap(dialect, hide, &chunks(stream, sizes));
    assert_eq!(whole, cut, "the tap depends on how the stream is cut");
    if let Some((out, _, _)) = &whole
        && !hide
    {
        assert_eq!(
            out.as_slice(),
            stream,
            "the tap changed a stream it hides nothing of"
        );
    }
}
