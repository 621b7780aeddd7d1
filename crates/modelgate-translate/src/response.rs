//! Complete (non-streamed) responses rendered in the caller's dialect, and
//! the stop-reason and usage mappings shared with the stream translators.

use serde_json::{Value, json};

use super::TranslateError;
use super::json::{
    Object, as_object, index, join, missing, now_unix, opt_array, opt_object, opt_str, opt_u64,
    parse_object, req_array, req_str, to_bytes,
};
use super::request_to_anthropic::parse_arguments;

/// OpenAI `finish_reason` → Anthropic `stop_reason`. A `stop` with a known
/// matched stop string (vLLM reports it as `stop_reason`) is `stop_sequence`.
pub(crate) fn anthropic_stop_reason(finish: Option<&str>, matched_stop: bool) -> &'static str {
    match finish {
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        Some("stop") if matched_stop => "stop_sequence",
        _ => "end_turn",
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
pub(crate) fn openai_finish_reason(stop: Option<&str>) -> &'static str {
    match stop {
        Some("max_tokens" | "model_context_window_exceeded") => "length",
        Some("tool_use") => "tool_calls",
        Some("refusal") => "content_filter",
        _ => "stop",
    }
}

/// OpenAI's usage object from input and output token counts.
pub(crate) fn openai_usage(input: u64, output: u64) -> Value {
    json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input + output,
    })
}

/// Input tokens of an Anthropic usage object, cache reads and writes
/// included (OpenAI counts them all as prompt tokens).
pub(crate) fn anthropic_input_tokens(u: &Object) -> u64 {
    [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ]
    .iter()
    .filter_map(|k| u.get(*k).and_then(Value::as_u64))
    .sum()
}

/// Translates an OpenAI chat completion into an Anthropic message; the
/// first choice is used and `model` is set to `public_model`.
pub fn openai_to_anthropic_response(
    body: &[u8],
    public_model: &str,
) -> Result<Vec<u8>, TranslateError> {
    let resp = parse_object(body)?;
    let id = opt_str(&resp, "id", "")?.unwrap_or("msg_translated");
    let choices = req_array(&resp, "choices", "")?;
    let choice = choices.first().ok_or_else(|| missing("choices[0]"))?;
    let choice = as_object(choice, "choices[0]")?;
    let message = opt_object(choice, "message", "choices[0]")?
        .ok_or_else(|| missing("choices[0].message"))?;
    let mpath = "choices[0].message";

    let mut content = Vec::new();
    if let Some(text) = opt_str(message, "content", mpath)?.filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": text}));
    }
    if let Some(calls) = opt_array(message, "tool_calls", mpath)? {
        let cpath = join(mpath, "tool_calls");
        for (i, c) in calls.iter().enumerate() {
            let p = index(&cpath, i);
            let c = as_object(c, &p)?;
            let fpath = join(&p, "function");
            let f = opt_object(c, "function", &p)?.ok_or_else(|| missing(fpath.clone()))?;
            let input = parse_arguments(opt_str(f, "arguments", &fpath)?, &fpath)?;
            content.push(json!({
                "type": "tool_use",
                "id": req_str(c, "id", &p)?,
                "name": req_str(f, "name", &fpath)?,
                "input": input,
            }));
        }
    }
    let finish = opt_str(choice, "finish_reason", "choices[0]")?;
    let matched = choice.get("stop_reason").and_then(Value::as_str);
    let stop_reason = anthropic_stop_reason(finish, matched.is_some());
    let stop_sequence = (stop_reason == "stop_sequence")
        .then_some(matched)
        .flatten();
    let usage = opt_object(&resp, "usage", "")?;
    let tokens = |k| {
        usage
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let out = json!({
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": public_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": tokens("prompt_tokens"),
            "output_tokens": tokens("completion_tokens"),
        },
    });
    Ok(to_bytes(&out))
}

/// Translates an Anthropic message into an OpenAI chat completion with one
/// choice; `model` is set to `public_model`. Thinking blocks are dropped.
pub fn anthropic_to_openai_response(
    body: &[u8],
    public_model: &str,
) -> Result<Vec<u8>, TranslateError> {
    let resp = parse_object(body)?;
    let id = opt_str(&resp, "id", "")?.unwrap_or("chatcmpl-translated");
    let mut text: Option<String> = None;
    let mut calls = Vec::new();
    for (i, b) in req_array(&resp, "content", "")?.iter().enumerate() {
        let p = index("content", i);
        let b = as_object(b, &p)?;
        match req_str(b, "type", &p)? {
            "text" => text
                .get_or_insert_with(String::new)
                .push_str(req_str(b, "text", &p)?),
            "tool_use" => {
                let input = b.get("input").cloned().unwrap_or_else(|| json!({}));
                calls.push(json!({
                    "id": req_str(b, "id", &p)?,
                    "type": "function",
                    "function": {
                        "name": req_str(b, "name", &p)?,
                        "arguments": serde_json::to_string(&input).unwrap_or_default(),
                    },
                }));
            }
            _ => {} // thinking, redacted_thinking, server tool blocks
        }
    }
    let mut message = json!({"role": "assistant", "content": text, "refusal": null});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let stop = opt_str(&resp, "stop_reason", "")?;
    let usage = opt_object(&resp, "usage", "")?;
    let input = usage.map_or(0, anthropic_input_tokens);
    let output = match usage {
        Some(u) => opt_u64(u, "output_tokens", "usage")?.unwrap_or(0),
        None => 0,
    };
    let out = json!({
        "id": id,
        "object": "chat.completion",
        "created": now_unix(),
        "model": public_model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": openai_finish_reason(stop),
        }],
        "usage": openai_usage(input, output),
    });
    Ok(to_bytes(&out))
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
