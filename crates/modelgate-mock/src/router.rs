//! Request dispatch: control paths, recording, behavior (delay and injected
//! status) and routing of model endpoints to their dialect handler.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;

use crate::body::MockBody;
use crate::state::Shared;
use crate::{anthropic, control, embeddings, openai};

/// A model endpoint (Azure routes carry the deployment name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `POST /v1/chat/completions` or the Azure deployment equivalent.
    Chat(Option<&'a str>),
    /// `POST /v1/completions` or the Azure deployment equivalent.
    Completions(Option<&'a str>),
    /// `POST /v1/embeddings` or the Azure deployment equivalent.
    Embeddings(Option<&'a str>),
    /// `GET /v1/models`.
    Models,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// Anything else.
    NotFound,
}

impl<'a> Route<'a> {
    /// Route a request path (without query).
    pub fn parse(path: &'a str) -> Self {
        match path {
            "/v1/chat/completions" => return Self::Chat(None),
            "/v1/completions" => return Self::Completions(None),
            "/v1/embeddings" => return Self::Embeddings(None),
            "/v1/models" => return Self::Models,
            "/v1/messages" => return Self::Messages,
            "/v1/messages/count_tokens" => return Self::CountTokens,
            _ => {}
        }
        let Some(rest) = path.strip_prefix("/openai/deployments/") else {
            return Self::NotFound;
        };
        match rest.split_once('/') {
            Some((dep, "chat/completions")) if !dep.is_empty() => Self::Chat(Some(dep)),
            Some((dep, "completions")) if !dep.is_empty() => Self::Completions(Some(dep)),
            Some((dep, "embeddings")) if !dep.is_empty() => Self::Embeddings(Some(dep)),
            _ => Self::NotFound,
        }
    }

    fn method(self) -> Method {
        match self {
            Self::Models => Method::GET,
            _ => Method::POST,
        }
    }

    fn is_anthropic(self) -> bool {
        matches!(self, Self::Messages | Self::CountTokens)
    }

    /// An error response in this endpoint's dialect.
    fn error(self, status: StatusCode, message: &str) -> Response<MockBody> {
        if self.is_anthropic() {
            anthropic::error(status, message)
        } else {
            openai::error(status, message)
        }
    }
}

/// Serve one request.
pub async fn handle<B>(
    shared: Arc<Shared>,
    req: Request<B>,
) -> Result<Response<MockBody>, Infallible>
where
    B: http_body::Body<Data = Bytes>,
{
    let (parts, body) = req.into_parts();
    let Ok(body) = body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
    else {
        return Ok(openai::error(
            StatusCode::BAD_REQUEST,
            "failed to read the request body",
        ));
    };
    if control::is_control(parts.uri.path()) {
        return Ok(control::handle(&shared, &parts, &body));
    }
    shared.record(&parts, &body);
    let ctx = shared.begin_request();
    let delay = ctx.behavior.header_delay_ms();
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let route = Route::parse(parts.uri.path());
    if let Some(status) = ctx.behavior.error_status() {
        let msg = format!("modelgate-mock injected error (HTTP {})", status.as_u16());
        return Ok(route.error(status, &msg));
    }
    if route == Route::NotFound {
        let msg = format!("Unknown request URL: {} {}", parts.method, parts.uri.path());
        return Ok(openai::error(StatusCode::NOT_FOUND, &msg));
    }
    if parts.method != route.method() {
        let msg = format!(
            "Method {} not allowed on {}",
            parts.method,
            parts.uri.path()
        );
        return Ok(route.error(StatusCode::METHOD_NOT_ALLOWED, &msg));
    }
    Ok(match route {
        Route::Chat(dep) => openai::chat(&ctx, &body, dep),
        Route::Completions(dep) => openai::completions(&ctx, &body, dep),
        Route::Embeddings(dep) => embeddings::embeddings(&ctx, &body, dep),
        Route::Models => openai::models(),
        Route::Messages => anthropic::messages(&ctx, &body),
        Route::CountTokens => anthropic::count_tokens(&ctx, &body),
        Route::NotFound => openai::error(StatusCode::NOT_FOUND, "not found"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_routes() {
        assert_eq!(Route::parse("/v1/chat/completions"), Route::Chat(None));
        assert_eq!(
            Route::parse("/openai/deployments/gpt4o/chat/completions"),
            Route::Chat(Some("gpt4o"))
        );
        assert_eq!(
            Route::parse("/openai/deployments/d/completions"),
            Route::Completions(Some("d"))
        );
        assert_eq!(
            Route::parse("/openai/deployments/e/embeddings"),
            Route::Embeddings(Some("e"))
        );
        assert_eq!(
            Route::parse("/openai/deployments//embeddings"),
            Route::NotFound
        );
        assert_eq!(Route::parse("/v1/messages"), Route::Messages);
        assert_eq!(Route::parse("/v2/nope"), Route::NotFound);
    }
}
