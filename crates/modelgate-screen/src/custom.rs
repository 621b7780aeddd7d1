//! Custom patterns from the config: validation, compilation, scanning.
//!
//! Each pattern is a regex run in a window around its keywords, found by a
//! case-insensitive Aho-Corasick automaton of its own. Validation bounds the
//! cost (pattern length, compiled size, keyword length and count) and every
//! error names the pattern's id, never its text.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::RegexBuilder;

use crate::config::CustomPattern;
use crate::detect::{self, Span, Tuning, Window};
use crate::error::ScreenError;
use crate::finding::{Category, Kind, KindInfo, Severity};
use crate::kinds;

/// Most custom patterns per config.
pub const MAX_CUSTOM_PATTERNS: usize = 64;
/// Longest custom regex, in bytes.
pub const MAX_REGEX_LEN: usize = 1024;
/// Compiled size limit of one custom regex.
pub const MAX_COMPILED_SIZE: usize = 1 << 20;
/// Most keywords per custom pattern.
pub const MAX_KEYWORDS: usize = 16;
/// Window searched around a keyword: bytes before, bytes after.
const WINDOW: (usize, usize) = (256, 1024);

/// The compiled custom patterns.
pub(crate) struct Custom {
    automaton: AhoCorasick,
    /// Keyword index → pattern index.
    owner: Vec<usize>,
    windows: Vec<Window>,
    infos: Vec<KindInfo>,
}

fn err(id: &str, reason: impl Into<String>) -> ScreenError {
    ScreenError::CustomPattern {
        id: id.chars().take(64).collect(),
        reason: reason.into(),
    }
}

/// Validates and compiles `patterns`; `None` when there are none.
pub(crate) fn build(patterns: &[CustomPattern]) -> Result<Option<Custom>, ScreenError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    if patterns.len() > MAX_CUSTOM_PATTERNS {
        return Err(err(
            "*",
            format!("at most {MAX_CUSTOM_PATTERNS} custom patterns"),
        ));
    }
    let mut keywords: Vec<String> = Vec::new();
    let mut owner = Vec::new();
    let mut windows = Vec::new();
    let mut infos = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (index, p) in patterns.iter().enumerate() {
        let id = p.id.as_str();
        if id.is_empty()
            || id.len() > 64
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(err(id, "the id must be 1 to 64 characters of [a-z0-9_]"));
        }
        if kinds::def(id).is_some() {
            return Err(err(id, "the id is already a built-in kind"));
        }
        if seen.contains(&id) {
            return Err(err(id, "the id is used twice"));
        }
        seen.push(id);
        let category = match p.category.as_deref() {
            None | Some("personal_data") => Category::PersonalData,
            Some("credential") => Category::Credential,
            Some("custom") => Category::Custom,
            Some(_) => {
                return Err(err(
                    id,
                    "category must be credential, personal_data or custom",
                ));
            }
        };
        if p.regex.len() > MAX_REGEX_LEN {
            return Err(err(
                id,
                format!("the regex is longer than {MAX_REGEX_LEN} bytes"),
            ));
        }
        let regex = RegexBuilder::new(&p.regex)
            .unicode(false)
            .size_limit(MAX_COMPILED_SIZE)
            .dfa_size_limit(MAX_COMPILED_SIZE)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(_) => {
                    err(id, "the compiled regex exceeds the size limit")
                }
                _ => err(id, "the regex does not compile"),
            })?;
        if regex.is_match(b"") {
            return Err(err(id, "the regex matches the empty string"));
        }
        let own: Vec<String> = if p.keywords.is_empty() {
            match literal_prefix(&p.regex) {
                Some(prefix) => vec![prefix],
                None => {
                    return Err(err(
                        id,
                        "keywords are required (the regex has no literal prefix of 3 or more characters)",
                    ));
                }
            }
        } else {
            p.keywords.clone()
        };
        if own.len() > MAX_KEYWORDS {
            return Err(err(id, format!("at most {MAX_KEYWORDS} keywords")));
        }
        if own.iter().any(|k| !(3..=64).contains(&k.len())) {
            return Err(err(id, "each keyword must be 3 to 64 bytes"));
        }
        let group = regex
            .capture_names()
            .position(|n| n == Some("secret"))
            .unwrap_or(0);
        let kind = Kind::custom(id);
        for k in own {
            keywords.push(k);
            owner.push(index);
        }
        windows.push(Window {
            kind: kind.clone(),
            category,
            priority: kinds::CUSTOM_PRIORITY,
            regex,
            before: WINDOW.0,
            after: WINDOW.1,
            value: detect::Value::Group(group),
            precheck: None,
            check: None,
        });
        infos.push(KindInfo {
            id: kind,
            category,
            custom: true,
            description: p
                .description
                .clone()
                .unwrap_or_else(|| "custom pattern".to_owned()),
            severity: if category == Category::Credential {
                Severity::High
            } else {
                Severity::Medium
            },
        });
    }
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&keywords)
        .map_err(|_| err("*", "the keywords do not compile"))?;
    Ok(Some(Custom {
        automaton,
        owner,
        windows,
        infos,
    }))
}

/// The literal text a regex starts with (after `^`, `(?i)`, `\b`), if it
/// is at least 3 bytes long and the regex has no top-level alternation.
pub(crate) fn literal_prefix(regex: &str) -> Option<String> {
    if regex.contains('|') {
        return None;
    }
    let mut rest = regex;
    loop {
        let before = rest.len();
        for lead in ["^", "(?i)", "(?-u:\\b)", "\\b"] {
            rest = rest.strip_prefix(lead).unwrap_or(rest);
        }
        if rest.len() == before {
            break;
        }
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => e,
                _ => break,
            },
            '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => break,
            c => c,
        };
        // A quantifier makes the last literal optional or repeated.
        if matches!(chars.peek(), Some('?' | '*' | '{')) {
            break;
        }
        out.push(lit);
    }
    (out.len() >= 3).then_some(out)
}

impl Custom {
    /// What `kinds()` lists for these patterns.
    pub(crate) fn infos(&self) -> &[KindInfo] {
        &self.infos
    }

    /// Scans `text`, appending matches.
    pub(crate) fn scan(&self, text: &[u8], tuning: &Tuning, out: &mut Vec<detect::Raw>) {
        let mut spans: Vec<Span> = Vec::new();
        for m in self.automaton.find_overlapping_iter(text) {
            let det = self.owner[m.pattern().as_usize()];
            if let Some((start, end)) = self.windows[det].window(text, &m.range()) {
                spans.push((det, start, end));
            }
        }
        if !spans.is_empty() {
            detect::run_windows(text, &mut spans, &self.windows, tuning, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(literal_prefix(r"ACME-[0-9]{6}").as_deref(), Some("ACME-"));
        assert_eq!(
            literal_prefix(r"^(?i)proj\.x\d+").as_deref(),
            Some("proj.x")
        );
        assert_eq!(literal_prefix(r"abcd?e").as_deref(), Some("abc"));
        assert_eq!(literal_prefix(r"ab[0-9]+"), None);
        assert_eq!(literal_prefix(r"foo|bar"), None);
        assert_eq!(literal_prefix(r"\d{4}"), None);
    }
}
