//! `/admin/v1/policies`: the active Cedar policy set, and its reload.
//! Global admins only.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::json;

use super::{Admin, Result, global_required};
use crate::{Control, json_response};

async fn show(State(g): State<Control>, admin: Admin) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("policies"));
    }
    Ok(json_response(g.core.policy_summary()))
}

async fn reload(State(g): State<Control>, admin: Admin) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("policies"));
    }
    match g.core.reload_policies(&admin.principal.identity_name).await {
        Ok(load) => Ok(json_response(json!({
            "status": "loaded", "files": load.files, "policies": load.policies,
            "warnings": load.warnings,
        }))),
        Err(problems) => {
            let mut response = json_response(json!({
                "error": {
                    "code": "invalid_policies",
                    "message": "the policy set was rejected; the previous set stays active",
                    "problems": problems.lines().collect::<Vec<_>>(),
                }
            }));
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

/// The policy routes, mounted under `/admin/v1`.
pub fn routes() -> Router<Control> {
    Router::new()
        .route("/policies", get(show))
        .route("/policies/reload", post(reload))
}
