//! An Anthropic Messages request rewritten as an OpenAI Chat Completions
//! request, for an OpenAI-kind upstream.

use serde_json::{Value, json};

use super::TranslateError;
use super::json::{
    Object, as_object, index, invalid, join, opt_array, opt_bool, opt_number, opt_object, opt_str,
    opt_u64, parse_object, req_array, req_str, to_bytes, unsupported,
};

const TARGET: &str = "OpenAI";

/// Translates an Anthropic Messages request body into an OpenAI Chat
/// Completions body naming `upstream_model`. A streamed request also asks
/// for the final usage chunk (`stream_options.include_usage`).
pub fn anthropic_to_openai_request(
    body: &[u8],
    upstream_model: &str,
) -> Result<Vec<u8>, TranslateError> {
    let req = parse_object(body)?;
    for key in ["mcp_servers", "container"] {
        if req.get(key).is_some_and(|v| !v.is_null()) {
            return Err(unsupported(
                key,
                TARGET,
                "Anthropic-hosted features have no counterpart",
            ));
        }
    }
    let mut out = Object::new();
    out.insert("model".into(), upstream_model.into());

    let mut messages = Vec::new();
    if let Some(system) = system_text(&req)? {
        messages.push(json!({"role": "system", "content": system}));
    }
    for (i, m) in req_array(&req, "messages", "")?.iter().enumerate() {
        let path = index("messages", i);
        message(as_object(m, &path)?, &path, &mut messages)?;
    }
    out.insert("messages".into(), Value::Array(messages));

    if let Some(n) = opt_u64(&req, "max_tokens", "")? {
        out.insert("max_tokens".into(), n.into());
    }
    for key in ["temperature", "top_p"] {
        if let Some(x) = opt_number(&req, key, "")? {
            out.insert(key.into(), x.into());
        }
    }
    if let Some(stops) = opt_array(&req, "stop_sequences", "")? {
        for (i, s) in stops.iter().enumerate() {
            if !s.is_string() {
                return Err(invalid(index("stop_sequences", i), "a string"));
            }
        }
        if !stops.is_empty() {
            out.insert("stop".into(), Value::Array(stops.clone()));
        }
    }
    if opt_bool(&req, "stream", "")? == Some(true) {
        out.insert("stream".into(), true.into());
        out.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(meta) = opt_object(&req, "metadata", "")?
        && let Some(user) = opt_str(meta, "user_id", "metadata")?
    {
        out.insert("user".into(), user.into());
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
    if let Some(choice) = opt_object(&req, "tool_choice", "")? {
        let (mapped, parallel) = tool_choice(choice)?;
        out.insert("tool_choice".into(), mapped);
        if let Some(p) = parallel {
            out.insert("parallel_tool_calls".into(), p.into());
        }
    }
    Ok(to_bytes(&Value::Object(out)))
}

/// The system prompt as one string (text blocks joined by a blank line).
fn system_text(req: &Object) -> Result<Option<String>, TranslateError> {
    match req.get("system") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for (i, b) in blocks.iter().enumerate() {
                let path = index("system", i);
                let b = as_object(b, &path)?;
                match req_str(b, "type", &path)? {
                    "text" => texts.push(req_str(b, "text", &path)?),
                    _ => return Err(invalid(join(&path, "type"), "\"text\"")),
                }
            }
            Ok((!texts.is_empty()).then(|| texts.join("\n\n")))
        }
        Some(_) => Err(invalid("system", "a string or an array of text blocks")),
    }
}

/// Appends the OpenAI messages for one Anthropic message.
fn message(m: &Object, path: &str, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let role = req_str(m, "role", path)?;
    let content_path = join(path, "content");
    let blocks: Vec<Value> = match m.get("content") {
        Some(Value::String(s)) => {
            out.push(json!({"role": role_checked(role, path)?, "content": s}));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks.clone(),
        None | Some(Value::Null) => return Err(super::json::missing(content_path)),
        Some(_) => return Err(invalid(content_path, "a string or an array of blocks")),
    };
    match role_checked(role, path)? {
        "user" => user_message(&blocks, &content_path, out),
        _ => assistant_message(&blocks, &content_path, out),
    }
}

fn role_checked<'a>(role: &'a str, path: &str) -> Result<&'a str, TranslateError> {
    match role {
        "user" | "assistant" => Ok(role),
        _ => Err(invalid(join(path, "role"), "\"user\" or \"assistant\"")),
    }
}

/// A user turn: its tool results become `tool` messages (first, as OpenAI
/// wants them right after the assistant's tool calls), the rest one user
/// message.
fn user_message(blocks: &[Value], path: &str, out: &mut Vec<Value>) -> Result<(), TranslateError> {
    let mut parts = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let bpath = index(path, i);
        let b = as_object(b, &bpath)?;
        match req_str(b, "type", &bpath)? {
            "text" => parts.push(json!({"type": "text", "text": req_str(b, "text", &bpath)?})),
            "image" => parts.push(image_part(b, &bpath)?),
            "tool_result" => {
                let id = req_str(b, "tool_use_id", &bpath)?;
                let mut text = tool_result_text(b, &bpath)?;
                if opt_bool(b, "is_error", &bpath)? == Some(true) {
                    text.insert_str(0, "Error: ");
                }
                out.push(json!({"role": "tool", "tool_call_id": id, "content": text}));
            }
            other => return Err(refused_block(other, &bpath)),
        }
    }
    match parts.len() {
        0 if blocks.is_empty() => out.push(json!({"role": "user", "content": ""})),
        0 => {}
        1 if parts[0]["type"] == "text" => {
            let text = parts.swap_remove(0)["text"].take();
            out.push(json!({"role": "user", "content": text}));
        }
        _ => out.push(json!({"role": "user", "content": parts})),
    }
    Ok(())
}

/// An image block as an `image_url` part (base64 sources as data URLs).
fn image_part(b: &Object, path: &str) -> Result<Value, TranslateError> {
    let spath = join(path, "source");
    let source =
        opt_object(b, "source", path)?.ok_or_else(|| super::json::missing(spath.clone()))?;
    let url = match req_str(source, "type", &spath)? {
        "base64" => {
            let media_type = req_str(source, "media_type", &spath)?;
            format!(
                "data:{media_type};base64,{}",
                req_str(source, "data", &spath)?
            )
        }
        "url" => req_str(source, "url", &spath)?.to_owned(),
        _ => {
            return Err(unsupported(
                join(&spath, "type"),
                TARGET,
                "only base64 and URL image sources are translated",
            ));
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// The text of a `tool_result`'s content (string or text blocks).
fn tool_result_text(b: &Object, path: &str) -> Result<String, TranslateError> {
    match b.get("content") {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) => {
            let mut text = String::new();
            for (i, item) in items.iter().enumerate() {
                let ipath = index(&join(path, "content"), i);
                let item = as_object(item, &ipath)?;
                match req_str(item, "type", &ipath)? {
                    "text" => text.push_str(req_str(item, "text", &ipath)?),
                    other => return Err(refused_block(other, &ipath)),
                }
            }
            Ok(text)
        }
        Some(_) => Err(invalid(
            join(path, "content"),
            "a string or an array of blocks",
        )),
    }
}

/// An assistant turn: text blocks concatenated, `tool_use` blocks as
/// `tool_calls`; thinking blocks are dropped.
fn assistant_message(
    blocks: &[Value],
    path: &str,
    out: &mut Vec<Value>,
) -> Result<(), TranslateError> {
    let mut text: Option<String> = None;
    let mut calls = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let bpath = index(path, i);
        let b = as_object(b, &bpath)?;
        match req_str(b, "type", &bpath)? {
            "text" => text
                .get_or_insert_with(String::new)
                .push_str(req_str(b, "text", &bpath)?),
            "tool_use" => {
                let id = req_str(b, "id", &bpath)?;
                let name = req_str(b, "name", &bpath)?;
                let input = match b.get("input") {
                    Some(v @ Value::Object(_)) => v,
                    _ => return Err(invalid(join(&bpath, "input"), "an object")),
                };
                let arguments = serde_json::to_string(input).unwrap_or_default();
                calls.push(json!({
                    "id": id,
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }));
            }
            "thinking" | "redacted_thinking" => {}
            other => return Err(refused_block(other, &bpath)),
        }
    }
    let mut msg = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        msg["tool_calls"] = Value::Array(calls);
    } else if msg["content"].is_null() {
        msg["content"] = "".into();
    }
    out.push(msg);
    Ok(())
}

fn refused_block(kind: &str, path: &str) -> TranslateError {
    let field = join(path, "type");
    match kind {
        "image" => unsupported(field, TARGET, "images are translated only in user text"),
        "document" => unsupported(field, TARGET, "document blocks are not translated"),
        _ => unsupported(field, TARGET, "this content block type has no counterpart"),
    }
}

/// An Anthropic tool definition as an OpenAI function tool.
fn tool(t: &Value, path: &str) -> Result<Value, TranslateError> {
    let t = as_object(t, path)?;
    match opt_str(t, "type", path)? {
        None | Some("custom") => {}
        Some(_) => {
            return Err(unsupported(
                join(path, "type"),
                TARGET,
                "Anthropic server tools have no counterpart",
            ));
        }
    }
    let name = req_str(t, "name", path)?;
    let schema = match t.get("input_schema") {
        Some(v @ Value::Object(_)) => v.clone(),
        None | Some(Value::Null) => return Err(super::json::missing(join(path, "input_schema"))),
        Some(_) => return Err(invalid(join(path, "input_schema"), "an object")),
    };
    let mut function = json!({"name": name, "parameters": schema});
    if let Some(d) = opt_str(t, "description", path)? {
        function["description"] = d.into();
    }
    Ok(json!({"type": "function", "function": function}))
}

/// `tool_choice` and the `parallel_tool_calls` it implies.
fn tool_choice(c: &Object) -> Result<(Value, Option<bool>), TranslateError> {
    let path = "tool_choice";
    let mapped = match req_str(c, "type", path)? {
        "auto" => json!("auto"),
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => json!({"type": "function", "function": {"name": req_str(c, "name", path)?}}),
        _ => {
            return Err(invalid(
                "tool_choice.type",
                "one of \"auto\", \"any\", \"tool\", \"none\"",
            ));
        }
    };
    let parallel = opt_bool(c, "disable_parallel_tool_use", path)?.map(|d| !d);
    Ok((mapped, parallel))
}

#[cfg(test)]
#[path = "request_to_openai_tests.rs"]
mod tests;
