//! The connection caps of one listener: at most `max_connections` open at
//! once, and at most `max_connections_per_source` from one peer IP address.
//!
//! At a cap, the listener accepts the new connection and closes it at once
//! rather than leaving it in the kernel's backlog: the caller (or the load
//! balancer in front) learns immediately that this replica is full and can
//! go elsewhere, instead of waiting out a connect or request timeout on a
//! connection nobody will read; the refusal can be counted
//! (`modelgate_connections_refused_total`), and a per-source cap needs the
//! peer address, which only an accepted connection has. The accept costs
//! one descriptor for an instant.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use modelgate_config::ServerConfig;
use modelgate_core::metrics::{ConnectionRefusalLabels, ListenerLabels, Metrics};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// The caps every listener applies, from `[server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionCaps {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one peer IP address.
    pub max_per_source: Option<usize>,
}

impl ConnectionCaps {
    /// The caps configured in `[server]`.
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            max_connections: server.max_connections,
            max_per_source: server.max_connections_per_source,
        }
    }
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The listener has `max_connections` open.
    MaxConnections,
    /// The peer address has `max_connections_per_source` open.
    MaxPerSource,
}

impl Refused {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refused::MaxConnections => "max_connections",
            Refused::MaxPerSource => "max_connections_per_source",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    open: usize,
    by_source: HashMap<IpAddr, usize>,
}

/// The open connections of one listener, counted against its caps.
#[derive(Debug)]
pub struct ConnectionLimits {
    listener: &'static str,
    caps: ConnectionCaps,
    counts: Mutex<Counts>,
    /// Set while the listener is at `max_connections` (so the warning is
    /// logged once per episode, not once per refused connection).
    full: AtomicBool,
    open_gauge: Gauge,
    refused_total: Counter,
    refused_per_source: Counter,
}

impl ConnectionLimits {
    /// Limits for the listener named `listener` (`main`, `admin`,
    /// `metrics`), reporting to `metrics`.
    pub fn new(listener: &'static str, caps: ConnectionCaps, metrics: &Metrics) -> Arc<Self> {
        let refused = |reason: Refused| {
            metrics
                .connections_refused
                .get_or_create(&ConnectionRefusalLabels {
                    listener,
                    reason: reason.label(),
                })
                .clone()
        };
        Arc::new(Self {
            listener,
            caps,
            counts: Mutex::new(Counts::default()),
            full: AtomicBool::new(false),
            open_gauge: metrics
                .connections_open
                .get_or_create(&ListenerLabels { listener })
                .clone(),
            refused_total: refused(Refused::MaxConnections),
            refused_per_source: refused(Refused::MaxPerSource),
        })
    }

    /// Counts a new connection from `source`, or says which cap refuses it
    /// (and counts the refusal). The permit uncounts it when dropped.
    pub fn admit(self: &Arc<Self>, source: IpAddr) -> Result<ConnectionPermit, Refused> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let refused = if counts.open >= self.caps.max_connections {
            Some(Refused::MaxConnections)
        } else {
            self.caps.max_per_source.and_then(|cap| {
                (counts.by_source.get(&source).copied().unwrap_or(0) >= cap)
                    .then_some(Refused::MaxPerSource)
            })
        };
        if let Some(refused) = refused {
            drop(counts);
            self.count_refusal(refused, source);
            return Err(refused);
        }
        counts.open += 1;
        if self.caps.max_per_source.is_some() {
            *counts.by_source.entry(source).or_insert(0) += 1;
        }
        drop(counts);
        self.open_gauge.inc();
        Ok(ConnectionPermit {
            limits: self.clone(),
            source,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .open
    }

    fn count_refusal(&self, refused: Refused, source: IpAddr) {
        match refused {
            Refused::MaxConnections => {
                self.refused_total.inc();
                if !self.full.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        listener = self.listener,
                        max_connections = self.caps.max_connections,
                        "listener at max_connections; closing new connections until some end"
                    );
                }
            }
            Refused::MaxPerSource => {
                self.refused_per_source.inc();
                tracing::debug!(
                    listener = self.listener,
                    %source,
                    "source at max_connections_per_source; connection closed"
                );
            }
        }
    }

    fn release(&self, source: IpAddr) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.open = counts.open.saturating_sub(1);
        if let Some(n) = counts.by_source.get_mut(&source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.by_source.remove(&source);
            }
        }
        let below = counts.open < self.caps.max_connections;
        drop(counts);
        self.open_gauge.dec();
        if below && self.full.swap(false, Ordering::Relaxed) {
            tracing::info!(
                listener = self.listener,
                "listener below max_connections again"
            );
        }
    }
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnectionPermit {
    limits: Arc<ConnectionLimits>,
    source: IpAddr,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.limits.release(self.source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_per_source: Option<usize>) -> Arc<ConnectionLimits> {
        ConnectionLimits::new(
            "main",
            ConnectionCaps {
                max_connections,
                max_per_source,
            },
            &Metrics::new(),
        )
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[test]
    fn the_cap_refuses_until_a_permit_drops() {
        let limits = limits(2, None);
        let first = limits.admit(A).unwrap();
        let _second = limits.admit(B).unwrap();
        assert_eq!(limits.admit(A).unwrap_err(), Refused::MaxConnections);
        drop(first);
        assert_eq!(limits.open(), 1);
        assert!(limits.admit(A).is_ok());
    }

    #[test]
    fn one_source_cannot_take_the_whole_cap() {
        let limits = limits(3, Some(2));
        let _a1 = limits.admit(A).unwrap();
        let a2 = limits.admit(A).unwrap();
        assert_eq!(limits.admit(A).unwrap_err(), Refused::MaxPerSource);
        let _b = limits.admit(B).unwrap();
        assert_eq!(limits.admit(B).unwrap_err(), Refused::MaxConnections);
        drop(a2);
        assert!(limits.admit(A).is_ok());
        assert!(
            limits
                .counts
                .lock()
                .unwrap()
                .by_source
                .values()
                .all(|n| *n > 0),
            "no empty entries are kept"
        );
    }
}
