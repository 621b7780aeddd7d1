//! The modelgate keys screening found in prompts, from the `key.leaked`
//! control records the screen stage writes (actor: the identity whose
//! prompt carried the key; target: the key's id; `key_identity`: the
//! key's owner; outcome `revoked`). Never the key itself.

use std::collections::BTreeMap;

use modelgate_audit::{ControlRecord, Record};

/// Record ids kept as evidence per key.
const EVIDENCE_IDS: usize = 5;

/// One leaked key while scanning, by key id.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeakSeen {
    /// Name of the identity the key belongs to.
    pub owner: String,
    /// Name of the identity whose prompt carried it (the last one seen).
    pub found_in: Option<String>,
    /// The gateway revoked it (or it was revoked already).
    pub revoked: bool,
    /// Last time it was found (unix seconds).
    pub found_at: i64,
    /// Some audit record ids.
    pub record_ids: Vec<String>,
    /// Name of each identity whose prompt carried it → its records.
    pub found_by: BTreeMap<String, u64>,
}

/// Adds a `key.leaked` record to `leaks`; other records are ignored.
pub(crate) fn leaked_record(
    record: &Record,
    control: &ControlRecord,
    leaks: &mut BTreeMap<String, LeakSeen>,
) {
    if control.action != "key.leaked" {
        return;
    }
    let Some(key) = &control.target else {
        return;
    };
    let seen = leaks.entry(key.clone()).or_default();
    if let Some(owner) = control.detail.get("key_identity") {
        seen.owner.clone_from(owner);
    }
    if let Some(actor) = &control.actor {
        seen.found_in = Some(actor.clone());
        *seen.found_by.entry(actor.clone()).or_default() += 1;
    }
    seen.revoked |= control.outcome == "revoked";
    seen.found_at = seen.found_at.max(record.time.div_euclid(1000));
    if seen.record_ids.len() < EVIDENCE_IDS {
        seen.record_ids
            .push(format!("{}/{}", record.replica, record.seq));
    }
}
