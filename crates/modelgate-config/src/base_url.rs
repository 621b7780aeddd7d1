//! An upstream's base URL, checked once when the configuration is read and
//! joined with each request's path when a request is sent.

use http::Uri;

/// A parsed, validated base URL: `http(s)://host[:port][/path]`, without
/// credentials, query or fragment.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    scheme: String,
    authority: String,
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
            path: uri.path().trim_end_matches('/').to_owned(),
        })
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
    fn joins_paths_under_the_base() {
        assert!(BaseUrl::parse("ftp://host").is_err());
        let base = BaseUrl::parse("http://127.0.0.1:8000/v1/").unwrap();
        assert_eq!(
            base.join("/chat/completions").unwrap().to_string(),
            "http://127.0.0.1:8000/v1/chat/completions"
        );
    }
}
