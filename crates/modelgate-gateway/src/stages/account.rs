//! The account stage: when a request (or its stream) ends, its tokens are
//! charged against token rate limits, the complete audit record is written
//! if it was admitted, and it is counted in metrics and told in one log
//! line.

use std::sync::Arc;

use modelgate_audit::AuditEvent;
use modelgate_core::metrics::{OperationLabels, RequestLabels};

use crate::record::CallRecord;

/// Counts the request, writes its log line and, if it was admitted,
/// its complete audit record.
pub fn finish(mut record: CallRecord) {
    if let Some(charge) = record.token_charge.take() {
        charge.charge(
            record.usage.input.saturating_add(record.usage.output),
            modelgate_types::clock::now_ms(),
        );
    }
    if let Some(audit) = record.audit.take() {
        if record.action.is_none() || record.action == Some("admitted") {
            record.action = Some(if record.stream_error.is_some() || record.status >= 400 {
                "failed"
            } else {
                "forwarded"
            });
        }
        let record = record.audit_record(Some("complete"));
        audit.append_later(AuditEvent::Request(record));
    }
    let empty: Arc<str> = Arc::from("");
    let model = record.model.clone().unwrap_or_else(|| empty.clone());
    record
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            operation: record.operation,
            model: model.clone(),
            upstream: record.upstream.clone().unwrap_or(empty),
            status: record.status,
        })
        .inc();
    let total = record.started.elapsed();
    let gateway = record
        .gateway_time
        .unwrap_or_else(|| total.saturating_sub(record.upstream_time));
    record
        .metrics
        .gateway_seconds
        .get_or_create(&OperationLabels {
            operation: record.operation,
        })
        .observe(gateway.as_secs_f64());
    if record.model.is_some() {
        record
            .metrics
            .usage(&model, record.usage.input, record.usage.output);
    }
    let attempts: Vec<String> = record
        .attempts
        .iter()
        .map(|a| format!("{}:{}", a.upstream, a.result))
        .collect();
    tracing::info!(
        request_id = %record.request_id,
        operation = record.operation,
        identity = record.identity.as_deref().unwrap_or(""),
        credential_id = record.credential_id.as_deref().unwrap_or(""),
        auth_method = record.auth_method,
        delegation = %record.delegation,
        model = record.model.as_deref().unwrap_or(""),
        upstream = record.upstream.as_deref().unwrap_or(""),
        status = record.status,
        stream = record.stream,
        tokens_in = record.usage.input,
        tokens_out = record.usage.output,
        usage_estimated = record.usage_estimated,
        gateway_us = gateway.as_micros() as u64,
        upstream_ms = record.upstream_time.as_millis() as u64,
        total_ms = total.as_millis() as u64,
        attempts = %attempts.join(","),
        refusal = record.refusal.unwrap_or(""),
        stream_error = record.stream_error.unwrap_or(""),
        note = record.note.unwrap_or(""),
        skipped = %crate::stages::route::Skipped(&record.skipped),
        "request"
    );
}
