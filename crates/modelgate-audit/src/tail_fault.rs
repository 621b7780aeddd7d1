//! What the writer says and records when a stored tail does not verify
//! against its last checkpoint: the refusal appends get, the reason
//! `/readyz` and the logs give, and the control record of the fault.

use std::collections::BTreeMap;

use crate::codec::PreparedEvent;
use crate::error::AuditError;
use crate::record::{AuditEvent, ControlRecord};

/// Action of the control record written when a tail fault is found.
pub const TAIL_FAULT_ACTION: &str = "audit.tail_fault";

/// Why an append is refused while the log is faulted.
pub(crate) const REFUSAL: &str = "the audit log's tail does not verify against its last \
     checkpoint; nothing is signed or written until an operator restores the log";

/// What an append gets while the log is faulted (a 503 for the caller).
pub(crate) fn refusal() -> AuditError {
    AuditError::Unavailable(REFUSAL.into())
}

/// The fault as one line: which sink, what does not verify.
pub(crate) fn reason(sink: &str, fault: &str) -> String {
    format!("audit sink {sink}: the records after the last checkpoint do not verify: {fault}")
}

/// The control record of the fault, appended after the tail (never signed).
pub(crate) fn event(replica: &str, sink: &str, fault: &str) -> Result<PreparedEvent, AuditError> {
    let mut detail = BTreeMap::new();
    detail.insert("sink".to_owned(), sink.to_owned());
    detail.insert("reason".to_owned(), fault.to_owned());
    PreparedEvent::new(AuditEvent::Control(ControlRecord {
        action: TAIL_FAULT_ACTION.to_owned(),
        actor: Some("audit-writer".to_owned()),
        target: Some(replica.to_owned()),
        outcome: "fault".to_owned(),
        detail,
    }))
}
