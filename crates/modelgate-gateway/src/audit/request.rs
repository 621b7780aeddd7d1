//! The audit stage of the request path: the admit record before a request
//! is forwarded, and the single record of a refusal. Both wait until the
//! record is durable; when it cannot be, the caller gets a 503 in its
//! dialect and nothing is forwarded.

use std::sync::Arc;

use http::{Extensions, HeaderMap};
use modelgate_audit::{AuditEvent, Body, BodyPolicy};

use crate::dialect::{ApiError, ErrorKind};
use crate::gateway::Gateway;
use crate::record::CallRecord;
use crate::server::ClientAddr;

/// Longest `User-Agent` kept in a record.
const MAX_USER_AGENT: usize = 256;

/// The error a caller gets when its request cannot be recorded.
pub fn audit_unavailable() -> ApiError {
    ApiError::new(
        ErrorKind::Unavailable,
        "the gateway cannot record this request in its audit log right now; nothing was forwarded",
    )
    .with_code("audit_unavailable")
    .with_retry_after(1)
}

/// Copies the caller's address and user agent into `record`.
pub fn note_client(record: &mut CallRecord, extensions: &Extensions, headers: &HeaderMap) {
    record.client_addr = extensions.get::<ClientAddr>().map(|c| c.0.to_string());
    record.user_agent = header_text(headers, http::header::USER_AGENT);
    record.origin = header_text(headers, http::header::ORIGIN);
}

/// A header's value as text, truncated to [`MAX_USER_AGENT`] bytes.
fn header_text(headers: &HeaderMap, name: http::header::HeaderName) -> Option<String> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let mut end = text.len().min(MAX_USER_AGENT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

impl Gateway {
    /// Appends the one record of a request told in one record (a refusal,
    /// or a request the gateway answered itself) and waits until it is
    /// durable. `Err` means it could not be recorded.
    pub(crate) async fn audit_single(&self, record: &CallRecord) -> Result<(), ApiError> {
        let mut event = record.audit_record(None);
        if record.refusal.is_some() {
            event.decision = event.decision.or(Some("deny".into()));
            event.action = event.action.or(Some("refused".into()));
        }
        match self.inner.audit.append(AuditEvent::Request(event)).await {
            Ok(_) => Ok(()),
            Err(err) => {
                tracing::error!(error = %err, request_id = %record.request_id, "audit: refusal not recorded");
                Err(audit_unavailable())
            }
        }
    }

    /// Appends the admit record (with the prompt as the route's retention
    /// keeps it) and waits until it is durable; from then on the record
    /// carries the audit handle, so its end writes the complete record.
    pub(crate) async fn audit_admit(
        &self,
        record: &mut CallRecord,
        prompt: &[u8],
    ) -> Result<(), (&'static str, ApiError)> {
        let audit = &self.inner.audit;
        let bodies = audit.bodies(record.model.as_deref());
        let mut event = record.audit_record(Some("admit"));
        if bodies.retention() != modelgate_audit::Retention::None {
            event.prompt = self.retained(bodies, prompt);
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
                Err(("audit_unavailable", audit_unavailable()))
            }
        }
    }

    /// Keeps the response body in the complete record, as the route's
    /// retention says.
    pub(crate) fn audit_response(&self, record: &mut CallRecord, body: &[u8]) {
        let bodies = self.inner.audit.bodies(record.model.as_deref());
        if bodies.retention() == modelgate_audit::Retention::None {
            return;
        }
        record.response_body = self.retained(bodies, body);
    }

    /// What `bodies` keeps of `bytes` (redaction by the screen stage's
    /// detectors under `redacted`).
    fn retained(&self, bodies: &BodyPolicy, bytes: &[u8]) -> Option<Body> {
        let text = String::from_utf8_lossy(bytes);
        let screener = self.inner.screen.screener();
        bodies.body(&text, &|t| screener.redact(t, &screener.scan(t)))
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
