//! The admin API under `/admin/v1/`. Callers
//! authenticate like any caller (API key or access token) and must hold the
//! admin role; an admin scoped to an owner sees only that owner's
//! identities and changes only those that hold no admin role (admin
//! identities, the admin role and the approver role are for global admins).
//! Every change is logged as an admin action with the acting identity.

//!
//! Every handler takes an [`Admin`]: the extractor that authenticates the
//! caller, checks the admin role and records the login, so a handler
//! starts where the decision is already made (one module per resource:
//! identities and credentials, audit, policies, roles and grants, posture).

mod admins;
mod audit;
mod caller;
mod grants;
mod identities;
mod policy;
mod posture;
mod shape;

use axum::Router;
use axum::routing::{get, post};

pub(crate) use caller::{
    Admin, Result, body_bytes, changeable, error, global_required, identity_error, json_body,
    json_value, managed, not_found, visible,
};

use crate::Control;

/// The admin routes, to be nested under `/admin/v1`: every error in the
/// admin shape ([`shape`]), unknown paths and methods included.
pub fn routes() -> Router<Control> {
    Router::new()
        .route(
            "/identities",
            get(identities::list_identities).post(identities::create_identity),
        )
        .route("/identities/{name}", get(identities::get_identity))
        .route(
            "/identities/{name}/keys",
            get(identities::list_keys).post(identities::issue_key),
        )
        .route(
            "/identities/{name}/{action}",
            post(identities::identity_action),
        )
        .route("/keys/{id}/{action}", post(identities::key_action))
        .route("/tokens/revoke", post(identities::revoke_token))
        .route("/issuers", get(identities::list_issuers))
        .route("/signing-keys", get(identities::signing_keys))
        .route("/signing-keys/rotate", post(identities::rotate_signing_key))
        .merge(admins::routes())
        .merge(audit::routes())
        .merge(policy::routes())
        .merge(grants::routes())
        .merge(posture::routes())
        .fallback(shape::unknown_path)
        .method_not_allowed_fallback(shape::method_not_allowed)
        .layer(axum::middleware::map_response(shape::admin_shape))
}
