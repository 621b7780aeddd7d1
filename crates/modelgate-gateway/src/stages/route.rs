//! The route stage: of the route's targets that can serve the call (native
//! dialect first, then translated), keep those that may receive this
//! request: ready (under `posture.require_readiness`), within their data
//! class ceiling, in the regions the identity and the route require, and
//! self-hosted under `reroute`. None left: 403 `no_eligible_upstream`
//! with the first reason.

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
    let mut reason: Option<String> = None;
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
                    reason.get_or_insert(why);
                    false
                }
            }
        })
        .collect();
    if targets.is_empty()
        && let Some(why) = reason
    {
        record.action = Some("refused");
        return Err(Refusal::NoEligibleUpstream(
            ApiError::new(
                ErrorKind::PermissionDenied,
                format!("no upstream may receive this request: {why}"),
            )
            .with_code("no_eligible_upstream"),
        ));
    }
    Ok(targets)
}
