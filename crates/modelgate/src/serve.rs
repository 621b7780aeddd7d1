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
    run(config, store, kek, listen, |_| banner).await
}

/// Builds the gateway, binds, prints `listening on ...` (and whatever
/// `banner` returns for the bound address), then serves until SIGINT or
/// SIGTERM.
pub async fn run(
    config: Config,
    store: Store,
    kek: KeyEncryptionKey,
    listen: Option<SocketAddr>,
    banner: impl FnOnce(SocketAddr) -> Option<String>,
) -> Result<()> {
    let addr = listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let (gateway, control) = build(&config, store, kek, &format!("http://{bound}"))
        .await
        .context("cannot start the gateway")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{bound}")?;
        if let Some(text) = banner(bound) {
            writeln!(out, "{text}")?;
        }
        out.flush()?;
    }
    tracing::info!(%bound, models = ?gateway.model_names(), "modelgate serving");
    let flusher = control.spawn_usage_flusher(Duration::from_secs(10));
    let sync = control.spawn_state_sync();
    let pruner = gateway.core.audit.spawn_pruner();
    let _file_limit = ignore_file_size_signal();
    let _hangup = reload_policies_on_sighup(gateway.core.clone());
    let audit = gateway.core.audit.clone();
    gateway
        .serve(listener, control.router(), shutdown_signal())
        .await;
    flusher.abort();
    sync.abort();
    pruner.abort();
    audit.close().await;
    tracing::info!("modelgate stopped");
    Ok(())
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

/// A write past the process's file-size limit must fail that write (the
/// audit log then fails closed and recovers), not kill the gateway:
/// handling SIGXFSZ replaces its default action (terminate).
fn ignore_file_size_signal() -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(target_os = "linux")]
    {
        const SIGXFSZ: i32 = 25;
        let kind = tokio::signal::unix::SignalKind::from_raw(SIGXFSZ);
        match tokio::signal::unix::signal(kind) {
            Ok(mut signal) => Some(tokio::spawn(async move {
                while signal.recv().await.is_some() {
                    tracing::warn!("file size limit reached (SIGXFSZ); the write fails");
                }
            })),
            Err(_) => None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
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
