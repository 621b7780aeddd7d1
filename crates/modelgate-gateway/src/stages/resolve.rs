//! The resolve stage: the caller's model name becomes its route, or 404
//! `model_not_found` (the same for unknown models and for models the
//! caller's environment may not use; the name is not echoed).

use modelgate_identity::Principal;

use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::routes::{ModelRoute, RouteTable};
use crate::stages::parse::ModelCall;

/// The route of `call`'s model for `principal`; its name goes on the record.
pub fn resolve<'r>(
    routes: &'r RouteTable,
    call: &ModelCall,
    principal: &Principal,
    record: &mut CallRecord,
) -> Result<&'r ModelRoute, Refusal> {
    let route = routes
        .resolve(&call.model, principal)
        .ok_or(Refusal::ModelNotFound)?;
    record.model = Some(route.name.clone());
    Ok(route)
}
