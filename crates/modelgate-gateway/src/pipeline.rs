//! The model-call pipeline: the stages of one call to
//! `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings` or
//! `/v1/messages`, in the order they run. Each line is one stage (a module
//! of [`crate::stages`]) with its inputs and its output; a stage that
//! refuses ends the call with a [`Refusal`], recorded by the audit stage
//! before the caller gets it. Nothing else lives here.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Request};
use modelgate_types::Operation;

use crate::Gateway;
use crate::record::CallRecord;
use crate::refusal::Refusal;
use crate::stages::forward::Forwarded;
use crate::stages::{
    Asked, accept, account, audit, authenticate, decide, forward, grants, parse, rate_limit,
    read_body, resolve, route, screen, screen_response, stream,
};

/// One model call: runs the stages, answers refusals in the caller's
/// dialect, tags the response with its request id and accounts for it
/// (a stream accounts for itself when it ends).
pub async fn model_call(
    gateway: &Gateway,
    operation: Operation,
    request: Request<Body>,
) -> Response {
    let dialect = operation.dialect();
    let request_id = gateway.next_request_id();
    let metrics = gateway.core.metrics.clone();
    let mut record = CallRecord::new(metrics, request_id.clone(), operation.as_str());
    let mut response = match stages(gateway, operation, request, &mut record).await {
        Ok(response) => response,
        Err(refusal) => audit::refuse(&gateway.core, &mut record, refusal, dialect).await,
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if !record.detached {
        account::finish(record);
    }
    response
}

/// The stages, in order.
async fn stages(
    gateway: &Gateway,
    operation: Operation,
    request: Request<Body>,
    record: &mut CallRecord,
) -> Result<Response, Refusal> {
    let (core, plane) = (&*gateway.core, &*gateway.inner);
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    accept::note_client(record, &parts.extensions, headers);
    let principal = authenticate::authenticate(core, headers, operation.dialect(), record).await?;
    let body = read_body::read_body(body, &plane.limits).await?;
    let call = parse::parse_body(operation, &body)?;
    record.stream = call.stream;
    let route = resolve::resolve(&plane.routes, &call, &principal, record)?;
    let caller = grants::load(core, principal).await?;
    let roles = core.identity.roles();
    rate_limit::admit(
        &plane.rate_limiter,
        roles,
        &caller,
        &route.name,
        operation,
        record,
    )
    .await?;
    let asked = Asked {
        route,
        call: &call,
        body: &body,
        headers,
    };
    let screening = screen::screen(core, &plane.screen, &caller, asked, record).await?;
    let eligible = route::eligible(core, &plane.screen, &caller, asked, &screening, record)?;
    let targets = decide::decide(&core.policy, &caller, asked, &screening, eligible, record)?;
    audit::admit(core, record, &body, screening.action).await?;
    let (call, body) = screen::forwarded_body(operation, call, body, screening.body)?;
    let max_response = plane.limits.max_response_bytes;
    match forward::forward(&call, &targets, &body, headers, max_response, record).await? {
        Forwarded::Complete {
            status,
            headers,
            body,
            usage,
            note,
        } => {
            record.status = status.as_u16();
            record.usage = usage;
            record.note = note;
            let body = screen_response::complete(&plane.screen, record, status, body);
            audit::keep_response(core, record, &body);
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            Ok(response)
        }
        Forwarded::Stream {
            headers,
            body,
            upstream,
        } => {
            let dialect = operation.dialect();
            let max_event = plane.limits.max_body_bytes;
            let screen = screen_response::for_stream(&plane.screen, dialect, max_event);
            Ok(stream::respond(
                &call,
                headers,
                body,
                &upstream,
                &plane.limits,
                screen,
                record,
            ))
        }
    }
}
