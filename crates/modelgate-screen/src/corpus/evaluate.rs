//! Scoring a screener on the corpus: per-kind recall and precision, and
//! what the hard negatives triggered.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Corpus, NEGATIVE_PREFIX};
use crate::engine::Screener;
use crate::finding::{Category, Confidence};

/// Scores of one kind.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct KindScore {
    /// The kind id.
    pub kind: String,
    /// Its category (from the labels, or the findings when unlabelled).
    pub category: Option<Category>,
    /// Labelled occurrences.
    pub labels: usize,
    /// Labels found by a finding of the same kind that overlaps them.
    pub tp: usize,
    /// Labels not found.
    pub fn_: usize,
    /// Findings of this kind that overlap no label of this kind.
    pub fp: usize,
    /// Of those, at High confidence.
    pub fp_high: usize,
    /// Findings that matched a label (for precision).
    pub matched_findings: usize,
}

impl KindScore {
    /// TP / labels (1 when there are no labels).
    pub fn recall(&self) -> f64 {
        if self.labels == 0 {
            1.0
        } else {
            self.tp as f64 / self.labels as f64
        }
    }

    /// Matched findings / all findings (1 when there are none).
    pub fn precision(&self) -> f64 {
        let all = self.matched_findings + self.fp;
        if all == 0 {
            1.0
        } else {
            self.matched_findings as f64 / all as f64
        }
    }
}

/// What one class of hard negatives triggered.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct NegativeScore {
    /// The class (`uuid`, `base64_image`, …).
    pub class: String,
    /// Samples of the class.
    pub samples: usize,
    /// Samples with at least one finding.
    pub flagged: usize,
    /// Findings at High confidence.
    pub high: usize,
    /// Kinds reported, with counts.
    pub kinds: BTreeMap<String, usize>,
}

/// The evaluation of a screener on a corpus.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Report {
    /// Per kind, sorted by category then id.
    pub kinds: Vec<KindScore>,
    /// Per hard-negative class.
    pub negatives: Vec<NegativeScore>,
    /// Samples scanned.
    pub samples: usize,
}

impl Report {
    /// The score of one kind.
    pub fn kind(&self, id: &str) -> Option<&KindScore> {
        self.kinds.iter().find(|k| k.kind == id)
    }

    /// Pooled precision over every finding of a category.
    pub fn precision(&self, category: Category) -> f64 {
        let (m, f) = self
            .kinds
            .iter()
            .filter(|k| k.category == Some(category))
            .fold((0, 0), |(m, f), k| (m + k.matched_findings, f + k.fp));
        if m + f == 0 {
            1.0
        } else {
            m as f64 / (m + f) as f64
        }
    }

    /// Pooled recall over every label of a category.
    pub fn recall(&self, category: Category) -> f64 {
        let (tp, n) = self
            .kinds
            .iter()
            .filter(|k| k.category == Some(category))
            .fold((0, 0), |(tp, n), k| (tp + k.tp, n + k.labels));
        if n == 0 { 1.0 } else { tp as f64 / n as f64 }
    }

    /// The per-kind table and the hard-negative table, in Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("| kind | category | labels | TP | FN | FP | recall | precision |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
        for k in &self.kinds {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |",
                k.kind,
                k.category.map_or("-", Category::as_str),
                k.labels,
                k.tp,
                k.fn_,
                k.fp,
                k.recall(),
                k.precision()
            );
        }
        for (name, c) in [
            ("all credentials", Category::Credential),
            ("all personal data", Category::PersonalData),
        ] {
            let _ = writeln!(
                out,
                "| **{name}** | | | | | | {:.3} | {:.3} |",
                self.recall(c),
                self.precision(c)
            );
        }
        out.push_str("\n| hard negative class | samples | flagged | high-confidence findings | kinds reported |\n|---|---:|---:|---:|---|\n");
        for n in &self.negatives {
            let kinds: Vec<String> = n.kinds.iter().map(|(k, c)| format!("{k} ×{c}")).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                n.class,
                n.samples,
                n.flagged,
                n.high,
                kinds.join(", ")
            );
        }
        out
    }
}

/// Scans every sample and scores the findings against the labels.
pub fn evaluate(screener: &Screener, corpus: &Corpus) -> Report {
    let mut kinds: BTreeMap<String, KindScore> = BTreeMap::new();
    let mut negatives: BTreeMap<String, NegativeScore> = BTreeMap::new();
    for sample in &corpus.samples {
        let findings = screener.scan(&sample.text);
        for label in &sample.labels {
            let score = kinds.entry(label.kind.clone()).or_default();
            score.category = Some(label.category);
            score.labels += 1;
            let found = findings.iter().any(|f| {
                f.kind == label.kind.as_str()
                    && f.span.start < label.end
                    && label.start < f.span.end
            });
            if found { score.tp += 1 } else { score.fn_ += 1 }
        }
        for f in &findings {
            let score = kinds.entry(f.kind.to_string()).or_default();
            score.category.get_or_insert(f.category);
            let matched = sample
                .labels
                .iter()
                .any(|l| f.kind == l.kind.as_str() && f.span.start < l.end && l.start < f.span.end);
            if matched {
                score.matched_findings += 1;
            } else {
                score.fp += 1;
                if f.confidence == Confidence::High {
                    score.fp_high += 1;
                }
            }
        }
        if let Some(class) = sample.source.strip_prefix(NEGATIVE_PREFIX) {
            let n = negatives.entry(class.to_owned()).or_default();
            n.class = class.to_owned();
            n.samples += 1;
            if !findings.is_empty() {
                n.flagged += 1;
            }
            for f in &findings {
                *n.kinds.entry(f.kind.to_string()).or_insert(0) += 1;
                if f.confidence == Confidence::High {
                    n.high += 1;
                }
            }
        }
    }
    let mut kinds: Vec<KindScore> = kinds
        .into_iter()
        .map(|(id, mut s)| {
            s.kind = id;
            s
        })
        .collect();
    kinds.sort_by(|a, b| a.category.cmp(&b.category).then(a.kind.cmp(&b.kind)));
    Report {
        kinds,
        negatives: negatives.into_values().collect(),
        samples: corpus.samples.len(),
    }
}
