//! The load-grants stage: the roles a principal holds now, standing and
//! just-in-time, from the identity service's in-memory snapshot (which the
//! store invalidates on change). A store failure refuses the call: it
//! cannot be decided.

use modelgate_core::Core;
use modelgate_identity::Principal;
use modelgate_identity::access::Entitlements;
use modelgate_types::clock::unix_now;

use crate::refusal::Refusal;
use crate::stages::Caller;

/// The caller: `principal` and the roles it holds now.
pub async fn load(core: &Core, principal: Principal) -> Result<Caller, Refusal> {
    let entitlements = entitlements(core, &principal).await?;
    Ok(Caller {
        principal,
        entitlements,
    })
}

/// The principal's roles now.
pub async fn entitlements(core: &Core, principal: &Principal) -> Result<Entitlements, Refusal> {
    core.identity
        .entitlements(&principal.identity_id, unix_now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "could not load entitlements");
            Refusal::EntitlementsUnavailable
        })
}
