//! Keyword-anchored detectors: the shared types and the two generic
//! matchers (token runs and regex windows).
//!
//! Each detector owns keywords; the engine finds keyword hits with one
//! prefilter pass and hands each hit to its owners, which look only at the
//! bytes around it.

pub(crate) mod context;
mod jwt;
mod raw;
pub(crate) mod structured;
pub(crate) mod tokens;
mod window;

pub(crate) use raw::Raw;
pub(crate) use window::{Span, Value, Window, WindowSpec, run_windows};

use std::ops::Range;

use crate::charset::{self, Charset};
use crate::finding::Confidence;

/// Settings that validators read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    /// Minimum entropy of a generic secret value, bits per byte.
    pub entropy_threshold: f64,
}

/// What a token check returns: the secret's range inside the run, and how
/// sure it is.
pub(crate) type Verdict = Option<(Range<usize>, Confidence)>;

/// A token detector: the secret is the maximal run of `run` bytes around the
/// keyword; `check` gets the run and the keyword's offset in it.
pub(crate) struct TokenSpec {
    pub kind: &'static str,
    pub keywords: &'static [&'static str],
    pub run: Charset,
    pub check: fn(run: &[u8], kw: usize) -> Verdict,
}

/// Longest token run looked at, each side of a keyword.
const TOKEN_CAP: usize = 512;

/// Entropy (bits per byte) below which a token-shaped match is a
/// placeholder; random tokens of 20 characters or more are above 4.
const TOKEN_MIN_ENTROPY: f64 = 3.0;

impl TokenSpec {
    /// Checks the run around a keyword hit. `Err(skip)`: nothing here, and
    /// no hit before `skip` can be a token of this kind either.
    pub(crate) fn matches(&self, text: &[u8], hit: &Range<usize>) -> Result<Option<Raw>, usize> {
        let (start, end) = charset::run_around(text, hit.start, hit.end, self.run, TOKEN_CAP)?;
        let Some((span, confidence)) = (self.check)(&text[start..end], hit.start - start) else {
            return Err(end);
        };
        let span = start + span.start..start + span.end;
        // Placeholders such as `ghp_xxxx…` or `AKIAXXXXXXXXXXXXXXXX` have the
        // right shape but nothing random in them.
        if crate::validate::entropy(&text[span.clone()]) < TOKEN_MIN_ENTROPY {
            return Err(end);
        }
        Ok(Some(Raw::builtin(self.kind, span, confidence)))
    }
}

/// Hand-written detectors with their own keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    /// `-----BEGIN … PRIVATE KEY-----` blocks.
    Pem,
    /// `"type": "service_account"` JSON with a `private_key`.
    GcpServiceAccount,
    /// `scheme://user:password@host`.
    CredentialUrl,
}

impl Special {
    /// Every special detector.
    pub(crate) const ALL: [Special; 3] = [
        Special::Pem,
        Special::GcpServiceAccount,
        Special::CredentialUrl,
    ];

    /// The kinds it can report.
    pub(crate) fn kinds(self) -> &'static [&'static str] {
        match self {
            Special::Pem => &["private_key_pem", "openssh_private_key", "pgp_private_key"],
            Special::GcpServiceAccount => &["gcp_service_account"],
            Special::CredentialUrl => &["database_url_with_password", "basic_auth_url"],
        }
    }

    /// Its keywords.
    pub(crate) fn keywords(self) -> &'static [&'static str] {
        match self {
            Special::Pem => &["PRIVATE KEY"],
            Special::GcpServiceAccount => &["service_account"],
            Special::CredentialUrl => &["://"],
        }
    }

    /// Looks at one keyword hit. Returns the end of what it consumed, so the
    /// engine can skip hits inside it.
    pub(crate) fn run(self, text: &[u8], hit: &Range<usize>, out: &mut Vec<Raw>) -> Option<usize> {
        let raw = match self {
            Special::Pem => structured::pem(text, hit),
            Special::GcpServiceAccount => structured::gcp_service_account(text, hit),
            Special::CredentialUrl => structured::credential_url(text, hit),
        }?;
        let end = raw.span.end;
        out.push(raw);
        Some(end)
    }
}
