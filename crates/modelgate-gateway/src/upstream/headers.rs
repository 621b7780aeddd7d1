//! Which headers cross the gateway, in each direction.
//!
//! Toward the upstream: the caller's headers minus its credentials, cookies,
//! hop-by-hop headers, the caller's provider-account headers and anything
//! the gateway sets itself. Toward the caller: an allow-list, so that
//! nothing about the upstream account (organisation, rate-limit buckets,
//! cookies) comes back.

use http::header::{self, HeaderMap, HeaderName};

/// Request headers never forwarded upstream (lower-case).
const STRIP_REQUEST: &[&str] = &[
    // credentials of the caller
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "api-key",
    "cookie",
    // the caller's provider account: the gateway decides which one is used
    "openai-organization",
    "openai-project",
    // hop-by-hop (RFC 9110 section 7.6.1) and framing
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    // the gateway needs plain bodies to account for usage
    "accept-encoding",
    "expect",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Response headers returned to the caller from the upstream.
const ALLOW_RESPONSE: &[HeaderName] = &[header::CONTENT_TYPE, header::CACHE_CONTROL];

/// The caller's headers that may go upstream.
pub fn upstream_request_headers(caller: &HeaderMap) -> HeaderMap {
    // Headers the caller names in `Connection` are hop-by-hop too.
    let named_hop: Vec<String> = caller
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(caller.len());
    for (name, value) in caller {
        let n = name.as_str();
        if STRIP_REQUEST.contains(&n)
            || n.starts_with("x-modelgate-")
            || n.starts_with("proxy-")
            || named_hop.iter().any(|h| h == n)
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The upstream's response headers that may reach the caller.
pub fn caller_response_headers(upstream: &HeaderMap, out: &mut HeaderMap) {
    for name in ALLOW_RESPONSE {
        if let Some(value) = upstream.get(name) {
            out.insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn credentials_and_hop_by_hop_are_stripped() {
        let mut h = HeaderMap::new();
        for (n, v) in [
            ("authorization", "Bearer mgk_CANARY"),
            ("x-api-key", "mgk_CANARY"),
            ("api-key", "mgk_CANARY"),
            ("cookie", "s=1"),
            ("connection", "keep-alive, x-secret-hop"),
            ("x-secret-hop", "1"),
            ("proxy-authorization", "Basic x"),
            ("openai-organization", "org-1"),
            ("x-modelgate-data-class", "public"),
            ("accept-encoding", "gzip"),
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
            ("user-agent", "OpenAI/Python 1.0"),
            ("x-stainless-lang", "python"),
        ] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let out = upstream_request_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "anthropic-version",
                "user-agent",
                "x-stainless-lang"
            ]
        );
    }

    #[test]
    fn response_is_allow_listed() {
        let mut up = HeaderMap::new();
        up.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        up.insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
        up.insert(
            "openai-organization",
            HeaderValue::from_static("org-secret"),
        );
        up.insert(
            "x-ratelimit-remaining-tokens",
            HeaderValue::from_static("5"),
        );
        let mut out = HeaderMap::new();
        caller_response_headers(&up, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[header::CONTENT_TYPE], "text/event-stream");
    }
}
