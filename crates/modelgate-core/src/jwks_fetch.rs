//! Fetches issuers' discovery documents and JWKS over HTTP(S) for the
//! federation verifier, with a timeout and a size limit.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use modelgate_identity::federation::JwksSource;

/// Largest discovery document or key set accepted.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// A [`JwksSource`] over the gateway's HTTP client stack.
pub struct HttpJwksSource {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpJwksSource {
    /// A source with `timeout` per fetch.
    pub fn new(timeout: Duration) -> Result<Arc<HttpJwksSource>, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(timeout));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|e| e.to_string())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Arc::new(HttpJwksSource {
            client: Client::builder(TokioExecutor::new()).build(https),
            timeout,
        }))
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| "invalid URL".to_owned())?;
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != StatusCode::OK {
            return Err(format!("status {}", response.status().as_u16()));
        }
        let body = tokio::time::timeout(
            self.timeout,
            Limited::new(response.into_body(), MAX_DOCUMENT_BYTES).collect(),
        )
        .await
        .map_err(|_| "timed out reading the body".to_owned())?
        .map_err(|_| "body too large or broken".to_owned())?;
        Ok(body.to_bytes().to_vec())
    }
}

impl JwksSource for HttpJwksSource {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(self.get(url))
    }
}
