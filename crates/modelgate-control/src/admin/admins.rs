//! The admin role in the admin API, under `/admin/v1/`, for global admins
//! only:
//!
//! - `POST /identities/{name}/admin` (`{"owner": "team-x"}` or
//!   `{"global": true}`) gives the admin role, scoped to one owner's
//!   identities or global (replacing any admin role it held);
//! - `DELETE /identities/{name}/admin` takes it away (409 if not held).
//!
//! An owner-scoped admin is refused with 403 before the identity is looked
//! up, so the answer says nothing of whether it exists.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use http::StatusCode;
use modelgate_identity::admin::AdminScope;
use modelgate_types::clock::unix_now;
use serde::Deserialize;
use serde_json::json;

use super::{Admin, Result, error, global_required, identity_error, json_body};
use crate::{Control, json_response};

/// What the admin role covers: exactly one of the two.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantAdmin {
    owner: Option<String>,
    #[serde(default)]
    global: bool,
}

async fn grant_admin(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("admin roles"));
    }
    let input: GrantAdmin = json_body(&g, body).await?;
    let scope = match (input.owner, input.global) {
        (Some(owner), false) => AdminScope::Owner(owner),
        (None, true) => AdminScope::Global,
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "give {\"owner\": \"...\"} or {\"global\": true}",
            ));
        }
    };
    g.core
        .identity
        .grant_admin(
            &name,
            scope.clone(),
            Some(&admin.principal.identity_name),
            unix_now(),
        )
        .await
        .map_err(identity_error)?;
    admin.log(&g, "admin.grant", &name).await;
    let owner = match &scope {
        AdminScope::Global => None,
        AdminScope::Owner(owner) => Some(owner.as_str()),
    };
    Ok(json_response(json!({
        "identity": name, "global": scope.is_global(), "owner": owner,
    })))
}

async fn revoke_admin(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("admin roles"));
    }
    let had = g
        .core
        .identity
        .revoke_admin(&name)
        .await
        .map_err(identity_error)?;
    if !had {
        return Err(error(
            StatusCode::CONFLICT,
            "conflict",
            "the identity holds no admin role",
        ));
    }
    admin.log(&g, "admin.revoke", &name).await;
    Ok(json_response(
        json!({ "identity": name, "status": "removed" }),
    ))
}

/// The admin-role routes, merged into the admin routes.
pub(crate) fn routes() -> Router<Control> {
    Router::new().route(
        "/identities/{name}/admin",
        post(grant_admin).delete(revoke_admin),
    )
}
