//! Identities, API keys, access tokens, trusted issuers and signing keys
//! in the admin API, under `/admin/v1/`. Reads need the identity in the
//! admin's scope (`visible`); changes also need an identity that holds no
//! admin role unless the admin is global (`managed`, `changeable`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use modelgate_identity::{Identity, NewIdentity};
use modelgate_types::clock::unix_now;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Admin, Result, changeable, error, global_required, identity_error, json_body, managed,
    not_found, visible,
};
use crate::{Control, json_response};

fn identity_json(i: &Identity) -> Value {
    json!({
        "id": i.id, "name": i.name, "kind": i.kind.as_str(), "owner": i.owner,
        "environment": i.environment, "purpose": i.purpose, "status": i.status.as_str(),
        "created_at": i.created_at, "last_used_at": i.last_used_at,
    })
}

pub(super) async fn list_identities(State(g): State<Control>, admin: Admin) -> Result<Response> {
    let all = g
        .core
        .identity
        .list_identities()
        .await
        .map_err(identity_error)?;
    let shown: Vec<Value> = all
        .iter()
        .filter(|i| admin.may_manage(i))
        .map(identity_json)
        .collect();
    Ok(json_response(json!({ "data": shown })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateIdentity {
    name: String,
    kind: String,
    owner: String,
    environment: String,
    #[serde(default)]
    purpose: String,
}

pub(super) async fn create_identity(
    State(g): State<Control>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let input: CreateIdentity = json_body(&g, body).await?;
    if !admin.scope.covers(&input.owner) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you may only create identities you own",
        ));
    }
    let kind = input.kind.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "kind: service, ci_job, agent, retrieval or tool",
        )
    })?;
    let created = g
        .core
        .identity
        .create_identity(
            NewIdentity {
                name: input.name,
                kind,
                owner: input.owner,
                environment: input.environment,
                purpose: input.purpose,
            },
            unix_now(),
        )
        .await
        .map_err(identity_error)?;
    admin.log(&g, "identity.create", &created.name).await;
    let mut response = json_response(identity_json(&created));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

pub(super) async fn get_identity(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
) -> Result<Response> {
    let identity = visible(&g, &admin, &name).await?;
    Ok(json_response(identity_json(&identity)))
}

pub(super) async fn identity_action(
    State(g): State<Control>,
    Path((name, action)): Path<(String, String)>,
    admin: Admin,
) -> Result<Response> {
    let identity = managed(&g, &admin, &name).await?;
    let service = &g.core.identity;
    let now = unix_now();
    let body = match action.as_str() {
        "offboard" => {
            let summary = service
                .offboard_identity(&identity.name, now)
                .await
                .map_err(identity_error)?;
            json!({
                "identity": identity.name, "status": "offboarded",
                "keys_revoked": summary.keys_revoked,
                "grants_revoked": summary.grants_revoked,
                "roles_removed": summary.roles_removed,
            })
        }
        "disable" => identity_json(
            &service
                .disable_identity(&identity.name, now)
                .await
                .map_err(identity_error)?,
        ),
        "enable" => identity_json(
            &service
                .enable_identity(&identity.name, now)
                .await
                .map_err(identity_error)?,
        ),
        _ => return Err(not_found()),
    };
    admin
        .log(&g, &format!("identity.{action}"), &identity.name)
        .await;
    Ok(json_response(body))
}

fn key_json(k: &modelgate_identity::KeyInfo, now: i64) -> Value {
    json!({
        "id": k.id, "identity": k.identity_name, "label": k.label, "hint": k.hint,
        "status": k.status(now).as_str(), "created_at": k.created_at, "expires_at": k.expires_at,
        "revoked_at": k.revoked_at, "last_used_at": k.last_used_at,
    })
}

pub(super) async fn list_keys(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
) -> Result<Response> {
    let identity = visible(&g, &admin, &name).await?;
    let keys = g
        .core
        .identity
        .list_keys(Some(&identity.name))
        .await
        .map_err(identity_error)?;
    let now = unix_now();
    Ok(json_response(
        json!({ "data": keys.iter().map(|k| key_json(k, now)).collect::<Vec<_>>() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueKey {
    expires_in: String,
    label: Option<String>,
}

pub(super) async fn issue_key(
    State(g): State<Control>,
    Path(name): Path<String>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let identity = managed(&g, &admin, &name).await?;
    let input: IssueKey = json_body(&g, body).await?;
    let lifetime = humantime::parse_duration(&input.expires_in).map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "expires_in: a duration such as 30d",
        )
    })?;
    let issued = g
        .core
        .identity
        .issue_key(&identity.name, lifetime, input.label, unix_now())
        .await
        .map_err(identity_error)?;
    admin.log(&g, "key.issue", &issued.id).await;
    let mut response = json_response(json!({
        "id": issued.id, "identity": identity.name, "key": issued.secret.expose(),
        "expires_at": issued.expires_at,
    }));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

pub(super) async fn key_action(
    State(g): State<Control>,
    Path((id, action)): Path<(String, String)>,
    admin: Admin,
) -> Result<Response> {
    let service = &g.core.identity;
    let owner = service.key_identity(&id).await.map_err(identity_error)?;
    if !admin.may_manage(&owner) {
        return Err(not_found());
    }
    changeable(&g, &admin, &owner).await?;
    let now = unix_now();
    let body = match action.as_str() {
        "revoke" => {
            service.revoke_key(&id, now).await.map_err(identity_error)?;
            json!({ "id": id, "status": "revoked" })
        }
        "rotate" => {
            let issued = service
                .rotate_key(&id, g.rotation_grace, now)
                .await
                .map_err(identity_error)?;
            json!({
                "id": issued.id, "replaces": id, "identity": owner.name,
                "key": issued.secret.expose(), "expires_at": issued.expires_at,
                "old_key_valid_until": now + g.rotation_grace.as_secs() as i64,
            })
        }
        _ => return Err(not_found()),
    };
    admin.log(&g, &format!("key.{action}"), &id).await;
    Ok(json_response(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeToken {
    jti: String,
    identity: String,
}

/// Revokes a recorded access token of an identity in the admin's scope,
/// and with it the token's whole family (every token exchanged from the
/// same first token). The jti's shape is checked before anything is read;
/// an unknown jti, or one of another identity, is `not_found` with nothing
/// written. The revocation is kept until the tokens' own `exp`.
pub(super) async fn revoke_token(
    State(g): State<Control>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let input: RevokeToken = json_body(&g, body).await?;
    if !modelgate_identity::tokens::is_token_id(&input.jti) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "jti: not a gateway token id (22 base62 characters)",
        ));
    }
    let identity = managed(&g, &admin, &input.identity).await?;
    let revoked = g
        .core
        .tokens
        .revoke_recorded(&input.jti, &identity.id, unix_now())
        .await
        .map_err(identity_error)?
        .ok_or_else(not_found)?;
    admin.log(&g, "token.revoke", &input.jti).await;
    Ok(json_response(json!({
        "jti": input.jti, "status": "revoked", "family": revoked.family,
        "revoked": revoked.members, "until": revoked.expires_at,
    })))
}

pub(super) async fn list_issuers(State(g): State<Control>, _admin: Admin) -> Result<Response> {
    let issuers = g.core.exchange.federation().issuers();
    Ok(json_response(
        json!({ "data": serde_json::to_value(issuers).unwrap_or_default() }),
    ))
}

pub(super) async fn signing_keys(State(g): State<Control>, admin: Admin) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("signing keys"));
    }
    let keys = g.core.keyring.keys();
    Ok(json_response(
        json!({ "data": serde_json::to_value(keys).unwrap_or_default() }),
    ))
}

pub(super) async fn rotate_signing_key(State(g): State<Control>, admin: Admin) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(global_required("signing keys"));
    }
    let kid = g
        .core
        .tokens
        .rotate_signing_key(unix_now())
        .await
        .map_err(identity_error)?;
    admin.log(&g, "signing_key.rotate", &kid).await;
    Ok(json_response(json!({ "active_kid": kid })))
}
