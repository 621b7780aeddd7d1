//! Window detectors: a regex run only in a window around each keyword hit.
//!
//! Built-in detectors match the *name and assignment* with the regex (a
//! DFA search, no capture groups) and read the value after it by hand, which
//! keeps the per-hit cost to one small DFA scan. Custom patterns may use a
//! `secret` capture group.

use std::ops::Range;

use regex::bytes::{CaptureLocations, Regex};

use super::{Raw, Tuning, Verdict};
use crate::error::ScreenError;
use crate::finding::{Category, Confidence, Kind};
use crate::kinds;

/// Where the value of a match is.
#[derive(Clone, Copy)]
pub(crate) enum Value {
    /// Read by hand from the text after the match (given the match range).
    After(fn(text: &[u8], matched: Range<usize>) -> Option<Range<usize>>),
    /// A capture group (0: the whole match).
    Group(usize),
}

/// A built-in window detector's declaration.
pub(crate) struct WindowSpec {
    pub kind: &'static str,
    pub keywords: &'static [&'static str],
    pub pattern: String,
    pub before: usize,
    pub after: usize,
    pub value: Value,
    /// A cheap test of the text around a keyword hit; `false` skips the
    /// regex for that hit.
    pub precheck: Option<Precheck>,
    /// Sees the value and the part of the text from the match start to the
    /// value (the name being assigned).
    pub check: fn(value: &[u8], name: &[u8], tuning: &Tuning) -> Verdict,
}

/// See [`WindowSpec::precheck`].
pub(crate) type Precheck = fn(text: &[u8], hit: &Range<usize>) -> bool;

/// See [`WindowSpec::check`].
pub(crate) type Check = fn(value: &[u8], name: &[u8], tuning: &Tuning) -> Verdict;

/// A compiled window detector (built-in or custom).
pub(crate) struct Window {
    pub kind: Kind,
    pub category: Category,
    pub priority: u8,
    pub regex: Regex,
    pub before: usize,
    pub after: usize,
    pub value: Value,
    pub precheck: Option<Precheck>,
    pub check: Option<Check>,
}

impl Window {
    /// The window to search for a keyword hit, unless the precheck rules
    /// the hit out.
    pub(crate) fn window(&self, text: &[u8], hit: &Range<usize>) -> Option<(usize, usize)> {
        if self.precheck.is_some_and(|p| !p(text, hit)) {
            return None;
        }
        Some((
            hit.start.saturating_sub(self.before),
            text.len().min(hit.end + self.after),
        ))
    }

    /// Compiles a built-in window detector.
    pub(crate) fn builtin(spec: &WindowSpec) -> Result<Window, ScreenError> {
        let def = kinds::known(spec.kind);
        let regex = regex::bytes::RegexBuilder::new(&spec.pattern)
            .size_limit(4 << 20)
            .build()
            .map_err(|_| ScreenError::Builtin(spec.kind))?;
        Ok(Window {
            kind: Kind::builtin(def.id),
            category: def.category,
            priority: def.priority,
            regex,
            before: spec.before,
            after: spec.after,
            value: spec.value,
            precheck: spec.precheck,
            check: Some(spec.check),
        })
    }

    /// Searches `text[from..to]` (reading context before `from`) and
    /// appends what it finds.
    pub(crate) fn search(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        tuning: &Tuning,
        out: &mut Vec<Raw>,
    ) {
        let hay = &text[..to];
        let mut locs: Option<CaptureLocations> = None;
        let mut pos = from;
        while pos <= hay.len() {
            let (matched, value) = match self.value {
                Value::After(rule) => {
                    let Some(m) = self.regex.find_at(hay, pos) else {
                        break;
                    };
                    (m.range(), rule(text, m.range()))
                }
                Value::Group(g) => {
                    let locs = locs.get_or_insert_with(|| self.regex.capture_locations());
                    let Some(m) = self.regex.captures_read_at(locs, hay, pos) else {
                        break;
                    };
                    (m.range(), locs.get(g).map(|(s, e)| s..e))
                }
            };
            pos = matched.end.max(matched.start + 1);
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            pos = pos.max(value.end);
            let verdict = match self.check {
                Some(check) => check(
                    &text[value.clone()],
                    &text[matched.start..value.start],
                    tuning,
                ),
                None => Some((0..value.len(), Confidence::High)),
            };
            if let Some((span, confidence)) = verdict {
                out.push(Raw {
                    kind: self.kind.clone(),
                    category: self.category,
                    priority: self.priority,
                    span: value.start + span.start..value.start + span.end,
                    confidence,
                });
            }
        }
    }
}

/// A window to search: detector index, byte range.
pub(crate) type Span = (usize, usize, usize);

/// Merges overlapping windows of the same detector and searches each merged
/// window once.
pub(crate) fn run_windows(
    text: &[u8],
    spans: &mut [Span],
    dets: &[Window],
    tuning: &Tuning,
    out: &mut Vec<Raw>,
) {
    spans.sort_unstable();
    let mut i = 0;
    while i < spans.len() {
        let (det, start, mut end) = spans[i];
        let mut j = i + 1;
        while j < spans.len() && spans[j].0 == det && spans[j].1 <= end {
            end = end.max(spans[j].2);
            j += 1;
        }
        dets[det].search(text, start, end, tuning, out);
        i = j;
    }
}
