//! The `[screen]` configuration: disabled kinds, custom patterns, tuning.

/// Default for [`ScreenConfig::entropy_threshold`]: Shannon entropy in bits
/// per character that a generic secret value must reach.
pub const DEFAULT_ENTROPY_THRESHOLD: f64 = 3.0;

/// Default for [`ScreenConfig::max_scan_bytes`]: 8 MiB.
pub const DEFAULT_MAX_SCAN_BYTES: usize = 8 << 20;

/// Configuration of a [`Screener`](crate::Screener). Every field has a
/// default; unknown fields are refused.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenConfig {
    /// Kind ids to turn off (as listed by [`Screener::kinds`](crate::Screener::kinds)).
    pub disabled: Vec<String>,
    /// Extra patterns, each a new kind.
    pub custom: Vec<CustomPattern>,
    /// Minimum Shannon entropy (bits per character, 0 < t ≤ 8) of a value in
    /// a `password = …` style assignment. Default
    /// [`DEFAULT_ENTROPY_THRESHOLD`].
    pub entropy_threshold: Option<f64>,
    /// Longest input scanned; the rest is reported as
    /// [`Findings::truncated`](crate::Findings::truncated). Default
    /// [`DEFAULT_MAX_SCAN_BYTES`].
    pub max_scan_bytes: Option<usize>,
}

/// A custom detector: a regex, found through keywords.
///
/// The regex runs only in a window around each keyword occurrence (256
/// bytes before, 1 KiB after), so keywords are required unless the regex
/// starts with a literal of at least 3 characters, which is then used.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomPattern {
    /// The kind id: `[a-z0-9_]{1,64}`, distinct from built-in and other
    /// custom ids.
    pub id: String,
    /// The regex (Rust `regex` syntax, at most 1,024 bytes), matched on
    /// bytes with ASCII semantics: `(?i)`, `\w`, `\d` and `\b` are
    /// ASCII-only, non-ASCII literals match their UTF-8 encoding. A capture
    /// group named `secret` narrows the reported span to that group.
    pub regex: String,
    /// Literal keywords (ASCII case-insensitive, 3 to 64 bytes, at most 16).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// `credential`, `personal_data` (default) or `custom`.
    #[serde(default)]
    pub category: Option<String>,
    /// One line for humans, shown by `kinds()`.
    #[serde(default)]
    pub description: Option<String>,
}
