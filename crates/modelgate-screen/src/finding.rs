//! What a scan reports: kinds, categories, confidences and findings.
//!
//! A [`Finding`] holds a kind, a byte span and a confidence, never the
//! matched text, so printing or serialising findings cannot leak a secret.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, Range};
use std::sync::Arc;

/// What a detector looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A secret that grants access: API keys, tokens, private keys, passwords.
    Credential,
    /// Data about a person: email, phone, card number, IBAN, SSN, IP address.
    PersonalData,
    /// A custom pattern from the config that is neither of the above.
    Custom,
}

impl Category {
    /// The config and wire spelling: `credential`, `personal_data`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Credential => "credential",
            Category::PersonalData => "personal_data",
            Category::Custom => "custom",
        }
    }
}

/// How sure a detector is that a match is real.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Plausible shape only (IPv6 addresses, malformed checksums).
    Low,
    /// Right shape and context, no checksum (phone numbers, generic secrets).
    Medium,
    /// A distinctive format or a verified checksum.
    High,
}

/// How bad a leak of a kind is by default; policy may weigh it differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Low impact (an IP address).
    Low,
    /// Moderate impact (a phone number, a scoped token).
    Medium,
    /// Serious (most credentials, card numbers).
    High,
    /// Full account or infrastructure takeover (cloud keys, private keys).
    Critical,
}

/// The id of a kind: a built-in `&'static str` or an interned custom id.
///
/// Compares, hashes and orders as its string, and dereferences to `str`, so
/// `finding.kind == "jwt"` works.
#[derive(Clone)]
pub struct Kind(Repr);

#[derive(Clone)]
enum Repr {
    Builtin(&'static str),
    Custom(Arc<str>),
}

impl Kind {
    /// A built-in kind id.
    pub(crate) const fn builtin(id: &'static str) -> Kind {
        Kind(Repr::Builtin(id))
    }

    /// A custom kind id (interned once per screener).
    pub(crate) fn custom(id: &str) -> Kind {
        Kind(Repr::Custom(Arc::from(id)))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Builtin(s) => s,
            Repr::Custom(s) => s,
        }
    }
}

impl Deref for Kind {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Kind {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Kind {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl PartialEq<str> for Kind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for Kind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Kind) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Kind) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One detected secret or piece of personal data: where, what, how sure.
/// Never holds the matched text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The kind id, e.g. `aws_access_key_id`.
    pub kind: Kind,
    /// Credential, personal data or custom.
    pub category: Category,
    /// Byte range in the scanned text (on `char` boundaries for `&str` input).
    pub span: Range<usize>,
    /// How sure the detector is.
    pub confidence: Confidence,
}

/// The findings of one scan, sorted by span start, non-overlapping.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Findings {
    items: Vec<Finding>,
    truncated: bool,
}

impl Findings {
    /// Wraps findings that are already sorted and non-overlapping.
    pub(crate) fn from_sorted(items: Vec<Finding>, truncated: bool) -> Findings {
        Findings { items, truncated }
    }

    /// Findings from spans found elsewhere (such as the pieces of a secret
    /// split across strings): sorted by span start, overlapping spans
    /// merged into the first.
    pub fn from_spans(mut items: Vec<Finding>) -> Findings {
        items.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
        let mut out: Vec<Finding> = Vec::with_capacity(items.len());
        for f in items {
            match out.last_mut() {
                Some(prev) if prev.span.end > f.span.start => {
                    prev.span.end = prev.span.end.max(f.span.end);
                }
                _ => out.push(f),
            }
        }
        Findings {
            items: out,
            truncated: false,
        }
    }

    /// Iterates over the findings in span order.
    pub fn iter(&self) -> std::slice::Iter<'_, Finding> {
        self.items.iter()
    }

    /// The findings as a slice.
    pub fn as_slice(&self) -> &[Finding] {
        &self.items
    }

    /// Number of findings.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Number of findings per kind id.
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for f in &self.items {
            *counts.entry(f.kind.as_str()).or_insert(0) += 1;
        }
        counts
    }

    /// Number of findings of one kind.
    pub fn count(&self, kind: &str) -> usize {
        self.items.iter().filter(|f| f.kind == kind).count()
    }

    /// The distinct kind ids found, sorted.
    pub fn kinds(&self) -> Vec<&str> {
        self.counts().into_keys().collect()
    }

    /// Whether any credential was found.
    pub fn has_credential(&self) -> bool {
        self.has(Category::Credential)
    }

    /// Whether any personal data was found.
    pub fn has_personal_data(&self) -> bool {
        self.has(Category::PersonalData)
    }

    /// Whether any custom-category pattern matched.
    pub fn has_custom(&self) -> bool {
        self.has(Category::Custom)
    }

    fn has(&self, category: Category) -> bool {
        self.items.iter().any(|f| f.category == category)
    }

    /// The highest confidence among the findings.
    pub fn max_confidence(&self) -> Option<Confidence> {
        self.items.iter().map(|f| f.confidence).max()
    }

    /// Whether the input was longer than `max_scan_bytes` and only its
    /// beginning was scanned. Callers should treat the rest as unscreened.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<'a> IntoIterator for &'a Findings {
    type Item = &'a Finding;
    type IntoIter = std::slice::Iter<'a, Finding>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl IntoIterator for Findings {
    type Item = Finding;
    type IntoIter = std::vec::IntoIter<Finding>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// What [`Screener::kinds`](crate::Screener::kinds) lists for each enabled kind.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KindInfo {
    /// The kind id.
    pub id: Kind,
    /// Credential, personal data or custom.
    pub category: Category,
    /// Whether it comes from the config's `custom` list.
    pub custom: bool,
    /// One line for humans.
    pub description: String,
    /// Default severity.
    pub severity: Severity,
}
