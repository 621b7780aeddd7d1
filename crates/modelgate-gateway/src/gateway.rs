//! The data plane's state, shared by every connection: the services it
//! shares with the control plane ([`Core`]), the route table, the screening
//! rules, the rate limiter and the limits, and request ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use modelgate_config::{Config, Limits};
use modelgate_core::Core;

use crate::routes::RouteTable;
use crate::stages::rate_limit::limiters::Limiter;
use crate::stages::screen::ScreenRules;
use crate::upstream::{Upstream, UpstreamSetupError};

/// Why the data plane could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// An upstream could not be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamSetupError),
}

/// The upstreams of `config`, ready to receive requests (each credential
/// resolved). Built before anything else starts, so a missing credential
/// stops start-up first.
pub fn upstreams(config: &Config) -> Result<Vec<Arc<Upstream>>, GatewayError> {
    Ok(config
        .upstreams
        .iter()
        .map(|u| Upstream::from_config(u, &config.breaker).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The data plane: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Gateway {
    /// The services shared with the control plane.
    pub core: Arc<Core>,
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

/// The data plane's own state.
pub(crate) struct Inner {
    pub(crate) limits: Limits,
    pub(crate) header_read_timeout: std::time::Duration,
    pub(crate) shutdown_grace: std::time::Duration,
    pub(crate) routes: RouteTable,
    pub(crate) screen: ScreenRules,
    pub(crate) rate_limiter: Arc<Limiter>,
    request_prefix: String,
    request_counter: AtomicU64,
}

impl Gateway {
    /// The data plane over `core`, routing to `upstreams` (from
    /// [`upstreams`]) as `config` says and screening with `screen` (built
    /// over the same detectors as `core`).
    pub fn new(
        core: Arc<Core>,
        config: &Config,
        upstreams: &[Arc<Upstream>],
        screen: ScreenRules,
    ) -> Gateway {
        let routes = RouteTable::new(config, upstreams);
        let mut random = [0u8; 6];
        let _ = getrandom::fill(&mut random);
        let request_prefix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        // Shared through the store on PostgreSQL (replicas), in this
        // process on SQLite (one gateway per file).
        let rate_limiter = Arc::new(Limiter::for_store(&core.store));
        Gateway {
            core,
            inner: Arc::new(Inner {
                limits: config.limits.clone(),
                header_read_timeout: config.server.header_read_timeout,
                shutdown_grace: config.server.shutdown_grace,
                routes,
                screen,
                rate_limiter,
                request_prefix,
                request_counter: AtomicU64::new(0),
            }),
        }
    }

    /// Configured model names, in order.
    pub fn model_names(&self) -> Vec<String> {
        self.inner
            .routes
            .all()
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    }

    /// A new request id, unique to this process.
    pub(crate) fn next_request_id(&self) -> Arc<str> {
        let n = self.inner.request_counter.fetch_add(1, Ordering::Relaxed);
        Arc::from(format!("req_{}{n:08x}", self.inner.request_prefix))
    }
}
