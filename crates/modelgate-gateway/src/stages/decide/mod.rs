//! The decide stage: Cedar decides on each eligible target; the targets it
//! denies are dropped. The first allowing (or, if none, the first denying)
//! decision goes on the record with its policy ids, the shadow set's
//! differing decision (with its policy ids and, for a denial, its reason)
//! and the facts (for replay). All denied: 403
//! `policy_denied` with the deciding policy's `@reason` and nothing else
//! about the policy.

mod facts;

use modelgate_core::Core;
use modelgate_core::policy::PolicySet;
use modelgate_identity::Principal;
use modelgate_identity::access::Entitlements;
use modelgate_policy::Decision;
use modelgate_types::Operation;
use modelgate_types::clock::unix_now;

pub use facts::FactsBuilder;

use crate::api_error::{ApiError, ErrorKind};
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::routes::{ModelRoute, Target};
use crate::stages::screen::Screening;
use crate::stages::{Asked, Caller};

/// The targets policy allows, of `targets`.
pub fn decide<'r>(
    policy: &PolicySet,
    caller: &Caller,
    asked: Asked<'_, '_>,
    screening: &Screening,
    targets: Vec<&'r Target>,
    record: &mut CallRecord,
) -> Result<Vec<&'r Target>, Refusal> {
    let call = asked.call;
    let mut facts = FactsBuilder::new(
        &caller.principal,
        &caller.entitlements,
        call.operation,
        &asked.route.name,
        call.max_tokens,
        Some(screening),
        unix_now(),
    );
    let mut allowed = Vec::with_capacity(targets.len());
    let mut first_denial: Option<(Decision, String)> = None;
    for target in targets {
        let input = facts.for_upstream(&target.upstream);
        let decision = policy.decide(input);
        if let Some(shadow) = &decision.shadow
            && record.shadow.is_none()
        {
            record.shadow = Some((
                if shadow.allowed { "allow" } else { "deny" },
                shadow.policy_ids.clone(),
                shadow.reason.clone(),
            ));
        }
        if decision.allowed {
            if allowed.is_empty() {
                record.policy_ids.clone_from(&decision.policy_ids);
                record.policy_input = policy.input_json(input);
            }
            allowed.push(target);
        } else if first_denial.is_none() {
            first_denial = Some((decision, policy.input_json(input).unwrap_or_default()));
        }
    }
    if !allowed.is_empty() {
        record.decision = Some("allow");
        return Ok(allowed);
    }
    let Some((denial, input)) = first_denial else {
        return Ok(allowed);
    };
    record.decision = Some("deny");
    record.action = Some("denied");
    record.policy_ids = denial.policy_ids;
    record.policy_input = Some(input);
    let reason = denial
        .reason
        .unwrap_or_else(|| "denied by policy".to_owned());
    Err(Refusal::PolicyDenied(
        ApiError::new(ErrorKind::PermissionDenied, reason).with_code("policy_denied"),
    ))
}

/// Whether policy lets `principal` see `route` in `/v1/models`: it may
/// list it (`models.list`) or use it (any operation), judged with the
/// model's first target as the upstream. No prompt yet: the identity's
/// default class stands for its data.
pub fn may_list(
    core: &Core,
    principal: &Principal,
    entitlements: &Entitlements,
    route: &ModelRoute,
) -> bool {
    let Some(target) = route.targets.first() else {
        return false;
    };
    let now = unix_now();
    let stated = Screening {
        class: core.classes.for_environment(&principal.environment),
        ..Screening::default()
    };
    Operation::ALL.into_iter().any(|operation| {
        let mut facts = FactsBuilder::new(
            principal,
            entitlements,
            operation,
            &route.name,
            None,
            Some(&stated),
            now,
        );
        core.policy
            .decide(facts.for_upstream(&target.upstream))
            .allowed
    })
}
