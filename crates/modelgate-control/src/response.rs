//! JSON answers of the control plane.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, header};

/// A JSON response with status 200.
pub(crate) fn json_response(value: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
