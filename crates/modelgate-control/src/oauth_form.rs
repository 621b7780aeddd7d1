//! The token endpoint's form (RFC 6749 §3.2: parameters once each, except
//! RFC 8693's `audience` and `resource`) and client credentials from
//! `Authorization: Basic` (RFC 6749 §2.3.1).

use std::collections::HashMap;

use base64::Engine;
use http::{HeaderMap, header};

/// Parameters RFC 8693 allows more than once.
const REPEATABLE: [&str; 2] = ["audience", "resource"];

/// The parsed form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    single: HashMap<String, String>,
    repeated: HashMap<&'static str, Vec<String>>,
}

impl Form {
    pub(crate) fn remove(&mut self, name: &str) -> Option<String> {
        self.single.remove(name)
    }
    pub(crate) fn remove_all(&mut self, name: &'static str) -> Vec<String> {
        self.repeated.remove(name).unwrap_or_default()
    }
}

/// Parses the form; a parameter given twice is refused (RFC 6749 §3.2),
/// except `audience` and `resource` (RFC 8693 §2.1).
pub(crate) fn parse_form(body: &[u8]) -> Result<Form, String> {
    let mut form = Form::default();
    for (name, value) in form_urlencoded::parse(body) {
        if value.is_empty() {
            continue; // empty parameters are treated as omitted (RFC 6749 §3.1)
        }
        if let Some(key) = REPEATABLE.iter().find(|k| **k == name) {
            form.repeated
                .entry(key)
                .or_default()
                .push(value.into_owned());
        } else if form
            .single
            .insert(name.to_string(), value.into_owned())
            .is_some()
        {
            return Err(format!("parameter `{}` is repeated", truncate(&name)));
        }
    }
    Ok(form)
}

fn truncate(name: &str) -> String {
    name.chars().take(40).collect()
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn form_parsing_refuses_repeats() {
        let mut p = parse_form(b"grant_type=a&scope=x+y&audience=a&audience=b").unwrap();
        assert_eq!(p.remove("scope").unwrap(), "x y");
        assert_eq!(p.remove_all("audience"), ["a", "b"]);
        assert!(parse_form(b"a=1&a=2").unwrap_err().contains("repeated"));
        assert!(parse_form(b"a=&a=2").is_ok(), "empty counts as omitted");
    }

    #[test]
    fn basic_credentials_are_unescaped() {
        let mut h = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("app:mgk_a%2Bb");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("app".into(), "mgk_a+b".into()))
        );
    }
}
