//! The screen stage: detectors run once over the prompt's strings (object
//! keys included, and the prose joined across parts and messages);
//! the findings (kinds and counts, never the text), the request's data
//! class and the action go on the record. A live modelgate key found in
//! the prompt is revoked at once; `block` refuses the request (400 naming
//! the kinds); `redact` hands the forward stage a body with the findings
//! replaced.

mod body_scan;
pub mod json_text;
mod redact_body;
mod rules;

use std::collections::BTreeMap;

use bytes::Bytes;
use modelgate_config::ScreenAction;
use modelgate_core::Core;
use modelgate_types::Operation;
use modelgate_types::clock::unix_now;

pub use body_scan::BodyScan;
pub use redact_body::redact_retained;
pub use rules::{LeakedSecret, ScreenConfigError, ScreenRules, Screening};

use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::stages::parse::{ModelCall, parse_body};
use crate::stages::{Asked, Caller};

/// Screens the prompt of `asked` for `caller`, as `rules` say.
pub async fn screen(
    core: &Core,
    rules: &ScreenRules,
    caller: &Caller,
    asked: Asked<'_, '_>,
    record: &mut CallRecord,
) -> Result<Screening, Refusal> {
    let screening = rules
        .screen_request(
            asked.call,
            asked.body,
            asked.headers,
            &caller.principal,
            &asked.route.name,
        )
        .map_err(Refusal::InvalidRequest)?;
    record.findings.clone_from(&screening.findings);
    record.data_class = Some(rules.classes().name(screening.class).to_owned());
    if !screening.leaked.is_empty() && rules.revokes_leaked_keys() {
        revoke_leaked(core, &screening, record).await;
    }
    if screening.action == ScreenAction::Block {
        record.action = Some("blocked");
        return Err(Refusal::Blocked(ScreenRules::block_error(&screening)));
    }
    Ok(screening)
}

/// The call and body to forward: the caller's, or the redacted body (read
/// again, since its spans moved) when screening redacted it.
pub fn forwarded_body(
    operation: Operation,
    call: ModelCall,
    body: Bytes,
    redacted: Option<Vec<u8>>,
) -> Result<(ModelCall, Bytes), Refusal> {
    match redacted {
        Some(redacted) => {
            let redacted = Bytes::from(redacted);
            let call = parse_body(operation, &redacted)?;
            Ok((call, redacted))
        }
        None => Ok((call, body)),
    }
}

/// Revokes each live modelgate key found in the prompt and records it.
async fn revoke_leaked(core: &Core, screening: &Screening, record: &CallRecord) {
    for secret in &screening.leaked {
        match core.identity.revoke_leaked_key(&secret.0, unix_now()).await {
            Ok(Some(leaked)) => {
                tracing::warn!(key_id = %leaked.key_id, identity = %leaked.identity, "a modelgate key was found in a prompt and revoked");
                let detail = BTreeMap::from([
                    ("request_id".to_owned(), record.request_id.to_string()),
                    ("key_identity".to_owned(), leaked.identity.clone()),
                    ("revoked_now".to_owned(), leaked.revoked_now.to_string()),
                ]);
                let _ = core
                    .audit
                    .control(
                        "key.leaked",
                        record.identity.as_deref(),
                        Some(&leaked.key_id),
                        "revoked",
                        detail,
                    )
                    .await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not revoke a leaked key"),
        }
    }
}
