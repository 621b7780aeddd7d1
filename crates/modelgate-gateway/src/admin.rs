//! The admin API under `/admin/v1/`: identities, keys, tokens, issuers and
//! signing keys (roles and grants are in `admin_grants`). Callers
//! authenticate like any caller (API key or access token) and must hold the
//! admin role; an admin scoped to an owner sees and changes only that
//! owner's identities. Every change is logged as an admin action with the
//! acting identity.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use modelgate_identity::admin::AdminScope;
use modelgate_identity::{Identity, IdentityError, NewIdentity, Principal};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dialect::Dialect;
use crate::gateway::{Gateway, json_response, unix_now};

pub(crate) type Result<T> = std::result::Result<T, Response>;

pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let mut response = json_response(json!({
        "error": { "code": code, "message": message.into() }
    }));
    *response.status_mut() = status;
    response
}

/// `what` (signing keys, policies) belongs to the whole gateway, not to
/// an owner: only a global admin may touch it.
pub(crate) fn global_required(what: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("{what} need the global admin role"),
    )
}

pub(crate) fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such object, or not yours to see",
    )
}

pub(crate) fn identity_error(e: IdentityError) -> Response {
    match e {
        IdentityError::IdentityNotFound(_) | IdentityError::KeyNotFound(_) => not_found(),
        IdentityError::NameTaken(_) => error(StatusCode::CONFLICT, "conflict", e.to_string()),
        IdentityError::Store(_) | IdentityError::Randomness(_) | IdentityError::Corrupt(_) => {
            tracing::error!(error = %e, "admin operation failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the store is unavailable",
            )
        }
        other => error(StatusCode::BAD_REQUEST, "invalid", other.to_string()),
    }
}

/// The caller, if it holds the admin role.
pub(crate) struct Admin {
    pub(crate) principal: Principal,
    pub(crate) scope: AdminScope,
}

impl Admin {
    pub(crate) fn may_manage(&self, identity: &Identity) -> bool {
        self.scope.covers(&identity.owner)
    }

    /// Logs the change and records it in the audit log (the change is
    /// made: a failure to record it is logged loudly; `authorize` refuses
    /// admin calls while the audit log cannot write, so this is rare).
    pub(crate) async fn log(&self, gateway: &Gateway, action: &str, target: &str) {
        tracing::info!(
            admin = %self.principal.identity_name,
            credential_id = %self.principal.credential_id,
            action,
            target,
            "admin action"
        );
        let detail = [(
            "credential_id".to_owned(),
            self.principal.credential_id.clone(),
        )]
        .into();
        let recorded = gateway
            .inner
            .audit
            .control(
                action,
                Some(&self.principal.identity_name),
                Some(target),
                "ok",
                detail,
            )
            .await;
        if let Err(err) = recorded {
            tracing::error!(error = %err, action, "audit: admin change not recorded");
        }
    }
}

pub(crate) async fn authorize(gateway: &Gateway, headers: &HeaderMap) -> Result<Admin> {
    if !gateway.inner.audit.healthy() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log cannot write; admin calls are refused until it recovers",
        ));
    }
    let principal = match gateway.authenticate_headers(headers, Dialect::OpenAi).await {
        Ok(principal) => principal,
        Err((reason, _)) => {
            login_refused(gateway, None, reason).await;
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid credential is required",
            ));
        }
    };
    match gateway
        .inner
        .identity
        .admin_scope(&principal.identity_id)
        .await
    {
        Ok(Some(scope)) => {
            // Every admin call is a login of its own (there is no session):
            // the record shows who used the admin API with which credential.
            let detail = [("credential_id".to_owned(), principal.credential_id.clone())].into();
            if let Err(err) = gateway
                .inner
                .audit
                .control(
                    "admin.login",
                    Some(&principal.identity_name),
                    None,
                    "ok",
                    detail,
                )
                .await
            {
                tracing::error!(error = %err, "audit: admin login not recorded");
                return Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "the audit log cannot record this admin call",
                ));
            }
            Ok(Admin { principal, scope })
        }
        Ok(None) => {
            login_refused(gateway, Some(&principal.identity_name), "not_admin").await;
            Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the admin role is required",
            ))
        }
        Err(e) => Err(identity_error(e)),
    }
}

/// Records a refused admin login (who, if known, and why; never the
/// credential).
async fn login_refused(gateway: &Gateway, who: Option<&str>, reason: &str) {
    let detail = [("reason".to_owned(), reason.to_owned())].into();
    if let Err(err) = gateway
        .inner
        .audit
        .control("admin.login", who, None, "denied", detail)
        .await
    {
        tracing::error!(error = %err, "audit: refused admin login not recorded");
    }
}

pub(crate) async fn json_body<T: for<'de> Deserialize<'de>>(body: Body) -> Result<T> {
    let bytes = Limited::new(body, 64 * 1024)
        .collect()
        .await
        .map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "unreadable or oversized body",
            )
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| {
        let message = format!(
            "invalid JSON body (line {}, column {})",
            e.line(),
            e.column()
        );
        error(StatusCode::BAD_REQUEST, "invalid", message)
    })
}

fn identity_json(i: &Identity) -> Value {
    json!({
        "id": i.id, "name": i.name, "kind": i.kind.as_str(), "owner": i.owner,
        "environment": i.environment, "purpose": i.purpose, "status": i.status.as_str(),
        "created_at": i.created_at, "last_used_at": i.last_used_at,
    })
}

/// The identity `name` if the admin may manage it (else 404, so other
/// owners' identities are not even confirmed to exist).
pub(crate) async fn managed(gateway: &Gateway, admin: &Admin, name: &str) -> Result<Identity> {
    let identity = gateway
        .inner
        .identity
        .identity(name)
        .await
        .map_err(identity_error)?;
    if admin.may_manage(&identity) {
        Ok(identity)
    } else {
        Err(not_found())
    }
}

async fn list_identities(State(g): State<Gateway>, headers: HeaderMap) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        let all = g
            .inner
            .identity
            .list_identities()
            .await
            .map_err(identity_error)?;
        let visible: Vec<Value> = all
            .iter()
            .filter(|i| admin.may_manage(i))
            .map(identity_json)
            .collect();
        Ok(json_response(json!({ "data": visible })))
    };
    run.await.unwrap_or_else(|r| r)
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

async fn create_identity(State(g): State<Gateway>, request: Request) -> Response {
    let run = async {
        let (parts, body) = request.into_parts();
        let admin = authorize(&g, &parts.headers).await?;
        let input: CreateIdentity = json_body(body).await?;
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
            .inner
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
    };
    run.await.unwrap_or_else(|r| r)
}

async fn get_identity(
    State(g): State<Gateway>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        let identity = managed(&g, &admin, &name).await?;
        Ok(json_response(identity_json(&identity)))
    };
    run.await.unwrap_or_else(|r| r)
}

async fn identity_action(
    State(g): State<Gateway>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        let identity = managed(&g, &admin, &name).await?;
        let service = &g.inner.identity;
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
    };
    run.await.unwrap_or_else(|r| r)
}

fn key_json(k: &modelgate_identity::KeyInfo, now: i64) -> Value {
    json!({
        "id": k.id, "identity": k.identity_name, "label": k.label, "hint": k.hint,
        "status": k.status(now).as_str(), "created_at": k.created_at, "expires_at": k.expires_at,
        "revoked_at": k.revoked_at, "last_used_at": k.last_used_at,
    })
}

async fn list_keys(
    State(g): State<Gateway>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        let identity = managed(&g, &admin, &name).await?;
        let keys = g
            .inner
            .identity
            .list_keys(Some(&identity.name))
            .await
            .map_err(identity_error)?;
        let now = unix_now();
        Ok(json_response(
            json!({ "data": keys.iter().map(|k| key_json(k, now)).collect::<Vec<_>>() }),
        ))
    };
    run.await.unwrap_or_else(|r| r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueKey {
    expires_in: String,
    label: Option<String>,
}

async fn issue_key(
    State(g): State<Gateway>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    let run = async {
        let (parts, body) = request.into_parts();
        let admin = authorize(&g, &parts.headers).await?;
        let identity = managed(&g, &admin, &name).await?;
        let input: IssueKey = json_body(body).await?;
        let lifetime = humantime::parse_duration(&input.expires_in).map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "expires_in: a duration such as 30d",
            )
        })?;
        let issued = g
            .inner
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
    };
    run.await.unwrap_or_else(|r| r)
}

async fn key_action(
    State(g): State<Gateway>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        let service = &g.inner.identity;
        let owner = service.key_identity(&id).await.map_err(identity_error)?;
        if !admin.may_manage(&owner) {
            return Err(not_found());
        }
        let now = unix_now();
        let body = match action.as_str() {
            "revoke" => {
                service.revoke_key(&id, now).await.map_err(identity_error)?;
                json!({ "id": id, "status": "revoked" })
            }
            "rotate" => {
                let issued = service
                    .rotate_key(&id, g.inner.rotation_grace, now)
                    .await
                    .map_err(identity_error)?;
                json!({
                    "id": issued.id, "replaces": id, "identity": owner.name,
                    "key": issued.secret.expose(), "expires_at": issued.expires_at,
                    "old_key_valid_until": now + g.inner.rotation_grace.as_secs() as i64,
                })
            }
            _ => return Err(not_found()),
        };
        admin.log(&g, &format!("key.{action}"), &id).await;
        Ok(json_response(body))
    };
    run.await.unwrap_or_else(|r| r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeToken {
    jti: String,
    identity: String,
}

async fn revoke_token(State(g): State<Gateway>, request: Request) -> Response {
    let run = async {
        let (parts, body) = request.into_parts();
        let admin = authorize(&g, &parts.headers).await?;
        let input: RevokeToken = json_body(body).await?;
        let identity = managed(&g, &admin, &input.identity).await?;
        let now = unix_now();
        // Held until the longest a token could still live.
        let until = now + g.inner.tokens.settings().max_lifetime.as_secs() as i64;
        g.inner
            .tokens
            .revoke_jti(&input.jti, &identity.id, until, now)
            .await
            .map_err(identity_error)?;
        admin.log(&g, "token.revoke", &input.jti).await;
        Ok(json_response(
            json!({ "jti": input.jti, "status": "revoked" }),
        ))
    };
    run.await.unwrap_or_else(|r| r)
}

async fn list_issuers(State(g): State<Gateway>, headers: HeaderMap) -> Response {
    let run = async {
        authorize(&g, &headers).await?;
        let issuers = g.inner.exchange.federation().issuers();
        Ok(json_response(
            json!({ "data": serde_json::to_value(issuers).unwrap_or_default() }),
        ))
    };
    run.await.unwrap_or_else(|r| r)
}

async fn signing_keys(State(g): State<Gateway>, headers: HeaderMap) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        if !admin.scope.is_global() {
            return Err(global_required("signing keys"));
        }
        let keys = g.inner.keyring.keys();
        Ok(json_response(
            json!({ "data": serde_json::to_value(keys).unwrap_or_default() }),
        ))
    };
    run.await.unwrap_or_else(|r| r)
}

async fn rotate_signing_key(State(g): State<Gateway>, headers: HeaderMap) -> Response {
    let run = async {
        let admin = authorize(&g, &headers).await?;
        if !admin.scope.is_global() {
            return Err(global_required("signing keys"));
        }
        let kid = g
            .inner
            .tokens
            .rotate_signing_key(unix_now())
            .await
            .map_err(identity_error)?;
        admin.log(&g, "signing_key.rotate", &kid).await;
        Ok(json_response(json!({ "active_kid": kid })))
    };
    run.await.unwrap_or_else(|r| r)
}

/// The admin routes, to be nested under `/admin/v1`.
pub fn routes() -> Router<Gateway> {
    Router::new()
        .route("/identities", get(list_identities).post(create_identity))
        .route("/identities/{name}", get(get_identity))
        .route("/identities/{name}/keys", get(list_keys).post(issue_key))
        .route("/identities/{name}/{action}", post(identity_action))
        .route("/keys/{id}/{action}", post(key_action))
        .route("/tokens/revoke", post(revoke_token))
        .route("/issuers", get(list_issuers))
        .route("/signing-keys", get(signing_keys))
        .route("/signing-keys/rotate", post(rotate_signing_key))
        .merge(crate::admin_audit::routes())
        .merge(crate::admin_policy::routes())
        .merge(crate::admin_grants::routes())
        .merge(crate::admin_posture::routes())
}
