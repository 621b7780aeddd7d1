//! Errors from building a [`Screener`](crate::Screener).
//!
//! No variant carries the text of a regex or a keyword: a custom pattern may
//! embed a fragment of a real secret, and errors end up in logs.

/// Why a screen configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScreenError {
    /// A custom pattern is malformed; `id` names it, `reason` says what is
    /// wrong without repeating the pattern.
    #[error("custom pattern `{id}`: {reason}")]
    CustomPattern {
        /// The id of the offending pattern (or a placeholder when the id
        /// itself is malformed).
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `disabled` names a kind that does not exist.
    #[error("unknown kind `{0}` in `disabled`")]
    UnknownKind(String),
    /// A numeric setting is out of range.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidSetting {
        /// The config field.
        field: &'static str,
        /// The accepted range.
        reason: &'static str,
    },
    /// A built-in detector failed to compile: a bug, covered by tests.
    #[error("built-in detector `{0}` failed to compile")]
    Builtin(&'static str),
}
