//! Secret and personal-data detection for modelgate, and redaction.
//!
//! This crate owns the `screen` stage of the request path: it finds
//! credentials (47 kinds: cloud keys, VCS tokens, AI provider keys, SaaS
//! tokens, private keys, JWTs, URLs with passwords, generic high-entropy
//! assignments, modelgate's own `mgk_` keys) and personal data (email,
//! phone, payment card, IBAN, US SSN, IPv4, IPv6) in prompts and responses,
//! and replaces them with `[REDACTED:kind]`. [`StreamScanner`] does the same
//! for a response stream, holding back only enough text that a secret split
//! across chunks is still found.
//!
//! What this crate must not touch: HTTP (no server, client or header
//! types), storage, policy. The gateway decides what a finding means.
//!
//! No finding holds matched text: a [`Finding`] is a kind, a byte span and a
//! confidence, and neither `Debug` nor serialisation can leak a secret.
//! Errors name custom pattern ids, never their regexes.
//!
//! Speed: a [`Screener`] is built once. A scan is one SIMD keyword pass
//! (every detector's keywords in one prefilter), one SWAR pass for digits
//! and `@`, and detector work only around what those find, so clean text
//! costs a fraction of a nanosecond per byte.
//!
//! [`corpus`] generates the labelled evaluation corpus (fake credentials of
//! every kind in realistic context, personal data, hard negatives) and
//! scores a screener on it.

mod charset;
mod config;
pub mod corpus;
mod custom;
mod detect;
mod engine;
mod error;
mod finding;
mod kinds;
mod pii;
mod prefilter;
mod redact;
mod resolve;
mod stream;
mod validate;

pub use config::{CustomPattern, DEFAULT_ENTROPY_THRESHOLD, DEFAULT_MAX_SCAN_BYTES, ScreenConfig};
pub use custom::{MAX_COMPILED_SIZE, MAX_CUSTOM_PATTERNS, MAX_KEYWORDS, MAX_REGEX_LEN};
pub use engine::Screener;
pub use error::ScreenError;
pub use finding::{Category, Confidence, Finding, Findings, Kind, KindInfo, Severity};
pub use stream::{MAX_SECRET_LEN, PEM_HOLD_CAP, StreamOutput, StreamScanner};
