//! Roles and just-in-time grants in the admin API, under `/admin/v1/`:
//!
//! - `GET /roles`: the configured roles;
//! - `GET /identities/{name}/roles`: standing assignments and the roles
//!   active now; `POST` (`{"role", "until"?: unix seconds, "for"?: "30d"}`)
//!   assigns; `DELETE /identities/{name}/roles/{role}` removes;
//! - `GET /grants?identity=&state=`, `GET /grants/{id}`;
//! - `POST /grants` (`{"identity", "role", "for": "2h", "reason"}`) requests,
//!   with the admin as requester;
//! - `POST /grants/{id}/approve|deny|revoke` (`{"reason"?}`), with the admin
//!   as approver (who must hold the approver role and pass the separation
//!   of duties) or revoker.
//!
//! An owner-scoped admin sees and acts on the identities of that owner only
//! (others are 404); it changes no roles or grants of an identity holding
//! an admin role, and gives no one the approver role (403). Every change is
//! logged with its access event.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use http::StatusCode;
use modelgate_identity::Identity;
use modelgate_identity::access::{
    AccessError, AccessEvent, Grant, GrantFilter, GrantRequest, GrantState, Requester,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Admin, Result, body_bytes, changeable, error, identity_error, json_body, json_value, managed,
    not_found, visible,
};
use modelgate_types::clock::unix_now;

use crate::{Control, json_response};

pub(crate) fn access_error(e: AccessError) -> Response {
    let message = e.to_string();
    match e {
        AccessError::Identity(e) => identity_error(e),
        AccessError::GrantNotFound(_) => not_found(),
        AccessError::SelfApproval { .. }
        | AccessError::SharedOwnerApproval { .. }
        | AccessError::BeneficiaryApproval { .. }
        | AccessError::NotApprover { .. }
        | AccessError::NotPermitted { .. } => error(StatusCode::FORBIDDEN, "forbidden", message),
        AccessError::NotPending { .. }
        | AccessError::NotRevocable { .. }
        | AccessError::AlreadyApproved { .. }
        | AccessError::NotAssigned { .. } => error(StatusCode::CONFLICT, "conflict", message),
        _ => error(StatusCode::BAD_REQUEST, "invalid", message),
    }
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid", message)
}

/// Only a global admin hands out the approver role, standing or through a
/// grant: an owner-scoped admin must not make approvers of the identities
/// it manages (they would then approve its requests). The refusal, if
/// `admin` may not give `role`.
fn approver_role_refusal(g: &Control, admin: &Admin, role: &str) -> Option<Response> {
    let catalog = g.core.identity.roles();
    let approver = catalog.approver_role();
    (!admin.scope.is_global() && role == approver).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the approver role {approver:?} is given by global admins only"),
        )
    })
}

/// Logs an access change and records it in the audit log, with the
/// event's fields (grant id, role, state transition, ...) as detail.
async fn log_event(g: &Control, admin: &Admin, event: &AccessEvent, target: &str) {
    let mut detail = std::collections::BTreeMap::new();
    if let Ok(Value::Object(fields)) = serde_json::to_value(event) {
        for (key, value) in fields {
            let text = match value {
                Value::String(s) => s,
                Value::Null => continue,
                other => other.to_string(),
            };
            detail.insert(key, text);
        }
    }
    tracing::info!(admin = %admin.principal.identity_name, action = event.action(), target, "access change");
    detail.insert(
        "credential_id".into(),
        admin.principal.credential_id.clone(),
    );
    let recorded = g
        .core
        .audit
        .control(
            event.action(),
            Some(&admin.principal.identity_name),
            Some(target),
            "ok",
            detail,
        )
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, "audit: access change not recorded");
    }
}

fn created(body: Value) -> Response {
    let mut response = json_response(body);
    *response.status_mut() = StatusCode::CREATED;
    response
}

/// A grant as JSON, with its state now.
fn grant_json(grant: &Grant, now: i64) -> Value {
    let mut value = serde_json::to_value(grant).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.insert("state".into(), json!(grant.state(now).as_str()));
        map.insert("active".into(), json!(grant.is_active(now)));
    }
    value
}

/// A duration such as `2h`, or the message saying what was expected.
fn duration(text: &str) -> std::result::Result<std::time::Duration, &'static str> {
    humantime::parse_duration(text).map_err(|_| "for: a duration such as 2h or 30d")
}

async fn list_roles(State(g): State<Control>, _admin: Admin) -> Result<Response> {
    let catalog = g.core.identity.roles();
    let roles: Vec<Value> = catalog
        .roles()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    Ok(json_response(json!({
        "data": roles,
        "grants": serde_json::to_value(catalog.settings()).unwrap_or_default(),
    })))
}

async fn identity_roles(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
) -> Result<Response> {
    let identity = visible(&g, &admin, &name).await?;
    let service = &g.core.identity;
    let now = unix_now();
    let assignments = service
        .list_role_assignments(Some(&identity.name))
        .await
        .map_err(access_error)?;
    let entitlements = service
        .entitlements(&identity.id, now)
        .await
        .map_err(access_error)?;
    let assignments: Vec<Value> = assignments
        .iter()
        .map(|a| {
            let mut v = serde_json::to_value(a).unwrap_or_default();
            if let Value::Object(map) = &mut v {
                map.insert("active".into(), json!(a.is_active(now)));
            }
            v
        })
        .collect();
    Ok(json_response(json!({
        "identity": identity.name,
        "assignments": assignments,
        "active": serde_json::to_value(&entitlements.roles).unwrap_or_default(),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignRole {
    role: String,
    until: Option<i64>,
    #[serde(rename = "for")]
    for_: Option<String>,
}

async fn assign_role(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let identity = managed(&g, &admin, &name).await?;
    let input: AssignRole = json_body(&g, body).await?;
    if let Some(refusal) = approver_role_refusal(&g, &admin, &input.role) {
        return Err(refusal);
    }
    let now = unix_now();
    let until = match (input.until, input.for_) {
        (Some(_), Some(_)) => return Err(invalid("give until or for, not both")),
        (Some(until), None) => Some(until),
        (None, Some(text)) => {
            let d = duration(&text).map_err(invalid)?;
            Some(now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
        }
        (None, None) => None,
    };
    let change = g
        .core
        .identity
        .assign_role(
            &identity.name,
            &input.role,
            until,
            &admin.principal.identity_name,
            now,
        )
        .await
        .map_err(access_error)?;
    log_event(&g, &admin, &change.event, &identity.name).await;
    Ok(created(
        serde_json::to_value(&change.value).unwrap_or_default(),
    ))
}

async fn unassign_role(
    State(g): State<Control>,
    Path((name, role)): Path<(String, String)>,
    admin: Admin,
) -> Result<Response> {
    let identity = managed(&g, &admin, &name).await?;
    let event = g
        .core
        .identity
        .unassign_role(
            &identity.name,
            &role,
            &admin.principal.identity_name,
            unix_now(),
        )
        .await
        .map_err(access_error)?;
    log_event(&g, &admin, &event, &identity.name).await;
    Ok(json_response(
        json!({ "identity": identity.name, "role": role, "status": "removed" }),
    ))
}

/// Parses `identity=NAME&state=STATE`; anything else is refused.
fn grant_filter(query: Option<&str>) -> std::result::Result<GrantFilter, &'static str> {
    let mut filter = GrantFilter::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("identity", value)) if !value.is_empty() => {
                filter.identity = Some(value.to_owned());
            }
            Some(("state", value)) => {
                let state: GrantState = value
                    .parse()
                    .map_err(|_| "state: pending, approved, denied, revoked or expired")?;
                filter.state = Some(state);
            }
            _ => return Err("query: only identity= and state= are understood"),
        }
    }
    Ok(filter)
}

async fn list_grants(State(g): State<Control>, uri: http::Uri, admin: Admin) -> Result<Response> {
    let filter = grant_filter(uri.query()).map_err(invalid)?;
    if let Some(name) = &filter.identity {
        visible(&g, &admin, name).await?;
    }
    let now = unix_now();
    let service = &g.core.identity;
    let grants = service
        .list_grants(&filter, now)
        .await
        .map_err(access_error)?;
    // The identities this admin manages, read once.
    let mine: std::collections::HashSet<String> = if admin.scope.is_global() {
        std::collections::HashSet::new()
    } else {
        service
            .list_identities()
            .await
            .map_err(identity_error)?
            .into_iter()
            .filter(|i| admin.may_manage(i))
            .map(|i| i.id)
            .collect()
    };
    let shown: Vec<Value> = grants
        .iter()
        .filter(|grant| admin.scope.is_global() || mine.contains(&grant.identity_id))
        .map(|grant| grant_json(grant, now))
        .collect();
    Ok(json_response(json!({ "data": shown })))
}

/// The grant `id` and its identity, if that is within the admin's scope
/// (else 404).
async fn visible_grant(g: &Control, admin: &Admin, id: &str) -> Result<(Grant, Identity)> {
    let grant = g.core.identity.grant(id).await.map_err(access_error)?;
    let identity = visible(g, admin, &grant.identity_name)
        .await
        .map_err(|_| not_found())?;
    Ok((grant, identity))
}

async fn get_grant(
    State(g): State<Control>,
    Path(id): Path<String>,
    admin: Admin,
) -> Result<Response> {
    let (grant, _) = visible_grant(&g, &admin, &id).await?;
    Ok(json_response(grant_json(&grant, unix_now())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestGrant {
    identity: String,
    role: String,
    #[serde(rename = "for")]
    for_: String,
    reason: String,
}

async fn request_grant(State(g): State<Control>, admin: Admin, body: Body) -> Result<Response> {
    let input: RequestGrant = json_body(&g, body).await?;
    let identity = managed(&g, &admin, &input.identity).await?;
    if let Some(refusal) = approver_role_refusal(&g, &admin, &input.role) {
        return Err(refusal);
    }
    let request = GrantRequest {
        identity: identity.name,
        role: input.role,
        duration: duration(&input.for_).map_err(invalid)?,
        reason: input.reason,
        requested_by: Requester::Admin(admin.principal.identity_name.clone()),
    };
    let now = unix_now();
    let change = g
        .core
        .identity
        .request_grant(request, now)
        .await
        .map_err(access_error)?;
    log_event(&g, &admin, &change.event, &change.value.id).await;
    Ok(created(grant_json(&change.value, now)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Decision {
    reason: Option<String>,
}

async fn grant_action(
    State(g): State<Control>,
    Path((id, action)): Path<(String, String)>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let (grant, identity) = visible_grant(&g, &admin, &id).await?;
    changeable(&g, &admin, &identity).await?;
    let input: Decision = optional_body(&g, body).await?;
    let reason = input.reason.as_deref();
    let me = admin.principal.identity_name.clone();
    let service = &g.core.identity;
    let now = unix_now();
    let change = match action.as_str() {
        "approve" => service.approve_grant(&grant.id, &me, now).await,
        "deny" => service.deny_grant(&grant.id, &me, reason, now).await,
        "revoke" => {
            service
                .revoke_grant(&grant.id, &Requester::Admin(me), reason, now)
                .await
        }
        _ => return Err(not_found()),
    }
    .map_err(access_error)?;
    log_event(&g, &admin, &change.event, &grant.id).await;
    Ok(json_response(grant_json(&change.value, now)))
}

/// A JSON body, or the default when the body is empty.
async fn optional_body<T: for<'de> Deserialize<'de> + Default>(
    g: &Control,
    body: Body,
) -> Result<T> {
    let bytes = body_bytes(g, body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    json_value(&bytes).await
}

/// The role and grant routes, merged into the admin routes.
pub(crate) fn routes() -> Router<Control> {
    Router::new()
        .route("/roles", get(list_roles))
        .route(
            "/identities/{name}/roles",
            get(identity_roles).post(assign_role),
        )
        .route("/identities/{name}/roles/{role}", delete(unassign_role))
        .route("/grants", get(list_grants).post(request_grant))
        .route("/grants/{id}", get(get_grant))
        .route("/grants/{id}/{action}", post(grant_action))
}
