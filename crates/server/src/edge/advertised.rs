//! The addresses torrents name: the web seed's and the tracker's URLs.

use std::net::SocketAddr;

use s3torrent_s3::{Addressing, TorrentPolicy, TorrentVersion, WebSeed};

use super::listen::{Endpoint, Scheme};
use super::listeners::Checked;
use crate::config::Seeding;
use crate::error::Error;

/// The addresses torrents name: the web seed's base (the S3 endpoint as
/// clients reach it) and the endpoint's own tracker's announce URL. By
/// default the listeners' own addresses, `https://` when they speak TLS;
/// a listener bound to every
/// interface (`0.0.0.0`, `[::]`) is no address a client can use, so that
/// default is warned about at start-up, where the addresses are printed.
pub(crate) struct Advertised {
    /// `http(s)://HOST:PORT` (no trailing `/`), when the endpoint is a web
    /// seed.
    pub(crate) web_seed: Option<String>,
    /// `http(s)://HOST:PORT/announce`, when the endpoint runs a tracker.
    pub(crate) announce: Option<String>,
    /// `udp://HOST:PORT/announce`, when it runs a UDP tracker too.
    pub(crate) udp_announce: Option<String>,
    /// `ws(s)://HOST:PORT/`, when it runs a WebSocket tracker too.
    pub(crate) ws_announce: Option<String>,
}

impl Advertised {
    /// What `listeners` (bound, checked) advertise, unless `public_url` and
    /// `announce_url` say otherwise.
    pub(crate) fn new(
        endpoint: Endpoint,
        seeding: Seeding,
        public_url: Option<&str>,
        announce_url: Option<&str>,
        listeners: &Checked,
    ) -> Result<Advertised, Error> {
        let name = endpoint.name();
        let (addr, tracker, udp_tracker) =
            (listeners.addr, listeners.tracker, listeners.udp_tracker);
        let scheme = Scheme::of(listeners.tls.as_ref()).as_str();
        let given = |flag: &str, url: &str| {
            if url.starts_with("http://") || url.starts_with("https://") {
                Ok(url.trim_end_matches('/').to_owned())
            } else {
                Err(Error::Config(format!(
                    "{flag} {url:?}: expected an http:// or https:// URL"
                )))
            }
        };
        let unreachable = |what: &str, flag: &str, bound: SocketAddr| {
            if bound.ip().is_unspecified() {
                eprintln!(
                    "{name}: warning: the {what} in torrents is {bound}, every interface, \
                     which no client can reach; give {flag}"
                );
            }
        };
        let web_seed = match (seeding.has_web_seed(), public_url) {
            (false, _) => None,
            (true, Some(url)) => Some(given("--public-url", url)?),
            (true, None) => {
                unreachable("web seed", "--public-url", addr);
                Some(format!("{scheme}://{addr}"))
            }
        };
        let announce = match (tracker, announce_url) {
            (None, _) => None,
            (Some(_), Some(url)) => Some(given("--announce-url", url)?),
            (Some(bound), None) => {
                unreachable("tracker", "--announce-url", bound);
                Some(format!("{scheme}://{bound}/announce"))
            }
        };
        // The UDP tracker is reached at the host clients reach the HTTP
        // tracker at (--announce-url's), on the UDP socket's port.
        let udp_announce = match (&announce, udp_tracker) {
            (Some(_), Some(bound)) => {
                let host = match announce_url.and_then(url_host) {
                    Some(host) => host.to_owned(),
                    None => {
                        unreachable("UDP tracker", "--announce-url", bound);
                        match bound.ip() {
                            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                            v4 => v4.to_string(),
                        }
                    }
                };
                Some(format!("udp://{host}:{}/announce", bound.port()))
            }
            _ => None,
        };
        // The WebSocket tracker too, `wss://` when the listeners speak TLS.
        let ws_announce = match (&announce, listeners.ws_tracker) {
            (Some(_), Some(bound)) => {
                let host = match announce_url.and_then(url_host) {
                    Some(host) => host.to_owned(),
                    None => {
                        unreachable("WebSocket tracker", "--announce-url", bound);
                        match bound.ip() {
                            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                            v4 => v4.to_string(),
                        }
                    }
                };
                let ws = match listeners.tls {
                    Some(_) => "wss",
                    None => "ws",
                };
                Some(format!("{ws}://{host}:{}/", bound.port()))
            }
            _ => None,
        };
        if let Some(url) = &web_seed {
            eprintln!("{name}: torrents name the web seed {url}/BUCKET/KEY");
        }
        if let Some(url) = &announce {
            eprintln!("{name}: torrents name the tracker {url}");
        }
        if let Some(url) = &udp_announce {
            eprintln!("{name}: torrents name the UDP tracker {url}");
        }
        if let Some(url) = &ws_announce {
            eprintln!("{name}: torrents name the WebSocket tracker {url}");
        }
        Ok(Advertised {
            web_seed,
            announce,
            udp_announce,
            ws_announce,
        })
    }

    /// The endpoint's own tracker URLs as torrents list them (HTTP, then
    /// UDP), none when it runs no tracker.
    pub(crate) fn own_trackers(&self) -> Vec<String> {
        self.announce
            .iter()
            .chain(&self.udp_announce)
            .chain(&self.ws_announce)
            .cloned()
            .collect()
    }

    /// The torrent policy of an endpoint that advertises these: its own
    /// HTTP tracker first, its UDP tracker next (so that the single
    /// `announce` of clients without BEP 12 is the HTTP one, and a client
    /// whose UDP is filtered loses no time), then `trackers` (each its own
    /// tier), the web seed
    /// path-style, objects up to `max_object_size`, `version` torrents.
    pub(crate) fn policy(
        self,
        max_object_size: u64,
        version: TorrentVersion,
        trackers: &[String],
    ) -> TorrentPolicy {
        let mut policy = TorrentPolicy::default();
        policy.max_object_size = max_object_size;
        policy.version = version;
        policy.trackers.extend(self.announce);
        policy.trackers.extend(self.udp_announce);
        policy.trackers.extend(self.ws_announce);
        policy.trackers.extend(trackers.iter().cloned());
        policy.web_seed = self.web_seed.map(|endpoint| WebSeed {
            endpoint,
            addressing: Addressing::Path,
        });
        policy
    }
}

/// The host of an `http(s)://HOST[:PORT]/...` URL (`[v6]` kept in
/// brackets), if it has one.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}
