//! The gateway as an issuer: its public signing keys and OpenID-style
//! discovery, so resource servers and auditors can verify its tokens.

use axum::extract::State;
use axum::response::Response;
use http::{HeaderValue, header};
use serde_json::json;

use crate::oauth::GRANT_TOKEN_EXCHANGE;
use crate::{Control, json_response};

/// `GET /.well-known/jwks.json`: active and previous signing keys.
pub async fn jwks(State(gateway): State<Control>) -> Response {
    let mut response = json_response(gateway.core.keyring.jwks());
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

/// `GET /.well-known/openid-configuration`.
pub async fn discovery(State(gateway): State<Control>) -> Response {
    let issuer = gateway.core.issuer.trim_end_matches('/');
    json_response(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "grant_types_supported": [GRANT_TOKEN_EXCHANGE, "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "access_token_signing_alg_values_supported": ["EdDSA"],
    }))
}
