//! Where an issuer's keys come from: the fetcher of JWKS and discovery
//! documents that the gateway supplies.

use std::future::Future;
use std::pin::Pin;

/// Fetches a JWKS or OpenID discovery document. The gateway implements this
/// with its HTTP client (which must bound time and body size); tests with an
/// in-memory map. The error text is logged, never shown to callers.
pub trait JwksSource: Send + Sync + 'static {
    /// The body of a successful GET of `url`.
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;
}
