//! `translate_request`, `translate_response` and `translate_stream`: the
//! dialect translators, each way, as the forward stage uses them.

use modelgate_gateway::stages::parse::parse;
use modelgate_translate::frame::{event_end, event_fields};
use modelgate_translate::{
    AnthropicToOpenAiStream, EventSplitter, OpenAiToAnthropicStream, StreamTranslator,
    anthropic_error_to_openai, anthropic_to_openai_request, anthropic_to_openai_response,
    openai_error_to_anthropic, openai_to_anthropic_request, openai_to_anthropic_response,
};
use modelgate_types::Operation;
use serde_json::Value;

use crate::input::{chunks, selector};

/// The upstream model a translated request names.
const UPSTREAM_MODEL: &str = "upstream-model";
/// The public model a translated answer names.
const PUBLIC_MODEL: &str = "public-model";
/// Larger than any input (see `sse.rs`).
const MAX_EVENT_BYTES: usize = 1 << 20;
/// How many bytes after the selector give the chunk sizes.
const SIZE_BYTES: usize = 4;

/// Selector bit 0: OpenAI → Anthropic, or back. A body the parse stage
/// accepts, once translated, is accepted by the parse stage of the other
/// dialect, names the upstream model and keeps the stream flag.
pub fn translate_request(data: &[u8]) {
    let Some((pick, body)) = selector(data) else {
        return;
    };
    let (from, to, translated) = if pick & 1 == 0 {
        (
            Operation::ChatCompletions,
            Operation::Messages,
            openai_to_anthropic_request(body, UPSTREAM_MODEL, 1024),
        )
    } else {
        (
            Operation::Messages,
            Operation::ChatCompletions,
            anthropic_to_openai_request(body, UPSTREAM_MODEL),
        )
    };
    let Ok(call) = parse(from, body) else {
        return;
    };
    let Ok(out) = translated else {
        return;
    };
    let again = match parse(to, &out) {
        Ok(again) => again,
        Err(e) => panic!("a translated request does not parse: {e:?}"),
    };
    assert_eq!(again.model, UPSTREAM_MODEL);
    assert_eq!(again.stream, call.stream);
}

/// Selector bit 0: the direction; bit 1: an error body (with the status
/// from the selector) or an answer. What comes out is a JSON object; an
/// answer names the public model.
pub fn translate_response(data: &[u8]) {
    let Some((pick, body)) = selector(data) else {
        return;
    };
    let status = 400 + u16::from(pick >> 2);
    let out = match (pick & 1 == 0, pick & 2 == 0) {
        (true, true) => openai_to_anthropic_response(body, PUBLIC_MODEL).ok(),
        (false, true) => anthropic_to_openai_response(body, PUBLIC_MODEL).ok(),
        (true, false) => Some(openai_error_to_anthropic(body, status)),
        (false, false) => Some(anthropic_error_to_openai(body, status)),
    };
    let Some(out) = out else {
        return;
    };
    let value: Value = match serde_json::from_slice(&out) {
        Ok(value) => value,
        Err(e) => panic!("a translated answer is not JSON: {e}"),
    };
    assert!(value.is_object(), "a translated answer is not an object");
    if pick & 2 == 0 {
        assert_eq!(
            value.get("model").and_then(Value::as_str),
            Some(PUBLIC_MODEL)
        );
    }
}

fn translator(pick: u8) -> Box<dyn StreamTranslator> {
    if pick & 1 == 0 {
        Box::new(OpenAiToAnthropicStream::new(PUBLIC_MODEL))
    } else {
        Box::new(AnthropicToOpenAiStream::new(PUBLIC_MODEL, pick & 2 != 0))
    }
}

/// The stream translated from `pieces`, or `None` if it was refused.
fn translate(pick: u8, pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let mut translator = translator(pick);
    let mut splitter = EventSplitter::new(MAX_EVENT_BYTES);
    let mut out = Vec::new();
    for piece in pieces {
        splitter.feed(piece, translator.as_mut(), &mut out).ok()?;
    }
    splitter.finish(translator.as_mut(), &mut out).ok()?;
    Some(out)
}

/// Selector bit 0: OpenAI → Anthropic, or back (bit 1: with the usage
/// chunk); then chunk sizes; then the upstream stream. The output is whole
/// events whose data is JSON (or `[DONE]`), the same however the stream was
/// cut.
pub fn translate_stream(data: &[u8]) {
    let Some((pick, rest)) = selector(data) else {
        return;
    };
    let (sizes, stream) = rest.split_at(rest.len().min(SIZE_BYTES));
    let whole = translate(pick, &[stream]);
    let cut = translate(pick, &chunks(stream, sizes));
    assert_eq!(
        whole.as_deref().map(without_created),
        cut.as_deref().map(without_created),
        "the translation depends on how the stream is cut"
    );
    let Some(out) = whole else {
        return;
    };
    let mut at = 0;
    while let Some(len) = event_end(&out[at..]) {
        if let Some(data) = event_fields(&out[at..at + len]).data {
            assert!(
                data == b"[DONE]" || serde_json::from_slice::<Value>(&data).is_ok(),
                "a translated event's data is not JSON"
            );
        }
        at += len;
    }
    assert_eq!(at, out.len(), "the translated stream ends mid-event");
}

/// `out` without the digits of its `"created":` members: the OpenAI chunks
/// the translator writes carry the time they were made.
fn without_created(out: &[u8]) -> Vec<u8> {
    const CREATED: &[u8] = b"\"created\":";
    let mut kept = Vec::with_capacity(out.len());
    let mut at = 0;
    while at < out.len() {
        if out[at..].starts_with(CREATED) {
            kept.extend_from_slice(CREATED);
            at += CREATED.len();
            while out.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
        } else {
            kept.push(out[at]);
            at += 1;
        }
    }
    kept
}
