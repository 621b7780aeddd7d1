//! Incremental screening of a response stream.
//!
//! Text is released as soon as no secret can still be completed by what is
//! to come: the scanner holds back the last [`MAX_SECRET_LEN`] bytes, any
//! whitespace-free word crossing that point (a long JWT), any finding
//! crossing it, and an open `-----BEGIN … PRIVATE KEY-----` block until its
//! END line or [`PEM_HOLD_CAP`] bytes, after which the whole block is
//! redacted as it arrives. The last 512 bytes of released text are kept (in
//! memory only) as context, so a keyword released in one chunk still names
//! the value that arrives in the next.

use crate::detect::structured;
use crate::engine::Screener;
use crate::finding::{Confidence, Finding, Findings, Kind};
use crate::kinds;

/// Bytes held back at the end of the stream so far.
pub const MAX_SECRET_LEN: usize = 1024;
/// Longest private key block held back before it is redacted whole.
pub const PEM_HOLD_CAP: usize = 16 * 1024;
/// Released text kept as context for the next scan.
const CONTEXT_LEN: usize = 512;
/// Longest whitespace-free word held back whole.
const WORD_HOLD_CAP: usize = 8 * 1024;

/// What one `push` or `finish` releases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamOutput {
    /// Text safe to forward, with findings replaced by `[REDACTED:kind]`.
    pub text: String,
    /// Findings in the released text; spans are byte offsets in the original
    /// (unredacted) stream.
    pub findings: Findings,
}

/// The screener a scanner uses: borrowed, or shared so that the scanner can
/// live as long as the stream it screens.
enum ScreenerRef<'s> {
    Borrowed(&'s Screener),
    Shared(std::sync::Arc<Screener>),
}

impl std::ops::Deref for ScreenerRef<'_> {
    type Target = Screener;
    fn deref(&self) -> &Screener {
        match self {
            ScreenerRef::Borrowed(s) => s,
            ScreenerRef::Shared(s) => s,
        }
    }
}

/// Screens a stream chunk by chunk. Create with [`Screener::stream`], or
/// [`StreamScanner::shared`] for one that owns a share of the screener.
pub struct StreamScanner<'s> {
    screener: ScreenerRef<'s>,
    context: String,
    pending: String,
    /// Stream offset of `pending[0]`.
    offset: usize,
    /// Inside an over-long private key block, dropped until its END line.
    swallowing: bool,
}

impl std::fmt::Debug for StreamScanner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamScanner")
            .field("held", &self.pending.len())
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

// `Screener::stream` is defined here, next to the scanner it makes, so that
// the engine does not depend on this module.
impl Screener {
    /// An incremental scanner for a response stream.
    pub fn stream(&self) -> StreamScanner<'_> {
        StreamScanner::new(self)
    }
}

impl StreamScanner<'static> {
    /// A scanner holding a share of `screener`, for a stream that outlives
    /// any borrow (a response body).
    pub fn shared(screener: std::sync::Arc<Screener>) -> StreamScanner<'static> {
        StreamScanner::with(ScreenerRef::Shared(screener))
    }
}

impl<'s> StreamScanner<'s> {
    pub(crate) fn new(screener: &'s Screener) -> StreamScanner<'s> {
        Self::with(ScreenerRef::Borrowed(screener))
    }

    fn with(screener: ScreenerRef<'s>) -> StreamScanner<'s> {
        StreamScanner {
            screener,
            context: String::new(),
            pending: String::new(),
            offset: 0,
            swallowing: false,
        }
    }

    /// Bytes received but not yet released.
    pub fn held(&self) -> usize {
        self.pending.len()
    }

    /// Feeds the next chunk; returns what is now safe to release (redacted).
    pub fn push(&mut self, chunk: &str) -> StreamOutput {
        self.pending.push_str(chunk);
        self.drain(false)
    }

    /// Ends the stream: releases (redacted) everything still held.
    pub fn finish(mut self) -> StreamOutput {
        self.drain(true)
    }

    fn drain(&mut self, last: bool) -> StreamOutput {
        let mut out = StreamOutput::default();
        let mut found: Vec<Finding> = Vec::new();
        loop {
            if self.swallowing {
                if !self.swallow(last) {
                    break;
                }
                continue;
            }
            self.release(last, &mut out.text, &mut found);
            break;
        }
        out.findings = Findings::from_sorted(found, false);
        out
    }

    /// Drops text of an over-long key block; `true` once its END line is
    /// through and normal scanning resumes.
    fn swallow(&mut self, last: bool) -> bool {
        let (consumed, done) = match self.pending.find("-----END ") {
            Some(at) => {
                let line = at + 9;
                let window = &self.pending[line..self.pending.len().min(line + 64)];
                match window.find("-----") {
                    Some(close) => (line + close + 5, true),
                    // A malformed END line: stop swallowing at the marker.
                    None if last || self.pending.len() - line > 64 => (line, true),
                    // The END line is still arriving: keep it.
                    None => (at, false),
                }
            }
            None if last => (self.pending.len(), true),
            // Keep a tail in case the END marker is split across chunks.
            None => (
                floor_boundary(&self.pending, self.pending.len().saturating_sub(16)),
                false,
            ),
        };
        self.pending.drain(..consumed);
        self.offset += consumed;
        self.context.clear();
        if done {
            self.swallowing = false;
        }
        done
    }

    fn release(&mut self, last: bool, text: &mut String, found: &mut Vec<Finding>) {
        let len = self.pending.len();
        let mut cut = if last { len } else { self.hold_point() };
        let mut forced = None;
        if !last && let Some((kind, begin)) = open_key_block(&self.pending) {
            if len - begin > PEM_HOLD_CAP {
                forced = Some((kind, begin));
            }
            cut = cut.min(begin);
        }
        if cut == 0 && forced.is_none() {
            return; // Nothing can be released yet: no need to scan.
        }
        let base = self.context.len();
        let mut window = String::with_capacity(base + len);
        window.push_str(&self.context);
        window.push_str(&self.pending);
        let all = self.screener.scan(&window);
        // Never cut through a finding: hold it whole.
        for f in all.iter().rev() {
            let (s, e) = (
                f.span.start.saturating_sub(base),
                f.span.end.saturating_sub(base),
            );
            if f.span.end > base && s < cut && e > cut {
                cut = s;
            }
        }
        let released: Vec<Finding> = all
            .iter()
            .filter(|f| f.span.end > base && f.span.start < base + cut)
            .map(|f| Finding {
                span: f.span.start.saturating_sub(base)..(f.span.end - base).min(cut),
                ..f.clone()
            })
            .collect();
        let chunk = &self.pending[..cut];
        text.push_str(&crate::redact::redact(
            chunk,
            &Findings::from_sorted(released.clone(), false),
        ));
        found.extend(released.into_iter().map(|mut f| {
            f.span = f.span.start + self.offset..f.span.end + self.offset;
            f
        }));
        self.advance(cut);
        if let Some((kind, begin)) = forced
            && cut == begin
        {
            // The block outgrew the hold: redact all of it, now and as it arrives.
            let def = kinds::known(kind);
            text.push_str("[REDACTED:");
            text.push_str(def.id);
            text.push(']');
            found.push(Finding {
                kind: Kind::builtin(def.id),
                category: def.category,
                span: self.offset..self.offset + self.pending.len(),
                confidence: Confidence::High,
            });
            self.offset += self.pending.len();
            self.pending.clear();
            self.context.clear();
            self.swallowing = true;
        }
    }

    /// Where to cut when not at the end: `MAX_SECRET_LEN` from the end, then
    /// back to the start of the word there (up to `WORD_HOLD_CAP`).
    fn hold_point(&self) -> usize {
        let p = &self.pending;
        let mut cut = floor_boundary(p, p.len().saturating_sub(MAX_SECRET_LEN));
        let bytes = p.as_bytes();
        let floor = cut.saturating_sub(WORD_HOLD_CAP);
        let mut back = cut;
        while back > floor && !bytes[back - 1].is_ascii_whitespace() {
            back -= 1;
        }
        if back > floor || floor == 0 {
            cut = back;
        }
        cut
    }

    /// Moves `n` released bytes from `pending` into the context tail.
    fn advance(&mut self, n: usize) {
        self.context.push_str(&self.pending[..n]);
        if self.context.len() > CONTEXT_LEN {
            let drop = floor_boundary(&self.context, self.context.len() - CONTEXT_LEN);
            self.context.drain(..drop);
        }
        self.pending.drain(..n);
        self.offset += n;
    }
}

/// The last private key block in `text` that is still arriving: no END
/// line yet, and its key-like lines reach (nearly) the end of the text.
fn open_key_block(text: &str) -> Option<(&'static str, usize)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    let mut open = None;
    while let Some(at) = text[from..].find("PRIVATE KEY") {
        let hit = from + at..from + at + 11;
        from = hit.end;
        if let Some(block) = structured::pem_block(bytes, &hit) {
            from = from.max(block.end);
            let arriving = !block.complete && bytes.len() - block.end < 80;
            open = arriving.then_some((block.kind, block.begin));
        }
    }
    open
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
