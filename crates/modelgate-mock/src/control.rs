//! The `/_mock/*` control API used by out-of-process tests: install a
//! behavior, read or clear recorded requests, release held streams.

use http::{Method, Response, StatusCode};

use crate::behavior::Behavior;
use crate::body::{MockBody, empty_response, json_response, json_value};
use crate::openai;
use crate::state::Shared;
use crate::util::parse_json;

/// Prefix of all control paths.
pub const PREFIX: &str = "/_mock/";

/// Whether `path` is a control path (never recorded, never faulted).
pub fn is_control(path: &str) -> bool {
    path.starts_with(PREFIX)
}

/// Serve a control request.
pub fn handle(shared: &Shared, parts: &http::request::Parts, body: &[u8]) -> Response<MockBody> {
    let path = &parts.uri.path()[PREFIX.len()..];
    let method = &parts.method;
    match (path, method) {
        ("behavior", &Method::POST | &Method::PUT) => match parse_json::<Behavior>(body) {
            Ok(b) => {
                shared.set_behavior(b);
                empty_response(StatusCode::NO_CONTENT)
            }
            Err(msg) => openai::error(StatusCode::BAD_REQUEST, &msg),
        },
        ("behavior", &Method::GET) => json_value(StatusCode::OK, &shared.behavior()),
        ("requests", &Method::GET) => match shared.requests_json() {
            Ok(json) => json_response(StatusCode::OK, json),
            Err(e) => openai::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        ("requests", &Method::DELETE) => {
            shared.clear_requests();
            empty_response(StatusCode::NO_CONTENT)
        }
        ("release", &Method::POST) => {
            shared.release();
            empty_response(StatusCode::NO_CONTENT)
        }
        ("behavior" | "requests" | "release", _) => {
            let msg = format!("Method {method} not allowed on {}", parts.uri.path());
            openai::error(StatusCode::METHOD_NOT_ALLOWED, &msg)
        }
        _ => {
            let msg = format!("Unknown control URL: {}", parts.uri.path());
            openai::error(StatusCode::NOT_FOUND, &msg)
        }
    }
}
