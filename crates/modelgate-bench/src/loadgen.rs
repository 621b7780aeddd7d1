//! The load generator: HTTP/1.1 keep-alive on tokio and hyper, one pooled
//! connection per worker, latency recorded in microseconds in an HDR
//! histogram (3 significant digits).
//!
//! - Closed loop ([`Load::Closed`]): N workers, each sends a request, reads
//!   the whole body, records, repeats.
//! - Open loop ([`Load::Open`]): request `i` is due at `start + i / rate`;
//!   a free worker waits for the due time and sends. A request sent late
//!   because every worker was busy is timed from its due time, so a slow
//!   server is charged for the queueing it causes (no coordinated
//!   omission); one sent on time is timed from its send, so the timer's
//!   1 ms granularity is not charged to the server.
//!
//! Both stop at the time bound or the request bound, whichever comes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderMap, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An HTTP/1.1 client over loopback TCP with `TCP_NODELAY`.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Longest a single request may take before it counts as failed.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Histogram upper bound: 60 s in microseconds.
const MAX_US: u64 = 60_000_000;

/// Error messages kept per load point.
const ERROR_SAMPLES: usize = 5;

/// A client keeping (at most) one idle connection, for one worker.
pub fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1)
        .build(connector)
}

/// An empty histogram with the harness's bounds.
pub fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_US, 3).context("cannot create a histogram")
}

/// The request every worker sends.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Full URL.
    pub uri: Uri,
    /// Headers (credential, content type).
    pub headers: HeaderMap,
    /// JSON body.
    pub body: Bytes,
    /// Streamed: the body must end with `data: [DONE]`.
    pub stream: bool,
}

impl RequestSpec {
    fn build(&self) -> Result<Request<Full<Bytes>>> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .body(Full::new(self.body.clone()))
            .context("cannot build a request")?;
        *req.headers_mut() = self.headers.clone();
        Ok(req)
    }
}

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Fixed concurrency, closed loop.
    Closed {
        /// Number of workers (connections).
        concurrency: usize,
    },
    /// Fixed rate, open loop.
    Open {
        /// Requests per second.
        rate: f64,
        /// Number of workers (connections).
        workers: usize,
    },
}

impl Load {
    /// Workers (and connections) this load needs.
    pub fn workers(self) -> usize {
        match self {
            Load::Closed { concurrency } => concurrency,
            Load::Open { workers, .. } => workers,
        }
    }

    /// `c=16` or `rate=500/s`.
    pub fn label(self) -> String {
        match self {
            Load::Closed { concurrency } => format!("c={concurrency}"),
            Load::Open { rate, .. } => format!("rate={rate}/s"),
        }
    }
}

/// Limits of one phase.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Stop sending after this long (open loop: requests due later are not sent).
    pub duration: Duration,
    /// Stop after this many requests.
    pub requests: Option<u64>,
}

/// What one phase measured.
#[derive(Debug)]
pub struct PhaseResult {
    /// Latency of successful requests, microseconds.
    pub histogram: Histogram<u64>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests (non-2xx, transport error, timeout, cut stream).
    pub errors: u64,
    /// Open loop: requests due within the time bound that were never sent
    /// because every worker was still busy when the run ended.
    pub dropped: u64,
    /// Wall time from the start to the last response.
    pub elapsed: Duration,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

impl PhaseResult {
    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }
}

/// One request: send, read the whole body, check it.
pub async fn send(client: &HttpClient, spec: &RequestSpec) -> Result<(), String> {
    let req = spec.build().map_err(|e| e.to_string())?;
    let exchange = async {
        let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(format!("HTTP {status}: {text}"));
        }
        if spec.stream && !body.trim_ascii_end().ends_with(b"data: [DONE]") {
            return Err("stream did not end with data: [DONE]".to_owned());
        }
        Ok(())
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Ok(result) => result,
        Err(_) => Err(format!("timed out after {REQUEST_TIMEOUT:?}")),
    }
}

#[derive(Debug)]
struct Worker {
    histogram: Histogram<u64>,
    ok: u64,
    errors: u64,
    samples: Vec<String>,
}

impl Worker {
    fn record(&mut self, result: Result<(), String>, latency: Duration) {
        match result {
            Ok(()) => {
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                self.histogram.saturating_record(us.max(1));
                self.ok += 1;
            }
            Err(e) => {
                self.errors += 1;
                if self.samples.len() < ERROR_SAMPLES {
                    self.samples.push(e);
                }
            }
        }
    }
}

/// Runs one phase with `clients` (one per worker; reused across phases so a
/// warm-up opens the connections the measurement uses).
pub async fn run(
    clients: &[HttpClient],
    spec: Arc<RequestSpec>,
    load: Load,
    bounds: Bounds,
) -> Result<PhaseResult> {
    let limit = bounds.requests.unwrap_or(u64::MAX);
    let tickets = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + bounds.duration;
    let mut tasks = Vec::with_capacity(clients.len());
    for client in clients.iter().take(load.workers()) {
        let client = client.clone();
        let spec = Arc::clone(&spec);
        let tickets = Arc::clone(&tickets);
        let mut worker = Worker {
            histogram: histogram()?,
            ok: 0,
            errors: 0,
            samples: Vec::new(),
        };
        tasks.push(tokio::spawn(async move {
            loop {
                let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                if ticket >= limit {
                    break;
                }
                let due = match load {
                    Load::Closed { .. } => {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        now
                    }
                    Load::Open { rate, .. } => {
                        let due = start + Duration::from_secs_f64(ticket as f64 / rate);
                        let now = Instant::now();
                        if due >= deadline || now >= deadline {
                            break;
                        }
                        if due > now {
                            // On time: the timer's own lateness (up to its
                            // 1 ms tick) is the generator's, not the
                            // server's, so the clock starts at the send.
                            tokio::time::sleep_until(due.into()).await;
                            Instant::now()
                        } else {
                            // Behind: the wait since the due time counts.
                            due
                        }
                    }
                };
                let result = send(&client, &spec).await;
                worker.record(result, due.elapsed());
            }
            worker
        }));
    }
    let mut result = PhaseResult {
        histogram: histogram()?,
        ok: 0,
        errors: 0,
        dropped: 0,
        elapsed: Duration::ZERO,
        error_samples: Vec::new(),
    };
    for task in tasks {
        let worker = task.await.context("a load worker panicked")?;
        result
            .histogram
            .add(&worker.histogram)
            .context("cannot merge histograms")?;
        result.ok += worker.ok;
        result.errors += worker.errors;
        for s in worker.samples {
            if result.error_samples.len() < ERROR_SAMPLES {
                result.error_samples.push(s);
            }
        }
    }
    result.elapsed = start.elapsed();
    if let Load::Open { rate, .. } = load {
        let due = (bounds.duration.as_secs_f64() * rate).ceil() as u64;
        result.dropped = due.min(limit).saturating_sub(result.ok + result.errors);
    }
    Ok(result)
}

/// Sends a small control request (JSON POST) and fails on a non-2xx answer.
pub async fn post_json(client: &HttpClient, uri: &str, body: String) -> Result<()> {
    let req = Request::post(uri)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .context("cannot build a control request")?;
    let resp = client
        .request(req)
        .await
        .with_context(|| format!("POST {uri}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        anyhow::bail!(
            "POST {uri}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// Sends a form POST (`application/x-www-form-urlencoded`) and returns the
/// JSON answer; fails on a non-2xx answer (with its body, which for the
/// token endpoint is an OAuth error and carries no secret).
pub async fn post_form(
    client: &HttpClient,
    uri: &str,
    fields: &[(&str, &str)],
) -> Result<serde_json::Value> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect();
    let req = Request::post(uri)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(Full::new(Bytes::from(body.join("&"))))
        .context("cannot build a form request")?;
    let resp = client
        .request(req)
        .await
        .with_context(|| format!("POST {uri}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        anyhow::bail!(
            "POST {uri}: HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(500)])
        );
    }
    serde_json::from_slice(&body).with_context(|| format!("POST {uri}: the answer is not JSON"))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percentile of a histogram in microseconds (0 when empty).
pub fn percentile_us(h: &Histogram<u64>, q: f64) -> u64 {
    if h.is_empty() {
        0
    } else {
        h.value_at_quantile(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_from_hdr() {
        let mut h = histogram().unwrap();
        assert_eq!(percentile_us(&h, 0.99), 0);
        for us in 1..=1000u64 {
            h.record(us).unwrap();
        }
        assert_eq!(percentile_us(&h, 0.5), 500);
        assert_eq!(percentile_us(&h, 0.9), 900);
        assert_eq!(percentile_us(&h, 0.99), 990);
        assert_eq!(percentile_us(&h, 0.999), 999);
        h.record(123_456).unwrap();
        let max = percentile_us(&h, 1.0);
        assert!(
            max.abs_diff(123_456) <= 123_456 / 1000,
            "3 significant digits: {max}"
        );
    }

    #[test]
    fn worker_records_successes_and_samples_errors() {
        let mut w = Worker {
            histogram: histogram().unwrap(),
            ok: 0,
            errors: 0,
            samples: Vec::new(),
        };
        w.record(Ok(()), Duration::from_micros(250));
        w.record(Ok(()), Duration::ZERO);
        for i in 0..10 {
            w.record(Err(format!("e{i}")), Duration::ZERO);
        }
        assert_eq!((w.ok, w.errors), (2, 10));
        assert_eq!(w.samples.len(), ERROR_SAMPLES);
        assert_eq!(w.histogram.min(), 1);
        assert_eq!(w.histogram.max(), 250);
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("mgk_aZ-9.~"), "mgk_aZ-9.~");
        assert_eq!(form_encode("a b&c=d+é"), "a%20b%26c%3Dd%2B%C3%A9");
        assert_eq!(form_encode(""), "");
    }

    #[test]
    fn labels() {
        assert_eq!(Load::Closed { concurrency: 16 }.label(), "c=16");
        let open = Load::Open {
            rate: 500.0,
            workers: 64,
        };
        assert_eq!(open.label(), "rate=500/s");
        assert_eq!(open.workers(), 64);
    }
}
