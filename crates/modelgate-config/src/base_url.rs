//! An upstream's base URL, checked once when the configuration is read and
//! joined with each request's path when a request is sent.

use std::net::IpAddr;

use http::Uri;

/// A parsed, validated base URL: `http(s)://host[:port][/path]`, without
/// credentials, query or fragment.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    scheme: String,
    authority: String,
    host: String,
    path: String,
}

impl BaseUrl {
    /// Parses `http(s)://host[:port][/path]` with no query or fragment.
    pub fn parse(text: &str) -> Result<BaseUrl, String> {
        let uri: Uri = text.parse().map_err(|_| "not a valid URL".to_owned())?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s.to_owned(),
            _ => return Err("must start with http:// or https://".to_owned()),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| "must name a host".to_owned())?;
        if authority.as_str().contains('@') {
            return Err("must not carry credentials; use `credential`".to_owned());
        }
        if uri.query().is_some() {
            return Err("must not have a query string".to_owned());
        }
        Ok(BaseUrl {
            scheme,
            authority: authority.as_str().to_owned(),
            host: authority.host().to_owned(),
            path: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The host as written (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether the host is loopback, judged from the text alone (nothing is
    /// resolved): `localhost`, an address in 127.0.0.0/8, or `::1`.
    pub fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        host.parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
    }

    /// The URL of `path_and_query` (which starts with `/`) under this base.
    pub fn join(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(self.scheme.as_str())
            .authority(self.authority.as_str())
            .path_and_query(format!("{}{}", self.path, path_and_query))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(BaseUrl::parse("https://api.openai.com/v1").is_ok());
        assert!(BaseUrl::parse("http://127.0.0.1:8000").is_ok());
        assert!(BaseUrl::parse("https://user:pw@host/v1").is_err());
        assert!(BaseUrl::parse("https://host/v1?x=1").is_err());
        assert!(BaseUrl::parse("/v1").is_err());
    }

    #[test]
    fn loopback_is_told_from_the_text_alone() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://127.9.8.7",
            "http://localhost:11434/v1",
            "http://LocalHost",
            "http://[::1]:8000",
            "http://[::ffff:127.0.0.1]:80",
        ] {
            assert!(BaseUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
        for url in [
            "http://10.1.2.3:8000/v1",
            "http://128.0.0.1",
            "http://vllm.internal:8000",
            "http://localhost.example.com",
            "http://[::2]",
            "http://0.0.0.0",
        ] {
            assert!(!BaseUrl::parse(url).unwrap().is_loopback(), "{url}");
        }
        assert!(BaseUrl::parse("https://h").unwrap().is_https());
        assert!(!BaseUrl::parse("http://h").unwrap().is_https());
        assert_eq!(BaseUrl::parse("http://[::1]:9").unwrap().host(), "[::1]");
    }

    #[test]
    fn joins_paths_under_the_base() {
        assert!(BaseUrl::parse("ftp://host").is_err());
        let base = BaseUrl::parse("http://127.0.0.1:8000/v1/").unwrap();
        assert_eq!(
            base.join("/chat/completions").unwrap().to_string(),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
    }
}
