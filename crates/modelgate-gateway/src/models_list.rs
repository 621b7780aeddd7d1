//! `GET /v1/models` and `/v1/models/{id}`: the models the caller may use,
//! in the caller's dialect. A model is listed when its environment rule
//! admits the caller and policy lets the caller list or use it.

use axum::body::Body;
use axum::response::Response;
use http::Request;

use crate::dialect::Dialect;
use crate::gateway::{Gateway, json_response, model_not_found};
use crate::record::CallRecord;

impl Gateway {
    /// `GET /v1/models` (and `/v1/models/{id}`): the models the caller may
    /// use, in OpenAI form, or Anthropic form when the caller speaks it.
    pub async fn list_models(&self, request: Request<Body>, only: Option<String>) -> Response {
        let headers = request.headers();
        let dialect =
            if headers.contains_key("anthropic-version") || headers.contains_key("x-api-key") {
                Dialect::Anthropic
            } else {
                Dialect::OpenAi
            };
        let mut record = CallRecord::new(
            self.inner.metrics.clone(),
            self.next_request_id(),
            "models.list",
        );
        crate::audit::request::note_client(&mut record, request.extensions(), headers);
        let response = match self.authenticate(headers, dialect, &mut record).await {
            Err((label, error)) => self.refuse(&mut record, label, error, dialect),
            Ok(principal) => {
                let entitlements = self.entitlements(&principal).await.ok();
                let names: Vec<&str> = self
                    .inner
                    .routes
                    .visible(&principal)
                    .filter(|r| only.as_deref().is_none_or(|o| o == &*r.name))
                    .filter(|r| {
                        entitlements
                            .as_ref()
                            .is_some_and(|e| self.may_list(&principal, e, r))
                    })
                    .map(|r| &*r.name)
                    .collect();
                match (&only, names.first()) {
                    (Some(_), None) => {
                        self.refuse(&mut record, "model_not_found", model_not_found(), dialect)
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
        let response = match self.audit_single(&record).await {
            Ok(()) => response,
            Err(error) => self.refuse(&mut record, "audit_unavailable", error, dialect),
        };
        record.finish();
        response
    }
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
