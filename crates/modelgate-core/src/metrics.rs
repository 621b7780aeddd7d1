//! Prometheus metrics. Label values come only from the configuration
//! (operation, model and upstream names) or from fixed sets (status codes,
//! error kinds), never from what a caller sent, so no secret can become a
//! label and cardinality stays bounded.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a finished request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// API operation (`chat`, `messages`, ...; `models.list`; `other`).
    pub operation: &'static str,
    /// Configured model name, or empty.
    pub model: Arc<str>,
    /// Upstream that answered, or empty.
    pub upstream: Arc<str>,
    /// HTTP status returned to the caller.
    pub status: u16,
}

/// Labels for per-operation timings.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// API operation.
    pub operation: &'static str,
}

/// Labels for per-upstream metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// Upstream name.
    pub upstream: Arc<str>,
}

/// Labels of an upstream error.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamErrorLabels {
    /// Upstream name.
    pub upstream: Arc<str>,
    /// Error kind (`connect`, `timeout`, `status_5xx`, ...).
    pub kind: &'static str,
}

/// Labels of token counters.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    /// Configured model name.
    pub model: Arc<str>,
    /// `input` or `output`.
    pub direction: &'static str,
}

/// Labels of token-endpoint outcomes.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExchangeLabels {
    /// `token_exchange` or `client_credentials`.
    pub grant: &'static str,
    /// `issued` or a refusal label.
    pub result: &'static str,
}

/// Labels of authentication failures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthFailureLabels {
    /// Why (`missing`, `malformed`, `unknown`, `expired`, ...).
    pub reason: &'static str,
}

/// Labels of a listener's connection gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `main`, `admin` or `metrics`.
    pub listener: &'static str,
}

/// Labels of a refused connection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectionRefusalLabels {
    /// `main`, `admin` or `metrics`.
    pub listener: &'static str,
    /// `max_connections` or `max_connections_per_source`.
    pub reason: &'static str,
}

/// Labels of credentials refused unchecked because their source spent
/// its failed-authentication budget.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLimitedLabels {
    /// Where: `model_api`, `token` or `admin`.
    pub endpoint: &'static str,
}

/// Every metric the gateway exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by operation, model, upstream, status.
    pub requests: Family<RequestLabels, Counter>,
    /// Time spent in the gateway itself (total minus upstream wait).
    pub gateway_seconds: Family<OperationLabels, Histogram>,
    /// Time spent waiting on the upstream.
    pub upstream_seconds: Family<UpstreamLabels, Histogram>,
    /// Upstream failures by kind.
    pub upstream_errors: Family<UpstreamErrorLabels, Counter>,
    /// Tokens by model and direction.
    pub tokens: Family<TokenLabels, Counter>,
    /// Authentication failures by reason.
    pub auth_failures: Family<AuthFailureLabels, Counter>,
    /// Token-endpoint outcomes.
    pub token_exchanges: Family<ExchangeLabels, Counter>,
    /// Credentials refused unchecked: their source is over its
    /// failed-authentication budget.
    pub auth_limited: Family<AuthLimitedLabels, Counter>,
    /// 1 while an upstream's circuit breaker is open.
    pub breaker_open: Family<UpstreamLabels, Gauge>,
    /// Streams currently open.
    pub open_streams: Gauge,
    /// 1 while the audit log's records after its last checkpoint do not
    /// verify (set when scraped).
    pub audit_tail_fault: Gauge,
    /// Connections open now, by listener.
    pub connections_open: Family<ListenerLabels, Gauge>,
    /// Connections closed at once because a cap was reached.
    pub connections_refused: Family<ConnectionRefusalLabels, Counter>,
}

fn gateway_histogram() -> Histogram {
    // 10 µs .. ~2.6 s
    Histogram::new(exponential_buckets(0.000_01, 2.0, 19))
}

fn upstream_histogram() -> Histogram {
    // 1 ms .. ~65 s
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

impl Metrics {
    /// Registers all metrics in a fresh registry.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("modelgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Data-plane requests", requests.clone());
        let gateway_seconds = Family::<OperationLabels, Histogram>::new_with_constructor(
            gateway_histogram as fn() -> Histogram,
        );
        registry.register(
            "gateway_duration_seconds",
            "Time spent in the gateway, excluding the upstream",
            gateway_seconds.clone(),
        );
        let upstream_seconds = Family::<UpstreamLabels, Histogram>::new_with_constructor(
            upstream_histogram as fn() -> Histogram,
        );
        registry.register(
            "upstream_duration_seconds",
            "Time waiting on the upstream (to the last byte; to the first byte for streams)",
            upstream_seconds.clone(),
        );
        let upstream_errors = Family::<UpstreamErrorLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream failures by kind",
            upstream_errors.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register("tokens", "Tokens reported by upstreams", tokens.clone());
        let auth_failures = Family::<AuthFailureLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Refused credentials by reason",
            auth_failures.clone(),
        );
        let token_exchanges = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "token_requests",
            "Token endpoint outcomes",
            token_exchanges.clone(),
        );
        let auth_limited = Family::<AuthLimitedLabels, Counter>::default();
        registry.register(
            "auth_failures_limited",
            "Credentials refused unchecked: the source is over its failed-authentication budget",
            auth_limited.clone(),
        );
        let breaker_open = Family::<UpstreamLabels, Gauge>::default();
        registry.register(
            "upstream_circuit_open",
            "1 while the circuit breaker is open",
            breaker_open.clone(),
        );
        let open_streams = Gauge::default();
        registry.register(
            "open_streams",
            "Streams currently open",
            open_streams.clone(),
        );
        let audit_tail_fault = Gauge::default();
        registry.register(
            "audit_tail_fault",
            "1 while the audit log's records after its last checkpoint do not verify",
            audit_tail_fault.clone(),
        );
        let connections_open = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "connections_open",
            "Connections open now, by listener",
            connections_open.clone(),
        );
        let connections_refused = Family::<ConnectionRefusalLabels, Counter>::default();
        registry.register(
            "connections_refused",
            "Connections closed at once because a connection cap was reached",
            connections_refused.clone(),
        );
        Self {
            registry,
            requests,
            gateway_seconds,
            upstream_seconds,
            upstream_errors,
            tokens,
            auth_failures,
            token_exchanges,
            auth_limited,
            breaker_open,
            open_streams,
            audit_tail_fault,
            connections_open,
            connections_refused,
        }
    }

    /// Counts an upstream error.
    pub fn upstream_error(&self, upstream: &Arc<str>, kind: &'static str) {
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                upstream: upstream.clone(),
                kind,
            })
            .inc();
    }

    /// Sets the breaker gauge of `upstream`.
    pub fn breaker_open_set(&self, upstream: &Arc<str>, open: bool) {
        self.breaker_open
            .get_or_create(&UpstreamLabels {
                upstream: upstream.clone(),
            })
            .set(i64::from(open));
    }

    /// Records time spent on an upstream.
    pub fn upstream_time(&self, upstream: &Arc<str>, elapsed: Duration) {
        self.upstream_seconds
            .get_or_create(&UpstreamLabels {
                upstream: upstream.clone(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Records token usage.
    pub fn usage(&self, model: &Arc<str>, input: u64, output: u64) {
        for (direction, n) in [("input", input), ("output", output)] {
            if n > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        model: model.clone(),
                        direction,
                    })
                    .inc_by(n);
            }
        }
    }

    /// Renders the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families() {
        let m = Metrics::new();
        m.requests
            .get_or_create(&RequestLabels {
                operation: "chat",
                model: Arc::from("m"),
                upstream: Arc::from("u"),
                status: 200,
            })
            .inc();
        m.upstream_error(&Arc::from("u"), "connect");
        m.usage(&Arc::from("m"), 3, 4);
        let text = m.render();
        assert!(text.contains("modelgate_requests_total{operation=\"chat\",model=\"m\",upstream=\"u\",status=\"200\"} 1"), "{text}");
        assert!(
            text.contains("modelgate_upstream_errors_total{upstream=\"u\",kind=\"connect\"} 1")
        );
        assert!(text.contains("modelgate_tokens_total{model=\"m\",direction=\"output\"} 4"));
    }
}
