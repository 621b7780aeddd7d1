//! `GET /v1/models` and `/v1/models/{id}`: the models the caller may use,
//! in the caller's dialect. A model is listed when its environment rule
//! admits the caller and policy lets the caller list or use it.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Request, header};
use modelgate_types::Dialect;

use crate::Gateway;
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::stages::{accept, account, audit, authenticate, decide, grants};

/// What is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// `GET /v1/models`: every model the caller may use.
    All,
    /// `GET /v1/models/{id}`: that one.
    One(String),
    /// `GET /v1/models/{id}` with an id that cannot be read (not UTF-8):
    /// no model, refused as an unknown one.
    Unreadable,
}

/// `GET /v1/models` (and `/v1/models/{id}`): the models the caller may
/// use, in OpenAI form, or Anthropic form when the caller speaks it.
pub async fn list_models(gateway: &Gateway, request: Request<Body>, listing: Listing) -> Response {
    let only = match listing {
        Listing::All => None,
        Listing::One(id) => Some(Some(id)),
        Listing::Unreadable => Some(None),
    };
    let core = &gateway.core;
    let headers = request.headers();
    let dialect = if headers.contains_key("anthropic-version") || headers.contains_key("x-api-key")
    {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    };
    let mut record = CallRecord::new(
        core.metrics.clone(),
        gateway.next_request_id(),
        "models.list",
    );
    accept::note_client(&mut record, request.extensions(), headers);
    let response = match authenticate::authenticate(core, headers, dialect, &mut record).await {
        Err(refusal) => audit::note_refusal(&mut record, refusal).into_response(dialect),
        Ok(principal) => {
            let entitlements = grants::entitlements(core, &principal).await.ok();
            let names: Vec<&str> = gateway
                .inner
                .routes
                .visible(&principal)
                .filter(|r| only.as_ref().is_none_or(|o| o.as_deref() == Some(&*r.name)))
                .filter(|r| {
                    entitlements
                        .as_ref()
                        .is_some_and(|e| decide::may_list(core, &principal, e, r))
                })
                .map(|r| &*r.name)
                .collect();
            match (&only, names.first()) {
                (Some(_), None) => {
                    audit::note_refusal(&mut record, Refusal::ModelNotFound).into_response(dialect)
                }
                (Some(_), Some(name)) => {
                    record.status = 200;
                    record.decision = Some("allow");
                    record.action = Some("listed");
                    json_response(model_object(dialect, name))
                }
                (None, _) => {
                    record.status = 200;
                    record.decision = Some("allow");
                    record.action = Some("listed");
                    json_response(model_list(dialect, &names))
                }
            }
        }
    };
    let response = match audit::single(core, &record).await {
        Ok(()) => response,
        Err(refusal) => audit::note_refusal(&mut record, refusal).into_response(dialect),
    };
    account::finish(record);
    response
}

fn json_response(value: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn model_object(dialect: Dialect, name: &str) -> serde_json::Value {
    match dialect {
        Dialect::OpenAi => serde_json::json!({
            "id": name, "object": "model", "created": 0, "owned_by": "modelgate"
        }),
        Dialect::Anthropic => serde_json::json!({
            "type": "model", "id": name, "display_name": name,
            "created_at": "1970-01-01T00:00:00Z"
        }),
    }
}

fn model_list(dialect: Dialect, names: &[&str]) -> serde_json::Value {
    let data: Vec<_> = names.iter().map(|n| model_object(dialect, n)).collect();
    match dialect {
        Dialect::OpenAi => serde_json::json!({ "object": "list", "data": data }),
        Dialect::Anthropic => serde_json::json!({
            "data": data,
            "has_more": false,
            "first_id": names.first(),
            "last_id": names.last(),
        }),
    }
}
