//! Tracker URLs, as torrents list them: `http://HOST[:PORT]/PATH[?QUERY]`
//! and `udp://HOST:PORT[/PATH]`.

use std::fmt;
use std::net::Ipv6Addr;

use super::error::ClientError;
use crate::error::shown;

/// The longest tracker URL read, in bytes (real ones are under 200).
pub const MAX_TRACKER_URL: usize = 2048;

/// The longest host name (DNS's limit).
const MAX_HOST: usize = 253;

/// How a tracker is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transport {
    /// `http://`: an HTTP/1.1 GET (BEP 3).
    Http,
    /// `udp://`: the UDP tracker protocol (BEP 15).
    Udp,
}

/// A tracker URL this client can announce to, parsed.
///
/// Accepted: `http://` and `udp://` (scheme in any case), a host that is a
/// DNS name (letters, digits, `-`, `.`, `_`), an IPv4 address or a
/// bracketed IPv6 address, a port (80 by default for HTTP; required for
/// UDP), and for HTTP a path and query made of visible ASCII. Refused, with
/// a [`ClientError`]: anything longer than [`MAX_TRACKER_URL`] bytes, a
/// space or control byte, user info (`user@`), a fragment (`#`), an empty
/// host or port, port 0; `https://` and other schemes are
/// [`ClientError::Unsupported`].
///
/// ```
/// use s3torrent_tracker::{TrackerUrl, Transport};
///
/// let url = TrackerUrl::parse("HTTP://tracker.example:6969/announce?passkey=x")?;
/// assert_eq!(url.transport(), Transport::Http);
/// assert_eq!((url.host(), url.port()), ("tracker.example", 6969));
/// assert_eq!(url.target(), "/announce?passkey=x");
///
/// let url = TrackerUrl::parse("udp://[::1]:6969/announce")?;
/// assert_eq!((url.transport(), url.host(), url.port()), (Transport::Udp, "::1", 6969));
///
/// assert!(TrackerUrl::parse("https://tracker.example/announce").is_err());
/// # Ok::<(), s3torrent_tracker::ClientError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrackerUrl {
    url: String,
    transport: Transport,
    host: String,
    port: u16,
    target: String,
}

impl fmt::Display for TrackerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

impl TrackerUrl {
    /// Parses `url` (see the type's documentation for what is accepted).
    pub fn parse(url: &str) -> Result<TrackerUrl, ClientError> {
        let bad = |reason| ClientError::Url {
            url: shown(url.as_bytes(), 200),
            reason,
        };
        if url.len() > MAX_TRACKER_URL {
            return Err(bad("longer than 2048 bytes"));
        }
        if url.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
            return Err(bad("holds a space, a control byte or a non-ASCII byte"));
        }
        if url.contains('#') {
            return Err(bad("has a fragment (#)"));
        }
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("has no scheme"))?;
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "http" => Transport::Http,
            "udp" => Transport::Udp,
            other => {
                return Err(ClientError::Unsupported {
                    url: shown(url.as_bytes(), 200),
                    scheme: shown(other.as_bytes(), 32),
                });
            }
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.contains('@') {
            return Err(bad("has user info (user@), which is not supported"));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (v6, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("has an IPv6 address without its closing ]"))?;
            v6.parse::<Ipv6Addr>()
                .map_err(|_| bad("has a bracketed host that is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("has bytes after ]"))?,
                ),
            };
            (v6.to_ascii_lowercase(), port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            let name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
            if host.is_empty() || host.len() > MAX_HOST || !host.bytes().all(name_byte) {
                return Err(bad(
                    "host must be 1 to 253 letters, digits, -, . or _, or a bracketed IPv6 address",
                ));
            }
            (host.to_ascii_lowercase(), port)
        };
        let port = match (port, transport) {
            (Some(p), _) => Some(p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("port must be a number from 1 to 65535"))?,
            (None, Transport::Http) => 80,
            (None, Transport::Udp) => return Err(bad("a udp tracker needs a port")),
        };
        let target = match path.strip_prefix('?') {
            Some(_) => format!("/{path}"),
            None if path.is_empty() => "/".to_owned(),
            None => path.to_owned(),
        };
        Ok(TrackerUrl {
            url: url.to_owned(),
            transport,
            host,
            port,
            target,
        })
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// HTTP or UDP.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The host: a DNS name (lowercased) or an IP address (an IPv6 one
    /// without its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path and query (`/announce`, `/announce?passkey=x`); `/` when the
    /// URL has none. A UDP tracker's path is BEP 41's URL data, which this
    /// client does not send.
    pub fn target(&self) -> &str {
        &self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_torrents_list() {
        let cases = [
            (
                "http://t.example/announce",
                Transport::Http,
                "t.example",
                80,
                "/announce",
            ),
            (
                "http://127.0.0.1:6969/announce",
                Transport::Http,
                "127.0.0.1",
                6969,
                "/announce",
            ),
            (
                "http://t.example:8080",
                Transport::Http,
                "t.example",
                8080,
                "/",
            ),
            (
                "http://t.example?k=1",
                Transport::Http,
                "t.example",
                80,
                "/?k=1",
            ),
            (
                "Udp://T.Example:1337/announce",
                Transport::Udp,
                "t.example",
                1337,
                "/announce",
            ),
            (
                "udp://[2001:DB8::1]:6969",
                Transport::Udp,
                "2001:db8::1",
                6969,
                "/",
            ),
            (
                "http://[::1]/a/b?x=%20",
                Transport::Http,
                "::1",
                80,
                "/a/b?x=%20",
            ),
        ];
        for (url, transport, host, port, target) in cases {
            let u = TrackerUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (u.transport(), u.host(), u.port(), u.target(), u.as_str()),
                (transport, host, port, target, url),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_what_it_cannot_announce_to() {
        let unsupported = ["https://t.example/announce", "wss://t.example/announce"];
        for url in unsupported {
            assert!(
                matches!(TrackerUrl::parse(url), Err(ClientError::Unsupported { .. })),
                "{url}"
            );
        }
        let long = format!("http://t.example/{}", "a".repeat(MAX_TRACKER_URL));
        let bad = [
            "t.example/announce",
            "http://",
            "http:///announce",
            "http://user@t.example/announce",
            "http://t.example:0/announce",
            "http://t.example:65536/announce",
            "http://t.example:/announce",
            "http://t.example:+80/announce",
            "http://t.example/announce#x",
            "http://t example/announce",
            "http://t.example/ann ounce",
            "http://t.exa\u{e9}mple/",
            "udp://t.example/announce",
            "udp://[::1/announce",
            "udp://[nope]:1/",
            "udp://[::1]x:1/",
            "http://t.example:1:2/",
            long.as_str(),
        ];
        for url in bad {
            assert!(
                matches!(TrackerUrl::parse(url), Err(ClientError::Url { .. })),
                "{url}: {:?}",
                TrackerUrl::parse(url)
            );
        }
    }
}
