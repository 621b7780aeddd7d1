//! Redaction: each finding's span becomes `[REDACTED:kind]`.

use crate::finding::Findings;

/// Replaces every span of `findings` in `text` with `[REDACTED:kind]`.
///
/// Spans are clamped to the text and widened to `char` boundaries, so a
/// span that would cut a character redacts the whole character; overlapping
/// spans become one replacement (named after the first).
pub(crate) fn redact(text: &str, findings: &Findings) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for f in findings {
        let mut start = f.span.start.min(text.len());
        let mut end = f.span.end.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if end <= start {
            continue;
        }
        if start < pos {
            pos = pos.max(end);
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push_str("[REDACTED:");
        out.push_str(&f.kind);
        out.push(']');
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}
