//! `modelgate serve`: wiring the store, the shared services, the data plane
//! and the control plane to a listener.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use modelgate_config::Config;
use modelgate_config::{LogConfig, LogFormat};
use modelgate_control::Control;
use modelgate_core::{Core, Detectors};
use modelgate_gateway::Gateway;
use modelgate_gateway::server::Listener;
use modelgate_gateway::server::connections::ConnectionCaps;
use modelgate_gateway::server::tls::{ListenerTlsConfig, TlsSetupError};
use modelgate_gateway::stages::screen::ScreenRules;
use modelgate_identity::KeyEncryptionKey;
use modelgate_store::Store;
use tracing_subscriber::EnvFilter;

/// Installs the log subscriber (stderr; text or JSON). `RUST_LOG` overrides
/// the configured level.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// Serves with the configured store.
pub async fn serve(
    config: Config,
    listen: Option<SocketAddr>,
    banner: Option<String>,
) -> Result<()> {
    init_logging(&config.log);
    let kek = crate::setup::load_kek(&config)?;
    let store = crate::setup::open_store(&config).await?;
    run(
        config,
        store,
        kek,
        listen,
        MetricsPort::AsConfigured,
        |_| banner,
    )
    .await
}

/// Where the metrics listener binds when its address is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsPort {
    /// Start-up fails: a production gateway serves metrics where the
    /// scraper looks for them, or says why not.
    AsConfigured,
    /// Any free port on the same address (dev mode must start beside
    /// whatever already uses 9464).
    EphemeralWhenTaken,
}

/// Builds the gateway, binds, prints `listening on http://ADDR` (`https`
/// with `[server.tls]`), then one
/// line per extra listener (`metrics on http://ADDR`, `admin on
/// http://ADDR`) and whatever `banner` returns for the main address, then
/// serves until SIGINT or SIGTERM.
pub async fn run(
    config: Config,
    store: Store,
    kek: KeyEncryptionKey,
    listen: Option<SocketAddr>,
    metrics_port: MetricsPort,
    banner: impl FnOnce(SocketAddr) -> Option<String>,
) -> Result<()> {
    crate::rlimit::raise_open_files_limit();
    warn_if_descriptors_below_the_cap(config.server.max_connections);
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let tls = listener_tls(config.server.tls.as_ref(), "server.tls")?;
    let scheme = scheme_of(tls.as_ref());
    let (gateway, control) = build(&config, store, kek, &format!("{scheme}://{bound}"))
        .await
        .context("cannot start the gateway")?;
    let mut listeners = vec![Listener {
        name: "main",
        socket: listener,
        data_plane: true,
        routes: control.public_router(),
        tls,
    }];
    let mut lines = vec![format!("listening on {scheme}://{bound}")];
    if let Some(metrics) = config.server.metrics_listen {
        let socket = bind_metrics(metrics, metrics_port).await?;
        let tls = listener_tls(config.server.metrics_tls.as_ref(), "server.metrics_tls")?;
        let scheme = scheme_of(tls.as_ref());
        lines.push(format!("metrics on {scheme}://{}", local_addr(&socket)?));
        listeners.push(Listener {
            name: "metrics",
            socket,
            data_plane: false,
            routes: control.metrics_router(),
            tls,
        });
    }
    match config.server.admin_listen {
        Some(admin) if !modelgate_config::same_listener(admin, addr) => {
            let socket = tokio::net::TcpListener::bind(admin)
                .await
                .with_context(|| format!("cannot listen on {admin} (server.admin_listen)"))?;
            let tls = listener_tls(config.server.admin_tls.as_ref(), "server.admin_tls")?;
            let scheme = scheme_of(tls.as_ref());
            lines.push(format!("admin on {scheme}://{}", local_addr(&socket)?));
            listeners.push(Listener {
                name: "admin",
                socket,
                data_plane: false,
                routes: control.admin_router(),
                tls,
            });
        }
        _ => {
            if let Some(main) = listeners.first_mut() {
                main.routes = std::mem::take(&mut main.routes).merge(control.admin_router());
            }
        }
    }
    {
        let mut out = std::io::stdout().lock();
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        if let Some(text) = banner(bound) {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
    }
    tracing::info!(%bound, models = ?gateway.model_names(), "modelgate serving");
    let flusher = control.spawn_usage_flusher(Duration::from_secs(10));
    let sync = control.spawn_state_sync();
    let sealer = control.spawn_chain_sealer();
    // Signing-key retirement, revocation and audit-body pruning, grant
    // expiries: once per interval across replicas.
    let housekeeping = control.spawn_housekeeping();
    let _hangup = reload_policies_on_sighup(gateway.core.clone());
    let audit = gateway.core.audit.clone();
    let lease = gateway.core.lease.clone();
    let lost = lease.clone();
    // Another process holds this replica's id now (this one could not
    // renew its claim in time): stop at once, before another write to the
    // chain, rather than drain (draining writes completion records).
    let _fence = tokio::spawn(async move {
        lost.lost().await;
        tracing::error!(
            replica_id = %lost.replica_id(),
            "another process holds this replica's id now; exiting at once, without another \
             write to its audit chain"
        );
        std::process::exit(1);
    });
    gateway
        .serve(
            listeners,
            ConnectionCaps::from_config(&config.server),
            shutdown_signal(),
        )
        .await;
    flusher.abort();
    sync.abort();
    sealer.abort();
    housekeeping.abort();
    audit.close().await;
    lease.release().await;
    tracing::info!("modelgate stopped");
    Ok(())
}

/// A listener's TLS from its `[server.*tls]` table (`section`), if any:
/// TLS 1.2 and 1.3 only (rustls supports nothing older), the certificate
/// reloaded when its files change.
fn listener_tls(
    settings: Option<&modelgate_config::ListenerTls>,
    section: &str,
) -> Result<Option<ListenerTlsConfig>> {
    settings
        .map(|s| {
            ListenerTlsConfig::load(s).map_err(|e| match e {
                TlsSetupError::File { .. } => anyhow::anyhow!("cannot start TLS: {section}.{e}"),
                TlsSetupError::Rustls(_) => anyhow::anyhow!("cannot start TLS: {section}: {e}"),
            })
        })
        .transpose()
}

/// `https` for a TLS listener, else `http`.
fn scheme_of(tls: Option<&ListenerTlsConfig>) -> &'static str {
    if tls.is_some() { "https" } else { "http" }
}

/// Binds the metrics listener; in dev mode, on a free port of the same
/// address when the configured one is taken.
async fn bind_metrics(
    addr: SocketAddr,
    metrics_port: MetricsPort,
) -> Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Ok(socket) => Ok(socket),
        Err(e)
            if e.kind() == std::io::ErrorKind::AddrInUse
                && metrics_port == MetricsPort::EphemeralWhenTaken =>
        {
            tracing::info!(%addr, "metrics address taken; using a free port");
            tokio::net::TcpListener::bind(SocketAddr::new(addr.ip(), 0))
                .await
                .with_context(|| format!("cannot listen on {} for metrics", addr.ip()))
        }
        Err(e) => Err(e).with_context(|| {
            format!("cannot listen on {addr} (server.metrics_listen; \"off\" serves no metrics)")
        }),
    }
}

/// Every connection is a descriptor: an open-file limit below
/// `max_connections` means accepts fail (EMFILE) before the cap refuses.
fn warn_if_descriptors_below_the_cap(max_connections: usize) {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if let Some(limit) = limit
        && limit < max_connections as u64
    {
        tracing::warn!(
            open_files = limit,
            max_connections,
            "the open-file limit is below server.max_connections; raise the hard limit \
             (ulimit -Hn, LimitNOFILE=) or lower the cap"
        );
    }
}

fn local_addr(socket: &tokio::net::TcpListener) -> Result<SocketAddr> {
    socket.local_addr().context("cannot read the bound address")
}

/// The upstreams (each credential resolved) and the whole screen section
/// (detectors, data classes, rules, residency) are checked first, so a
/// mistake in either stops start-up before the shared services load or
/// create any key; then the shared services, then the two planes over them.
/// The detectors are compiled once, for the rules and the shared services.
async fn build(
    config: &Config,
    store: Store,
    kek: KeyEncryptionKey,
    default_issuer: &str,
) -> Result<(Gateway, Control)> {
    let upstreams = modelgate_gateway::upstreams(config)?;
    let detectors = Detectors::from_config(config)?;
    let screen = ScreenRules::with(
        detectors.screener.clone(),
        detectors.classes.clone(),
        &config.screen,
        &config.residency,
    )
    .map_err(|(field, reason)| anyhow::anyhow!("screening: {field}: {reason}"))?;
    let core = Arc::new(Core::new(config, store, kek, default_issuer, detectors).await?);
    let gateway = Gateway::new(core.clone(), config, &upstreams, screen);
    let control = Control::new(core, config);
    Ok((gateway, control))
}

/// SIGHUP re-reads the policy directory; a set with problems is rejected
/// and the active one keeps enforcing.
fn reload_policies_on_sighup(core: Arc<Core>) -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        let kind = tokio::signal::unix::SignalKind::hangup();
        match tokio::signal::unix::signal(kind) {
            Ok(mut signal) => Some(tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    let _ = core.reload_policies("signal:SIGHUP").await;
                }
            })),
            Err(_) => None,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = core;
        None
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown requested");
}
