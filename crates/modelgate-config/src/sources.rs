//! Callers at the network level: the trusted proxies whose
//! `X-Forwarded-For` names the caller (`[server] trusted_proxies`, as
//! [`Cidr`]s), and the budget of failed authentications each source gets
//! (`[limits] failed_auth_per_source`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::Deserialize;

/// An IP network: an address and a prefix length (`10.0.0.0/8`,
/// `fd00::/8`); a bare address is the network of that one address. Host
/// bits below the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `addr` lies in this network. An IPv4 address written as
    /// IPv6 (`::ffff:10.1.2.3`) is read as IPv4.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or network (10.0.0.0/8)"))?;
        let network = network.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `[limits] failed_auth_per_source`: how many failed authentications one
/// source may have before the gateway refuses its credentials unchecked
/// (429 with `Retry-After`), as a token bucket: `burst` failures at once,
/// refilled at `per_minute`. Only failures spend the budget; a source over
/// it is refused before any credential lookup or signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailedAuthLimit {
    /// Failures a source may have at once; `0` turns the limit off.
    pub burst: u32,
    /// Failures a source is allowed again per minute once it spent `burst`.
    pub per_minute: u32,
    /// Most sources tracked at once; past it, the ones closest to a full
    /// budget are forgotten first, so memory stays bounded however many
    /// addresses a caller rotates through.
    pub max_sources: usize,
}

impl FailedAuthLimit {
    /// Whether the limit is on.
    pub fn enabled(&self) -> bool {
        self.burst > 0
    }
}

impl Default for FailedAuthLimit {
    fn default() -> Self {
        Self {
            burst: 20,
            per_minute: 10,
            max_sources: 65_536,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn networks_contain_their_addresses() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(
            net.contains("::ffff:10.0.0.1".parse().unwrap()),
            "mapped v4"
        );
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
    }

    #[test]
    fn the_settings_parse_validate_and_default() {
        let config = crate::Config::from_toml(
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
             [limits]\nfailed_auth_per_source = { burst = 5 }\n",
        )
        .unwrap();
        assert_eq!(config.server.trusted_proxies.len(), 2);
        let limit = config.limits.failed_auth_per_source;
        assert_eq!((limit.burst, limit.per_minute), (5, 10));
        assert!(
            crate::Config::default()
                .limits
                .failed_auth_per_source
                .enabled()
        );
        let refused = |text: &str| crate::Config::from_toml(text).unwrap_err().to_string();
        let e = refused("[limits]\nfailed_auth_per_source = { burst = 5, per_minute = 0 }\n");
        assert!(e.contains("limits.failed_auth_per_source"), "{e}");
        let e = refused("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n");
        assert!(e.contains("prefix length"), "{e}");
        let e = refused("[limits]\nfailed_auth_per_source = { bust = 5 }\n");
        assert!(e.contains("bust"), "{e}");
        let off = crate::Config::from_toml("[limits]\nfailed_auth_per_source = { burst = 0 }\n");
        assert!(!off.unwrap().limits.failed_auth_per_source.enabled());
    }

    #[test]
    fn bad_networks_are_refused() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("::/129".parse::<Cidr>().is_err());
        assert!("example.com/8".parse::<Cidr>().is_err());
        assert!("10.0.0.0/x".parse::<Cidr>().is_err());
    }
}
