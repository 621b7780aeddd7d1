//! The audit stage: the admit record before a request is forwarded, the
//! response body kept for the complete record, and the single record of a
//! refusal. Records wait until they are durable; when one cannot be, the
//! caller gets a 503 in its dialect and nothing is forwarded.

use std::sync::Arc;

use axum::response::Response;
use modelgate_audit::{AuditEvent, Body, BodyPolicy, Retention};
use modelgate_config::ScreenAction;
use modelgate_core::Core;
use modelgate_core::audit::{Coalesced, RefusalKey};
use modelgate_screen::Screener;
use modelgate_types::Dialect;
use modelgate_types::clock::now_ms;

use crate::api_error::ApiError;
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::stages::screen::redact_retained;

/// Ends a refused request: the refusal goes on the record and is recorded
/// as the request's one audit record (or, for a request already admitted,
/// in its complete record); the caller gets the refusal in its dialect, or
/// 503 `audit_unavailable` if even that record cannot be written.
pub async fn refuse(
    core: &Core,
    record: &mut CallRecord,
    refusal: Refusal,
    dialect: Dialect,
) -> Response {
    let unrecorded = matches!(refusal, Refusal::AuditUnavailable);
    let response = note_refusal(record, refusal).into_response(dialect);
    // An admitted request (every upstream failed, or none could take it)
    // is told by its two records: the admit record is durable, and the
    // complete record, written when the request is accounted, carries
    // the refusal.
    if unrecorded || record.audit.is_some() {
        return response;
    }
    match single(core, record).await {
        Ok(()) => response,
        Err(refusal) => note_refusal(record, refusal).into_response(dialect),
    }
}

/// Puts `refusal` on the record (status and label); returns the caller's
/// error.
pub fn note_refusal(record: &mut CallRecord, refusal: Refusal) -> ApiError {
    record.refusal = Some(refusal.label());
    let error = refusal.into_error();
    record.status = error.kind.status().as_u16();
    error
}

/// Appends the one record of a request told in one record (a refusal, or a
/// request the gateway answered itself) and waits until it is durable. A
/// refusal of a caller not authenticated (401, or its source over the
/// failed-authentication budget) is written only when it is the first of
/// its source and reason in `audit.refusal_coalesce_interval`; the rest are
/// counted into the interval's `refusal.summary` record.
pub async fn single(core: &Core, record: &CallRecord) -> Result<(), Refusal> {
    if let Some(key) = coalesced_key(record)
        && core.audit.coalesce_refusal(key, now_ms()) == Coalesced::Counted
    {
        return Ok(());
    }
    let mut event = record.audit_record(None);
    if record.refusal.is_some() {
        event.decision = event.decision.or(Some("deny".into()));
        event.action = event.action.or(Some("refused".into()));
    }
    match core.audit.append(AuditEvent::Request(event)).await {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::error!(error = %err, request_id = %record.request_id, "audit: refusal not recorded");
            Err(Refusal::AuditUnavailable)
        }
    }
}

/// The key a refusal is coalesced under, if it is one of a caller not
/// authenticated: a 401 (not a 503: credentials that could not be checked
/// are the gateway's failure, written each time) or `auth_limited`.
fn coalesced_key(record: &CallRecord) -> Option<RefusalKey> {
    let reason = match (record.refusal?, record.status) {
        (reason @ "unauthenticated", 401) | (reason @ "auth_limited", _) => reason,
        _ => return None,
    };
    Some(RefusalKey {
        source: record.source?,
        surface: "model_api",
        reason,
    })
}

/// Appends the admit record (with the prompt as the route's retention
/// keeps it, and what screening made of it as the action) and waits until
/// it is durable; from then on the record carries the audit handle, so its
/// end writes the complete record.
pub async fn admit(
    core: &Core,
    record: &mut CallRecord,
    prompt: &[u8],
    screened: ScreenAction,
) -> Result<(), Refusal> {
    record.action = Some(match screened {
        ScreenAction::Redact => "redacted",
        ScreenAction::Reroute => "rerouted",
        _ => "admitted",
    });
    let audit = &core.audit;
    let bodies = audit.bodies(record.model.as_deref());
    let mut event = record.audit_record(Some("admit"));
    if bodies.retention() != Retention::None {
        event.prompt = retained(&core.screener, bodies, prompt);
        record.bodies_expire = bodies.expires(now_ms());
        event.bodies_expire = record.bodies_expire;
    }
    match audit.append(AuditEvent::Request(event)).await {
        Ok(_) => {
            record.audit = Some(Arc::clone(audit));
            Ok(())
        }
        Err(err) => {
            tracing::error!(error = %err, request_id = %record.request_id, "audit: request not admitted");
            Err(Refusal::AuditUnavailable)
        }
    }
}

/// Keeps the response body in the complete record, as the route's
/// retention says.
pub fn keep_response(core: &Core, record: &mut CallRecord, body: &[u8]) {
    let bodies = core.audit.bodies(record.model.as_deref());
    if bodies.retention() == Retention::None {
        return;
    }
    record.response_body = retained(&core.screener, bodies, body);
}

/// What `bodies` keeps of `bytes` (redaction by the detectors under
/// `redacted`, of the decoded JSON strings as the screen reads them).
fn retained(screener: &Screener, bodies: &BodyPolicy, bytes: &[u8]) -> Option<Body> {
    let text = String::from_utf8_lossy(bytes);
    bodies.body(&text, &|t| redact_retained(screener, t))
}
