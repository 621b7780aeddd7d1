//! Who a caller is at the network level, before it is authenticated: the
//! peer's socket address ([`ClientAddr`], attached to each request by the
//! listener) or, when the peer is a configured trusted proxy
//! (`[server] trusted_proxies`), the client address it forwarded in
//! `X-Forwarded-For` ([`TrustedProxies::source`]).
//!
//! Each proxy appends the address it received the connection from to
//! `X-Forwarded-For`, so the list reads client, proxy 1, proxy 2, ...
//! Everything left of what a trusted proxy wrote was written by the caller
//! and can be forged; the right-most address that is not itself a trusted
//! proxy is the one the nearest trusted proxy saw connecting, and the
//! caller cannot choose it. The walk goes from the right for that reason,
//! and a header the gateway cannot read (an entry that is not an address)
//! falls back to the peer rather than to anything the caller wrote.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use modelgate_config::Cidr;

/// The client's socket address, attached to each request by the listener.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Most `X-Forwarded-For` entries read from the right before the header
/// counts as unreadable (and the peer is the source).
const MAX_HOPS: usize = 32;

/// A caller's source address, and whether a trusted proxy forwarded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// The address failed authentications are counted against.
    pub addr: IpAddr,
    /// Whether `addr` came from a trusted proxy's `X-Forwarded-For`.
    pub forwarded: bool,
}

/// The configured trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// Trusts peers in `networks`.
    pub fn new(networks: Vec<Cidr>) -> Self {
        Self { networks }
    }

    fn trusted(&self, addr: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(addr))
    }

    /// The source of a request with `extensions` (its [`ClientAddr`]) and
    /// `headers`; `None` when the listener attached no address.
    pub fn source_of(&self, extensions: &http::Extensions, headers: &HeaderMap) -> Option<Source> {
        let peer = extensions.get::<ClientAddr>()?.0.ip();
        Some(self.source(peer, headers))
    }

    /// The source of a request from `peer` with `headers`: the peer,
    /// unless it is a trusted proxy and `X-Forwarded-For` is readable;
    /// then the right-most forwarded address that is not a trusted proxy
    /// (the left-most one when every entry is).
    pub fn source(&self, peer: IpAddr, headers: &HeaderMap) -> Source {
        let peer = peer.to_canonical();
        let direct = Source {
            addr: peer,
            forwarded: false,
        };
        if self.networks.is_empty() || !self.trusted(peer) {
            return direct;
        }
        let mut values: Vec<&str> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else {
                return direct;
            };
            values.push(text);
        }
        let mut last = None;
        let entries = values.iter().rev().flat_map(|v| v.rsplit(','));
        for (hop, entry) in entries.enumerate() {
            if hop >= MAX_HOPS {
                return direct;
            }
            let Some(addr) = forwarded_addr(entry) else {
                return direct;
            };
            if !self.trusted(addr) {
                return Source {
                    addr,
                    forwarded: true,
                };
            }
            last = Some(addr);
        }
        match last {
            Some(addr) => Source {
                addr,
                forwarded: true,
            },
            None => direct,
        }
    }
}

/// One `X-Forwarded-For` entry as an address: `192.0.2.1`, `2001:db8::1`,
/// or with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn forwarded_addr(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let addr = entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()?;
    Some(addr.to_canonical())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use http::HeaderValue;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::new(nets.iter().map(|n| n.parse().unwrap()).collect())
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_source() {
        let none = TrustedProxies::default();
        let s = none.source(ip("127.0.0.1"), &xff(&["203.0.113.7"]));
        assert_eq!((s.addr, s.forwarded), (ip("127.0.0.1"), false));
        // An untrusted peer's header is ignored.
        let some = proxies(&["10.0.0.0/8"]);
        let s = some.source(ip("192.0.2.9"), &xff(&["203.0.113.7"]));
        assert_eq!((s.addr, s.forwarded), (ip("192.0.2.9"), false));
    }

    #[test]
    fn the_right_most_untrusted_forwarded_address_is_the_source() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // The caller forged the first entry; the proxy appended the real one.
        let h = xff(&["198.51.100.1, 203.0.113.7, 10.0.0.5"]);
        let s = p.source(ip("127.0.0.1"), &h);
        assert_eq!((s.addr, s.forwarded), (ip("203.0.113.7"), true));
        // Several headers read as one list, in order.
        let h = xff(&["198.51.100.1", "203.0.113.8:4711", "10.0.0.5"]);
        assert_eq!(p.source(ip("10.1.1.1"), &h).addr, ip("203.0.113.8"));
        // Every hop trusted: the left-most.
        let h = xff(&["10.9.9.9, 10.0.0.5"]);
        assert_eq!(p.source(ip("127.0.0.1"), &h).addr, ip("10.9.9.9"));
        // A mapped peer is read as IPv4.
        let h = xff(&["[2001:db8::1]:80"]);
        assert_eq!(p.source(ip("::ffff:127.0.0.1"), &h).addr, ip("2001:db8::1"));
    }

    #[test]
    fn an_unreadable_header_falls_back_to_the_peer() {
        let p = proxies(&["127.0.0.1"]);
        for bad in ["unknown", "203.0.113.7, garbage", "", "203.0.113.7,,"] {
            let s = p.source(ip("127.0.0.1"), &xff(&[bad]));
            assert_eq!((s.addr, s.forwarded), (ip("127.0.0.1"), false), "{bad:?}");
        }
        // No header at all.
        let s = p.source(ip("127.0.0.1"), &HeaderMap::new());
        assert_eq!((s.addr, s.forwarded), (ip("127.0.0.1"), false));
        // Too many hops to walk.
        let long = vec!["127.0.0.1"; MAX_HOPS + 1].join(",");
        let s = p.source(ip("127.0.0.1"), &xff(&[&long]));
        assert!(!s.forwarded);
    }
}
