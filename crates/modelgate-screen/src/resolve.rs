//! Overlap resolution: one finding per cluster of overlapping matches.
//!
//! The most specific detector names the cluster (priority, then confidence,
//! then length), and the finding covers the union of the cluster's spans, so
//! redaction never leaves part of a secret behind.

use crate::detect::Raw;
use crate::finding::Finding;

/// Sorts, clusters and merges raw matches into non-overlapping findings.
pub(crate) fn merge(mut raws: Vec<Raw>) -> Vec<Finding> {
    raws.sort_unstable_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then(b.span.end.cmp(&a.span.end))
    });
    let rank = |r: &Raw| (r.priority, r.confidence, r.span.len());
    let mut out = Vec::with_capacity(raws.len());
    let mut i = 0;
    while i < raws.len() {
        let start = raws[i].span.start;
        let mut end = raws[i].span.end;
        let mut best = i;
        let mut j = i + 1;
        while j < raws.len() && raws[j].span.start < end {
            end = end.max(raws[j].span.end);
            if rank(&raws[j]) > rank(&raws[best]) {
                best = j;
            }
            j += 1;
        }
        let b = &raws[best];
        out.push(Finding {
            kind: b.kind.clone(),
            category: b.category,
            span: start..end,
            confidence: b.confidence,
        });
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Confidence::{High, Medium};

    #[test]
    fn specific_wins_and_span_is_the_union() {
        let raws = vec![
            Raw::builtin("generic_secret_assignment", 10..60, Medium),
            Raw::builtin("github_pat", 10..50, High),
            Raw::builtin("email", 70..80, High),
            Raw::builtin("email", 70..80, High),
        ];
        let merged = merge(raws);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].kind, "github_pat");
        assert_eq!(merged[0].span, 10..60);
        assert_eq!(merged[1].span, 70..80);
    }
}
