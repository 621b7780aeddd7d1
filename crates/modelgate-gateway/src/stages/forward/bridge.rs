//! Crossing dialects: the body sent to a target, and what comes back, when
//! the caller and the upstream speak different APIs (an Anthropic Messages
//! caller served by vLLM, an OpenAI chat caller served by Anthropic), built
//! on the pure translators in `modelgate-translate`.
//!
//! Same-dialect calls pass through here unchanged apart from the upstream
//! model name and the usage request (see [`ModelCall::rewrite_body`]) and,
//! on the way back, the answer's `model`, which names the public model
//! again ([`super::reply`], and the stream tap's `naming_model`).

use bytes::Bytes;
use http::StatusCode;

use modelgate_types::Dialect;

use crate::api_error::{ApiError, ErrorKind};
use modelgate_types::Operation;

use crate::routes::Target;
use crate::stages::parse::ModelCall;
use modelgate_translate::sse_tap::{MalformedStream, SseTap};
use modelgate_translate::{
    AnthropicToOpenAiStream, EventSplitter, OpenAiToAnthropicStream, StreamTranslator,
    anthropic_error_to_openai, anthropic_to_openai_request, anthropic_to_openai_response,
    openai_error_to_anthropic, openai_to_anthropic_request, openai_to_anthropic_response,
};
use modelgate_types::Usage;

/// `max_tokens` sent to an Anthropic upstream when an OpenAI caller set
/// none (Anthropic requires it).
pub const DEFAULT_TRANSLATED_MAX_TOKENS: u64 = 4096;

/// Whether the call to `target` crosses dialects.
pub fn crosses(call: &ModelCall, target: &Target) -> bool {
    target.upstream.dialect() != call.operation.dialect()
}

/// The operation and body to send to `target`. The caller's body is first
/// brought to one output-ceiling field carrying the value decided on, so a
/// translator reads exactly that value too.
pub fn upstream_request(
    call: &ModelCall,
    target: &Target,
    body: &Bytes,
) -> Result<(Operation, Bytes), ApiError> {
    let unrewritable = |e: crate::stages::parse::Unrewritable| {
        ApiError::new(ErrorKind::InvalidRequest, e.to_string()).with_code("invalid_request_body")
    };
    if !crosses(call, target) {
        let rewritten = call
            .rewrite_body(body, &target.model, call.needs_usage_injection())
            .map_err(unrewritable)?;
        return Ok((
            call.operation,
            rewritten.map_or_else(|| body.clone(), Bytes::from),
        ));
    }
    let normalised = call
        .rewrite_body(body, &call.model, false)
        .map_err(unrewritable)?;
    let body: &[u8] = normalised.as_deref().unwrap_or(body);
    let translated = match call.operation {
        Operation::Messages => anthropic_to_openai_request(body, &target.model)
            .map(|b| (Operation::ChatCompletions, b)),
        Operation::ChatCompletions => {
            openai_to_anthropic_request(body, &target.model, DEFAULT_TRANSLATED_MAX_TOKENS)
                .map(|b| (Operation::Messages, b))
        }
        Operation::Completions | Operation::Embeddings | Operation::ModelsList => {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                "this operation is not available on the model's upstreams",
            ));
        }
    };
    translated
        .map(|(op, bytes)| (op, Bytes::from(bytes)))
        .map_err(|e| {
            ApiError::new(
                ErrorKind::InvalidRequest,
                format!(
                    "the request cannot be served by this model's upstream ({}): {e}",
                    target.upstream.dialect().name()
                ),
            )
            .with_code("untranslatable_request")
        })
}

/// A complete upstream response in the caller's dialect, naming the public
/// model, with its usage and a note when a successful same-dialect body is
/// not JSON (relayed as it came). `Err` when a successful response could
/// not be translated.
pub fn caller_response(
    call: &ModelCall,
    target: &Target,
    status: StatusCode,
    body: Bytes,
) -> Result<super::reply::Reply, MalformedStream> {
    let upstream_dialect = target.upstream.dialect();
    if !crosses(call, target) {
        if status.is_success() {
            return Ok(super::reply::same_dialect(
                upstream_dialect,
                &call.model,
                body,
            ));
        }
        return Ok(super::reply::Reply {
            body,
            usage: Usage::default(),
            note: None,
        });
    }
    let usage = if status.is_success() {
        Usage::from_body(upstream_dialect, &body)
    } else {
        Usage::default()
    };
    let caller = call.operation.dialect();
    let translated = match (status.is_success(), caller) {
        (true, Dialect::Anthropic) => {
            openai_to_anthropic_response(&body, &call.model).map_err(|_| MalformedStream)?
        }
        (true, Dialect::OpenAi) => {
            anthropic_to_openai_response(&body, &call.model).map_err(|_| MalformedStream)?
        }
        (false, Dialect::Anthropic) => openai_error_to_anthropic(&body, status.as_u16()),
        (false, Dialect::OpenAi) => anthropic_error_to_openai(&body, status.as_u16()),
    };
    Ok(super::reply::Reply {
        body: Bytes::from(translated),
        usage,
        note: None,
    })
}

/// Reads an upstream event stream: passes it through (reading usage), or
/// translates it event by event into the caller's dialect.
pub enum StreamTap {
    /// Same dialect.
    Pass(SseTap),
    /// Crossing dialects.
    Translate {
        /// Bytes → events.
        splitter: EventSplitter,
        /// Events → caller's events, counting the generated text.
        translator: Counting,
    },
}

/// A stream translator that also counts the generated text of the
/// upstream's events (see [`modelgate_translate::text_bytes`]).
pub struct Counting {
    inner: Box<dyn StreamTranslator>,
    upstream: Dialect,
    text_bytes: u64,
}

impl StreamTranslator for Counting {
    fn push(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), modelgate_translate::TranslateError> {
        self.text_bytes += modelgate_translate::text_bytes(self.upstream, data);
        self.inner.push(event, data, out)
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.inner.finish(out);
    }

    fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    fn usage(&self) -> Usage {
        self.inner.usage()
    }
}

impl std::fmt::Debug for StreamTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamTap::Pass(_) => f.write_str("StreamTap::Pass"),
            StreamTap::Translate { .. } => f.write_str("StreamTap::Translate"),
        }
    }
}

impl StreamTap {
    /// The tap for a stream of `call` from `upstream_dialect`.
    pub fn new(call: &ModelCall, upstream_dialect: Dialect, max_event_bytes: usize) -> StreamTap {
        let caller = call.operation.dialect();
        if caller == upstream_dialect {
            return StreamTap::Pass(
                SseTap::new(caller, call.needs_usage_injection(), max_event_bytes)
                    .naming_model(&call.model),
            );
        }
        let translator: Box<dyn StreamTranslator> = match caller {
            Dialect::Anthropic => Box::new(OpenAiToAnthropicStream::new(&call.model)),
            Dialect::OpenAi => Box::new(AnthropicToOpenAiStream::new(
                &call.model,
                call.caller_wants_usage,
            )),
        };
        StreamTap::Translate {
            splitter: EventSplitter::new(max_event_bytes),
            translator: Counting {
                inner: translator,
                upstream: upstream_dialect,
                text_bytes: 0,
            },
        }
    }

    /// Feeds upstream bytes; returns the bytes to send to the caller.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Bytes, MalformedStream> {
        match self {
            StreamTap::Pass(tap) => tap.feed(chunk),
            StreamTap::Translate {
                splitter,
                translator,
            } => {
                let mut out = Vec::new();
                splitter
                    .feed(chunk, translator, &mut out)
                    .map_err(|_| MalformedStream)?;
                Ok(Bytes::from(out))
            }
        }
    }

    /// The upstream ended: the rest for the caller.
    pub fn finish(&mut self) -> Result<Bytes, MalformedStream> {
        match self {
            StreamTap::Pass(tap) => tap.finish(),
            StreamTap::Translate {
                splitter,
                translator,
            } => {
                let mut out = Vec::new();
                splitter
                    .finish(translator, &mut out)
                    .map_err(|_| MalformedStream)?;
                Ok(Bytes::from(out))
            }
        }
    }

    /// Usage seen so far.
    pub fn usage(&self) -> Usage {
        match self {
            StreamTap::Pass(tap) => tap.usage(),
            StreamTap::Translate { translator, .. } => translator.usage(),
        }
    }

    /// Bytes of generated text the upstream streamed so far.
    pub fn text_bytes(&self) -> u64 {
        match self {
            StreamTap::Pass(tap) => tap.text_bytes(),
            StreamTap::Translate { translator, .. } => translator.text_bytes,
        }
    }
}
