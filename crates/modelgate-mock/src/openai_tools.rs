//! The OpenAI shape of a tool call by the demo model: a `tool_calls`
//! message with `finish_reason: "tool_calls"`, or streamed as a first
//! delta carrying the call's id and name then argument fragments.

use http::{Response, StatusCode};
use serde_json::json;

use crate::body::{MockBody, json_value, sse_response};
use crate::openai_stream::{StreamHead, Usage};
use crate::sse::{EventBuf, EventStream};
use crate::state::RequestCtx;
use crate::tools::fragments;

/// What a tool-call reply needs from the request.
pub struct ToolCallReply<'a> {
    /// Response id.
    pub id: &'a str,
    /// Model echoed.
    pub model: &'a str,
    /// Unix seconds.
    pub created: u64,
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Whether to stream.
    pub stream: bool,
    /// The caller's `stream_options.include_usage`.
    pub include_usage: bool,
}

/// The reply calling `name` with `arguments`.
pub fn tool_call(
    ctx: &RequestCtx<'_>,
    r: &ToolCallReply<'_>,
    status: StatusCode,
    name: &str,
    arguments: &str,
) -> Response<MockBody> {
    let call_id = format!("call_mock{:08}", ctx.next_id());
    let pieces = fragments(arguments);
    let usage = Usage::new(r.prompt_tokens.max(1), pieces.len() + 1);
    if !r.stream {
        let body = json!({
            "id": r.id,
            "object": "chat.completion",
            "created": r.created,
            "model": r.model,
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": null,
                    "refusal": null,
                    "tool_calls": [{
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments},
                    }],
                },
                "logprobs": null,
                "finish_reason": "tool_calls",
            }],
            "usage": usage,
        });
        return json_value(status, &body);
    }
    let head = StreamHead {
        id: r.id,
        object: "chat.completion.chunk",
        created: r.created,
        model: r.model,
        include_usage: r.include_usage,
    };
    let mut buf = EventBuf::with_capacity(pieces.len() + 4, 256 * (pieces.len() + 4));
    let choice = |delta, finish: Option<&str>| json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish});
    let first = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }],
    });
    head.push(&mut buf, choice(first, None));
    for piece in pieces {
        let delta = json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]});
        head.push(&mut buf, choice(delta, None));
    }
    head.push(&mut buf, choice(json!({}), Some("tool_calls")));
    head.finish(&mut buf, usage);
    sse_response(status, EventStream::new(buf.finish(), ctx.stream_plan()))
}
