//! `POST /oauth2/token`: RFC 8693 token exchange and the `client_credentials`
//! grant, over the form encoding and error format of RFC 6749. The exchange
//! itself (who the subject is, what the token says) is the identity crate's
//! [`TokenExchange`](modelgate_identity::exchange::TokenExchange); this module
//! only speaks HTTP.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use base64::Engine;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use modelgate_core::body::{BodyError, BodyLimits, read_body};
use modelgate_identity::exchange::{ExchangeError, ExchangeRequest};
use serde_json::json;

use modelgate_types::clock::unix_now;

use crate::Control;
use modelgate_core::AuthFailure;
use modelgate_core::metrics::{AuthFailureLabels, ExchangeLabels};

/// Largest form accepted by the token endpoint.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The token-exchange grant type URI.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut response = Response::new(Body::from(
        json!({ "error": code, "error_description": description }).to_string(),
    ));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"modelgate\""),
        );
    }
    response
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Parameters RFC 8693 allows more than once.
const REPEATABLE: [&str; 2] = ["audience", "resource"];

/// The parsed form.
#[derive(Debug, Default)]
struct Form {
    single: HashMap<String, String>,
    repeated: HashMap<&'static str, Vec<String>>,
}

impl Form {
    fn remove(&mut self, name: &str) -> Option<String> {
        self.single.remove(name)
    }
    fn remove_all(&mut self, name: &'static str) -> Vec<String> {
        self.repeated.remove(name).unwrap_or_default()
    }
}

/// Parses the form; a parameter given twice is refused (RFC 6749 §3.2),
/// except `audience` and `resource` (RFC 8693 §2.1).
fn parse_form(body: &[u8]) -> Result<Form, String> {
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
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
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

/// A refusal decided while reading the form.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    description: &'static str,
}

impl Refusal {
    fn invalid(description: &'static str) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            description,
        }
    }

    fn into_response(self) -> Response {
        oauth_error(self.status, self.code, self.description)
    }
}

fn grant_request(
    mut params: Form,
    headers: &HeaderMap,
) -> Result<(&'static str, ExchangeRequest), Refusal> {
    let grant = params
        .remove("grant_type")
        .ok_or_else(|| Refusal::invalid("`grant_type` is required"))?;
    match grant.as_str() {
        GRANT_TOKEN_EXCHANGE => {
            let subject_token = params
                .remove("subject_token")
                .ok_or_else(|| Refusal::invalid("`subject_token` is required"))?;
            let subject_token_type = params
                .remove("subject_token_type")
                .ok_or_else(|| Refusal::invalid("`subject_token_type` is required"))?;
            let actor = match (
                params.remove("actor_token"),
                params.remove("actor_token_type"),
            ) {
                (Some(token), Some(kind)) => Some((token, kind)),
                (None, None) => None,
                _ => {
                    return Err(Refusal::invalid(
                        "`actor_token` and `actor_token_type` go together",
                    ));
                }
            };
            Ok((
                "token_exchange",
                ExchangeRequest::TokenExchange {
                    subject_token,
                    subject_token_type,
                    actor,
                    audiences: params.remove_all("audience"),
                    resources: params.remove_all("resource"),
                    scope: params.remove("scope"),
                    requested_token_type: params.remove("requested_token_type"),
                },
            ))
        }
        "client_credentials" => {
            let from_form = params.remove("client_secret");
            let from_header = basic_credentials(headers).map(|(_, secret)| secret);
            let api_key = match (from_form, from_header) {
                (Some(_), Some(_)) => {
                    return Err(Refusal::invalid(
                        "send client credentials in the header or the body, not both",
                    ));
                }
                (Some(key), None) | (None, Some(key)) => key,
                (None, None) => {
                    return Err(Refusal {
                        status: StatusCode::UNAUTHORIZED,
                        code: "invalid_client",
                        description: "client authentication required: an API key as client_secret",
                    });
                }
            };
            Ok((
                "client_credentials",
                ExchangeRequest::ClientCredentials {
                    api_key,
                    scope: params.remove("scope"),
                },
            ))
        }
        _ => Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            code: "unsupported_grant_type",
            description: "supported: urn:ietf:params:oauth:grant-type:token-exchange, client_credentials",
        }),
    }
}

fn error_response(error: &ExchangeError) -> Response {
    let status = match error.code() {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    oauth_error(status, error.code(), &error.description())
}

/// The token endpoint.
pub async fn token(State(gateway): State<Control>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let form_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return invalid_request("send the request as application/x-www-form-urlencoded");
    }
    if parts.headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        gateway
            .core
            .metrics
            .auth_failures
            .get_or_create(&AuthFailureLabels {
                reason: AuthFailure::Ambiguous.reason(),
            })
            .inc();
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "more than one Authorization header: send one client credential",
        );
    }
    let limits = BodyLimits {
        max_bytes: MAX_FORM_BYTES,
        timeout: gateway.body_read_timeout,
    };
    let body = match read_body(body, limits).await {
        Ok(body) => body,
        Err(e @ BodyError::TimedOut { .. }) => {
            return oauth_error(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                &e.to_string(),
            );
        }
        Err(BodyError::TooLarge { .. } | BodyError::Unreadable) => {
            return invalid_request("the request body is too large or unreadable");
        }
    };
    let params = match parse_form(&body) {
        Ok(params) => params,
        Err(description) => return invalid_request(&description),
    };
    let (grant, exchange_request) = match grant_request(params, &parts.headers) {
        Ok(pair) => pair,
        Err(refusal) => return refusal.into_response(),
    };
    let metrics = &gateway.core.metrics;
    match gateway
        .core
        .exchange
        .exchange(exchange_request, unix_now())
        .await
    {
        Ok(issued) => {
            let mut detail = std::collections::BTreeMap::new();
            detail.insert("grant".to_owned(), grant.to_owned());
            detail.insert("jti".to_owned(), issued.jti.clone());
            detail.insert("via".to_owned(), issued.via.clone());
            if let Some(subject) = &issued.subject {
                detail.insert("subject".to_owned(), subject.clone());
            }
            detail.insert("expires_in".to_owned(), issued.expires_in.to_string());
            if !issued.delegation.is_empty() {
                let chain: Vec<&str> = issued
                    .delegation
                    .iter()
                    .map(|a| a.subject.as_str())
                    .collect();
                detail.insert("delegation".to_owned(), chain.join(">"));
            }
            if let Some(scope) = &issued.scope {
                detail.insert("scope".to_owned(), scope.clone());
            }
            // Fail closed: a token the audit log cannot show was issued is
            // not handed out.
            if let Err(err) = gateway
                .core
                .audit
                .control(
                    "token.exchange",
                    Some(&issued.identity),
                    Some(&issued.identity),
                    "ok",
                    detail,
                )
                .await
            {
                tracing::error!(error = %err, "audit: token exchange not recorded; token withheld");
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the audit log cannot record this exchange right now",
                );
            }
            metrics
                .token_exchanges
                .get_or_create(&ExchangeLabels {
                    grant,
                    result: "issued",
                })
                .inc();
            tracing::info!(
                grant,
                identity = %issued.identity,
                jti = %issued.jti,
                via = %issued.via,
                delegation = issued.delegation.len(),
                expires_in = issued.expires_in,
                "access token issued"
            );
            let mut body = json!({
                "access_token": issued.token.expose(),
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            });
            if let Some(scope) = &issued.scope {
                body["scope"] = json!(scope);
            }
            let mut response = Response::new(Body::from(body.to_string()));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => {
            metrics
                .token_exchanges
                .get_or_create(&ExchangeLabels {
                    grant,
                    result: error.label(),
                })
                .inc();
            tracing::info!(grant, reason = error.label(), "token request refused");
            let mut detail = std::collections::BTreeMap::new();
            detail.insert("grant".to_owned(), grant.to_owned());
            detail.insert("error".to_owned(), error.code().to_owned());
            detail.insert("reason".to_owned(), error.label().to_owned());
            if let Err(err) = gateway
                .core
                .audit
                .control("token.exchange_failed", None, None, "denied", detail)
                .await
            {
                tracing::error!(error = %err, "audit: failed token exchange not recorded");
            }
            error_response(&error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn grant_shapes() {
        let h = HeaderMap::new();
        let form = |s: &str| parse_form(s.as_bytes()).unwrap();
        assert!(grant_request(form("scope=x"), &h).is_err());
        assert!(grant_request(form("grant_type=password"), &h).is_err());
        let te = format!("grant_type={GRANT_TOKEN_EXCHANGE}&subject_token=t");
        assert!(grant_request(form(&te), &h).is_err(), "type required");
        let te = format!("{te}&subject_token_type=x&actor_token=a");
        assert!(grant_request(form(&te), &h).is_err(), "actor type required");
        let (grant, _) =
            grant_request(form("grant_type=client_credentials&client_secret=k"), &h).unwrap();
        assert_eq!(grant, "client_credentials");
    }
}
