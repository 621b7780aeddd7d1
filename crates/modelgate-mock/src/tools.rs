//! The deterministic tool behaviour of the demo model, for both dialects.
//!
//! When a request declares tools and its last message is not a tool
//! result, the model calls a tool: the one `tool_choice` names, else the
//! first, with arguments built from its schema's required properties
//! (`"demo"` for strings, the first `enum` value, `1`, `true`, `[]`, `{}`).
//! `tool_choice` "none" suppresses the call. After tool results the model
//! answers with text quoting them.

use serde_json::{Map, Value};

use crate::text::{ECHO_MAX_CHARS, content_text, truncate_chars};

/// What the model does about tools for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolTurn {
    /// Call `name` with `arguments` (a JSON object, serialized).
    Call {
        /// The tool's name.
        name: String,
        /// The arguments as a JSON string.
        arguments: String,
    },
    /// Answer with this text, which mentions the tool results.
    Answer(String),
}

/// A tool's name and input schema, read from either dialect.
struct ToolDef<'a> {
    name: &'a str,
    schema: Option<&'a Value>,
}

fn openai_tool(t: &Value) -> Option<ToolDef<'_>> {
    let f = t.get("function")?;
    Some(ToolDef {
        name: f.get("name")?.as_str()?,
        schema: f.get("parameters"),
    })
}

fn anthropic_tool(t: &Value) -> Option<ToolDef<'_>> {
    Some(ToolDef {
        name: t.get("name")?.as_str()?,
        schema: t.get("input_schema"),
    })
}

/// The tool turn of an OpenAI chat request; `messages` are the request's
/// `(role, content)` pairs in order.
pub fn openai_turn(
    tools: &Value,
    tool_choice: &Value,
    messages: &[(&str, &Value)],
) -> Option<ToolTurn> {
    let results: Vec<String> = messages
        .iter()
        .rev()
        .take_while(|(role, _)| *role == "tool")
        .map(|(_, content)| content_text(content).unwrap_or_default())
        .collect();
    if !results.is_empty() {
        return Some(answer(results.into_iter().rev()));
    }
    let chosen = match tool_choice {
        Value::String(s) if s == "none" => return None,
        Value::Object(c) => c
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str),
        _ => None,
    };
    call(tools.as_array()?.iter().filter_map(openai_tool), chosen)
}

/// The tool turn of an Anthropic messages request; `last` is the content
/// of the last message when it is a user message.
pub fn anthropic_turn(
    tools: &Value,
    tool_choice: &Value,
    last: Option<&Value>,
) -> Option<ToolTurn> {
    let results: Vec<String> = last
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
        .map(|b| b.get("content").and_then(content_text).unwrap_or_default())
        .collect();
    if !results.is_empty() {
        return Some(answer(results.into_iter()));
    }
    let chosen = match tool_choice.get("type").and_then(Value::as_str) {
        Some("none") => return None,
        Some("tool") => tool_choice.get("name").and_then(Value::as_str),
        _ => None,
    };
    call(tools.as_array()?.iter().filter_map(anthropic_tool), chosen)
}

fn answer(results: impl Iterator<Item = String>) -> ToolTurn {
    let joined = results.collect::<Vec<_>>().join("; ");
    let text = match joined.trim() {
        "" => "The tool returned nothing.".to_owned(),
        t => format!("The tool returned: {}", truncate_chars(t, ECHO_MAX_CHARS)),
    };
    ToolTurn::Answer(text)
}

fn call<'a>(
    mut tools: impl Iterator<Item = ToolDef<'a>>,
    chosen: Option<&str>,
) -> Option<ToolTurn> {
    let tool = match chosen {
        Some(name) => tools.find(|t| t.name == name)?,
        None => tools.next()?,
    };
    let arguments = Value::Object(arguments_for(tool.schema));
    Some(ToolTurn::Call {
        name: tool.name.to_owned(),
        arguments: serde_json::to_string(&arguments).unwrap_or_else(|_| "{}".to_owned()),
    })
}

/// Arguments with a sample value for each required property of `schema`.
pub fn arguments_for(schema: Option<&Value>) -> Map<String, Value> {
    let mut args = Map::new();
    let Some(schema) = schema else { return args };
    let props = schema.get("properties");
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let prop = props.and_then(|p| p.get(name));
        args.insert(name.to_owned(), sample_value(prop));
    }
    args
}

fn sample_value(prop: Option<&Value>) -> Value {
    let Some(prop) = prop else { return Value::Null };
    if let Some(first) = prop
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let kind = match prop.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null"),
        Some(t) => t.as_str(),
        None => None,
    };
    match kind {
        Some("string") => Value::String("demo".to_owned()),
        Some("integer" | "number") => Value::from(1),
        Some("boolean") => Value::Bool(true),
        Some("array") => Value::Array(Vec::new()),
        Some("object") => Value::Object(arguments_for(Some(prop))),
        _ => Value::Null,
    }
}

/// `s` split into two or more fragments at character boundaries, as a
/// streaming model emits tool arguments.
pub fn fragments(s: &str) -> Vec<&str> {
    let chars = s.chars().count();
    if chars < 2 {
        return vec![s];
    }
    let per = chars.div_ceil(3).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    for (n, (i, _)) in s.char_indices().enumerate() {
        if n > 0 && n % per == 0 {
            out.push(&s[start..i]);
            start = i;
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn weather_schema() -> Value {
        json!({"type": "object", "properties": {
            "location": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": ["integer", "null"]},
            "detailed": {"type": "boolean"},
            "filters": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
            "optional": {"type": "string"}
        }, "required": ["location", "unit", "days", "detailed", "filters", "missing"]})
    }

    #[test]
    fn arguments_from_required_properties() {
        let args = Value::Object(arguments_for(Some(&weather_schema())));
        assert_eq!(
            args,
            json!({"location": "demo", "unit": "celsius", "days": 1, "detailed": true, "filters": {"x": 1}, "missing": null})
        );
        assert!(arguments_for(Some(&json!({"type": "object"}))).is_empty());
        assert!(arguments_for(None).is_empty());
    }

    #[test]
    fn openai_turns() {
        let tools = json!([
            {"type": "function", "function": {"name": "get_weather", "parameters": weather_schema()}},
            {"type": "function", "function": {"name": "get_time"}}
        ]);
        let user = json!("weather?");
        let turn = openai_turn(&tools, &Value::Null, &[("user", &user)]).unwrap();
        let ToolTurn::Call { name, arguments } = turn else {
            panic!()
        };
        assert_eq!(name, "get_weather");
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap()["unit"],
            "celsius"
        );
        let named = json!({"type": "function", "function": {"name": "get_time"}});
        assert_eq!(
            openai_turn(&tools, &named, &[("user", &user)]),
            Some(ToolTurn::Call {
                name: "get_time".into(),
                arguments: "{}".into()
            })
        );
        assert_eq!(
            openai_turn(&tools, &json!("none"), &[("user", &user)]),
            None
        );
        assert_eq!(
            openai_turn(&json!([]), &Value::Null, &[("user", &user)]),
            None
        );
        assert_eq!(
            openai_turn(&Value::Null, &Value::Null, &[("user", &user)]),
            None
        );
        let (a, b) = (
            json!("15 degrees"),
            json!([{"type": "text", "text": "sunny"}]),
        );
        assert_eq!(
            openai_turn(
                &tools,
                &Value::Null,
                &[("user", &user), ("tool", &a), ("tool", &b)]
            ),
            Some(ToolTurn::Answer(
                "The tool returned: 15 degrees; sunny".into()
            ))
        );
        // A tool result answers even without tools declared.
        let empty = json!("");
        assert_eq!(
            openai_turn(&Value::Null, &Value::Null, &[("tool", &empty)]),
            Some(ToolTurn::Answer("The tool returned nothing.".into()))
        );
    }

    #[test]
    fn anthropic_turns() {
        let tools = json!([{"name": "get_weather", "input_schema": weather_schema()}, {"name": "b", "input_schema": {}}]);
        let text = json!("weather?");
        assert!(matches!(
            anthropic_turn(&tools, &Value::Null, Some(&text)),
            Some(ToolTurn::Call { .. })
        ));
        assert_eq!(
            anthropic_turn(&tools, &json!({"type": "none"}), Some(&text)),
            None
        );
        assert_eq!(
            anthropic_turn(&tools, &json!({"type": "tool", "name": "b"}), Some(&text)),
            Some(ToolTurn::Call {
                name: "b".into(),
                arguments: "{}".into()
            })
        );
        let results = json!([{"type": "tool_result", "tool_use_id": "t", "content": "15 degrees"}, {"type": "text", "text": "thanks"}]);
        assert_eq!(
            anthropic_turn(&tools, &Value::Null, Some(&results)),
            Some(ToolTurn::Answer("The tool returned: 15 degrees".into()))
        );
        assert!(matches!(
            anthropic_turn(&tools, &Value::Null, None),
            Some(ToolTurn::Call { .. })
        ));
    }

    #[test]
    fn fragments_cover_the_string() {
        for s in ["{}", "{\"location\":\"demo\"}", "{\"é\":\"日本\"}", "x", ""] {
            let parts = fragments(s);
            assert_eq!(parts.concat(), s);
            if s.chars().count() >= 2 {
                assert!(parts.len() >= 2, "{s}: {parts:?}");
            }
        }
    }
}
