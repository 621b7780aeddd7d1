//! Upstreams at run time: address, credential, timeouts, TLS settings,
//! connection pool.
//!
//! The credential is injected here and nowhere else; it is held as a
//! sensitive header value, so hyper never prints it either.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub mod breaker;
pub mod headers;
pub mod local;
pub mod tls;
pub mod tls_failure;

use breaker::Breaker;
use modelgate_config::secret::{SecretError, SecretRef, SecretValue};
use modelgate_config::{BaseUrl, BreakerConfig, UpstreamConfig};
use modelgate_types::Dialect;
use modelgate_types::Operation;
use modelgate_types::{Deployment, Isolation, UpstreamKind};

/// The HTTP client type shared by upstreams.
pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One upstream, ready to receive requests.
#[derive(Debug)]
pub struct Upstream {
    /// Configured name (metric label, logs).
    pub name: Arc<str>,
    /// Wire format.
    pub kind: UpstreamKind,
    /// Hosted or self-hosted.
    pub deployment: Deployment,
    /// Processing region.
    pub region: String,
    /// Stated prompt retention in days.
    pub retention_days: u32,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// Time allowed until response headers.
    pub first_byte_timeout: Duration,
    /// Longest silence while reading a body.
    pub idle_timeout: Duration,
    /// Failure tracking.
    pub breaker: Breaker,
    /// The highest data class it may receive (`None`: any).
    pub max_data_class: Option<String>,
    /// The environment it belongs to, if any.
    pub environment: Option<String>,
    base: BaseUrl,
    auth: Option<(HeaderName, HeaderValue)>,
    secret: Option<SecretValue>,
    api_version: Option<String>,
    anthropic_version: HeaderValue,
    client: HttpClient,
}

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamSetupError {
    /// The credential could not be resolved.
    #[error("upstream {name}: {cause}")]
    Secret {
        /// Upstream name.
        name: String,
        /// Cause (never the secret).
        cause: SecretError,
    },
    /// The configuration is inconsistent.
    #[error("upstream {name}: {reason}")]
    Invalid {
        /// Upstream name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The TLS settings (`ca_bundle`, `client_cert`, `client_key`) could
    /// not be loaded.
    #[error("upstream {name}: {cause}")]
    Tls {
        /// Upstream name.
        name: String,
        /// Cause, naming the field (never the client key).
        cause: tls::TlsSetupError,
    },
}

/// Size of each upstream connection's read buffer. Fixed rather than
/// hyper's adaptive default, which doubles the buffer (8 KiB to 16 and
/// 24 KiB) whenever part of an event is still in it when the next read
/// comes, and keeps it that size for the life of the connection: with many
/// open streams that growth was the largest share of the gateway's memory
/// per stream. It also bounds an upstream's response head (hyper refuses a
/// larger one, and the attempt fails like a reset connection). Non-streamed
/// bodies are read in pieces of this size.
pub const UPSTREAM_READ_BUFFER_BYTES: usize = 8 * 1024;

/// The upstream's pooled client, with its connect timeout and TLS settings
/// (both fixed for its life: nothing is decided per request).
fn client(connect_timeout: Duration, tls: rustls::ClientConfig) -> HttpClient {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(512)
        .http1_read_buf_exact_size(UPSTREAM_READ_BUFFER_BYTES)
        .build(https)
}

impl Upstream {
    /// Builds the upstream from validated config, resolving its credential.
    pub fn from_config(
        config: &UpstreamConfig,
        breaker: &BreakerConfig,
    ) -> Result<Upstream, UpstreamSetupError> {
        let invalid = |reason: String| UpstreamSetupError::Invalid {
            name: config.name.clone(),
            reason,
        };
        let base = BaseUrl::parse(&config.base_url).map_err(invalid)?;
        let secret = match &config.credential {
            None => None,
            Some(reference) => {
                let reference = SecretRef::parse(reference).map_err(invalid)?;
                Some(
                    reference
                        .resolve()
                        .map_err(|cause| UpstreamSetupError::Secret {
                            name: config.name.clone(),
                            cause,
                        })?,
                )
            }
        };
        let auth = match &secret {
            None => None,
            Some(secret) => {
                let (name, value) = match config.kind {
                    UpstreamKind::Openai => {
                        (header::AUTHORIZATION, format!("Bearer {}", secret.expose()))
                    }
                    UpstreamKind::Anthropic => (
                        HeaderName::from_static("x-api-key"),
                        secret.expose().to_owned(),
                    ),
                    UpstreamKind::AzureOpenai => (
                        HeaderName::from_static("api-key"),
                        secret.expose().to_owned(),
                    ),
                };
                let mut value = HeaderValue::try_from(value)
                    .map_err(|_| invalid("credential is not a valid header value".to_owned()))?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let anthropic_version =
            HeaderValue::try_from(config.anthropic_version.as_deref().unwrap_or("2023-06-01"))
                .map_err(|_| invalid("anthropic_version is not a valid header value".to_owned()))?;
        let tls = tls::client_config(config).map_err(|cause| UpstreamSetupError::Tls {
            name: config.name.clone(),
            cause,
        })?;
        Ok(Upstream {
            name: Arc::from(config.name.as_str()),
            kind: config.kind,
            deployment: config.deployment,
            region: config.region.clone(),
            retention_days: config.retention_days,
            isolation: config.isolation,
            first_byte_timeout: config.first_byte_timeout,
            idle_timeout: config.idle_timeout,
            breaker: Breaker::new(breaker.failure_threshold, breaker.cooldown),
            max_data_class: config.max_data_class.clone(),
            environment: config.environment.clone(),
            base,
            auth,
            secret,
            api_version: config.api_version.clone(),
            anthropic_version,
            client: client(config.connect_timeout, tls),
        })
    }

    /// The dialect this upstream speaks.
    pub fn dialect(&self) -> Dialect {
        match self.kind {
            UpstreamKind::Anthropic => Dialect::Anthropic,
            UpstreamKind::Openai | UpstreamKind::AzureOpenai => Dialect::OpenAi,
        }
    }

    /// The pooled client.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The upstream's own credential, to scrub it from anything relayed.
    pub fn secret(&self) -> Option<&SecretValue> {
        self.secret.as_ref()
    }

    /// Builds the upstream request for `operation` on `model`.
    pub fn request(
        &self,
        operation: Operation,
        model: &str,
        caller_headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, http::Error> {
        let suffix = match operation {
            Operation::ChatCompletions => "/chat/completions",
            Operation::Completions => "/completions",
            Operation::Embeddings => "/embeddings",
            Operation::Messages => "/v1/messages",
            // Never forwarded: the gateway answers listings itself.
            Operation::ModelsList => "/models",
        };
        let uri = match self.kind {
            UpstreamKind::Openai | UpstreamKind::Anthropic => self.base.join(suffix)?,
            UpstreamKind::AzureOpenai => {
                let version = self.api_version.as_deref().unwrap_or_default();
                self.base.join(&format!(
                    "/openai/deployments/{}{suffix}?api-version={}",
                    encode_path_segment(model),
                    encode_path_segment(version)
                ))?
            }
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .body(Full::new(body))?;
        let headers = request.headers_mut();
        *headers = headers::upstream_request_headers(caller_headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.kind == UpstreamKind::Anthropic && !headers.contains_key("anthropic-version") {
            headers.insert("anthropic-version", self.anthropic_version.clone());
        }
        if let Some((name, value)) = &self.auth {
            headers.insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode_path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use modelgate_config::Config;

    fn upstream(kind: &str, extra: &str) -> Upstream {
        let text = format!(
            "[[upstreams]]\nname = \"u\"\nkind = \"{kind}\"\nbase_url = \"https://example.test/base/\"\n\
             deployment = \"hosted\"\nregion = \"us\"\nisolation = \"contractual\"\n{extra}"
        );
        let config = Config::from_toml(&text).unwrap();
        Upstream::from_config(&config.upstreams[0], &config.breaker).unwrap()
    }

    #[test]
    fn paths_per_kind() {
        let h = HeaderMap::new();
        let o = upstream("openai", "");
        let r = o
            .request(Operation::ChatCompletions, "m", &h, Bytes::new())
            .unwrap();
        assert_eq!(r.uri(), "https://example.test/base/chat/completions");
        let a = upstream("anthropic", "");
        let r = a
            .request(Operation::Messages, "m", &h, Bytes::new())
            .unwrap();
        assert_eq!(r.uri(), "https://example.test/base/v1/messages");
        assert_eq!(r.headers()["anthropic-version"], "2023-06-01");
        let z = upstream("azure_openai", "api_version = \"2024-10-21\"");
        let r = z
            .request(Operation::Embeddings, "my dep", &h, Bytes::new())
            .unwrap();
        assert_eq!(
            r.uri(),
            "https://example.test/base/openai/deployments/my%20dep/embeddings?api-version=2024-10-21"
        );
    }

    #[test]
    fn credential_is_injected_and_caller_auth_dropped() {
        let dir = std::env::temp_dir().join(format!("mg-up-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "sk-upstream-CANARY\n").unwrap();
        let o = upstream(
            "openai",
            &format!("credential = \"file:{}\"", path.display()),
        );
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer mgk_caller"),
        );
        let r = o
            .request(Operation::ChatCompletions, "m", &h, Bytes::new())
            .unwrap();
        assert_eq!(
            r.headers()[header::AUTHORIZATION],
            "Bearer sk-upstream-CANARY"
        );
        assert!(r.headers()[header::AUTHORIZATION].is_sensitive());
        assert!(!format!("{o:?}").contains("CANARY"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Serves one connection on loopback: reads the request head, writes
    /// `response`, closes. Returns the URL to call.
    async fn one_response(response: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                assert!(n > 0, "request head cut short");
                head.extend_from_slice(&buf[..n]);
            }
            // Small writes, so the client sees the body arrive in pieces.
            for piece in response.chunks(3000) {
                socket.write_all(piece).await.unwrap();
                socket.flush().await.unwrap();
            }
        });
        format!("http://{addr}/v1/chat/completions")
    }

    async fn get(url: &str) -> Result<Vec<u8>, String> {
        use http_body_util::BodyExt;
        let config = modelgate_config::Config::from_toml(
            "[[upstreams]]\nname = \"u\"\nkind = \"openai\"\nbase_url = \"https://h\"\n\
             deployment = \"hosted\"\nregion = \"us\"\nisolation = \"contractual\"\n",
        )
        .unwrap();
        let tls = tls::client_config(&config.upstreams[0]).unwrap();
        let client = client(Duration::from_secs(5), tls);
        let request = Request::get(url).body(Full::new(Bytes::new())).unwrap();
        let response = client.request(request).await.map_err(|e| e.to_string())?;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(body.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn events_larger_than_the_read_buffer_arrive_whole() {
        let event = format!("data: {}\n\n", "x".repeat(3 * UPSTREAM_READ_BUFFER_BYTES));
        let mut response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n",
            event.len()
        )
        .into_bytes();
        response.extend_from_slice(event.as_bytes());
        response.extend_from_slice(b"\r\n0\r\n\r\n");
        let body = get(&one_response(response).await).await.unwrap();
        assert_eq!(body, event.as_bytes());
    }

    #[tokio::test]
    async fn a_response_head_over_the_read_buffer_is_refused() {
        let filler = "a".repeat(UPSTREAM_READ_BUFFER_BYTES);
        let response =
            format!("HTTP/1.1 200 OK\r\nx-filler: {filler}\r\ncontent-length: 2\r\n\r\nok");
        assert!(
            get(&one_response(response.into_bytes()).await)
                .await
                .is_err()
        );
        // Just under the bound is fine.
        let filler = "a".repeat(UPSTREAM_READ_BUFFER_BYTES - 200);
        let response =
            format!("HTTP/1.1 200 OK\r\nx-filler: {filler}\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(
            get(&one_response(response.into_bytes()).await)
                .await
                .unwrap(),
            b"ok"
        );
    }
}
