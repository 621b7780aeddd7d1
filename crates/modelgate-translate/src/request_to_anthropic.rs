//! An OpenAI Chat Completions request rewritten as an Anthropic Messages
//! request, for an Anthropic upstream.

use serde_json::{Value, json};

use super::TranslateError;
use super::json::{
    Object, as_object, index, invalid, join, missing, opt_array, opt_bool, opt_number, opt_object,
    opt_str, opt_u64, parse_object, req_array, req_str, to_bytes, unsupported,
};

const TARGET: &str = "Anthropic";

/// Whether an OpenAI request asked for the final usage chunk
/// (`stream_options.include_usage`); false when the body is not JSON.
pub fn openai_stream_include_usage(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/stream_options/include_usage")?.as_bool())
        .unwrap_or(false)
}

/// Translates an OpenAI Chat Completions request body into an Anthropic
/// Messages body naming `upstream_model`. Its `max_tokens` is the larger of
/// `max_completion_tokens` and `max_tokens`; `default_max_tokens` is used
/// when the request sets neither (Anthropic requires one).
pub fn openai_to_anthropic_request(
    body: &[u8],
    upstream_model: &str,
    default_max_tokens: u64,
) -> Result<Vec<u8>, TranslateError> {
    let req = parse_object(body)?;
    refuse_unsupported(&req)?;
    let mut out = Object::new();
    out.insert("model".into(), upstream_model.into());

    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for (i, m) in req_array(&req, "messages", "")?.iter().enumerate() {
        let path = index("messages", i);
        let m = as_object(m, &path)?;
        match req_str(m, "role", &path)? {
            "system" | "developer" => system.push(plain_text(m, &path)?),
            "user" => push_merged(&mut messages, "user", user_blocks(m, &path)?),
            "assistant" => push_merged(&mut messages, "assistant", assistant_blocks(m, &path)?),
            "tool" => {
                let id = req_str(m, "tool_call_id", &path)?;
                let text = plain_text(m, &path)?;
                let block = json!({"type": "tool_result", "tool_use_id": id, "content": text});
                push_merged(&mut messages, "user", vec![block]);
            }
            "function" => {
                return Err(unsupported(
                    join(&path, "role"),
                    TARGET,
                    "legacy function messages are not translated; use tools",
                ));
            }
            _ => return Err(invalid(join(&path, "role"), "a chat message role")),
        }
    }
    if messages.is_empty() {
        return Err(missing("messages (a user or assistant message)"));
    }
    if !system.is_empty() {
        out.insert("system".into(), system.join("\n\n").into());
    }
    out.insert("messages".into(), Value::Array(messages));

    // The largest ceiling the caller stated: what a gateway decides on.
    let max = match (
        opt_u64(&req, "max_completion_tokens", "")?,
        opt_u64(&req, "max_tokens", "")?,
    ) {
        (Some(a), Some(b)) => a.max(b),
        (a, b) => a.or(b).unwrap_or(default_max_tokens),
    };
    out.insert("max_tokens".into(), max.into());
    if let Some(t) = opt_number(&req, "temperature", "")? {
        if !(0.0..=1.0).contains(&t) {
            return Err(unsupported(
                "temperature",
                TARGET,
                "Anthropic accepts temperatures from 0 to 1",
            ));
        }
        out.insert("temperature".into(), t.into());
    }
    if let Some(p) = opt_number(&req, "top_p", "")? {
        out.insert("top_p".into(), p.into());
    }
    match req.get("stop") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            out.insert("stop_sequences".into(), json!([s]));
        }
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            if !a.is_empty() {
                out.insert("stop_sequences".into(), Value::Array(a.clone()));
            }
        }
        Some(_) => return Err(invalid("stop", "a string or an array of strings")),
    }
    if opt_bool(&req, "stream", "")? == Some(true) {
        out.insert("stream".into(), true.into());
    }
    if let Some(user) = opt_str(&req, "user", "")? {
        out.insert("metadata".into(), json!({"user_id": user}));
    }
    if let Some(tools) = opt_array(&req, "tools", "")? {
        let tools = tools
            .iter()
            .enumerate()
            .map(|(i, t)| tool(t, &index("tools", i)))
            .collect::<Result<Vec<_>, _>>()?;
        if !tools.is_empty() {
            out.insert("tools".into(), Value::Array(tools));
        }
    }
    let parallel = opt_bool(&req, "parallel_tool_calls", "")?;
    if let Some(mut choice) = tool_choice(&req)? {
        if parallel == Some(false) && choice["type"] != "none" {
            choice["disable_parallel_tool_use"] = true.into();
        }
        out.insert("tool_choice".into(), choice);
    } else if parallel == Some(false) && out.contains_key("tools") {
        out.insert(
            "tool_choice".into(),
            json!({"type": "auto", "disable_parallel_tool_use": true}),
        );
    }
    Ok(to_bytes(&Value::Object(out)))
}

/// Refuses fields that change what the caller gets back. Sampling and
/// bookkeeping fields with no counterpart (penalties, `seed`, `logit_bias`,
/// `store`, `metadata`, ...) are dropped: see `docs/translation.md`.
fn refuse_unsupported(req: &Object) -> Result<(), TranslateError> {
    if let Some(n) = opt_u64(req, "n", "")?
        && n != 1
    {
        return Err(unsupported("n", TARGET, "Anthropic returns one choice"));
    }
    if opt_bool(req, "logprobs", "")? == Some(true) {
        return Err(unsupported(
            "logprobs",
            TARGET,
            "Anthropic returns no log probabilities",
        ));
    }
    if let Some(f) = opt_object(req, "response_format", "")?
        && opt_str(f, "type", "response_format")? != Some("text")
    {
        return Err(unsupported(
            "response_format",
            TARGET,
            "structured output is not translated",
        ));
    }
    for key in ["functions", "function_call", "audio", "web_search_options"] {
        if req.get(key).is_some_and(|v| !v.is_null()) {
            return Err(unsupported(key, TARGET, "no counterpart"));
        }
    }
    if let Some(m) = opt_array(req, "modalities", "")?
        && m.iter().any(|x| x != "text")
    {
        return Err(unsupported(
            "modalities",
            TARGET,
            "only text output is translated",
        ));
    }
    Ok(())
}

/// Appends blocks to the last message when it has the same role (Anthropic
/// wants alternating turns), else as a new message. Tool results go first
/// in a user turn.
fn push_merged(messages: &mut Vec<Value>, role: &str, blocks: Vec<Value>) {
    if let Some(last) = messages.last_mut()
        && last["role"] == role
        && let Some(existing) = last["content"].as_array_mut()
    {
        existing.extend(blocks);
        existing.sort_by_key(|b| b["type"] != "tool_result");
        return;
    }
    messages.push(json!({"role": role, "content": blocks}));
}

/// Text of a message whose content must be text (system, tool).
fn plain_text(m: &Object, path: &str) -> Result<String, TranslateError> {
    let mut text = String::new();
    for block in content_blocks(m, path, false)? {
        text.push_str(block["text"].as_str().unwrap_or(""));
    }
    Ok(text)
}

/// `content` (a string or an array of parts) as Anthropic blocks. Image
/// parts are translated only where `images` allows; other part types are
/// refused, `refusal` parts dropped. Empty text is kept (callers filter).
fn content_blocks(m: &Object, path: &str, images: bool) -> Result<Vec<Value>, TranslateError> {
    let cpath = join(path, "content");
    match m.get("content") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![json!({"type": "text", "text": s})]),
        Some(Value::Array(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (i, p) in parts.iter().enumerate() {
                let ppath = index(&cpath, i);
                let p = as_object(p, &ppath)?;
                match req_str(p, "type", &ppath)? {
                    "text" => {
                        out.push(json!({"type": "text", "text": req_str(p, "text", &ppath)?}))
                    }
                    "image_url" if images => out.push(image_block(p, &ppath)?),
                    "image_url" => {
                        return Err(unsupported(
                            join(&ppath, "type"),
                            TARGET,
                            "images are translated only in user messages",
                        ));
                    }
                    "refusal" => {}
                    _ => {
                        return Err(unsupported(
                            join(&ppath, "type"),
                            TARGET,
                            "this content part type has no counterpart",
                        ));
                    }
                }
            }
            Ok(out)
        }
        Some(_) => Err(invalid(cpath, "a string or an array of parts")),
    }
}

/// An `image_url` part as an image block: a base64 data URL becomes a
/// base64 source, an http(s) URL a URL source; `detail` is dropped.
fn image_block(p: &Object, path: &str) -> Result<Value, TranslateError> {
    let ipath = join(path, "image_url");
    let url = match p.get("image_url") {
        Some(Value::Object(o)) => req_str(o, "url", &ipath)?,
        Some(Value::String(s)) => s.as_str(),
        _ => return Err(missing(ipath)),
    };
    let expected = "a base64 data URL or an http(s) URL";
    let upath = join(&ipath, "url");
    if let Some(rest) = url.strip_prefix("data:") {
        let (media_type, data) = rest
            .split_once(";base64,")
            .ok_or_else(|| invalid(upath, expected))?;
        return Ok(
            json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}),
        );
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({"type": "image", "source": {"type": "url", "url": url}}));
    }
    Err(invalid(upath, expected))
}

/// Blocks without empty text (Anthropic refuses empty text blocks).
fn non_empty(blocks: Vec<Value>) -> Vec<Value> {
    blocks
        .into_iter()
        .filter(|b| b["type"] != "text" || b["text"] != "")
        .collect()
}

fn user_blocks(m: &Object, path: &str) -> Result<Vec<Value>, TranslateError> {
    Ok(non_empty(content_blocks(m, path, true)?))
}

/// Text then `tool_use` blocks; arguments are parsed into the input object.
fn assistant_blocks(m: &Object, path: &str) -> Result<Vec<Value>, TranslateError> {
    let mut blocks = non_empty(content_blocks(m, path, false)?);
    if let Some(calls) = opt_array(m, "tool_calls", path)? {
        let cpath = join(path, "tool_calls");
        for (i, c) in calls.iter().enumerate() {
            let p = index(&cpath, i);
            let c = as_object(c, &p)?;
            if let Some(kind) = opt_str(c, "type", &p)?
                && kind != "function"
            {
                return Err(unsupported(join(&p, "type"), TARGET, "only function calls"));
            }
            let id = req_str(c, "id", &p)?;
            let fpath = join(&p, "function");
            let f = opt_object(c, "function", &p)?.ok_or_else(|| missing(fpath.clone()))?;
            let name = req_str(f, "name", &fpath)?;
            let input = parse_arguments(opt_str(f, "arguments", &fpath)?, &fpath)?;
            blocks.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
        }
    }
    if opt_object(m, "function_call", path)?.is_some() {
        return Err(unsupported(
            join(path, "function_call"),
            TARGET,
            "legacy function calls are not translated; use tools",
        ));
    }
    Ok(blocks)
}

/// Tool-call arguments (a JSON object in a string; empty means `{}`).
pub(crate) fn parse_arguments(args: Option<&str>, path: &str) -> Result<Value, TranslateError> {
    let args = args.unwrap_or("").trim();
    if args.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(args) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(TranslateError::InvalidToolArguments {
            field: join(path, "arguments"),
        }),
    }
}

/// An OpenAI function tool as an Anthropic tool.
fn tool(t: &Value, path: &str) -> Result<Value, TranslateError> {
    let t = as_object(t, path)?;
    if req_str(t, "type", path)? != "function" {
        return Err(unsupported(
            join(path, "type"),
            TARGET,
            "only function tools",
        ));
    }
    let fpath = join(path, "function");
    let f = opt_object(t, "function", path)?.ok_or_else(|| missing(fpath.clone()))?;
    let name = req_str(f, "name", &fpath)?;
    let schema = match f.get("parameters") {
        None | Some(Value::Null) => json!({"type": "object", "properties": {}}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(invalid(join(&fpath, "parameters"), "an object")),
    };
    let mut out = json!({"name": name, "input_schema": schema});
    if let Some(d) = opt_str(f, "description", &fpath)? {
        out["description"] = d.into();
    }
    Ok(out)
}

fn tool_choice(req: &Object) -> Result<Option<Value>, TranslateError> {
    let expected = "\"auto\", \"required\", \"none\" or a function choice";
    match req.get("tool_choice") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => match s.as_str() {
            "auto" => Ok(Some(json!({"type": "auto"}))),
            "required" => Ok(Some(json!({"type": "any"}))),
            "none" => Ok(Some(json!({"type": "none"}))),
            _ => Err(invalid("tool_choice", expected)),
        },
        Some(Value::Object(c)) => {
            let f = opt_object(c, "function", "tool_choice")?
                .ok_or_else(|| missing("tool_choice.function"))?;
            let name = req_str(f, "name", "tool_choice.function")?;
            Ok(Some(json!({"type": "tool", "name": name})))
        }
        Some(_) => Err(invalid("tool_choice", expected)),
    }
}

#[cfg(test)]
#[path = "request_to_anthropic_tests.rs"]
mod tests;
