//! The keyword prefilter: every built-in keyword in at most two SIMD
//! (Teddy) searchers, one for keywords of four bytes or more and one for the
//! few three-byte ones, so clean text is read at several GB/s.
//!
//! Teddy takes at most 64 patterns and fingerprints their first
//! min(length, 4) bytes; keeping the short keywords apart keeps the long
//! searcher's fingerprints at four bytes, which is what keeps English prose
//! from producing a stream of false candidates. Where Teddy is not available
//! (no SSSE3), an Aho-Corasick automaton takes its place.

use std::ops::Range;

use aho_corasick::packed::{Config, MatchKind as PackedKind, Searcher};
use aho_corasick::{AhoCorasick, MatchKind};

/// A keyword occurrence: which keyword, where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub keyword: u32,
    pub span: Range<usize>,
}

enum Engine {
    Packed(Searcher),
    Automaton(AhoCorasick),
}

/// One searcher and the global ids of its patterns.
struct Set {
    engine: Engine,
    ids: Vec<u32>,
}

/// Finds keyword hits.
pub(crate) struct Keywords {
    sets: Vec<Set>,
}

/// Teddy's pattern limit.
const TEDDY_MAX: usize = 64;

impl Keywords {
    /// Builds searchers for `keywords` (matched case-sensitively; case
    /// variants are separate keywords). Index in the slice = keyword id.
    pub(crate) fn new(keywords: &[&str]) -> Keywords {
        let mut long: Vec<u32> = Vec::new();
        let mut short: Vec<u32> = Vec::new();
        for (i, k) in keywords.iter().enumerate() {
            if k.len() >= 4 { &mut long } else { &mut short }.push(i as u32);
        }
        let mut sets = Vec::new();
        for group in [long, short] {
            for chunk in group.chunks(TEDDY_MAX) {
                let patterns: Vec<&str> = chunk.iter().map(|&i| keywords[i as usize]).collect();
                if let Some(engine) = build(&patterns) {
                    sets.push(Set {
                        engine,
                        ids: chunk.to_vec(),
                    });
                }
            }
        }
        Keywords { sets }
    }

    /// Whether there is nothing to search for.
    pub(crate) fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Appends every hit in `text`, sorted by start.
    pub(crate) fn find_all(&self, text: &[u8], out: &mut Vec<Hit>) {
        for set in &self.sets {
            let before = out.len();
            match &set.engine {
                Engine::Packed(s) => out.extend(s.find_iter(text).map(|m| Hit {
                    keyword: set.ids[m.pattern().as_usize()],
                    span: m.start()..m.end(),
                })),
                Engine::Automaton(ac) => out.extend(ac.find_iter(text).map(|m| Hit {
                    keyword: set.ids[m.pattern().as_usize()],
                    span: m.start()..m.end(),
                })),
            }
            if before > 0 && out.len() > before {
                out.sort_unstable_by_key(|h| h.span.start);
            }
        }
    }
}

fn build(patterns: &[&str]) -> Option<Engine> {
    let packed = Config::new()
        .match_kind(PackedKind::LeftmostFirst)
        .builder()
        .extend(patterns)
        .build();
    match packed {
        Some(s) => Some(Engine::Packed(s)),
        None => AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns)
            .ok()
            .map(Engine::Automaton),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_from_both_sets_in_order() {
        let kw = Keywords::new(&["ghp_", "eyJ", "://", "token"]);
        let mut hits = Vec::new();
        kw.find_all(b"x eyJ https://a token ghp_", &mut hits);
        let got: Vec<u32> = hits.iter().map(|h| h.keyword).collect();
        assert_eq!(got, vec![1, 2, 3, 0]);
    }
}
