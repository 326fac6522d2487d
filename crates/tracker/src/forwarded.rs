//! The client's address behind trusted reverse proxies: `X-Forwarded-For`
//! or `Forwarded: for=` (RFC 7239), believed only from a proxy the host
//! trusts.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use http::HeaderMap;

use crate::error::Error;

/// A block of addresses, `ADDRESS/PREFIX` (`10.0.0.0/8`, `fd00::/8`) or one
/// address (`127.0.0.1`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` (IPv4-mapped IPv6 taken as IPv4) is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Cidr {
            given: crate::error::shown(s.as_bytes(), 64),
        };
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = addr.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 3 => {
                p.parse::<u8>().ok().filter(|&n| n <= max).ok_or_else(bad)?
            }
            Some(_) => return Err(bad()),
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trusts the given blocks (none: every header is ignored).
    pub fn new(blocks: Vec<Cidr>) -> Self {
        TrustedProxies(blocks)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address for a request that came from `remote` with
    /// `headers`.
    ///
    /// From an untrusted `remote`, or without forwarding headers, it is
    /// `remote`. From a trusted one, the forwarding chain is read from
    /// `X-Forwarded-For` (every instance, in order) or, when there is none,
    /// from the `for=` of `Forwarded`; the client is its right-most entry
    /// that is not a trusted proxy (the left-most when all are). An entry
    /// that is no address (`unknown`, an obfuscated `_name`, garbage) ends
    /// the walk: what lies left of it cannot be believed, and `remote` is
    /// the answer. An entry without a port takes `remote`'s port.
    pub fn client(&self, remote: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if self.is_empty() || !self.trusts(remote.ip()) {
            return remote;
        }
        let mut chain: Vec<&str> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(v) = value.to_str() else {
                return remote;
            };
            chain.extend(v.split(',').map(str::trim));
        }
        if chain.is_empty() {
            for value in headers.get_all(http::header::FORWARDED) {
                let Ok(v) = value.to_str() else {
                    return remote;
                };
                for element in v.split(',') {
                    let found = element.split(';').find_map(|pair| {
                        let (k, v) = pair.trim().split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
                    });
                    // An element without `for=` is a hop that did not say.
                    chain.push(found.unwrap_or(""));
                }
            }
        }
        let mut client = None;
        for entry in chain.iter().rev() {
            let Some(addr) = node(entry, remote.port()) else {
                return remote;
            };
            client = Some(addr);
            if !self.trusts(addr.ip()) {
                break;
            }
        }
        client.unwrap_or(remote)
    }
}

/// One forwarding entry as an address: `IP`, `IP:PORT`, `[IPv6]`,
/// `[IPv6]:PORT`, optionally in double quotes.
fn node(entry: &str, default_port: u16) -> Option<SocketAddr> {
    let e = entry.trim();
    let e = e
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(e);
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip.to_canonical(), default_port));
    }
    if let Some(inner) = e.strip_prefix('[').and_then(|e| e.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<IpAddr>()
    {
        return Some(SocketAddr::new(ip.to_canonical(), default_port));
    }
    let addr = e.parse::<SocketAddr>().ok()?;
    Some(SocketAddr::new(addr.ip().to_canonical(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parses_and_contains() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains("10.1.255.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0/8",
            "x",
            "1.2.3.4/08x",
        ] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(matches!(err, Error::Cidr { .. }), "{bad}");
        }
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>().unwrap_err().to_string(),
            "trusted proxy \"10.0.0.0/33\" must be an IP address or ADDRESS/PREFIX \
             (a prefix up to 32 for IPv4, 128 for IPv6)"
        );
    }

    #[test]
    fn untrusted_remote_keeps_its_address() {
        let p = proxies(&["127.0.0.1"]);
        let h = headers(&[("x-forwarded-for", "203.0.113.5")]);
        assert_eq!(p.client(sa("192.0.2.1:5000"), &h), sa("192.0.2.1:5000"));
        assert_eq!(
            TrustedProxies::default().client(sa("127.0.0.1:5000"), &h),
            sa("127.0.0.1:5000")
        );
    }

    #[test]
    fn x_forwarded_for_right_most_untrusted() {
        let p = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.9, 203.0.113.5"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(p.client(sa("127.0.0.1:5000"), &h), sa("203.0.113.5:5000"));
        // All trusted: the left-most.
        let h = headers(&[("x-forwarded-for", "10.0.0.3, 10.0.0.2")]);
        assert_eq!(p.client(sa("127.0.0.1:1"), &h), sa("10.0.0.3:1"));
        // With ports and IPv6.
        let h = headers(&[("x-forwarded-for", "[2001:db8::7]:4711")]);
        assert_eq!(p.client(sa("127.0.0.1:1"), &h), sa("[2001:db8::7]:4711"));
        let h = headers(&[("x-forwarded-for", "2001:db8::7")]);
        assert_eq!(p.client(sa("127.0.0.1:1"), &h), sa("[2001:db8::7]:1"));
        // Garbage right of the client: not believed.
        let h = headers(&[("x-forwarded-for", "203.0.113.5, nonsense")]);
        assert_eq!(p.client(sa("127.0.0.1:1"), &h), sa("127.0.0.1:1"));
        // No header: the socket's.
        assert_eq!(
            p.client(sa("127.0.0.1:1"), &HeaderMap::new()),
            sa("127.0.0.1:1")
        );
    }

    #[test]
    fn forwarded_for() {
        let p = proxies(&["127.0.0.0/8"]);
        let h = headers(&[(
            "forwarded",
            "for=198.51.100.1;proto=http, For=\"[2001:db8:cafe::17]:4711\";by=127.0.0.1",
        )]);
        assert_eq!(
            p.client(sa("127.0.0.1:9"), &h),
            sa("[2001:db8:cafe::17]:4711")
        );
        let h = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(p.client(sa("127.0.0.1:9"), &h), sa("127.0.0.1:9"));
        // X-Forwarded-For wins when both are given.
        let h = headers(&[
            ("forwarded", "for=198.51.100.1"),
            ("x-forwarded-for", "203.0.113.5"),
        ]);
        assert_eq!(p.client(sa("127.0.0.1:9"), &h), sa("203.0.113.5:9"));
    }
}
