//! Issuer settings as written in the config (`[[issuers]]`), and their
//! validation into the form `verify` uses.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::FederationConfigError;
use super::jws::Algorithm;
use super::preset::Preset;
use super::rules::{self, ClaimRule, CompiledRule};
use crate::identity::is_valid_name;

/// Default minimum time between refetches triggered by an unknown `kid`.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Default age after which a cached JWKS is refetched.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60 * 60);
/// Longest allowed `cache_ttl`.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Default clock skew allowed for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest allowed `leeway`.
pub const MAX_LEEWAY: Duration = Duration::from_secs(5 * 60);
/// Default `max_token_bytes`.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8192;
/// Allowed range of `max_token_bytes`.
pub const MAX_TOKEN_BYTES_RANGE: std::ops::RangeInclusive<usize> = 256..=65536;
/// Longest `issuer` or `audience`, in bytes.
const MAX_TEXT: usize = 512;

/// One trusted external issuer, embedded in the gateway's TOML config as
/// `[[issuers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSettings {
    /// Unique label (`a-z0-9._-`), used in logs, metrics and errors.
    pub name: String,
    /// `github_actions`, `kubernetes`, `spiffe` or `oidc`.
    pub preset: Preset,
    /// Exact `iss`. Defaults to GitHub's issuer for `github_actions`;
    /// required for the other presets.
    pub issuer: Option<String>,
    /// The `aud` value the gateway requires (a token's `aud` may be a string
    /// or an array containing it).
    pub audience: String,
    /// Where the issuer's JWKS is. Without it (and without `jwks_file`), it
    /// is discovered from `{issuer}/.well-known/openid-configuration`.
    pub jwks_url: Option<String>,
    /// A static JWKS file for air-gapped installs (exclusive with
    /// `jwks_url`). Read on first use and re-read like a fetched JWKS.
    pub jwks_file: Option<PathBuf>,
    /// Algorithm allow-list; defaults per preset. Only RS256/384/512,
    /// PS256/384/512, ES256, ES384 and EdDSA are accepted.
    pub algorithms: Option<Vec<String>>,
    /// Minimum time between refetches triggered by an unknown `kid`
    /// (humantime, whole seconds; default `5m`).
    pub refresh_interval: Option<String>,
    /// Age after which the JWKS is refetched (humantime; default `1h`, at
    /// least `refresh_interval`, at most `24h`).
    pub cache_ttl: Option<String>,
    /// Clock skew allowed for `exp`, `nbf`, `iat` (default `30s`, max `5m`).
    pub leeway: Option<String>,
    /// Longest token accepted, in bytes (default 8192, 256 to 65536);
    /// longer tokens are refused before any parsing.
    pub max_token_bytes: Option<usize>,
    /// Claim rules; at least one.
    pub rules: Vec<ClaimRule>,
}

/// Where an issuer's JWKS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum JwksLocation {
    /// A configured URL.
    Url(String),
    /// A local file.
    File(PathBuf),
    /// Discovered from this OpenID configuration URL.
    Discovery(String),
}

/// Validated settings of one issuer.
#[derive(Debug)]
pub(crate) struct IssuerConfig {
    pub name: String,
    pub preset: Preset,
    pub issuer: String,
    pub audience: String,
    pub algorithms: Vec<Algorithm>,
    pub location: JwksLocation,
    /// Whether `issuer` is a plain-http (loopback) URL, which lets a
    /// discovered `jwks_uri` be http too.
    pub issuer_is_http: bool,
    pub refresh_interval: i64,
    pub cache_ttl: i64,
    pub leeway: i64,
    pub max_token_bytes: usize,
    pub rules: Vec<CompiledRule>,
}

impl IssuerSettings {
    /// Checks every field; `index` is the position in `[[issuers]]`, used in
    /// errors when the name itself is invalid.
    pub(crate) fn validate(&self, index: usize) -> Result<IssuerConfig, FederationConfigError> {
        if !is_valid_name(&self.name) {
            return Err(FederationConfigError::invalid(
                &index.to_string(),
                "name",
                "use 1 to 63 characters from a-z, 0-9, '.', '_', '-', starting with a letter or digit",
            ));
        }
        let name = self.name.as_str();
        let err = |field: &str, reason: String| FederationConfigError::invalid(name, field, reason);

        let issuer = match (&self.issuer, self.preset.default_issuer()) {
            (Some(issuer), _) => issuer.clone(),
            (None, Some(default)) => default.to_owned(),
            (None, None) => {
                return Err(err(
                    "issuer",
                    format!("required for preset {}", self.preset),
                ));
            }
        };
        check_text(&issuer).map_err(|why| err("issuer", why.to_owned()))?;
        check_text(&self.audience).map_err(|why| err("audience", why.to_owned()))?;
        let issuer_url = web_url(&issuer);
        let issuer_is_http = issuer_url == Some(Scheme::Http);

        let location = match (&self.jwks_url, &self.jwks_file) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "jwks_url",
                    "jwks_url and jwks_file are mutually exclusive; set one".to_owned(),
                ));
            }
            (Some(url), None) => {
                check_fetch_url(url, issuer_is_http)
                    .map_err(|why| err("jwks_url", why.to_owned()))?;
                JwksLocation::Url(url.clone())
            }
            (None, Some(path)) => {
                if path.as_os_str().is_empty() {
                    return Err(err("jwks_file", "is empty".to_owned()));
                }
                JwksLocation::File(path.clone())
            }
            (None, None) => {
                if issuer_url.is_none() {
                    return Err(err(
                        "issuer",
                        "JWKS discovery needs an https issuer URL (or http on a loopback host); \
                         otherwise set jwks_url or jwks_file"
                            .to_owned(),
                    ));
                }
                JwksLocation::Discovery(format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                ))
            }
        };

        let algorithms = self.algorithms().map_err(|why| err("algorithms", why))?;
        let refresh_interval = duration(&self.refresh_interval, DEFAULT_REFRESH_INTERVAL)
            .map_err(|why| err("refresh_interval", why))?;
        let cache_ttl =
            duration(&self.cache_ttl, DEFAULT_CACHE_TTL).map_err(|why| err("cache_ttl", why))?;
        let leeway = duration(&self.leeway, DEFAULT_LEEWAY).map_err(|why| err("leeway", why))?;
        if refresh_interval.is_zero() {
            return Err(err("refresh_interval", "must be at least 1s".to_owned()));
        }
        if cache_ttl < refresh_interval || cache_ttl > MAX_CACHE_TTL {
            return Err(err(
                "cache_ttl",
                "must be at least refresh_interval and at most 24h".to_owned(),
            ));
        }
        if leeway > MAX_LEEWAY {
            return Err(err("leeway", "must be at most 5m".to_owned()));
        }
        let max_token_bytes = self.max_token_bytes.unwrap_or(DEFAULT_MAX_TOKEN_BYTES);
        if !MAX_TOKEN_BYTES_RANGE.contains(&max_token_bytes) {
            return Err(err(
                "max_token_bytes",
                "must be between 256 and 65536".to_owned(),
            ));
        }
        let rules = rules::compile(name, self.preset, &self.rules)?;

        Ok(IssuerConfig {
            name: self.name.clone(),
            preset: self.preset,
            issuer,
            audience: self.audience.clone(),
            algorithms,
            location,
            issuer_is_http,
            refresh_interval: secs(refresh_interval),
            cache_ttl: secs(cache_ttl),
            leeway: secs(leeway),
            max_token_bytes,
            rules,
        })
    }

    fn algorithms(&self) -> Result<Vec<Algorithm>, String> {
        let Some(names) = &self.algorithms else {
            return Ok(self.preset.default_algorithms().to_vec());
        };
        if names.is_empty() {
            return Err(
                "must list at least one algorithm (or be left out for the preset's default)"
                    .to_owned(),
            );
        }
        let mut algorithms = Vec::with_capacity(names.len());
        for name in names {
            let alg = match Algorithm::from_name(name) {
                Some(alg) => alg,
                None if name.eq_ignore_ascii_case("none") => {
                    return Err(
                        "`none` is never accepted: external tokens must be signed".to_owned()
                    );
                }
                None if name.to_ascii_uppercase().starts_with("HS") => {
                    return Err(format!(
                        "`{name}` is refused: HMAC algorithms would let anyone holding the \
                         issuer's public key forge tokens; use the issuer's public-key algorithm"
                    ));
                }
                None => {
                    let supported: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
                    return Err(format!(
                        "unsupported algorithm `{name}`; supported: {}",
                        supported.join(", ")
                    ));
                }
            };
            if !self.preset.permits(alg) {
                return Err(format!(
                    "`{alg}` is not allowed for preset {}: JWT-SVIDs use RS, PS or ES algorithms",
                    self.preset
                ));
            }
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        Ok(algorithms)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn duration(text: &Option<String>, default: Duration) -> Result<Duration, String> {
    let Some(text) = text else {
        return Ok(default);
    };
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("not a duration ({e}); write e.g. \"30s\" or \"5m\""))?;
    if d.subsec_nanos() != 0 {
        return Err("use whole seconds".to_owned());
    }
    Ok(d)
}

fn check_text(text: &str) -> Result<(), &'static str> {
    if text.is_empty() {
        return Err("must not be empty");
    }
    if text.len() > MAX_TEXT || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must be at most 512 bytes, without whitespace or control characters");
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

/// `Some` when `url` is an https URL, or an http URL on a loopback host
/// (`localhost`, `127.0.0.0/8`, `[::1]`), without user info or fragment.
fn web_url(url: &str) -> Option<Scheme> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        (Scheme::Http, url.strip_prefix("http://")?)
    };
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) || url.contains('#') {
        return None;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if scheme == Scheme::Http {
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        let loopback = host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return None;
        }
    }
    Some(scheme)
}

/// A URL the gateway may fetch keys from: https, or http when the issuer
/// itself is an http (loopback) URL.
pub(crate) fn check_fetch_url(url: &str, issuer_is_http: bool) -> Result<(), &'static str> {
    match web_url(url) {
        Some(Scheme::Https) => Ok(()),
        Some(Scheme::Http) if issuer_is_http => Ok(()),
        Some(Scheme::Http) => Err("must be an https URL (http only when the issuer is http)"),
        None => Err("must be an https URL (http only on a loopback host, for an http issuer)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert_eq!(
            web_url("https://token.actions.githubusercontent.com"),
            Some(Scheme::Https)
        );
        assert_eq!(web_url("http://127.0.0.1:8080/x"), Some(Scheme::Http));
        assert_eq!(web_url("http://localhost:1"), Some(Scheme::Http));
        assert_eq!(web_url("http://[::1]:1/"), Some(Scheme::Http));
        assert_eq!(web_url("http://issuer.example"), None);
        assert_eq!(web_url("https://user@issuer.example"), None);
        assert_eq!(web_url("https://"), None);
        assert_eq!(web_url("ftp://issuer.example"), None);
        assert_eq!(web_url("kubernetes/serviceaccount"), None);
        assert!(check_fetch_url("http://127.0.0.1/jwks", false).is_err());
        assert!(check_fetch_url("http://127.0.0.1/jwks", true).is_ok());
    }
}
