//! The per-issuer JWKS cache: load on first use, refetch when older than
//! `cache_ttl` or when a token names an unknown key (at most once per
//! `refresh_interval`), share one fetch among concurrent callers, and keep
//! serving the last good set when a refetch fails.
//!
//! The cache's clock is the `now` that `verify` receives (unix seconds), so
//! tests can move time without sleeping.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use super::error::FederationError;
use super::issuer::{IssuerConfig, JwksLocation, check_fetch_url};
use super::jwk::{Jwk, MAX_JWKS_BYTES, Unfit, parse_jwks};
use super::jws::Algorithm;
use super::preset::Preset;
use super::source::JwksSource;

/// Longest wait between load attempts while no key set has ever loaded.
const MAX_RETRY_WITHOUT_KEYS: i64 = 10;

/// One loaded key set.
#[derive(Debug)]
pub(crate) struct KeySet {
    /// The usable keys.
    pub keys: Vec<Jwk>,
    /// When it was loaded (unix seconds).
    pub fetched_at: i64,
    /// Bumped on every successful load, to tell a new set from an old one.
    generation: u64,
}

impl KeySet {
    /// Tells this set from the ones loaded before and after it.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

#[derive(Default)]
struct State {
    set: Option<Arc<KeySet>>,
    last_attempt: Option<i64>,
    discovered_jwks_uri: Option<String>,
}

/// The cache of one issuer.
pub(crate) struct KeyCache {
    state: Mutex<State>,
    /// Single flight: held while loading.
    loading: tokio::sync::Mutex<()>,
}

/// Which keys may verify a token.
pub(crate) enum Selection<'k> {
    /// These (usually one) keys fit; try each.
    Found(Vec<&'k Jwk>),
    /// Keys with the token's `kid` exist but none fits.
    Unfit(Unfit),
    /// No key with the token's `kid` (or, without `kid`, no fitting key).
    Missing,
    /// No `kid` and more than one fitting key (or the preset needs a `kid`).
    NeedKid,
}

/// Chooses keys for a token with `kid` and `alg` from `keys`.
pub(crate) fn select<'k>(
    keys: &'k [Jwk],
    kid: Option<&str>,
    alg: Algorithm,
    preset: Preset,
) -> Selection<'k> {
    match kid {
        Some(kid) => {
            let named: Vec<&Jwk> = keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if named.is_empty() {
                return Selection::Missing;
            }
            let mut unfit = Unfit::Mismatch;
            let mut found = Vec::new();
            for key in named {
                match key.check_fit(alg, preset) {
                    Ok(()) => found.push(key),
                    Err(Unfit::NotJwtSvid) => unfit = Unfit::NotJwtSvid,
                    Err(Unfit::Mismatch) => {}
                }
            }
            if found.is_empty() {
                Selection::Unfit(unfit)
            } else {
                Selection::Found(found)
            }
        }
        None if preset.requires_kid() => Selection::NeedKid,
        None => {
            let fitting: Vec<&Jwk> = keys
                .iter()
                .filter(|k| k.check_fit(alg, preset).is_ok())
                .collect();
            match fitting.len() {
                0 => Selection::Missing,
                1 => Selection::Found(fitting),
                _ => Selection::NeedKid,
            }
        }
    }
}

impl KeyCache {
    /// An empty cache; nothing is loaded until first use.
    pub(crate) fn new() -> KeyCache {
        KeyCache {
            state: Mutex::new(State::default()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached set, without loading anything.
    pub(crate) fn snapshot(&self) -> Option<Arc<KeySet>> {
        self.lock().set.clone()
    }

    /// The current key set, loading it if there is none or it is older
    /// than `cache_ttl`.
    pub(crate) async fn current(
        &self,
        config: &IssuerConfig,
        source: &dyn JwksSource,
        now: i64,
    ) -> Result<Arc<KeySet>, FederationError> {
        let set = self.lock().set.clone();
        match set {
            Some(set) if !is_stale(set.fetched_at, config.cache_ttl, now) => Ok(set),
            other => {
                let seen = set_generation(&other);
                self.reload(config, source, now, seen).await
            }
        }
    }

    /// Reloads because `seen` (the generation the caller looked at) lacks a
    /// key or is stale. Returns without fetching when another caller loaded
    /// a newer set meanwhile, or when the last attempt is too recent.
    pub(crate) async fn reload(
        &self,
        config: &IssuerConfig,
        source: &dyn JwksSource,
        now: i64,
        seen: u64,
    ) -> Result<Arc<KeySet>, FederationError> {
        let unavailable = || FederationError::JwksUnavailable {
            issuer: config.name.clone(),
        };
        let _single_flight = self.loading.lock().await;
        let (set, last_attempt) = {
            let state = self.lock();
            (state.set.clone(), state.last_attempt)
        };
        if let Some(set) = &set
            && set.generation != seen
        {
            return Ok(Arc::clone(set));
        }
        let min_gap = match set {
            Some(_) => config.refresh_interval,
            None => config.refresh_interval.min(MAX_RETRY_WITHOUT_KEYS),
        };
        if last_attempt.is_some_and(|t| t <= now && now - t < min_gap) {
            return set.ok_or_else(unavailable);
        }
        let loaded = self.load(config, source).await;
        let mut state = self.lock();
        state.last_attempt = Some(now);
        match loaded {
            Ok(keys) => {
                tracing::debug!(issuer = %config.name, keys = keys.len(), "loaded JWKS");
                let fresh = Arc::new(KeySet {
                    keys,
                    fetched_at: now,
                    generation: set_generation(&state.set) + 1,
                });
                state.set = Some(Arc::clone(&fresh));
                Ok(fresh)
            }
            Err(why) => match &state.set {
                Some(old) => {
                    tracing::warn!(issuer = %config.name, error = %why, "JWKS refresh failed; keeping the cached keys");
                    Ok(Arc::clone(old))
                }
                None => {
                    tracing::warn!(issuer = %config.name, error = %why, "JWKS load failed; no keys cached");
                    Err(unavailable())
                }
            },
        }
    }

    async fn load(
        &self,
        config: &IssuerConfig,
        source: &dyn JwksSource,
    ) -> Result<Vec<Jwk>, String> {
        let bytes = match &config.location {
            JwksLocation::Url(url) => fetch(source, url).await?,
            JwksLocation::File(path) => {
                let bytes =
                    std::fs::read(path).map_err(|e| format!("cannot read jwks_file: {e}"))?;
                if bytes.len() > MAX_JWKS_BYTES {
                    return Err("jwks_file is too large".to_owned());
                }
                bytes
            }
            JwksLocation::Discovery(config_url) => {
                let known = self.lock().discovered_jwks_uri.clone();
                let uri = match known {
                    Some(uri) => uri,
                    None => {
                        let uri = discover(config, source, config_url).await?;
                        self.lock().discovered_jwks_uri = Some(uri.clone());
                        uri
                    }
                };
                match fetch(source, &uri).await {
                    Ok(bytes) => bytes,
                    Err(why) => {
                        // Rediscover next time: the issuer may have moved its keys.
                        self.lock().discovered_jwks_uri = None;
                        return Err(why);
                    }
                }
            }
        };
        parse_jwks(&bytes, &config.name).map_err(str::to_owned)
    }
}

fn set_generation(set: &Option<Arc<KeySet>>) -> u64 {
    set.as_ref().map_or(0, |s| s.generation)
}

/// Stale when older than `ttl`, or when the clock went back before it.
fn is_stale(fetched_at: i64, ttl: i64, now: i64) -> bool {
    now < fetched_at || now - fetched_at >= ttl
}

async fn fetch(source: &dyn JwksSource, url: &str) -> Result<Vec<u8>, String> {
    let bytes = source.fetch(url).await?;
    if bytes.len() > MAX_JWKS_BYTES {
        return Err("document is too large".to_owned());
    }
    Ok(bytes)
}

/// Reads `jwks_uri` from the issuer's OpenID configuration.
async fn discover(
    config: &IssuerConfig,
    source: &dyn JwksSource,
    url: &str,
) -> Result<String, String> {
    let bytes = fetch(source, url).await?;
    let doc: Value =
        serde_json::from_slice(&bytes).map_err(|_| "discovery document is not JSON".to_owned())?;
    if let Some(issuer) = doc.get("issuer")
        && issuer.as_str() != Some(config.issuer.as_str())
    {
        return Err("discovery document names another issuer".to_owned());
    }
    let uri = doc
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| "discovery document has no jwks_uri".to_owned())?;
    check_fetch_url(uri, config.issuer_is_http)
        .map_err(|why| format!("discovered jwks_uri {why}"))?;
    Ok(uri.to_owned())
}
