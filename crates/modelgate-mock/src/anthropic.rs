//! Anthropic Messages wire format: `POST /v1/messages` (streamed and not),
//! `POST /v1/messages/count_tokens`, and the error body.

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::anthropic_tools::{ToolUseReply, tool_use};
use crate::body::{MockBody, json_value, sse_response};
use crate::sse::{EventBuf, EventStream};
use crate::state::RequestCtx;
use crate::text::{
    ECHO_MAX_CHARS, Reply, content_text, count_words, for_each_text, reply_text, truncate_chars,
};
use crate::tools::{ToolTurn, anthropic_turn};
use crate::util::parse_json;

/// Model name echoed when the body names none.
pub const DEFAULT_MODEL: &str = "demo-chat";

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

/// The Anthropic error `type` for an HTTP status.
pub fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 405 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        _ => "api_error",
    }
}

/// An Anthropic-style error response (`429` adds `retry-after: 1`).
pub fn error(status: StatusCode, message: &str) -> Response<MockBody> {
    let body = ErrorBody {
        kind: "error",
        error: ErrorDetail {
            kind: error_type(status),
            message,
        },
    };
    let mut resp = json_value(status, &body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessagesRequest {
    model: Option<String>,
    messages: Vec<Message>,
    system: Value,
    stream: Option<bool>,
    tools: Value,
    tool_choice: Value,
    thinking: Value,
}

impl MessagesRequest {
    fn input_tokens(&self) -> usize {
        let mut n = 0;
        for_each_text(&self.system, &mut |t| n += count_words(t));
        for m in &self.messages {
            for_each_text(&m.content, &mut |t| n += count_words(t));
        }
        n.max(1)
    }
}

#[derive(Serialize, Clone, Copy)]
struct Usage {
    input_tokens: usize,
    output_tokens: usize,
}

#[derive(Serialize)]
struct TextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    text: &'a str,
}

#[derive(Serialize)]
struct MessageBody<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    role: &'a str,
    model: &'a str,
    content: &'a [TextBlock<'a>],
    stop_reason: Option<&'a str>,
    stop_sequence: Option<&'a str>,
    usage: Usage,
}

#[derive(Serialize)]
struct MessageStart<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: MessageBody<'a>,
}

#[derive(Serialize)]
struct BlockStart<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    index: u32,
    content_block: TextBlock<'a>,
}

#[derive(Serialize)]
struct BlockDelta<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    index: u32,
    delta: TextBlock<'a>,
}

#[derive(Serialize)]
struct Typed<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Indexed<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    index: u32,
}

#[derive(Serialize)]
struct StopDelta<'a> {
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
}

#[derive(Serialize)]
struct OutputUsage {
    output_tokens: usize,
}

#[derive(Serialize)]
struct MessageDelta<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    delta: StopDelta<'a>,
    usage: OutputUsage,
}

/// `POST /v1/messages`.
pub fn messages(ctx: &RequestCtx<'_>, body: &[u8]) -> Response<MockBody> {
    let req: MessagesRequest = match parse_json(body) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    let model = req.model.as_deref().unwrap_or(DEFAULT_MODEL);
    let input_tokens = req.input_tokens();
    let id = format!("msg_mock{:08}", ctx.next_id());
    let status = ctx.behavior.success_status();
    let last_user = req
        .messages
        .last()
        .filter(|m| m.role.as_deref() == Some("user"))
        .map(|m| &m.content);
    let base = match anthropic_turn(&req.tools, &req.tool_choice, last_user) {
        Some(ToolTurn::Call { name, arguments }) => {
            // Extended thinking: the model thinks aloud about the last
            // user text before calling the tool.
            let thinking = (req.thinking.get("type").and_then(Value::as_str) == Some("enabled"))
                .then(|| {
                    let text = last_user.and_then(content_text).unwrap_or_default();
                    format!("The user asked: {}", truncate_chars(&text, ECHO_MAX_CHARS))
                });
            let r = ToolUseReply {
                id: &id,
                model,
                input_tokens,
                stream: req.stream == Some(true),
                thinking: thinking.as_deref(),
            };
            return tool_use(ctx, &r, status, &name, &arguments);
        }
        Some(ToolTurn::Answer(text)) => text,
        None => {
            let user_text = req
                .messages
                .iter()
                .rev()
                .find(|m| m.role.as_deref() == Some("user"))
                .and_then(|m| content_text(&m.content));
            reply_text(user_text.as_deref())
        }
    };
    let reply = Reply::new(base, ctx.behavior.chunks);
    let output_tokens = reply.tokens();

    if req.stream != Some(true) {
        let content = [TextBlock {
            kind: "text",
            text: &reply.text,
        }];
        return json_value(
            status,
            &MessageBody {
                id: &id,
                kind: "message",
                role: "assistant",
                model,
                content: &content,
                stop_reason: Some("end_turn"),
                stop_sequence: None,
                usage: Usage {
                    input_tokens,
                    output_tokens,
                },
            },
        );
    }

    let events = output_tokens + 6;
    let mut buf = EventBuf::with_capacity(events, reply.text.len() + events * 120 + model.len());
    buf.named_json(
        "message_start",
        &MessageStart {
            kind: "message_start",
            message: MessageBody {
                id: &id,
                kind: "message",
                role: "assistant",
                model,
                content: &[],
                stop_reason: None,
                stop_sequence: None,
                usage: Usage {
                    input_tokens,
                    output_tokens: 1,
                },
            },
        },
    );
    buf.named_json(
        "content_block_start",
        &BlockStart {
            kind: "content_block_start",
            index: 0,
            content_block: TextBlock {
                kind: "text",
                text: "",
            },
        },
    );
    buf.named_json("ping", &Typed { kind: "ping" });
    for piece in reply.iter() {
        buf.named_json(
            "content_block_delta",
            &BlockDelta {
                kind: "content_block_delta",
                index: 0,
                delta: TextBlock {
                    kind: "text_delta",
                    text: piece,
                },
            },
        );
    }
    buf.named_json(
        "content_block_stop",
        &Indexed {
            kind: "content_block_stop",
            index: 0,
        },
    );
    buf.named_json(
        "message_delta",
        &MessageDelta {
            kind: "message_delta",
            delta: StopDelta {
                stop_reason: "end_turn",
                stop_sequence: None,
            },
            usage: OutputUsage { output_tokens },
        },
    );
    buf.named_json(
        "message_stop",
        &Typed {
            kind: "message_stop",
        },
    );
    sse_response(status, EventStream::new(buf.finish(), ctx.stream_plan()))
}

/// `POST /v1/messages/count_tokens`.
pub fn count_tokens(ctx: &RequestCtx<'_>, body: &[u8]) -> Response<MockBody> {
    let req: MessagesRequest = match parse_json(body) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    #[derive(Serialize)]
    struct Count {
        input_tokens: usize,
    }
    json_value(
        ctx.behavior.success_status(),
        &Count {
            input_tokens: req.input_tokens(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_types() {
        assert_eq!(
            error_type(StatusCode::TOO_MANY_REQUESTS),
            "rate_limit_error"
        );
        assert_eq!(error_type(StatusCode::UNAUTHORIZED), "authentication_error");
        assert_eq!(error_type(StatusCode::INTERNAL_SERVER_ERROR), "api_error");
        assert_eq!(
            error_type(StatusCode::SERVICE_UNAVAILABLE),
            "overloaded_error"
        );
        assert_eq!(error_type(StatusCode::BAD_REQUEST), "invalid_request_error");
    }

    #[test]
    fn input_tokens_include_system_and_blocks() {
        let req: MessagesRequest = serde_json::from_value(json!({
            "system": [{"type": "text", "text": "be nice"}],
            "messages": [
                {"role": "user", "content": "one two three"},
                {"role": "assistant", "content": [{"type": "text", "text": "four"}]}
            ]
        }))
        .unwrap();
        assert_eq!(req.input_tokens(), 6);
        let empty: MessagesRequest = serde_json::from_value(json!({})).unwrap();
        assert_eq!(empty.input_tokens(), 1);
    }
}
