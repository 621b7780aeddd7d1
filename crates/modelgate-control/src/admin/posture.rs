//! Posture in the admin API, under `/admin/v1/`:
//!
//! - `GET /inventory?format=json|csv&window=30d`: every identity with its
//!   owner, credentials, roles, upstreams used and last activity;
//! - `GET /posture/report?format=json|md|html&window=30d`: findings, readiness
//!   gaps and the framework mapping;
//! - `GET /readiness`: upstream ownership gaps (`ready` is false when any);
//! - `POST /reviews` (`{"due"?: "14d"}`, global admins): opens an access
//!   review; `GET /reviews`: the recent reviews;
//! - `POST /reviews/{id}/items/{item}` (`{"decision": "keep"|"revoke",
//!   "by"?: OWNER}`): answers one item for the identity's owner; a revoke
//!   removes the role, grant or admin role at once (admin-role items: global
//!   admins only; to others they do not exist).
//!
//! An owner-scoped admin sees only the identities of its owner (inventory,
//! report, review items) and answers only for them. Opening and answering
//! reviews are recorded in the audit log.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderValue, StatusCode, Uri, header};
use modelgate_identity::access::Requester;
use modelgate_identity::admin::AdminScope;
use modelgate_posture::snapshot::EntitlementKind;
use modelgate_posture::{PostureSnapshot, Report, ReportFormat, Review, ReviewDecision};
use serde::Deserialize;
use serde_json::json;

use super::{Admin, Result, body_bytes, error, json_body, json_value, managed, not_found};
use modelgate_types::clock::unix_now;

use crate::posture::review::{AnswerRequest, ReviewError, answer_review, start_review};
use crate::posture::snapshot::{
    PostureStateError, SnapshotOptions, build_snapshot, kind_categories, stored_reviews,
};
use crate::{Control, json_response};

/// Longest audit window a request may ask for.
const MAX_WINDOW: Duration = Duration::from_secs(400 * 86_400);
/// Default review due period.
const DEFAULT_DUE: Duration = Duration::from_secs(14 * 86_400);

fn invalid(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid", message)
}

fn unavailable(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "posture state could not be read");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the store is unavailable",
    )
}

fn state_error(e: PostureStateError) -> Response {
    unavailable(&e)
}

fn review_error(e: ReviewError) -> Response {
    match e {
        ReviewError::NotFound(_) => not_found(),
        ReviewError::Answer(modelgate_posture::PostureError::NotOwner { .. }) => {
            error(StatusCode::FORBIDDEN, "forbidden", e.to_string())
        }
        ReviewError::Answer(modelgate_posture::PostureError::UnknownReviewItem { .. }) => {
            not_found()
        }
        ReviewError::Answer(_) | ReviewError::AlreadyOpen(_) | ReviewError::Busy(_) => {
            error(StatusCode::CONFLICT, "conflict", e.to_string())
        }
        ReviewError::Revoke(e) => super::grants::access_error(e),
        ReviewError::State(e) => state_error(e),
        ReviewError::Store(e) => unavailable(&e),
        ReviewError::Admin(e) => super::identity_error(e),
    }
}

/// A duration parameter, or what is wrong with it.
fn duration(text: &str, what: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|_| format!("{what}: expected a duration such as 30d"))?;
    if d.is_zero() || d > MAX_WINDOW {
        return Err(format!("{what}: between 1s and 400d"));
    }
    Ok(d)
}

/// `format` and `window` query parameters, or what is wrong with them.
fn params(
    uri: &Uri,
    formats: &[&str],
    default: &str,
) -> std::result::Result<(String, Option<Duration>), String> {
    let mut format = default.to_owned();
    let mut window = None;
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match &*name {
            "format" if formats.contains(&&*value) => format = value.into_owned(),
            "format" => return Err(format!("format: one of {}", formats.join(", "))),
            "window" => window = Some(duration(&value, "window")?),
            _ => return Err("unknown query parameter; allowed: format, window".to_owned()),
        }
    }
    Ok((format, window))
}

/// Keeps only what an owner-scoped admin may see: its owner's identities,
/// their credentials, entitlements and review items (not admin roles:
/// those are for global admins), the leaked keys they own, their usage,
/// and the issuer rules that name them.
fn scope_snapshot(snapshot: &mut PostureSnapshot, scope: &AdminScope) {
    if scope.is_global() {
        return;
    }
    snapshot
        .identities
        .retain(|i| i.owner.as_deref().is_some_and(|o| scope.covers(o)));
    let ids: HashSet<String> = snapshot.identities.iter().map(|i| i.id.clone()).collect();
    let names: HashSet<String> = snapshot.identities.iter().map(|i| i.name.clone()).collect();
    snapshot.credentials.retain(|c| ids.contains(&c.identity));
    // The admin role is for global admins to see and manage.
    snapshot
        .entitlements
        .retain(|e| ids.contains(&e.identity) && e.kind != EntitlementKind::Admin);
    snapshot.leaked_keys.retain(|k| ids.contains(&k.identity));
    for leaked in &mut snapshot.leaked_keys {
        // Whose prompt carried it is another owner's business.
        if leaked.found_in.as_ref().is_some_and(|f| !ids.contains(f)) {
            leaked.found_in = None;
        }
    }
    snapshot.usage.retain(|u| ids.contains(&u.identity));
    for issuer in &mut snapshot.issuers {
        issuer.rules.retain(|r| names.contains(&r.identity));
    }
    snapshot.issuers.retain(|i| !i.rules.is_empty());
    for review in &mut snapshot.reviews {
        review
            .items
            .retain(|i| ids.contains(&i.identity) && i.kind != EntitlementKind::Admin);
    }
}

async fn snapshot(g: &Control, admin: &Admin, window: Option<Duration>) -> Result<PostureSnapshot> {
    let context = &g.core.posture;
    let mut snapshot = build_snapshot(
        &g.core.identity,
        context,
        &kind_categories(&g.core.screener),
        SnapshotOptions {
            now: unix_now(),
            window: Some(window.unwrap_or_else(|| context.audit_window())),
        },
    )
    .await
    .map_err(state_error)?;
    scope_snapshot(&mut snapshot, &admin.scope);
    Ok(snapshot)
}

fn text_response(body: String, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn render_failed(e: &modelgate_posture::PostureError) -> Response {
    tracing::error!(error = %e, "posture output could not be rendered");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the output could not be rendered",
    )
}

async fn inventory(State(g): State<Control>, uri: Uri, admin: Admin) -> Result<Response> {
    let (format, window) = params(&uri, &["json", "csv"], "json").map_err(invalid)?;
    let rows = modelgate_posture::inventory(&snapshot(&g, &admin, window).await?);
    if format == "csv" {
        let text =
            modelgate_posture::inventory::render_csv(&rows).map_err(|e| render_failed(&e))?;
        return Ok(text_response(text, "text/csv; charset=utf-8"));
    }
    Ok(json_response(json!({ "data": rows })))
}

async fn report(State(g): State<Control>, uri: Uri, admin: Admin) -> Result<Response> {
    let (format, window) = params(&uri, &["json", "md", "html"], "json").map_err(invalid)?;
    let snapshot = snapshot(&g, &admin, window).await?;
    let report = Report::build(&snapshot, g.core.posture.settings());
    let (parsed, content_type) = match format.as_str() {
        "md" => (ReportFormat::Markdown, "text/markdown; charset=utf-8"),
        "html" => (ReportFormat::Html, "text/html; charset=utf-8"),
        _ => (ReportFormat::Json, "application/json"),
    };
    let text = report.render(parsed).map_err(|e| render_failed(&e))?;
    let mut response = text_response(text, content_type);
    if parsed == ReportFormat::Html {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
        );
    }
    Ok(response)
}

async fn readiness(State(g): State<Control>, _admin: Admin) -> Result<Response> {
    let gaps = g.core.posture.readiness();
    Ok(json_response(json!({
        "ready": gaps.is_empty(),
        "require_readiness": g.core.posture.require_readiness(),
        "gaps": gaps,
    })))
}

/// Records a review change in the audit log (the change is made).
async fn record(
    g: &Control,
    admin: &Admin,
    action: &str,
    target: &str,
    mut detail: BTreeMap<String, String>,
) {
    tracing::info!(admin = %admin.principal.identity_name, action, target, "admin action");
    detail.insert(
        "credential_id".to_owned(),
        admin.principal.credential_id.clone(),
    );
    let recorded = g
        .core
        .audit
        .control(
            action,
            Some(&admin.principal.identity_name),
            Some(target),
            "ok",
            detail,
        )
        .await;
    if let Err(err) = recorded {
        tracing::error!(error = %err, action, "audit: review change not recorded");
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StartReview {
    #[serde(default)]
    due: Option<String>,
}

fn review_view(review: &Review, scope: &AdminScope, ids: Option<&HashSet<String>>) -> Review {
    let mut review = review.clone();
    if !scope.is_global() {
        review.items.retain(|i| {
            i.kind != EntitlementKind::Admin && ids.is_some_and(|ids| ids.contains(&i.identity))
        });
    }
    review
}

async fn start(State(g): State<Control>, admin: Admin, body: Body) -> Result<Response> {
    if !admin.scope.is_global() {
        return Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "opening a review of every identity needs the global admin role",
        ));
    }
    let bytes = body_bytes(&g, body).await?;
    let input: StartReview = if bytes.iter().all(u8::is_ascii_whitespace) {
        StartReview::default()
    } else {
        json_value(&bytes).await?
    };
    let due = match &input.due {
        Some(text) => duration(text, "due").map_err(invalid)?,
        None => DEFAULT_DUE,
    };
    let now = unix_now();
    let due_at = now.saturating_add(i64::try_from(due.as_secs()).unwrap_or(i64::MAX));
    let review = start_review(&g.core.identity, &g.core.posture, now, due_at)
        .await
        .map_err(review_error)?;
    let detail = BTreeMap::from([
        ("items".to_owned(), review.items.len().to_string()),
        ("due_at".to_owned(), review.due_at.to_string()),
    ]);
    record(&g, &admin, "review.start", &review.id, detail).await;
    let mut response = json_response(json!(review));
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

async fn managed_ids(g: &Control, admin: &Admin) -> Result<Option<HashSet<String>>> {
    if admin.scope.is_global() {
        return Ok(None);
    }
    let all = g
        .core
        .identity
        .list_identities()
        .await
        .map_err(super::identity_error)?;
    Ok(Some(
        all.into_iter()
            .filter(|i| admin.may_manage(i))
            .map(|i| i.id)
            .collect(),
    ))
}

async fn list(State(g): State<Control>, admin: Admin) -> Result<Response> {
    let reviews = stored_reviews(g.core.identity.store())
        .await
        .map_err(state_error)?;
    let ids = managed_ids(&g, &admin).await?;
    let now = unix_now();
    let data: Vec<_> = reviews
        .iter()
        .map(|r| {
            let view = review_view(r, &admin.scope, ids.as_ref());
            json!({
                "id": view.id, "opened_at": view.opened_at, "due_at": view.due_at,
                "overdue": now > view.due_at && view.pending().next().is_some(),
                "pending": view.pending().count(), "items": view.items,
            })
        })
        .collect();
    Ok(json_response(json!({ "data": data })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    decision: ReviewDecision,
    #[serde(default)]
    by: Option<String>,
}

async fn answer(
    State(g): State<Control>,
    Path((review_id, item_id)): Path<(String, String)>,
    admin: Admin,
    body: Body,
) -> Result<Response> {
    let input: Answer = json_body(&g, body).await?;
    let (review, _) = crate::posture::review::load_review(&g.core.identity, &review_id)
        .await
        .map_err(review_error)?;
    let item = review
        .items
        .iter()
        .find(|i| i.id == item_id)
        // Admin-role items are for global admins: to any other, absent.
        .filter(|i| admin.scope.is_global() || i.kind != EntitlementKind::Admin)
        .ok_or_else(not_found)?;
    let identity = managed(&g, &admin, &item.identity_name).await?;
    // The reviewer is the identity's owner: an owner-scoped admin is
    // that owner; a global admin answers on the owner's behalf.
    let reviewer = match (&admin.scope, input.by) {
        (AdminScope::Owner(owner), Some(by)) if &by != owner => {
            return Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "an owner-scoped admin answers as its own owner",
            ));
        }
        (AdminScope::Owner(owner), _) => owner.clone(),
        (AdminScope::Global, Some(by)) => by,
        (AdminScope::Global, None) => item.owner.clone().unwrap_or(identity.owner),
    };
    let answered = answer_review(
        &g.core.identity,
        AnswerRequest {
            review: &review_id,
            item: &item_id,
            reviewer: &reviewer,
            decision: input.decision,
            revoker: Requester::Admin(admin.principal.identity_name.clone()),
            now: unix_now(),
        },
    )
    .await
    .map_err(review_error)?;
    let decision = match input.decision {
        ReviewDecision::Keep => "keep",
        ReviewDecision::Revoke => "revoke",
    };
    let mut detail = BTreeMap::from([
        ("decision".to_owned(), decision.to_owned()),
        ("reviewer".to_owned(), reviewer.clone()),
        ("identity".to_owned(), answered.item.identity_name.clone()),
    ]);
    if let Some(applied) = &answered.applied {
        detail.insert("applied".to_owned(), applied.clone());
    }
    let target = format!("{review_id}/{item_id}");
    record(&g, &admin, "review.answer", &target, detail).await;
    Ok(json_response(json!({
        "item": answered.item, "applied": answered.applied,
    })))
}

/// The posture routes, mounted under `/admin/v1`.
pub fn routes() -> Router<Control> {
    Router::new()
        .route("/inventory", get(inventory))
        .route("/posture/report", get(report))
        .route("/readiness", get(readiness))
        .route("/reviews", get(list).post(start))
        .route("/reviews/{id}/items/{item}", post(answer))
}

#[cfg(test)]
mod tests {
    use modelgate_identity::IdentityError;

    use super::*;

    #[test]
    fn identity_errors_removing_an_admin_role_keep_their_status() {
        let missing = ReviewError::Admin(IdentityError::identity_not_found("gone"));
        assert_eq!(review_error(missing).status(), StatusCode::NOT_FOUND);
        let invalid = ReviewError::Admin(IdentityError::LifetimeTooShort);
        assert_eq!(review_error(invalid).status(), StatusCode::BAD_REQUEST);
    }
}
