//! Who calls the admin API: the [`Admin`] extractor (authenticated, holding
//! the admin role, its login recorded) and the answers every admin handler
//! shares (errors, the JSON body reader, the scope checks: [`visible`] to
//! read an identity, [`managed`] to change one).

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::response::Response;
use http::StatusCode;
use http::request::Parts;
use modelgate_core::audit::{Coalesced, RefusalKey};
use modelgate_core::body::{BodyError, BodyLimits, read_body};
use modelgate_core::source_limit::spends_budget;
use modelgate_identity::admin::AdminScope;
use modelgate_identity::{Identity, IdentityError, Principal};
use modelgate_types::Dialect;
use modelgate_types::clock::now_ms;
use serde::Deserialize;
use serde_json::json;

use crate::{Control, json_response};

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
    pub(crate) async fn log(&self, gateway: &Control, action: &str, target: &str) {
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
            .core
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

impl FromRequestParts<Control> for Admin {
    type Rejection = Response;

    /// Refuses the call unless the audit log can write, the caller
    /// authenticates and holds the admin role; records the login.
    async fn from_request_parts(parts: &mut Parts, control: &Control) -> Result<Admin> {
        authorize(control, parts).await
    }
}

async fn authorize(gateway: &Control, parts: &Parts) -> Result<Admin> {
    if !gateway.core.audit.healthy() {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "audit_unavailable",
            "the audit log cannot write; admin calls are refused until it recovers",
        ));
    }
    // The source's failed-authentication budget is shared with the model
    // APIs and the token endpoint: a source over it is refused before its
    // credential is looked up.
    let source = gateway
        .core
        .sources
        .source_of(&parts.extensions, &parts.headers)
        .map(|s| s.addr);
    if let Some(source) = source
        && let Err(over) = gateway.core.auth_budget(source, "admin")
    {
        let key = RefusalKey {
            source,
            surface: "admin",
            reason: "auth_limited",
        };
        if gateway.core.audit.coalesce_refusal(key, now_ms()) == Coalesced::WriteOwn {
            login_refused(gateway, None, "auth_limited").await;
        }
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "auth_rate_limited",
            format!(
                "too many failed authentications from this address; credentials from it are \
                 not checked for {} s",
                over.retry_after
            ),
        );
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, over.retry_after.into());
        return Err(response);
    }
    let principal = match gateway
        .core
        .authenticate(&parts.headers, Dialect::OpenAi)
        .await
    {
        Ok(principal) => principal,
        Err(failure) if failure.is_unavailable() => {
            login_refused(gateway, None, failure.reason()).await;
            return Err(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "credentials cannot be checked right now (store unreachable or state sync stale)",
            ));
        }
        Err(failure) => {
            if let Some(source) = source
                && spends_budget(&failure)
            {
                gateway.core.auth_limit.failed(source, now_ms());
            }
            login_refused(gateway, None, failure.reason()).await;
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "a valid credential is required",
            ));
        }
    };
    match gateway
        .core
        .identity
        .admin_scope(&principal.identity_id)
        .await
    {
        Ok(Some(scope)) => {
            // Every admin call is a login of its own (there is no session):
            // the record shows who used the admin API with which credential.
            let detail = [("credential_id".to_owned(), principal.credential_id.clone())].into();
            if let Err(err) = gateway
                .core
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
async fn login_refused(gateway: &Control, who: Option<&str>, reason: &str) {
    let detail = [("reason".to_owned(), reason.to_owned())].into();
    if let Err(err) = gateway
        .core
        .audit
        .control("admin.login", who, None, "denied", detail)
        .await
    {
        tracing::error!(error = %err, "audit: refused admin login not recorded");
    }
}

/// Largest admin request body.
const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024;

/// An admin request body: at most 64 KiB, read into one buffer within
/// `limits.body_read_timeout` (408 after it, 400 when oversized or
/// unreadable).
pub(crate) async fn body_bytes(gateway: &Control, body: Body) -> Result<Bytes> {
    let limits = BodyLimits {
        max_bytes: MAX_ADMIN_BODY_BYTES,
        timeout: gateway.body_read_timeout,
    };
    read_body(body, limits).await.map_err(|e| match e {
        BodyError::TimedOut { .. } => error(StatusCode::REQUEST_TIMEOUT, "timeout", e.to_string()),
        BodyError::TooLarge { .. } | BodyError::Unreadable => error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "unreadable or oversized body",
        ),
    })
}

/// An admin request body as JSON (see [`body_bytes`]).
pub(crate) async fn json_body<T: for<'de> Deserialize<'de>>(
    gateway: &Control,
    body: Body,
) -> Result<T> {
    let bytes = body_bytes(gateway, body).await?;
    json_value(&bytes).await
}

/// `bytes` as JSON (400 naming where it is invalid).
pub(crate) async fn json_value<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = format!(
            "invalid JSON body (line {}, column {})",
            e.line(),
            e.column()
        );
        error(StatusCode::BAD_REQUEST, "invalid", message)
    })
}

/// The identity `name` if it is within the admin's owner scope, to read
/// (else 404, so other owners' identities are not even confirmed to exist).
pub(crate) async fn visible(gateway: &Control, admin: &Admin, name: &str) -> Result<Identity> {
    let identity = gateway
        .core
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

/// The identity `name` if the admin may change it (its keys, tokens,
/// lifecycle, roles, grants, access reviews): within the admin's scope (else
/// 404, as [`visible`]) and, for an owner-scoped admin, holding no admin
/// role (else 403, see [`changeable`]).
pub(crate) async fn managed(gateway: &Control, admin: &Admin, name: &str) -> Result<Identity> {
    let identity = visible(gateway, admin, name).await?;
    changeable(gateway, admin, &identity).await?;
    Ok(identity)
}

/// Refuses an owner-scoped admin a change to a visible identity that holds
/// an admin role, of any scope and whatever its status: such identities
/// are managed by global admins only, so no scoped admin can take over (or
/// lock out) an admin, itself included. 403 `forbidden` naming the rule: the
/// identity is of the admin's own owner, so its existence is no secret.
pub(crate) async fn changeable(
    gateway: &Control,
    admin: &Admin,
    identity: &Identity,
) -> Result<()> {
    if admin.scope.is_global() {
        return Ok(());
    }
    let held = gateway
        .core
        .identity
        .held_admin_scope(&identity.id)
        .await
        .map_err(identity_error)?;
    match held {
        None => Ok(()),
        Some(_) => Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "identities holding an admin role are managed by global admins only",
        )),
    }
}
