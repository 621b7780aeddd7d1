//! modelgate's dialect translation: between the OpenAI Chat Completions and
//! the Anthropic Messages wire formats, so that a caller speaking one
//! dialect can be served by an upstream speaking the other, and the
//! server-sent event framing both streams share ([`frame`], the usage-reading
//! [`sse_tap::SseTap`]).
//!
//! Everything here is pure: bytes and `serde_json` values in, bytes out, no
//! HTTP types. Requests go caller → upstream ([`anthropic_to_openai_request`],
//! [`openai_to_anthropic_request`]); complete responses and error bodies go
//! upstream → caller ([`openai_to_anthropic_response`],
//! [`anthropic_to_openai_response`], [`openai_error_to_anthropic`],
//! [`anthropic_error_to_openai`]); streams go through the stateful
//! [`OpenAiToAnthropicStream`] and [`AnthropicToOpenAiStream`], both behind
//! [`StreamTranslator`], fed one parsed server-sent event at a time (an
//! [`EventSplitter`] turns upstream bytes into such events).
//!
//! What is translated, dropped or refused is listed in `docs/translation.md`.
//! Refusals are [`TranslateError`]s naming the field at fault; they never
//! carry a value from the body.
//!
//! It depends only on `modelgate-types`: no HTTP, no I/O, no other
//! modelgate crate, so the data plane (and anything else) can use it.

mod error_body;
mod events;
pub mod frame;
mod json;
mod request_to_anthropic;
mod request_to_openai;
mod response;
pub mod sse_tap;
mod stream_text;
mod stream_to_anthropic;
mod stream_to_openai;

#[cfg(test)]
mod round_trip_tests;

pub use error_body::{anthropic_error_to_openai, openai_error_to_anthropic};
pub use events::EventSplitter;
pub use request_to_anthropic::{openai_stream_include_usage, openai_to_anthropic_request};
pub use request_to_openai::anthropic_to_openai_request;
pub use response::{anthropic_to_openai_response, openai_to_anthropic_response};
pub use stream_text::{estimate_tokens, text_bytes};
pub use stream_to_anthropic::OpenAiToAnthropicStream;
pub use stream_to_openai::AnthropicToOpenAiStream;

use modelgate_types::Usage;

/// Why a body could not be translated. `field` is a path into the body
/// (`messages[2].content[0].type`), never a value from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The body is not JSON.
    #[error("the body is not valid JSON")]
    InvalidJson,
    /// A required field is absent.
    #[error("`{field}` is required")]
    Missing {
        /// Path of the missing field.
        field: String,
    },
    /// A field has the wrong JSON type or an unknown value.
    #[error("`{field}` must be {expected}")]
    Invalid {
        /// Path of the field.
        field: String,
        /// What was expected, e.g. "a string".
        expected: &'static str,
    },
    /// A feature with no counterpart in the other dialect.
    #[error("`{field}` is not supported when translating to the {target} format: {reason}")]
    Unsupported {
        /// Path of the field.
        field: String,
        /// The dialect translated to ("OpenAI" or "Anthropic").
        target: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Tool-call arguments that are not a JSON object.
    #[error("`{field}` must be a JSON object encoded as a string")]
    InvalidToolArguments {
        /// Path of the arguments.
        field: String,
    },
    /// An upstream stream event that does not fit the stream so far.
    #[error("the upstream stream is malformed: {reason}")]
    MalformedStream {
        /// What was wrong.
        reason: &'static str,
    },
}

impl TranslateError {
    /// The path of the field at fault, if there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            TranslateError::Missing { field }
            | TranslateError::Invalid { field, .. }
            | TranslateError::Unsupported { field, .. }
            | TranslateError::InvalidToolArguments { field } => Some(field),
            TranslateError::InvalidJson | TranslateError::MalformedStream { .. } => None,
        }
    }
}

/// A stream translator: takes the upstream's events one at a time and
/// writes server-sent events in the caller's dialect.
pub trait StreamTranslator: Send {
    /// Translates one upstream event. `event` is the `event:` name (if any),
    /// `data` the joined `data:` lines. Events without data (comments,
    /// keep-alives) need not be pushed. After an error the caller should
    /// end the stream with an error event of its own.
    fn push(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError>;

    /// The upstream body ended. Writes the closing events if the upstream
    /// had finished its answer without a terminator, or an error event if
    /// it ended mid-answer. Does nothing after a proper end.
    fn finish(&mut self, out: &mut Vec<u8>);

    /// Whether the caller's stream is complete (terminator written).
    fn is_done(&self) -> bool;

    /// Token usage reported by the upstream so far.
    fn usage(&self) -> Usage;
}
