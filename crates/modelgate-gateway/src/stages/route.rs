//! The route stage: of the route's targets that can serve the call (native
//! dialect first, then translated), keep those that may receive this
//! request: ready (under `posture.require_readiness`), within their data
//! class ceiling, in the regions the identity and the route require, and
//! self-hosted under `reroute`. Each target left out goes on the record
//! (`skipped`, with why: the log line and the audit records say it); none
//! left: 403 `no_eligible_upstream` naming each.

use modelgate_core::Core;

use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::routes::Target;
use crate::stages::screen::{ScreenRules, Screening};
use crate::stages::{Asked, Caller};

/// The eligible targets of `asked`'s route, in the route's order.
pub fn eligible<'r>(
    core: &Core,
    rules: &ScreenRules,
    caller: &Caller,
    asked: Asked<'r, '_>,
    screening: &Screening,
    record: &mut CallRecord,
) -> Result<Vec<&'r Target>, Refusal> {
    let route = asked.route;
    let targets: Vec<&Target> = route
        .targets_for(asked.call.operation)
        .filter(|t| {
            let ready = core.posture.ready(&t.upstream.name);
            match ready.and_then(|()| {
                rules.eligible(
                    screening,
                    &caller.principal,
                    route.regions.as_deref(),
                    &t.upstream,
                )
            }) {
                Ok(()) => true,
                Err(why) => {
                    record.skipped.push((t.upstream.name.clone(), why));
                    false
                }
            }
        })
        .collect();
    if targets.is_empty() && !record.skipped.is_empty() {
        record.action = Some("refused");
        return Err(Refusal::NoEligibleUpstream(
            ApiError::new(
                ErrorKind::PermissionDenied,
                format!(
                    "no upstream may receive this request: {}",
                    Skipped(&record.skipped)
                ),
            )
            .with_code("no_eligible_upstream"),
        ));
    }
    Ok(targets)
}

/// The targets left out, as the log and the caller read them:
/// `skipped openai: data class confidential above its max_data_class
/// internal; skipped ...` (nothing when none was).
#[derive(Debug, Clone, Copy)]
pub struct Skipped<'a>(pub &'a [(std::sync::Arc<str>, String)]);

impl std::fmt::Display for Skipped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (upstream, why)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "skipped {upstream}: {why}")?;
        }
        Ok(())
    }
}
