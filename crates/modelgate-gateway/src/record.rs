//! The account stage: one record per data-plane request, written to metrics
//! and the log when the request (or its stream) ends. The audit stage will
//! take the same record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::metrics::{Metrics, OperationLabels, RequestLabels};
use crate::upstream::Upstream;
use crate::usage::Usage;

/// One try at one upstream.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Upstream name.
    pub upstream: Arc<str>,
    /// `ok` or a failure label.
    pub result: &'static str,
}

impl Attempt {
    /// An attempt at `upstream` with `result`.
    pub fn new(upstream: &Upstream, result: &'static str) -> Self {
        Self {
            upstream: upstream.name.clone(),
            result,
        }
    }
}

/// What happened to one request. Holds no credential and no body.
#[derive(Debug)]
pub struct CallRecord {
    /// Where the record is counted.
    pub metrics: Arc<Metrics>,
    /// Gateway-assigned request id.
    pub request_id: Arc<str>,
    /// When the request arrived.
    pub started: Instant,
    /// API operation label.
    pub operation: &'static str,
    /// Caller identity name, once authenticated.
    pub identity: Option<String>,
    /// Credential id (never the credential), once authenticated.
    pub credential_id: Option<String>,
    /// How the caller authenticated (`api_key`, `access_token`).
    pub auth_method: &'static str,
    /// Who acts for the identity, outermost first (`agent>tool`), if anyone.
    pub delegation: String,
    /// Configured model name, once resolved.
    pub model: Option<Arc<str>>,
    /// Upstream that answered.
    pub upstream: Option<Arc<str>>,
    /// Whether the response streamed.
    pub stream: bool,
    /// Status returned to the caller.
    pub status: u16,
    /// Tokens used.
    pub usage: Usage,
    /// Time spent waiting on upstreams.
    pub upstream_time: Duration,
    /// Time spent in the gateway, when it differs from total minus upstream.
    pub gateway_time: Option<Duration>,
    /// Every upstream tried, in order.
    pub attempts: Vec<Attempt>,
    /// Why a stream ended early, if it did.
    pub stream_error: Option<&'static str>,
    /// Why the request was refused, if it was (error kind label).
    pub refusal: Option<&'static str>,
}

impl CallRecord {
    /// A record for a request that just arrived.
    pub fn new(metrics: Arc<Metrics>, request_id: Arc<str>, operation: &'static str) -> Self {
        Self {
            metrics,
            request_id,
            started: Instant::now(),
            operation,
            identity: None,
            credential_id: None,
            auth_method: "",
            delegation: String::new(),
            model: None,
            upstream: None,
            stream: false,
            status: 0,
            usage: Usage::default(),
            upstream_time: Duration::ZERO,
            gateway_time: None,
            attempts: Vec::new(),
            stream_error: None,
            refusal: None,
        }
    }

    /// Counts the request and writes its log line.
    pub fn finish(self) {
        let empty: Arc<str> = Arc::from("");
        let model = self.model.clone().unwrap_or_else(|| empty.clone());
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                operation: self.operation,
                model: model.clone(),
                upstream: self.upstream.clone().unwrap_or(empty),
                status: self.status,
            })
            .inc();
        let total = self.started.elapsed();
        let gateway = self
            .gateway_time
            .unwrap_or_else(|| total.saturating_sub(self.upstream_time));
        self.metrics
            .gateway_seconds
            .get_or_create(&OperationLabels {
                operation: self.operation,
            })
            .observe(gateway.as_secs_f64());
        if self.model.is_some() {
            self.metrics
                .usage(&model, self.usage.input, self.usage.output);
        }
        let attempts: Vec<String> = self
            .attempts
            .iter()
            .map(|a| format!("{}:{}", a.upstream, a.result))
            .collect();
        tracing::info!(
            request_id = %self.request_id,
            operation = self.operation,
            identity = self.identity.as_deref().unwrap_or(""),
            credential_id = self.credential_id.as_deref().unwrap_or(""),
            auth_method = self.auth_method,
            delegation = %self.delegation,
            model = self.model.as_deref().unwrap_or(""),
            upstream = self.upstream.as_deref().unwrap_or(""),
            status = self.status,
            stream = self.stream,
            tokens_in = self.usage.input,
            tokens_out = self.usage.output,
            gateway_us = gateway.as_micros() as u64,
            upstream_ms = self.upstream_time.as_millis() as u64,
            total_ms = total.as_millis() as u64,
            attempts = %attempts.join(","),
            refusal = self.refusal.unwrap_or(""),
            stream_error = self.stream_error.unwrap_or(""),
            "request"
        );
    }
}
