//! `POST /oauth2/token`: RFC 8693 token exchange and the `client_credentials`
//! grant, over the form encoding and error format of RFC 6749. The exchange
//! itself (who the subject is, what the token says) is the identity crate's
//! [`TokenExchange`](modelgate_identity::exchange::TokenExchange); this module
//! only speaks HTTP. Failed authentications spend the caller's source's
//! budget and are recorded coalesced ([`crate::oauth_refusals`]).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use modelgate_core::body::{BodyError, BodyLimits, read_body};
use modelgate_identity::exchange::{ExchangeRefusal, ExchangeRequest};
use serde_json::json;

use modelgate_types::clock::unix_now;

use crate::Control;
use crate::oauth_form::{Form, basic_credentials, parse_form};
use crate::oauth_refusals::{self, Refused};
use modelgate_core::AuthFailure;
use modelgate_core::metrics::{AuthFailureLabels, ExchangeLabels};

/// Largest form accepted by the token endpoint.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The token-exchange grant type URI.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    oauth_error_body(
        status,
        json!({ "error": code, "error_description": description }),
    )
}

fn oauth_error_body(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
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

/// 429 for a source over its failed-authentication budget.
fn too_many_failures(retry_after: u64) -> Response {
    let mut response = oauth_error(
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
        &format!(
            "too many failed authentications from this address; credentials from it are not \
             checked for {retry_after} s"
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
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

/// The RFC 6749 error of a refused exchange, with the reason code (`reason`,
/// the fixed label) and, when the refusal is about one claim, its name
/// (`claim`): never its value, the rule's pattern or the token.
fn error_response(refusal: &ExchangeRefusal) -> Response {
    let error = &refusal.error;
    let status = match error.code() {
        "invalid_client" => StatusCode::UNAUTHORIZED,
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut body = json!({
        "error": error.code(),
        "error_description": error.description(),
        "reason": error.label(),
    });
    if let Some(claim) = &refusal.claim {
        body["claim"] = json!(claim);
    }
    oauth_error_body(status, body)
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
    let core = &*gateway.core;
    let source = core
        .sources
        .source_of(&parts.extensions, &parts.headers)
        .map(|s| s.addr);
    if let Err(over) = oauth_refusals::check(core, source) {
        let refused = Refused {
            grant: None,
            error: "temporarily_unavailable",
            reason: "auth_limited",
            coalesce: true,
            about: None,
        };
        oauth_refusals::record(core, source, refused).await;
        return too_many_failures(over.retry_after);
    }
    if parts.headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        oauth_refusals::failed(core, source);
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
        Err(refusal) => {
            let error = &refusal.error;
            metrics
                .token_exchanges
                .get_or_create(&ExchangeLabels {
                    grant,
                    result: error.label(),
                })
                .inc();
            // In full, never the token: the issuer, the verified subject,
            // and how the closest claim rule missed.
            tracing::info!(
                grant,
                reason = error.label(),
                issuer = refusal.issuer.as_deref().unwrap_or(""),
                subject = refusal.subject.as_deref().unwrap_or(""),
                claim = refusal.claim.as_deref().unwrap_or(""),
                detail = refusal.detail.as_deref().unwrap_or(""),
                "token request refused: {error}"
            );
            let failed_authentication = oauth_refusals::is_failed_authentication(error);
            if failed_authentication {
                oauth_refusals::failed(core, source);
            }
            let refused = Refused {
                grant: Some(grant),
                error: error.code(),
                reason: error.label(),
                // A token whose signature verified (its subject is known)
                // is recorded on its own, issuer and subject included: it
                // cost its sender a token the issuer signed, so it is no
                // flood, and it says who was refused.
                coalesce: failed_authentication && refusal.subject.is_none(),
                about: Some(&refusal),
            };
            oauth_refusals::record(core, source, refused).await;
            error_response(&refusal)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
