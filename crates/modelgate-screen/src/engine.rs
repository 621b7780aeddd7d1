//! The [`Screener`]: built once from a config, shared, and run on every
//! prompt and response.
//!
//! One scan is three passes over the text: the keyword prefilter (SIMD),
//! the digit/`@` pass for personal data (SWAR), and the custom patterns'
//! automaton when there are any. Detectors run only where these stop.

use std::collections::HashMap;

use crate::config::{DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MAX_SCAN_BYTES, ScreenConfig};
use crate::custom::{self, Custom};
use crate::detect::{self, Raw, Special, TokenSpec, Tuning, Window, context, tokens};
use crate::error::ScreenError;
use crate::finding::{Finding, Findings, Kind, KindInfo};
use crate::kinds::{self, KINDS};
use crate::prefilter::{Hit, Keywords};
use crate::{pii, resolve};

/// Kinds the digit/`@` pass reports.
const PASS_KINDS: &[&str] = &[
    "email",
    "phone_number",
    "payment_card",
    "iban",
    "us_ssn",
    "ipv4_address",
    "ipv6_address",
    "twilio_api_key",
    "twilio_account_sid",
];

/// Who handles a keyword hit.
#[derive(Clone, Copy, Debug)]
enum Owner {
    Token(usize),
    Window(usize),
    Special(Special),
}

/// Secret and personal-data detectors, compiled. `Send + Sync`: build once,
/// share in an `Arc`.
pub struct Screener {
    tuning: Tuning,
    max_scan_bytes: usize,
    disabled: Vec<&'static str>,
    keywords: Keywords,
    owners: Vec<Vec<Owner>>,
    tokens: Vec<&'static TokenSpec>,
    windows: Vec<Window>,
    pii: bool,
    custom: Option<Custom>,
    kinds: Vec<KindInfo>,
}

impl std::fmt::Debug for Screener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screener")
            .field("kinds", &self.kinds.len())
            .finish_non_exhaustive()
    }
}

/// Collects keywords and who owns each.
#[derive(Default)]
struct Registry {
    keywords: Vec<&'static str>,
    index: HashMap<&'static str, usize>,
    owners: Vec<Vec<Owner>>,
}

impl Registry {
    fn add(&mut self, keywords: &[&'static str], owner: Owner) {
        for &k in keywords {
            let id = *self.index.entry(k).or_insert_with(|| {
                self.keywords.push(k);
                self.owners.push(Vec::new());
                self.keywords.len() - 1
            });
            self.owners[id].push(owner);
        }
    }
}

impl Screener {
    /// Builds the prefilter and compiles every detector once. Fails on an
    /// unknown kind in `disabled`, an out-of-range setting, or a bad custom
    /// pattern (the error names its id).
    pub fn new(config: &ScreenConfig) -> Result<Screener, ScreenError> {
        let entropy_threshold = config
            .entropy_threshold
            .unwrap_or(DEFAULT_ENTROPY_THRESHOLD);
        if !(entropy_threshold > 0.0 && entropy_threshold <= 8.0) {
            return Err(ScreenError::InvalidSetting {
                field: "entropy_threshold",
                reason: "must be in (0, 8]",
            });
        }
        let max_scan_bytes = config.max_scan_bytes.unwrap_or(DEFAULT_MAX_SCAN_BYTES);
        if max_scan_bytes == 0 {
            return Err(ScreenError::InvalidSetting {
                field: "max_scan_bytes",
                reason: "must be at least 1",
            });
        }
        let custom = custom::build(&config.custom)?;
        let mut disabled = Vec::new();
        for id in &config.disabled {
            match kinds::def(id) {
                Some(def) => disabled.push(def.id),
                None => return Err(ScreenError::UnknownKind(id.chars().take(64).collect())),
            }
        }
        let on = |id: &str| !disabled.contains(&id);
        let mut reg = Registry::default();
        let mut token_list = Vec::new();
        for spec in tokens::TOKENS.iter().filter(|s| on(s.kind)) {
            reg.add(spec.keywords, Owner::Token(token_list.len()));
            token_list.push(spec);
        }
        let mut windows = Vec::new();
        for spec in context::specs().iter().filter(|s| on(s.kind)) {
            reg.add(spec.keywords, Owner::Window(windows.len()));
            windows.push(Window::builtin(spec)?);
        }
        for special in Special::ALL {
            if special.kinds().iter().any(|k| on(k)) {
                reg.add(special.keywords(), Owner::Special(special));
            }
        }
        let mut infos: Vec<KindInfo> = KINDS
            .iter()
            .filter(|d| on(d.id))
            .map(|d| KindInfo {
                id: Kind::builtin(d.id),
                category: d.category,
                custom: false,
                description: d.description.to_owned(),
                severity: d.severity,
            })
            .collect();
        if let Some(c) = &custom {
            infos.extend_from_slice(c.infos());
        }
        Ok(Screener {
            tuning: Tuning { entropy_threshold },
            max_scan_bytes,
            pii: PASS_KINDS.iter().any(|k| on(k)),
            keywords: Keywords::new(&reg.keywords),
            owners: reg.owners,
            tokens: token_list,
            windows,
            disabled,
            custom,
            kinds: infos,
        })
    }

    /// The default screener: every built-in kind, default settings.
    pub fn builtin() -> Screener {
        match Screener::new(&ScreenConfig::default()) {
            Ok(s) => s,
            // The built-in detectors are constants; a unit test builds them.
            Err(e) => panic!("built-in screen detectors failed to build: {e}"),
        }
    }

    /// Every enabled kind: built-in, then custom.
    pub fn kinds(&self) -> Vec<KindInfo> {
        self.kinds.clone()
    }

    /// Scans UTF-8 text. Spans fall on `char` boundaries.
    pub fn scan(&self, text: &str) -> Findings {
        let mut limit = text.len().min(self.max_scan_bytes);
        while !text.is_char_boundary(limit) {
            limit -= 1;
        }
        let (items, truncated) = self.scan_inner(&text.as_bytes()[..limit], limit < text.len());
        Findings::from_sorted(align_to_chars(text, items), truncated)
    }

    /// Scans arbitrary bytes (not necessarily UTF-8).
    pub fn scan_bytes(&self, bytes: &[u8]) -> Findings {
        let limit = bytes.len().min(self.max_scan_bytes);
        let (items, truncated) = self.scan_inner(&bytes[..limit], limit < bytes.len());
        Findings::from_sorted(items, truncated)
    }

    fn scan_inner(&self, text: &[u8], truncated: bool) -> (Vec<Finding>, bool) {
        let mut raws: Vec<Raw> = Vec::new();
        if !self.keywords.is_empty() {
            let mut hits = Vec::new();
            self.keywords.find_all(text, &mut hits);
            if !hits.is_empty() {
                self.on_hits(text, &hits, &mut raws);
            }
        }
        if self.pii {
            pii::scan(text, &mut raws);
        }
        if let Some(c) = &self.custom {
            c.scan(text, &self.tuning, &mut raws);
        }
        if raws.is_empty() {
            return (Vec::new(), truncated);
        }
        if !self.disabled.is_empty() {
            raws.retain(|r| !self.disabled.contains(&r.kind.as_str()));
        }
        (resolve::merge(raws), truncated)
    }

    fn on_hits(&self, text: &[u8], hits: &[Hit], out: &mut Vec<Raw>) {
        let mut covered = vec![0usize; self.tokens.len()];
        let mut special_covered = [0usize; Special::ALL.len()];
        let mut spans = Vec::new();
        for hit in hits {
            for &owner in &self.owners[hit.keyword as usize] {
                match owner {
                    Owner::Token(i) => {
                        if hit.span.start < covered[i] {
                            continue;
                        }
                        match self.tokens[i].matches(text, &hit.span) {
                            Ok(Some(raw)) => {
                                covered[i] = raw.span.end;
                                out.push(raw);
                            }
                            Ok(None) => {}
                            Err(skip) => covered[i] = skip,
                        }
                    }
                    Owner::Window(i) => {
                        if let Some((start, end)) = self.windows[i].window(text, &hit.span) {
                            spans.push((i, start, end));
                        }
                    }
                    Owner::Special(s) => {
                        let slot = s as usize;
                        if hit.span.start < special_covered[slot] {
                            continue;
                        }
                        if let Some(end) = s.run(text, &hit.span, out) {
                            special_covered[slot] = end;
                        }
                    }
                }
            }
        }
        if !spans.is_empty() {
            detect::run_windows(text, &mut spans, &self.windows, &self.tuning, out);
        }
    }

    /// Replaces each finding's span with `[REDACTED:kind]`.
    pub fn redact(&self, text: &str, findings: &Findings) -> String {
        crate::redact::redact(text, findings)
    }
}

/// Widens spans to `char` boundaries and merges any that then touch.
fn align_to_chars(text: &str, items: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(items.len());
    for mut f in items {
        let mut s = f.span.start.min(text.len());
        let mut e = f.span.end.min(text.len());
        while !text.is_char_boundary(s) {
            s -= 1;
        }
        while !text.is_char_boundary(e) {
            e += 1;
        }
        f.span = s..e;
        match out.last_mut() {
            Some(prev) if prev.span.end > s => prev.span.end = prev.span.end.max(e),
            _ => out.push(f),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_builds_and_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Screener>();
        let s = Screener::builtin();
        assert!(s.kinds().len() >= 50);
        // Every kind named in code exists.
        for spec in tokens::TOKENS {
            assert!(kinds::def(spec.kind).is_some(), "{}", spec.kind);
        }
        for spec in context::specs() {
            assert!(kinds::def(spec.kind).is_some(), "{}", spec.kind);
        }
        for special in Special::ALL {
            for k in special.kinds() {
                assert!(kinds::def(k).is_some(), "{k}");
            }
        }
        for k in PASS_KINDS {
            assert!(kinds::def(k).is_some(), "{k}");
        }
    }
}
