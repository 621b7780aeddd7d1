//! OpenAI wire format: chat completions, legacy completions, models and the
//! error body (embeddings live in [`crate::embeddings`]).

use bytes::Bytes;
use http::header::{HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{MockBody, json_response, json_value, sse_response};
use crate::openai_stream::{ChunkChoice, Delta, Envelope, StreamHead, Usage};
use crate::openai_tools::{ToolCallReply, tool_call};
use crate::sse::{EventBuf, EventStream};
use crate::state::RequestCtx;
use crate::text::{Reply, content_text, count_words, for_each_text, reply_text};
use crate::tools::{ToolTurn, openai_turn};
use crate::util::{now_unix, parse_json};

/// Model name echoed when neither the body nor the path names one.
pub const DEFAULT_CHAT_MODEL: &str = "demo-chat";

const MODELS: &[u8] = br#"{"object":"list","data":[{"id":"demo-chat","object":"model","created":0,"owned_by":"modelgate"},{"id":"demo-embed","object":"model","created":0,"owned_by":"modelgate"}]}"#;

/// `GET /v1/models`.
pub fn models() -> Response<MockBody> {
    json_response(StatusCode::OK, Bytes::from_static(MODELS))
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// The OpenAI error `type` for an HTTP status.
pub fn error_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 405 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

/// An OpenAI-style error response (`429` adds `retry-after: 1`).
pub fn error(status: StatusCode, message: &str) -> Response<MockBody> {
    let body = ErrorBody {
        error: ErrorDetail {
            message,
            kind: error_type(status),
            param: None,
            code: None,
        },
    };
    let mut resp = json_value(status, &body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        resp.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StreamOptions {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
struct ChatMessage {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChatRequest {
    model: Option<String>,
    messages: Vec<ChatMessage>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    tools: Value,
    tool_choice: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompletionRequest {
    model: Option<String>,
    prompt: Value,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct ChatChoice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    finish_reason: &'a str,
    logprobs: Option<()>,
}

#[derive(Serialize)]
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'a str,
    created: u64,
    model: &'a str,
    choices: [ChatChoice<'a>; 1],
    usage: Usage,
}

#[derive(Serialize)]
struct TextChoice<'a> {
    text: &'a str,
    index: u32,
    logprobs: Option<()>,
    finish_reason: Option<&'a str>,
}

fn stream_capacity(reply: &Reply, model: &str) -> usize {
    reply.text.len() + (reply.tokens() + 4) * (160 + model.len())
}

/// `POST /v1/chat/completions` (and the Azure deployment path).
pub fn chat(ctx: &RequestCtx<'_>, body: &[u8], deployment: Option<&str>) -> Response<MockBody> {
    let req: ChatRequest = match parse_json(body) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    let model = req
        .model
        .as_deref()
        .or(deployment)
        .unwrap_or(DEFAULT_CHAT_MODEL);
    let mut prompt_tokens = 0;
    for m in &req.messages {
        for_each_text(&m.content, &mut |t| prompt_tokens += count_words(t));
    }
    let id = format!("chatcmpl-mock{:08}", ctx.next_id());
    let created = now_unix();
    let status = ctx.behavior.success_status();
    let turn = tool_turn(&req);
    let base = match turn {
        Some(ToolTurn::Call { name, arguments }) => {
            let r = ToolCallReply {
                id: &id,
                model,
                created,
                prompt_tokens,
                stream: req.stream == Some(true),
                include_usage: include_usage(ctx, req.stream_options.as_ref()),
            };
            return tool_call(ctx, &r, status, &name, &arguments);
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
    let usage = Usage::new(prompt_tokens.max(1), reply.tokens());

    if req.stream != Some(true) {
        return json_value(
            status,
            &ChatCompletion {
                id: &id,
                object: "chat.completion",
                created,
                model,
                choices: [ChatChoice {
                    index: 0,
                    message: AssistantMessage {
                        role: "assistant",
                        content: &reply.text,
                    },
                    finish_reason: "stop",
                    logprobs: None,
                }],
                usage,
            },
        );
    }

    let head = StreamHead {
        id: &id,
        object: "chat.completion.chunk",
        created,
        model,
        include_usage: include_usage(ctx, req.stream_options.as_ref()),
    };
    let mut buf = EventBuf::with_capacity(reply.tokens() + 4, stream_capacity(&reply, model));
    let first = Delta {
        role: Some("assistant"),
        content: Some(""),
    };
    head.push(&mut buf, chunk(first, None));
    for piece in reply.iter() {
        let delta = Delta {
            role: None,
            content: Some(piece),
        };
        head.push(&mut buf, chunk(delta, None));
    }
    head.push(&mut buf, chunk(Delta::default(), Some("stop")));
    head.finish(&mut buf, usage);
    sse_response(status, EventStream::new(buf.finish(), ctx.stream_plan()))
}

/// The tool turn of a chat request, when tools or tool results are involved.
fn tool_turn(req: &ChatRequest) -> Option<ToolTurn> {
    let last_is_tool = req.messages.last().and_then(|m| m.role.as_deref()) == Some("tool");
    if req.tools.is_null() && !last_is_tool {
        return None;
    }
    let messages: Vec<(&str, &Value)> = req
        .messages
        .iter()
        .map(|m| (m.role.as_deref().unwrap_or(""), &m.content))
        .collect();
    openai_turn(&req.tools, &req.tool_choice, &messages)
}

fn chunk<'a>(delta: Delta<'a>, finish_reason: Option<&'a str>) -> ChunkChoice<'a> {
    ChunkChoice {
        index: 0,
        delta,
        logprobs: None,
        finish_reason,
    }
}

/// Whether the stream ends with a usage chunk: the caller asked for one
/// and the behavior does not say to leave it out.
fn include_usage(ctx: &RequestCtx<'_>, opts: Option<&StreamOptions>) -> bool {
    !ctx.behavior.omit_usage && opts.and_then(|o| o.include_usage).unwrap_or(false)
}

/// Count prompt words and pick the echoed text of a legacy `prompt`.
fn completion_prompt(prompt: &Value) -> (usize, Option<&str>) {
    match prompt {
        Value::String(s) => (count_words(s), Some(s)),
        Value::Array(items) => {
            let mut words = 0;
            let mut last = None;
            for item in items {
                match item {
                    Value::String(s) => {
                        words += count_words(s);
                        last = Some(s.as_str());
                    }
                    Value::Array(tokens) => words += tokens.len(),
                    Value::Number(_) => words += 1,
                    _ => {}
                }
            }
            (words, last)
        }
        _ => (0, None),
    }
}

/// `POST /v1/completions` (and the Azure deployment path).
pub fn completions(
    ctx: &RequestCtx<'_>,
    body: &[u8],
    deployment: Option<&str>,
) -> Response<MockBody> {
    let req: CompletionRequest = match parse_json(body) {
        Ok(r) => r,
        Err(msg) => return error(StatusCode::BAD_REQUEST, &msg),
    };
    let model = req
        .model
        .as_deref()
        .or(deployment)
        .unwrap_or(DEFAULT_CHAT_MODEL);
    let (prompt_tokens, user_text) = completion_prompt(&req.prompt);
    let reply = Reply::new(reply_text(user_text), ctx.behavior.chunks);
    let usage = Usage::new(prompt_tokens.max(1), reply.tokens());
    let id = format!("cmpl-mock{:08}", ctx.next_id());
    let created = now_unix();
    let status = ctx.behavior.success_status();

    if req.stream != Some(true) {
        let choice = TextChoice {
            text: &reply.text,
            index: 0,
            logprobs: None,
            finish_reason: Some("stop"),
        };
        return json_value(
            status,
            &Envelope {
                id: &id,
                object: "text_completion",
                created,
                model,
                choices: &[choice],
                usage: Some(Some(usage)),
            },
        );
    }

    let head = StreamHead {
        id: &id,
        object: "text_completion",
        created,
        model,
        include_usage: include_usage(ctx, req.stream_options.as_ref()),
    };
    let mut buf = EventBuf::with_capacity(reply.tokens() + 3, stream_capacity(&reply, model));
    let choice = |text, finish_reason| TextChoice {
        text,
        index: 0,
        logprobs: None,
        finish_reason,
    };
    for piece in reply.iter() {
        head.push(&mut buf, choice(piece, None));
    }
    head.push(&mut buf, choice("", Some("stop")));
    head.finish(&mut buf, usage);
    sse_response(status, EventStream::new(buf.finish(), ctx.stream_plan()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_body_shape() {
        let body = ErrorBody {
            error: ErrorDetail {
                message: "boom",
                kind: error_type(StatusCode::TOO_MANY_REQUESTS),
                param: None,
                code: None,
            },
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": {"message": "boom", "type": "rate_limit_error", "param": null, "code": null}})
        );
        let resp = error(StatusCode::TOO_MANY_REQUESTS, "slow down");
        assert_eq!(resp.headers()["retry-after"], "1");
    }

    #[test]
    fn legacy_prompt_counting() {
        assert_eq!(completion_prompt(&json!("a b c")), (3, Some("a b c")));
        assert_eq!(completion_prompt(&json!(["a b", "c"])), (3, Some("c")));
        assert_eq!(completion_prompt(&json!([1, 2, 3])), (3, None));
        assert_eq!(completion_prompt(&json!([[1, 2], [3]])), (3, None));
    }

    #[test]
    fn usage_field_is_null_or_absent() {
        let env = |usage| Envelope::<TextChoice<'_>> {
            id: "x",
            object: "o",
            created: 0,
            model: "m",
            choices: &[],
            usage,
        };
        let v = serde_json::to_value(env(None)).unwrap();
        assert!(v.get("usage").is_none());
        let v = serde_json::to_value(env(Some(None))).unwrap();
        assert_eq!(v["usage"], Value::Null);
        let v = serde_json::to_value(env(Some(Some(Usage::new(2, 3))))).unwrap();
        assert_eq!(
            v["usage"],
            json!({"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5})
        );
    }
}
