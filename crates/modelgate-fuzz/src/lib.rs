//! The bodies of modelgate's fuzz targets: one `pub fn <target>(data: &[u8])`
//! per target, each feeding arbitrary bytes to the workspace crates' public
//! APIs the way the gateway does, and asserting cheap invariants on what
//! they accept (a translated request parses again, a redacted body screened
//! again yields none of the keys found in it, an accepted token's claims
//! agree with the principal made from it).
//!
//! It owns nothing the gateway runs: the cargo-fuzz harness in `fuzz/` (its
//! own cargo workspace, built with libFuzzer) calls these functions, and
//! `tests/corpus.rs` replays every committed corpus entry and crash
//! reproducer under `fuzz/corpus/` and `fuzz/artifacts/` through them in an
//! ordinary `cargo test`. Nothing depends on this crate.
//!
//! No function here may panic on any input; a panic is a finding (an
//! `assert!` failing is one too). [`TARGETS`] lists every target by the name
//! of its directories under `fuzz/`.

mod audit;
mod config;
mod federation;
mod input;
pub mod keys;
mod request;
mod runtime;
mod sse;
mod tokens;
mod translate;

pub use audit::{AUDIT_SEED, audit_export, audit_line};
pub use config::config_toml;
pub use federation::{federated_jwt, settings as federated_issuer};
pub use request::request_body;
pub use sse::sse_frame;
pub use tokens::{access_token, access_tokens};
pub use translate::{translate_request, translate_response, translate_stream};

/// One fuzz target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` directory) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("access_token", access_token),
    ("federated_jwt", federated_jwt),
    ("request_body", request_body),
    ("sse_frame", sse_frame),
    ("translate_request", translate_request),
    ("translate_response", translate_response),
    ("translate_stream", translate_stream),
    ("config_toml", config_toml),
    ("audit_line", audit_line),
    ("audit_export", audit_export),
];
