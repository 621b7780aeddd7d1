//! The gateway's shared state and the request path of a model call:
//! accept → authenticate → parse → route → audit (admit) → forward/stream
//! → account → audit (complete).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, header};
use http_body_util::{BodyExt, Limited};
use modelgate_identity::exchange::TokenExchange;
use modelgate_identity::federation::Federation;
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, IdentityKind, IdentityService, KeyEncryptionKey, KeyPolicy,
    Principal, SigningKeyring,
};
use modelgate_store::Store;

use crate::audit::{AuditStartError, AuditTrail};
use crate::config::{Config, Limits};
use crate::dialect::{ApiError, Dialect, ErrorKind};
use crate::forward::{Forwarded, forward};
use crate::metrics::{AuthFailureLabels, Metrics};
use crate::parse::{Operation, parse};
use crate::record::CallRecord;
use crate::routes::RouteTable;
use crate::screening::{ScreenAction, ScreenStage};
use crate::stream::{self, StreamLimits};
use crate::upstream::{Upstream, UpstreamSetupError};

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// An upstream could not be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamSetupError),
    /// The trusted issuers are misconfigured.
    #[error("issuers: {0}")]
    Issuers(#[from] modelgate_identity::federation::FederationConfigError),
    /// Signing keys or token settings could not be loaded.
    #[error("access tokens: {0}")]
    Tokens(#[from] modelgate_identity::IdentityError),
    /// The signing keyring could not be loaded (wrong key-encryption key?).
    #[error("signing keys: {0}")]
    Keyring(#[from] modelgate_identity::KeyringError),
    /// The HTTP client for issuer keys could not be built.
    #[error("issuer key fetcher: {0}")]
    Fetcher(String),
    /// The policies could not be loaded (each problem with file and line).
    #[error("{0}")]
    Policy(String),
    /// Screening is misconfigured.
    #[error("screening: {0}")]
    Screen(String),
    /// The audit log could not start.
    #[error(transparent)]
    Audit(#[from] AuditStartError),
    /// The roles or grant rules are invalid.
    #[error(transparent)]
    Roles(#[from] crate::config::ConfigError),
}

/// The gateway: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) limits: Limits,
    pub(crate) header_read_timeout: std::time::Duration,
    pub(crate) shutdown_grace: std::time::Duration,
    pub(crate) housekeeping_interval: std::time::Duration,
    pub(crate) identity: IdentityService,
    pub(crate) tokens: AccessTokens,
    pub(crate) keyring: SigningKeyring,
    pub(crate) exchange: TokenExchange,
    pub(crate) issuer: String,
    pub(crate) rotation_grace: std::time::Duration,
    pub(crate) sync_interval: std::time::Duration,
    pub(crate) store: Store,
    pub(crate) routes: RouteTable,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) audit: Arc<AuditTrail>,
    pub(crate) screen: ScreenStage,
    pub(crate) rate_limiter: Arc<crate::ratelimit::RateLimiter>,
    pub(crate) policy: crate::policy::PolicyStage,
    pub(crate) posture: crate::posture_state::PostureContext,
    request_prefix: String,
    request_counter: AtomicU64,
}

/// Unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Gateway {
    /// Builds the gateway from validated configuration: resolves every
    /// upstream credential, loads (or creates) the signing keys with `kek`,
    /// and validates the trusted issuers, so a bad setting stops start-up.
    /// `default_issuer` is the gateway's URL when `tokens.issuer` is unset.
    pub async fn new(
        config: &Config,
        store: Store,
        kek: KeyEncryptionKey,
        default_issuer: &str,
    ) -> Result<Gateway, GatewayError> {
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| Upstream::from_config(u, &config.breaker).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let routes = RouteTable::new(config, &upstreams);
        let now = unix_now();
        let issuer = config
            .tokens
            .issuer
            .clone()
            .unwrap_or_else(|| default_issuer.trim_end_matches('/').to_owned());
        let audience = config
            .tokens
            .audience
            .clone()
            .unwrap_or_else(|| issuer.clone());
        let screen = ScreenStage::new(&config.screen, &config.data_classes, &config.residency)
            .map_err(|(field, reason)| GatewayError::Screen(format!("{field}: {reason}")))?;
        let policy = crate::policy::PolicyStage::new(config, screen.classes())
            .map_err(GatewayError::Policy)?;
        let replica = config.server.replica_id.as_deref().unwrap_or("gateway");
        let audit =
            AuditTrail::start(&config.audit, &config.models, replica, &store, &kek, now).await?;
        let keyring = SigningKeyring::load(store.clone(), kek).await?;
        keyring.ensure_active(now).await?;
        let settings = AccessTokenSettings {
            issuer: issuer.clone(),
            audience: audience.clone(),
            default_lifetime: config.tokens.default_lifetime,
            max_lifetime: config.tokens.max_lifetime,
            max_lifetime_by_kind: config
                .tokens
                .max_lifetime_by_kind
                .iter()
                .filter_map(|(kind, d)| Some((kind.parse::<IdentityKind>().ok()?, *d)))
                .collect(),
            ..AccessTokenSettings::default()
        };
        let tokens = AccessTokens::new(store.clone(), keyring.clone(), settings, now).await?;
        let identity = IdentityService::new(
            store.clone(),
            KeyPolicy {
                max_lifetime: config.keys.max_lifetime,
            },
        )
        .with_tokens(tokens.clone())
        .with_key_cache()
        .with_roles(config.role_catalog()?);
        let source = crate::jwks_fetch::HttpJwksSource::new(std::time::Duration::from_secs(5))
            .map_err(GatewayError::Fetcher)?;
        let federation = Federation::new(config.issuers.clone(), source)?;
        let mut targets = vec![audience];
        if !targets.contains(&issuer) {
            targets.push(issuer.clone());
        }
        let exchange = TokenExchange::new(
            identity.clone(),
            tokens.clone(),
            Arc::new(federation),
            targets,
        );
        let mut random = [0u8; 6];
        let _ = getrandom::fill(&mut random);
        let request_prefix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Gateway {
            inner: Arc::new(Inner {
                limits: config.limits.clone(),
                header_read_timeout: config.server.header_read_timeout,
                shutdown_grace: config.server.shutdown_grace,
                housekeeping_interval: config.server.housekeeping_interval,
                identity,
                tokens,
                keyring,
                exchange,
                issuer,
                rotation_grace: config.keys.rotation_grace,
                sync_interval: config.tokens.sync_interval,
                store,
                routes,
                metrics: Arc::new(Metrics::new()),
                audit: Arc::new(audit),
                screen,
                rate_limiter: Arc::default(),
                policy,
                posture: crate::posture_state::PostureContext::from_config(config),
                request_prefix,
                request_counter: AtomicU64::new(0),
            }),
        })
    }

    /// The audit log of this replica.
    pub fn audit(&self) -> &Arc<AuditTrail> {
        &self.inner.audit
    }

    /// The metrics registry (for `/metrics` and tests).
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Configured model names, in order.
    pub fn model_names(&self) -> Vec<String> {
        self.inner
            .routes
            .all()
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    }

    pub(crate) fn next_request_id(&self) -> Arc<str> {
        let n = self.inner.request_counter.fetch_add(1, Ordering::Relaxed);
        Arc::from(format!("req_{}{n:08x}", self.inner.request_prefix))
    }

    pub(crate) fn refuse(
        &self,
        record: &mut CallRecord,
        label: &'static str,
        error: ApiError,
        dialect: Dialect,
    ) -> Response {
        record.status = error.kind.status().as_u16();
        record.refusal = Some(label);
        error.into_response(dialect)
    }

    /// The request path of one model call.
    pub async fn model_call(&self, operation: Operation, request: Request<Body>) -> Response {
        let dialect = operation.dialect();
        let request_id = self.next_request_id();
        let mut record = CallRecord::new(
            self.inner.metrics.clone(),
            request_id.clone(),
            operation.as_str(),
        );
        let mut response = match self.model_call_inner(operation, request, &mut record).await {
            Ok(response) => response,
            Err((label, error)) => {
                let response = self.refuse(&mut record, label, error, dialect);
                if label == "audit_unavailable" {
                    response
                } else if let Err(error) = self.audit_single(&record).await {
                    self.refuse(&mut record, "audit_unavailable", error, dialect)
                } else {
                    response
                }
            }
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        if !record.stream {
            record.finish();
        }
        response
    }

    async fn model_call_inner(
        &self,
        operation: Operation,
        request: Request<Body>,
        record: &mut CallRecord,
    ) -> Result<Response, (&'static str, ApiError)> {
        let dialect = operation.dialect();
        let (parts, body) = request.into_parts();
        crate::audit::request::note_client(record, &parts.extensions, &parts.headers);
        let principal = self.authenticate(&parts.headers, dialect, record).await?;
        let body = self.read_request_body(&parts.headers, body).await?;
        let call = parse(operation, &body).map_err(|e| ("invalid_request", e))?;
        let route = self
            .inner
            .routes
            .resolve(&call.model, &principal)
            .ok_or_else(|| ("model_not_found", model_not_found()))?;
        record.model = Some(route.name.clone());
        let entitlements = self.entitlements(&principal).await?;
        self.rate_limit(
            &entitlements,
            &principal,
            &route.name,
            operation.as_str(),
            record,
        )?;
        let plan = self
            .plan(
                route,
                &call,
                &body,
                &parts.headers,
                &principal,
                &entitlements,
                record,
            )
            .await?;
        record.action = Some(match plan.screening.action {
            ScreenAction::Redact => "redacted",
            ScreenAction::Reroute => "rerouted",
            _ => "admitted",
        });
        self.audit_admit(record, &body).await?;
        let (call, body) = match plan.screening.body {
            Some(redacted) => {
                let redacted = Bytes::from(redacted);
                let call = parse(operation, &redacted).map_err(|e| ("invalid_request", e))?;
                (call, redacted)
            }
            None => (call, body),
        };
        let forwarded = forward(
            &call,
            &plan.targets,
            &body,
            &parts.headers,
            self.inner.limits.max_response_bytes,
            record,
        )
        .await
        .map_err(|e| ("upstream", e))?;
        match forwarded {
            Forwarded::Complete {
                status,
                headers,
                body,
                usage,
            } => {
                record.status = status.as_u16();
                record.usage = usage;
                let body = self.screen_response(record, status, body);
                self.audit_response(record, &body);
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
                let limits = StreamLimits {
                    idle: self
                        .inner
                        .limits
                        .stream_idle_timeout
                        .min(upstream.idle_timeout),
                    max_duration: self.inner.limits.stream_max_duration,
                };
                let tap = crate::bridge::StreamTap::new(
                    &call,
                    upstream.dialect(),
                    self.inner.limits.max_body_bytes,
                );
                let mut stream_record = CallRecord::new(
                    record.metrics.clone(),
                    record.request_id.clone(),
                    record.operation,
                );
                std::mem::swap(&mut stream_record, record);
                stream_record.stream = true;
                stream_record.status = 200;
                stream_record.gateway_time = Some(
                    stream_record
                        .started
                        .elapsed()
                        .saturating_sub(stream_record.upstream_time),
                );
                record.stream = true; // the spawned stream finishes the record
                let screen = self.response_stream_screen(dialect);
                let body = stream::tap(body, tap, screen, dialect, limits, stream_record);
                let mut response = Response::new(Body::new(body));
                *response.headers_mut() = headers;
                Ok(response)
            }
        }
    }

    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        dialect: Dialect,
        record: &mut CallRecord,
    ) -> Result<Principal, (&'static str, ApiError)> {
        match self.authenticate_headers(headers, dialect).await {
            Ok(principal) => {
                record.identity = Some(principal.identity_name.clone());
                record.credential_id = Some(principal.credential_id.clone());
                record.auth_method = principal.auth_method.as_str();
                record.delegation = principal
                    .delegation
                    .iter()
                    .map(|a| a.subject.as_str())
                    .collect::<Vec<_>>()
                    .join(">");
                Ok(principal)
            }
            Err((reason, error)) => {
                self.inner
                    .metrics
                    .auth_failures
                    .get_or_create(&AuthFailureLabels { reason })
                    .inc();
                Err(("unauthenticated", error))
            }
        }
    }

    /// Authenticates a request's credential (API key or access token).
    pub(crate) async fn authenticate_headers(
        &self,
        headers: &HeaderMap,
        dialect: Dialect,
    ) -> Result<Principal, (&'static str, ApiError)> {
        crate::auth::authenticate(
            &self.inner.identity,
            &self.inner.tokens,
            headers,
            dialect,
            unix_now(),
        )
        .await
    }

    async fn read_request_body(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, (&'static str, ApiError)> {
        let max = self.inner.limits.max_body_bytes;
        let too_large = || {
            (
                "body_too_large",
                ApiError::new(
                    ErrorKind::RequestTooLarge,
                    format!("the request body exceeds the gateway's limit of {max} bytes"),
                ),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        match Limited::new(body, max).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
            Err(_) => Err((
                "body_read",
                ApiError::new(
                    ErrorKind::InvalidRequest,
                    "the request body could not be read",
                ),
            )),
        }
    }
}

/// Unknown and forbidden models look the same; the name is not echoed.
pub(crate) fn model_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "the requested model does not exist or you do not have access to it",
    )
    .with_param("model")
    .with_code("model_not_found")
}

pub(crate) fn json_response(value: serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
