//! What happened to one request: the record every stage fills in, turned
//! into the audit log's [`RequestRecord`]s (admit, complete, or a single
//! refusal) and, when the request ends, accounted by
//! [`crate::stages::account`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use modelgate_audit::{Body, RequestRecord};

use crate::upstream::Upstream;
use modelgate_core::audit::AuditTrail;
use modelgate_core::metrics::Metrics;
use modelgate_types::Usage;

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
    /// Whether the caller asked for a streamed response.
    pub stream: bool,
    /// Whether the response body owns the record now and finishes it when
    /// the stream ends (the pipeline then leaves it alone).
    pub detached: bool,
    /// Status returned to the caller.
    pub status: u16,
    /// Tokens used.
    pub usage: Usage,
    /// Whether `usage` is the gateway's estimate (a stream whose upstream
    /// reported none), not the upstream's count.
    pub usage_estimated: bool,
    /// Time spent waiting on upstreams.
    pub upstream_time: Duration,
    /// Time spent in the gateway, when it differs from total minus upstream.
    pub gateway_time: Option<Duration>,
    /// Every upstream tried, in order.
    pub attempts: Vec<Attempt>,
    /// Upstreams of the route left out before any was tried, and why
    /// (empty, and not allocated, unless one was).
    pub skipped: Vec<(Arc<str>, String)>,
    /// What the gateway noticed about the upstream's answer that is not a
    /// failure (`upstream_body_not_json`, `upstream_not_streamed`).
    pub note: Option<&'static str>,
    /// Why a stream ended early, if it did.
    pub stream_error: Option<&'static str>,
    /// Why the request was refused, if it was (error kind label).
    pub refusal: Option<&'static str>,
    /// Client address: the peer's `ip:port`, or the forwarded address
    /// when the peer is a trusted proxy.
    pub client_addr: Option<String>,
    /// The peer's socket address, as the listener saw it.
    pub peer: Option<std::net::SocketAddr>,
    /// The connection's verified client certificate (mTLS), if any.
    pub peer_cert: Option<modelgate_core::peer_cert::PeerCertificate>,
    /// The caller's source (the peer, or the address a trusted proxy
    /// forwarded): what failed authentications are counted against.
    pub source: Option<std::net::IpAddr>,
    /// Client `User-Agent` (truncated).
    pub user_agent: Option<String>,
    /// Browser `Origin` (truncated), if sent.
    pub origin: Option<String>,
    /// Deployment of the upstream that answered (`hosted`, `self_hosted`).
    pub deployment: Option<&'static str>,
    /// Region of the upstream that answered.
    pub region: Option<String>,
    /// The request's data class, once screened.
    pub data_class: Option<String>,
    /// Policy decision (`allow`, `deny`), once decided.
    pub decision: Option<&'static str>,
    /// Ids of the policies that decided.
    pub policy_ids: Vec<String>,
    /// The shadow set's differing decision, its policy ids and its reason
    /// (for a denial).
    pub shadow: Option<(&'static str, Vec<String>, Option<String>)>,
    /// The decision's facts, as JSON (for replay).
    pub policy_input: Option<String>,
    /// Screening findings: kind and count.
    pub findings: Vec<(String, u32)>,
    /// Findings in the response: kind and count.
    pub response_findings: Vec<(String, u32)>,
    /// What the gateway did (`forwarded`, `redacted`, `blocked`, ...).
    pub action: Option<&'static str>,
    /// Where the complete record goes once the request ends, if it was
    /// admitted (its admit record is durable).
    pub audit: Option<Arc<AuditTrail>>,
    /// Where the call's tokens are charged when it ends (token rate
    /// limits).
    pub token_charge: Option<crate::stages::rate_limit::limiters::TokenCharge>,
    /// Retained response body, for the complete record.
    pub response_body: Option<Body>,
    /// When the record's bodies may be pruned.
    pub bodies_expire: Option<i64>,
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
            detached: false,
            status: 0,
            usage: Usage::default(),
            usage_estimated: false,
            upstream_time: Duration::ZERO,
            gateway_time: None,
            attempts: Vec::new(),
            skipped: Vec::new(),
            note: None,
            stream_error: None,
            refusal: None,
            client_addr: None,
            peer: None,
            peer_cert: None,
            source: None,
            user_agent: None,
            origin: None,
            deployment: None,
            region: None,
            data_class: None,
            decision: None,
            policy_ids: Vec::new(),
            shadow: None,
            policy_input: None,
            findings: Vec::new(),
            response_findings: Vec::new(),
            action: None,
            audit: None,
            token_charge: None,
            response_body: None,
            bodies_expire: None,
        }
    }

    /// The audit record of this request as it stands: `phase` is `admit`,
    /// `complete`, or `None` for a refusal told in one record.
    pub fn audit_record(&self, phase: Option<&'static str>) -> RequestRecord {
        let total = self.started.elapsed();
        let gateway = self
            .gateway_time
            .unwrap_or_else(|| total.saturating_sub(self.upstream_time));
        let done = phase != Some("admit");
        let fallbacks: Vec<(String, String)> = self
            .attempts
            .iter()
            .filter(|a| a.result != "ok")
            .map(|a| (a.upstream.to_string(), a.result.to_owned()))
            .collect();
        RequestRecord {
            request_id: self.request_id.to_string(),
            phase: phase.map(str::to_owned),
            identity: self.identity.clone(),
            credential_id: self.credential_id.clone(),
            credential_kind: (!self.auth_method.is_empty()).then(|| self.auth_method.to_owned()),
            auth_method: (!self.auth_method.is_empty()).then(|| self.auth_method.to_owned()),
            delegation: if self.delegation.is_empty() {
                Vec::new()
            } else {
                self.delegation.split('>').map(str::to_owned).collect()
            },
            client_addr: self.client_addr.clone(),
            user_agent: self.user_agent.clone(),
            origin: self.origin.clone(),
            operation: Some(self.operation.to_owned()),
            model: self.model.as_deref().map(str::to_owned),
            upstream: self.upstream.as_deref().map(str::to_owned),
            deployment: self.deployment.map(str::to_owned),
            region: self.region.clone(),
            data_class: self.data_class.clone(),
            decision: self.decision.map(str::to_owned),
            policy_ids: self.policy_ids.clone(),
            shadow_decision: self.shadow.as_ref().map(|(d, _, _)| (*d).to_owned()),
            shadow_policy_ids: self
                .shadow
                .as_ref()
                .map(|(_, ids, _)| ids.clone())
                .unwrap_or_default(),
            shadow_reason: self.shadow.as_ref().and_then(|(_, _, r)| r.clone()),
            policy_input: if phase == Some("complete") {
                None
            } else {
                self.policy_input.clone()
            },
            findings: self.findings.clone(),
            response_findings: if done {
                self.response_findings.clone()
            } else {
                Vec::new()
            },
            action: self.action.map(str::to_owned),
            reason: self.refusal.or(self.stream_error).map(str::to_owned),
            status: (done && self.status != 0).then_some(self.status),
            gateway_us: done.then_some(gateway.as_micros() as u64),
            upstream_us: (done && !self.upstream_time.is_zero())
                .then_some(self.upstream_time.as_micros() as u64),
            tokens_in: (done && self.usage.input > 0).then_some(self.usage.input),
            tokens_out: (done && self.usage.output > 0).then_some(self.usage.output),
            usage_estimated: done && self.usage_estimated,
            streamed: self.stream,
            fallbacks: if done { fallbacks } else { Vec::new() },
            skipped: self
                .skipped
                .iter()
                .map(|(upstream, why)| (upstream.to_string(), why.clone()))
                .collect(),
            note: if done {
                self.note.map(str::to_owned)
            } else {
                None
            },
            bodies_expire: self.bodies_expire,
            prompt: None,
            response: if done {
                self.response_body.clone()
            } else {
                None
            },
        }
    }
}
