//! The labelled evaluation corpus, generated deterministically from a seed.
//!
//! For every built-in kind, [`PER_KIND`] realistic fake positives in varied
//! context (shell, `.env`, YAML, JSON, Python, JavaScript, TOML, docker and
//! curl commands, log lines, prose, chat), each with the exact byte span of
//! the secret; and [`PER_NEGATIVE_CLASS`] hard negatives of each class in
//! `negatives` (UUIDs, hashes, base64 blobs, code, versions, dates, order
//! numbers, placeholders and documented examples, Luhn-invalid cards,
//! invalid IBANs, timestamps). [`evaluate`] scores a screener on it; the
//! `corpus` example writes it as JSON lines for other scanners.

mod contexts;
mod credentials;
mod evaluate;
mod naming;
mod negatives;
mod personal;
mod rng;
mod text;

pub use evaluate::{KindScore, NegativeScore, Report, evaluate};
pub use rng::Rng;
pub use text::{BenchText, bench_text};

use crate::finding::Category;
use crate::kinds::KINDS;

/// Positives generated per kind.
pub const PER_KIND: usize = 60;
/// Samples generated per hard-negative class.
pub const PER_NEGATIVE_CLASS: usize = 30;
/// The seed the tests, the example and the bench use.
pub const DEFAULT_SEED: u64 = 0x6d67_6174_6521;
/// `Sample::source` prefix of hard negatives.
pub const NEGATIVE_PREFIX: &str = "negative/";

/// A labelled occurrence: kind and byte span in the sample's text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    /// The kind id.
    pub kind: String,
    /// Its category.
    pub category: Category,
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
}

/// One text with its labels.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sample {
    /// Stable id, e.g. `github_pat-007`.
    pub id: String,
    /// `kind/template` for positives, `negative/class` for hard negatives.
    pub source: String,
    /// The text.
    pub text: String,
    /// What is in it (empty for hard negatives).
    pub labels: Vec<Label>,
}

/// The corpus.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Corpus {
    /// The seed it was generated from.
    pub seed: u64,
    /// Positives, then hard negatives.
    pub samples: Vec<Sample>,
}

/// The built-in kind ids, credentials first.
pub fn kind_ids() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.id).collect()
}

/// The built-in credential kind ids.
pub fn credential_kinds() -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.category == Category::Credential)
        .map(|k| k.id)
        .collect()
}

/// Generates the corpus from `seed` (same seed, same corpus).
pub fn generate(seed: u64) -> Corpus {
    let mut rng = Rng::new(seed);
    let mut samples = Vec::new();
    for def in KINDS {
        let naming = naming::naming(def.id);
        let templates = contexts::templates_for(&naming);
        for i in 0..PER_KIND {
            let (text, span, source) = if def.category == Category::Credential {
                let Some(secret) = credentials::generate(def.id, &mut rng) else {
                    continue;
                };
                let template = templates[i % templates.len()];
                let (text, at) = contexts::fill(template, &naming, &secret.text, &mut rng);
                let span = at.start + secret.label.start..at.start + secret.label.end;
                (text, span, template.name)
            } else {
                let Some(value) = personal::generate(def.id, &mut rng) else {
                    continue;
                };
                let template = contexts::PERSONAL_TEMPLATES[i % contexts::PERSONAL_TEMPLATES.len()];
                let (before, after) = template.split_once("{V}").unwrap_or((template, ""));
                (
                    format!("{before}{value}{after}"),
                    before.len()..before.len() + value.len(),
                    "personal",
                )
            };
            samples.push(Sample {
                id: format!("{}-{i:03}", def.id),
                source: format!("{}/{source}", def.id),
                text,
                labels: vec![Label {
                    kind: def.id.to_owned(),
                    category: def.category,
                    start: span.start,
                    end: span.end,
                }],
            });
        }
    }
    for class in negatives::CLASSES {
        for i in 0..PER_NEGATIVE_CLASS {
            if let Some(text) = negatives::negative(class, &mut rng) {
                samples.push(Sample {
                    id: format!("negative-{class}-{i:03}"),
                    source: format!("{NEGATIVE_PREFIX}{class}"),
                    text,
                    labels: Vec::new(),
                });
            }
        }
    }
    Corpus { seed, samples }
}
