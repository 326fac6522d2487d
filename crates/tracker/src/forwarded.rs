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

    /// Whether forwarding headers from `remote` are believed.
    fn believes(&self, remote: SocketAddr) -> bool {
        !self.is_empty() && self.trusts(remote.ip())
    }

    /// The client's address for a request that came from `remote` with
    /// `headers`.
    ///
    /// From an untrusted `remote`, or without forwarding headers, it is
    /// `remote`. From a trusted one, the forwarding chain is read from
    /// `X-Forwarded-For` (every instance, in order) or, when there is none,
    /// from the `for=` of `Forwarded`; the client is its right-most entry
    /// that is not a trusted proxy (the left-most when all are). An entry
    /// that is no address (`unknown`, an obfuscated `_name`, garbage, a
    /// `Forwarded` element with no `for=` or two), a header that is not
    /// visible ASCII, or a chain of trusted entries longer than
    /// [`MAX_HOPS`](Self::MAX_HOPS) ends the walk: what lies left of it
    /// cannot be believed, and `remote` is the answer. An entry without a
    /// port takes `remote`'s port.
    pub fn client(&self, remote: SocketAddr, headers: &HeaderMap) -> SocketAddr {
        if !self.believes(remote) {
            return remote;
        }
        let Some(listed) = entries(headers, "x-forwarded-for") else {
            return remote;
        };
        let picked = if listed.is_empty() {
            let Some(elements) = forwarded(headers) else {
                return remote;
            };
            let chain: Vec<&str> = elements.iter().map(|e| e.by_for).collect();
            self.pick(&chain, remote.port())
        } else {
            self.pick(&listed, remote.port())
        };
        picked.map_or(remote, |(_, addr)| addr)
    }

    /// The scheme the client used, as the trusted proxies in front say:
    /// `None` when `remote` is not a trusted proxy or they say nothing
    /// that can be believed (then the socket's own transport is the
    /// request's).
    ///
    /// From a trusted `remote`, `X-Forwarded-Proto` is read when there is
    /// one: its right-most value (every instance, in order), the one the
    /// nearest proxy set; proxies set it to one value (nginx's `$scheme`),
    /// and one behind another passes the outer one's on. When there is no
    /// `X-Forwarded-Proto`, `Forwarded` is: the `proto=` of the element
    /// whose `for=` [`client`](Self::client)'s walk over `Forwarded` picks,
    /// that is the element the outermost trusted proxy added for the
    /// client's own connection (so a chain `for=client;proto=https,
    /// for=proxy;proto=http` is `https`: the hop between two trusted
    /// proxies is not the client's). A value other than `http` or `https`
    /// (ASCII case ignored, double quotes allowed), an element without
    /// `proto=`, or a walk that ends without a client is `None`.
    ///
    /// ```
    /// use s3torrent_tracker::{Scheme, TrustedProxies};
    ///
    /// let proxies = TrustedProxies::new(vec!["127.0.0.1".parse().unwrap()]);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("x-forwarded-proto", "https".parse().unwrap());
    /// let scheme = |from: &str| proxies.scheme(from.parse().unwrap(), &headers);
    /// assert_eq!(scheme("127.0.0.1:40000"), Some(Scheme::Https));
    /// // Anyone else's header is ignored.
    /// assert_eq!(scheme("192.0.2.7:40000"), None);
    /// ```
    pub fn scheme(&self, remote: SocketAddr, headers: &HeaderMap) -> Option<Scheme> {
        if !self.believes(remote) {
            return None;
        }
        let said = entries(headers, "x-forwarded-proto")?;
        if let Some(nearest) = said.last() {
            return Scheme::parse(nearest);
        }
        let elements = forwarded(headers)?;
        let chain: Vec<&str> = elements.iter().map(|e| e.by_for).collect();
        let (at, _) = self.pick(&chain, remote.port())?;
        elements.get(at)?.proto.and_then(Scheme::parse)
    }

    /// The most entries of a forwarding chain walked from the right
    /// before it is given up (no real path has 32 proxies).
    pub const MAX_HOPS: usize = 32;

    /// The walk of [`client`](Self::client) over `chain`: the index and
    /// address of the right-most entry that is not a trusted proxy (the
    /// left-most when all are), or `None` when it ends without one.
    fn pick(&self, chain: &[&str], default_port: u16) -> Option<(usize, SocketAddr)> {
        let mut picked = None;
        for (walked, (at, entry)) in chain.iter().enumerate().rev().enumerate() {
            if walked == Self::MAX_HOPS {
                return None;
            }
            let addr = node(entry, default_port)?;
            picked = Some((at, addr));
            if !self.trusts(addr.ip()) {
                break;
            }
        }
        picked
    }
}

/// The scheme of a client's request, as a trusted proxy says
/// ([`TrustedProxies::scheme`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `http` or `https`, ASCII case ignored, in double quotes or not.
    fn parse(value: &str) -> Option<Scheme> {
        let v = value.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        if v.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if v.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }
}

/// Every comma-separated entry of every `name` header, in order, trimmed;
/// `None` when one of them is not visible ASCII.
fn entries<'h>(headers: &'h HeaderMap, name: &'static str) -> Option<Vec<&'h str>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        out.extend(value.to_str().ok()?.split(',').map(str::trim));
    }
    Some(out)
}

/// One element of `Forwarded` (RFC 7239): who the hop was `for`, and the
/// `proto` it came over. `by_for` is empty when the element has no
/// `for=`, or has it twice (then it is no address, and ends a walk).
struct Element<'h> {
    by_for: &'h str,
    proto: Option<&'h str>,
}

/// Every element of every `Forwarded` header, in order; `None` when one
/// of them is not visible ASCII. A parameter given twice in an element is
/// not believed (RFC 7239 allows each once).
fn forwarded(headers: &HeaderMap) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    for element in entries(headers, "forwarded")? {
        let (mut by_for, mut proto) = (None, None);
        let (mut fors, mut protos) = (0u8, 0u8);
        for pair in element.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            let k = k.trim();
            if k.eq_ignore_ascii_case("for") {
                fors = fors.saturating_add(1);
                by_for = Some(v.trim());
            } else if k.eq_ignore_ascii_case("proto") {
                protos = protos.saturating_add(1);
                proto = Some(v.trim());
            }
        }
        out.push(Element {
            by_for: if fors == 1 { by_for.unwrap_or("") } else { "" },
            proto: if protos == 1 { proto } else { None },
        });
    }
    Some(out)
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
