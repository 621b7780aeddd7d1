//! The labelled corpus: ≥ 50 positives of every kind, deterministic, and
//! the built-in screener's recall and precision on it.

use modelgate_screen::corpus::{self, DEFAULT_SEED, NEGATIVE_PREFIX, PER_KIND};
use modelgate_screen::{Category, Screener};

#[test]
fn corpus_is_deterministic_and_complete() {
    let a = corpus::generate(DEFAULT_SEED);
    let b = corpus::generate(DEFAULT_SEED);
    assert_eq!(a, b);
    assert_ne!(a, corpus::generate(DEFAULT_SEED + 1));
    const { assert!(PER_KIND >= 50) };
    for kind in corpus::kind_ids() {
        let n = a
            .samples
            .iter()
            .filter(|s| s.labels.iter().any(|l| l.kind == kind))
            .count();
        assert!(n >= 50, "{kind}: {n}");
    }
    for sample in &a.samples {
        for label in &sample.labels {
            assert!(
                label.start < label.end
                    && sample.text.is_char_boundary(label.start)
                    && sample.text.is_char_boundary(label.end)
            );
        }
    }
    assert!(
        a.samples
            .iter()
            .filter(|s| s.source.starts_with(NEGATIVE_PREFIX))
            .count()
            >= 500
    );
}

#[test]
fn recall_and_precision_meet_the_bar() {
    let corpus = corpus::generate(DEFAULT_SEED);
    let report = corpus::evaluate(&Screener::builtin(), &corpus);
    eprintln!("{}", report.to_markdown());
    for kind in corpus::credential_kinds() {
        let score = report
            .kind(kind)
            .unwrap_or_else(|| panic!("{kind} missing"));
        assert!(
            score.recall() >= 0.98,
            "{kind}: recall {:.3}",
            score.recall()
        );
    }
    assert!(
        report.precision(Category::Credential) >= 0.95,
        "{}",
        report.precision(Category::Credential)
    );
    // No high-confidence finding on any hard negative.
    for n in &report.negatives {
        assert_eq!(n.high, 0, "{}: {:?}", n.class, n.kinds);
    }
    for score in &report.kinds {
        assert_eq!(
            score.fp_high, 0,
            "{}: {} high-confidence false positives",
            score.kind, score.fp_high
        );
    }
}
