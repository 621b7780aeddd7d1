//! `GET /admin/v1/audit`: search the audit log, paginated.
//!
//! A global admin may search everything; an owner-scoped admin must name an
//! identity it manages (`identity=`), and sees only that identity's records.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::{StatusCode, Uri};
use modelgate_audit::decode_record;
use modelgate_store::AuditQuery;
use serde_json::json;

use super::{Admin, Result, error, managed};
use crate::{Control, json_response};

/// Largest page.
const MAX_LIMIT: i64 = 1000;

/// Query parameters of a search. Times are unix milliseconds.
#[derive(Debug, Default)]
struct SearchParams {
    identity: Option<String>,
    model: Option<String>,
    decision: Option<String>,
    kind: Option<String>,
    since: Option<i64>,
    until: Option<i64>,
    after: Option<i64>,
    limit: Option<i64>,
}

/// The parameters, or what is wrong with them.
fn parse_params(uri: &Uri) -> std::result::Result<SearchParams, String> {
    let mut p = SearchParams::default();
    let query = uri.query().unwrap_or("");
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let number = || {
            value
                .parse::<i64>()
                .map_err(|_| format!("{name} must be an integer"))
        };
        match &*name {
            "identity" => p.identity = Some(value.to_string()),
            "model" => p.model = Some(value.to_string()),
            "decision" if modelgate_audit::DECISIONS.contains(&&*value) => {
                p.decision = Some(value.to_string());
            }
            "decision" => {
                return Err(format!(
                    "unknown decision; one of: {}",
                    modelgate_audit::DECISIONS.join(", ")
                ));
            }
            "kind" => p.kind = Some(value.to_string()),
            "since" => p.since = Some(number()?),
            "until" => p.until = Some(number()?),
            "after" => p.after = Some(number()?),
            "limit" => p.limit = Some(number()?),
            _ => {
                return Err(
                    "unknown query parameter; allowed: identity, model, decision, kind, \
                            since, until (unix ms), after, limit"
                        .into(),
                );
            }
        }
    }
    Ok(p)
}

async fn search(State(g): State<Control>, uri: Uri, admin: Admin) -> Result<Response> {
    let params =
        parse_params(&uri).map_err(|reason| error(StatusCode::BAD_REQUEST, "invalid", reason))?;
    if !admin.scope.is_global() {
        let Some(name) = params.identity.as_deref() else {
            return Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "an owner-scoped admin must search by an identity it manages",
            ));
        };
        managed(&g, &admin, name).await?;
    }
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let query = AuditQuery {
        identity: params.identity,
        model: params.model,
        decision: params.decision,
        kind: params.kind,
        since: params.since,
        until: params.until,
        after: params.after,
        limit,
    };
    let hits = g.core.store.search_audit(&query).await.map_err(|e| {
        tracing::error!(error = %e, "audit search failed");
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the audit log cannot be searched right now",
        )
    })?;
    let mut data = Vec::with_capacity(hits.len());
    for hit in &hits {
        match decode_record(hit.line.as_bytes()) {
            Ok(record) => data.push(json!({
                "cursor": hit.id,
                "replica": record.replica,
                "seq": record.seq,
                "time": record.time,
                "hash": record.hash.to_string(),
                "event": record.event,
            })),
            Err(e) => tracing::warn!(entry = hit.id, error = %e, "audit entry does not decode"),
        }
    }
    let next = (hits.len() as i64 == limit)
        .then(|| hits.last().map(|h| h.id))
        .flatten();
    Ok(json_response(json!({ "data": data, "next_after": next })))
}

/// The audit routes, mounted under `/admin/v1`.
pub fn routes() -> Router<Control> {
    Router::new().route("/audit", get(search))
}
