//! Listening for `modelgate_state` notifications on a connection of the
//! watch's own, reopened with backoff when it is lost.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::watch;

use super::PgBackend;
use crate::StoreError;
use crate::state_watch::StateWatch;

/// The `application_name` of the listening connection (in
/// `pg_stat_activity`).
pub(crate) const APPLICATION_NAME: &str = "modelgate-state-watch";

/// The channel the state revision's trigger notifies.
const CHANNEL: &str = "modelgate_state";

/// The wait before the first attempt to reopen a lost connection; it
/// doubles after each failed attempt up to [`LONGEST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);

/// The longest wait between two attempts to reopen the connection.
const LONGEST_RETRY: Duration = Duration::from_secs(30);

/// How long opening the listening connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl PgBackend {
    pub(crate) async fn watch_state(&self) -> StateWatch {
        let options = (*self.connect).clone().application_name(APPLICATION_NAME);
        let (changes, watch) = watch::channel(0u64);
        let first = match listen(&options).await {
            Ok(listener) => Some(listener),
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    "state notifications: cannot listen; polling only until the connection opens"
                );
                None
            }
        };
        tokio::spawn(keep_listening(options, first, changes));
        StateWatch::fed_by(watch)
    }
}

/// Opens a connection with `options` and listens on [`CHANNEL`].
async fn listen(options: &PgConnectOptions) -> Result<PgListener, StoreError> {
    const OP: &str = "listen for state changes";
    // A pool of one, only to open the connection: the listener reopens
    // nothing by itself here (a lost connection ends it, and
    // `keep_listening` opens a new one with backoff).
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_lazy_with(options.clone());
    let mut listener = PgListener::connect_with(&pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener
        .listen(CHANNEL)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
    Ok(listener)
}

/// Bumps `changes` on every notification, and once after every
/// reconnection (what was announced while disconnected is lost). Ends when
/// the watch is dropped.
async fn keep_listening(
    options: PgConnectOptions,
    mut listener: Option<PgListener>,
    changes: watch::Sender<u64>,
) {
    let bump = |changes: &watch::Sender<u64>| changes.send_modify(|n| *n = n.wrapping_add(1));
    let mut retry = FIRST_RETRY;
    let mut failed_attempts = 0u32;
    loop {
        let mut current = match listener.take() {
            Some(current) => current,
            None => {
                let opened = tokio::select! {
                    _ = changes.closed() => return,
                    opened = listen(&options) => opened,
                };
                match opened {
                    Ok(current) => {
                        tracing::info!(
                            failed_attempts,
                            "state notifications: listening again; re-reading state once"
                        );
                        bump(&changes);
                        retry = FIRST_RETRY;
                        failed_attempts = 0;
                        current
                    }
                    Err(err) => {
                        failed_attempts += 1;
                        if failed_attempts == 1 {
                            tracing::warn!(error = %err, retry_ms = retry.as_millis() as u64, "state notifications: cannot reconnect; polling meanwhile");
                        } else {
                            tracing::debug!(error = %err, failed_attempts, "state notifications: still cannot reconnect");
                        }
                        tokio::select! {
                            _ = changes.closed() => return,
                            _ = tokio::time::sleep(retry) => {}
                        }
                        retry = (retry * 2).min(LONGEST_RETRY);
                        continue;
                    }
                }
            }
        };
        loop {
            let next = tokio::select! {
                _ = changes.closed() => return,
                next = current.try_recv() => next,
            };
            match next {
                Ok(Some(_)) => bump(&changes),
                Ok(None) => {
                    tracing::warn!("state notifications: connection lost; reconnecting");
                    break;
                }
                Err(err) => {
                    let err = StoreError::from_sqlx("listen for state changes", err);
                    tracing::warn!(error = %err, "state notifications: connection lost; reconnecting");
                    break;
                }
            }
        }
        drop(current);
        tokio::select! {
            _ = changes.closed() => return,
            _ = tokio::time::sleep(retry) => {}
        }
    }
}
