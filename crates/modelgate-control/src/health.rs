//! The operational endpoints: liveness, readiness (store reachable and
//! audit log writing) and Prometheus metrics.

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use crate::{Control, json_response};

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Response {
    json_response(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: the store answers, the audit log can write, and this
/// replica synced with the store within `tokens.max_staleness`.
pub(crate) async fn readyz(State(c): State<Control>) -> Response {
    let reason = match c.core.store.ping().await {
        Err(e) => {
            tracing::warn!(error = %e, "store not reachable");
            Some("store unreachable")
        }
        Ok(()) if c.core.audit.tail_fault().is_some() => {
            Some("audit log tail does not verify against its last checkpoint")
        }
        Ok(()) if !c.core.audit.healthy() => Some("audit log cannot write"),
        Ok(()) if c.core.tokens.is_stale() => Some("state sync stale"),
        Ok(()) => None,
    };
    match reason {
        None => json_response(serde_json::json!({ "status": "ready" })),
        Some(reason) => {
            let mut r = json_response(serde_json::json!({
                "status": "not_ready", "reason": reason
            }));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r
        }
    }
}

/// `GET /metrics`: the registry in the OpenMetrics text format.
pub(crate) async fn metrics(State(c): State<Control>) -> Response {
    let faulted = c.core.audit.tail_fault().is_some();
    c.core.metrics.audit_tail_fault.set(i64::from(faulted));
    let mut r = Response::new(Body::from(c.core.metrics.render()));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}
