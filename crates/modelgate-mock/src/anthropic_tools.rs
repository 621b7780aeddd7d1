//! The Anthropic shape of a tool call by the demo model: a `tool_use`
//! content block with `stop_reason: "tool_use"`, or streamed as
//! `content_block_start` (type `tool_use`) then `input_json_delta`
//! fragments. When the request enables extended thinking, a `thinking`
//! block (streamed as `thinking_delta` fragments and a `signature_delta`)
//! comes first.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::body::{MockBody, json_value, sse_response};
use crate::sse::{EventBuf, EventStream};
use crate::state::RequestCtx;
use crate::tools::fragments;

/// What a tool-use reply needs from the request.
pub struct ToolUseReply<'a> {
    /// Message id.
    pub id: &'a str,
    /// Model echoed.
    pub model: &'a str,
    /// Input tokens.
    pub input_tokens: usize,
    /// Whether to stream.
    pub stream: bool,
    /// The thinking shown before the call, when the request enables it.
    pub thinking: Option<&'a str>,
}

/// The signature the mock puts on a thinking block.
const SIGNATURE: &str = "mock-signature";

/// The reply calling `name` with `arguments` (a JSON object string).
pub fn tool_use(
    ctx: &RequestCtx<'_>,
    r: &ToolUseReply<'_>,
    status: StatusCode,
    name: &str,
    arguments: &str,
) -> Response<MockBody> {
    let ToolUseReply {
        id,
        model,
        input_tokens,
        stream,
        thinking,
    } = *r;
    let tool_id = format!("toolu_mock{:08}", ctx.next_id());
    let pieces = fragments(arguments);
    let output_tokens = pieces.len() + 1;
    let input: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
    let tool_index = u32::from(thinking.is_some());
    if !stream {
        let mut content: Vec<Value> = thinking
            .map(|t| json!({"type": "thinking", "thinking": t, "signature": SIGNATURE}))
            .into_iter()
            .collect();
        content.push(json!({"type": "tool_use", "id": tool_id, "name": name, "input": input}));
        let body = json!({
            "id": id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        });
        return json_value(status, &body);
    }
    let mut buf = EventBuf::with_capacity(pieces.len() + 7, 200 * (pieces.len() + 7));
    let message = json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    });
    buf.named_json(
        "message_start",
        &json!({"type": "message_start", "message": message}),
    );
    if let Some(thinking) = thinking {
        thinking_block(&mut buf, thinking);
    }
    buf.named_json(
        "content_block_start",
        &json!({"type": "content_block_start", "index": tool_index,
                "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}}}),
    );
    buf.named_json("ping", &json!({"type": "ping"}));
    for piece in std::iter::once("").chain(pieces) {
        buf.named_json(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": tool_index,
                    "delta": {"type": "input_json_delta", "partial_json": piece}}),
        );
    }
    buf.named_json(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": tool_index}),
    );
    buf.named_json(
        "message_delta",
        &json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"output_tokens": output_tokens}}),
    );
    buf.named_json("message_stop", &json!({"type": "message_stop"}));
    sse_response(status, EventStream::new(buf.finish(), ctx.stream_plan()))
}

/// A streamed thinking block at index 0: `thinking` in fragments, then its
/// signature.
fn thinking_block(buf: &mut EventBuf, thinking: &str) {
    buf.named_json(
        "content_block_start",
        &json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
    );
    for piece in fragments(thinking) {
        buf.named_json(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": piece}}),
        );
    }
    buf.named_json(
        "content_block_delta",
        &json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "signature_delta", "signature": SIGNATURE}}),
    );
    buf.named_json(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    );
}
