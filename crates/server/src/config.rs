//! What a host decides before the server starts: the folder, the users, the
//! torrent policy's knobs and the addressing style.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use md5::{Digest, Md5};
use s3torrent_s3::{AccountId, CanonicalId, Principal, S3Error, TorrentPolicy, TorrentVersion};
use s3torrent_tracker::TrustedProxies;

use crate::error::Error;
use s3torrent_s3::to_hex as hex;

/// The configuration of [`serve`](crate::serve), as plain data.
///
/// Start from [`ServerConfig::default`] (a folder `data`, no users, the AWS
/// size limit, v1 torrents) and set what differs:
///
/// ```
/// use s3torrent_server::{ServerConfig, User};
///
/// let mut config = ServerConfig::default();
/// config.root = "/srv/s3".into();
/// config.users.push("AKIA1:secret:111122223333".parse::<User>()?);
/// assert_eq!(config.users[0].access_key(), "AKIA1");
/// # Ok::<(), s3torrent_server::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The folder that holds the store: the database
    /// (`ROOT/.s3torrent.redb`), the objects' data files
    /// (`ROOT/.s3torrent/data/`) and the buckets' folders for files placed
    /// by hand (`ROOT/BUCKET/`). Created when missing.
    pub root: PathBuf,
    /// Virtual-hosted-style addressing: `BUCKET.DOMAIN[:port]` names the
    /// bucket. Without it every request is path-style.
    pub base_domain: Option<String>,
    /// The accounts and their SigV4 credentials; at least one. The first
    /// owns the buckets found in the folder without a record (made by hand).
    pub users: Vec<User>,
    /// How the endpoint faces its clients (the torrents it makes and the
    /// URLs they name, its HTTP front's clocks and limits, the proxies it
    /// believes), as the gateway's
    #[cfg_attr(
        feature = "gateway",
        doc = "[`GatewayConfig::front`](crate::GatewayConfig::front)."
    )]
    #[cfg_attr(
        not(feature = "gateway"),
        doc = "`GatewayConfig::front` (feature `gateway`)."
    )]
    pub front: FrontConfig,
    /// Where the console's "Download in your browser" loads WebTorrent from
    /// (an ES module exporting the `WebTorrent` class, as the package's
    /// browser build `webtorrent.min.js`): [`Self::DEFAULT_WEBTORRENT_JS`]
    /// by default. Never served by the endpoint itself.
    pub webtorrent_js: String,
    /// How the endpoint seeds its objects (as a tracker and peer, the
    /// default, as a web seed, or both) and how its swarm holds, as the
    /// gateway's
    #[cfg_attr(
        feature = "gateway",
        doc = "[`GatewayConfig::swarm`](crate::GatewayConfig::swarm)."
    )]
    #[cfg_attr(
        not(feature = "gateway"),
        doc = "`GatewayConfig::swarm` (feature `gateway`)."
    )]
    pub swarm: SwarmConfig,
    /// Whether SSE-C (customer-provided keys) is taken over plain HTTP:
    /// S3 takes it over HTTPS only, and so does `serve` by default
    /// ([`SseCOverHttp::Refuse`]); a request over TLS (the S3 listener's,
    /// or a trusted proxy's, as `aws:SecureTransport` sees it) always
    /// brings it.
    pub sse_c_over_http: SseCOverHttp,
}

/// Whether `serve` takes SSE-C keys on a plain-HTTP S3 listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SseCOverHttp {
    /// Refused with S3's 400 `InvalidRequest`, as S3 does (the default).
    #[default]
    Refuse,
    /// Taken over plain HTTP too: for a listener on loopback, and for
    /// test suites that run over plain HTTP.
    Allow,
}

impl ServerConfig {
    /// The default [`header_read_timeout`](FrontConfig::header_read_timeout): 10 s.
    pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default [`idle_timeout`](FrontConfig::idle_timeout): 20 s.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
    /// The default [`send_timeout`](FrontConfig::send_timeout): 60 s.
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default [`max_connections`](FrontConfig::max_connections): 1024.
    pub const DEFAULT_MAX_CONNECTIONS: NonZeroUsize = NonZeroUsize::new(1024).expect("not zero");

    /// The open files kept for everything but S3 connections: the
    /// database, the listeners, stdio, the runtime's.
    pub const RESERVED_FILES: u64 = 64;

    /// The open files kept for the tracker's and the seeding peer's
    /// connections and the files they seed from, when seeding as a peer.
    pub const SWARM_FILES: u64 = 512;

    /// The S3 connections an open-files limit of `open_files` allows: each
    /// connection may hold its socket and an object's data file, after
    /// [`RESERVED_FILES`](Self::RESERVED_FILES) (and
    /// [`SWARM_FILES`](Self::SWARM_FILES) when `seeding` has a peer):
    /// `(open_files - reserved) / 2`, at least 16, at most
    /// [`DEFAULT_MAX_CONNECTIONS`](Self::DEFAULT_MAX_CONNECTIONS).
    ///
    /// ```
    /// use s3torrent_server::{Seeding, ServerConfig};
    ///
    /// assert_eq!(ServerConfig::max_connections_for(256, Seeding::Web).get(), 96);
    /// assert_eq!(ServerConfig::max_connections_for(1024, Seeding::Peer).get(), 224);
    /// assert_eq!(ServerConfig::max_connections_for(1 << 20, Seeding::Peer).get(), 1024);
    /// assert_eq!(ServerConfig::max_connections_for(100, Seeding::Peer).get(), 16);
    /// ```
    pub fn max_connections_for(open_files: u64, seeding: Seeding) -> NonZeroUsize {
        let reserved = Self::RESERVED_FILES
            + if seeding.has_peer() {
                Self::SWARM_FILES
            } else {
                0
            };
        let allowed = open_files.saturating_sub(reserved) / 2;
        let allowed = usize::try_from(allowed)
            .unwrap_or(usize::MAX)
            .clamp(16, Self::DEFAULT_MAX_CONNECTIONS.get());
        NonZeroUsize::new(allowed).unwrap_or(Self::DEFAULT_MAX_CONNECTIONS)
    }
    /// WebTorrent's published browser build, from a public CDN.
    pub const DEFAULT_WEBTORRENT_JS: &str =
        "https://cdn.jsdelivr.net/npm/webtorrent@2/dist/webtorrent.min.js";
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            root: PathBuf::from("data"),
            base_domain: None,
            users: Vec::new(),
            front: FrontConfig::default(),
            webtorrent_js: Self::DEFAULT_WEBTORRENT_JS.to_owned(),
            swarm: SwarmConfig::default(),
            sse_c_over_http: SseCOverHttp::Refuse,
        }
    }
}

/// How an endpoint (`serve`, the gateway) seeds its objects and how its
/// swarm (the tracker, the seeding peer, the DHT node) holds. One part of
/// both [`ServerConfig`] and
#[cfg_attr(feature = "gateway", doc = "[`GatewayConfig`](crate::GatewayConfig).")]
#[cfg_attr(not(feature = "gateway"), doc = "`GatewayConfig` (feature `gateway`).")]
///
/// ```
/// use s3torrent_server::{Seeding, ServerConfig, SwarmConfig};
///
/// let mut config = ServerConfig::default();
/// assert_eq!(config.swarm.seeding, Seeding::Peer);
/// config.swarm.ration_above = 0;
/// assert_eq!(SwarmConfig::default().ration_above, SwarmConfig::DEFAULT_RATION_ABOVE);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwarmConfig {
    /// How the endpoint seeds its objects: as a tracker and peer (`serve`'s
    /// default), as a web seed (the gateway's: the object's URL on the
    /// gateway, whose GETs pass through to the cluster), or both. The
    /// gateway's seeding peer reads pieces from the cluster.
    pub seeding: Seeding,
    /// The cap on the endpoint's total upload in bytes per second, peer
    /// connections and GetObject bodies (the web seed) together, shared
    /// between them; `None` is unlimited. (The gateway's web seed GETs pass
    /// through, uncapped: there the cap is the seeding peer's.)
    pub seed_rate: Option<NonZeroU64>,
    /// The seeding peer offers a torrent's pieces to every peer at once
    /// while at most this many peers want it (interested connections, or
    /// leechers that announced to the tracker) and `seed_rate` holds no
    /// sender back; past that it rations them (a few pieces to each
    /// peer, different ones, so that the peers pass them on). 0 rations
    /// whenever anyone is interested. [`Self::DEFAULT_RATION_ABOVE`] by
    /// default.
    pub ration_above: usize,
    /// Whether the seeding peer speaks message stream encryption (MSE/PE):
    /// [`PeerEncryption::Prefer`] (the default) accepts plain and encrypted
    /// connections and dials plain unless the leecher's announce said
    /// `requirecrypto=1` (and once more, encrypted, a leecher that closed
    /// the plain dial before its handshake); [`PeerEncryption::Require`] accepts and dials
    /// encrypted only (RC4); [`PeerEncryption::Off`] plain only.
    pub peer_encryption: PeerEncryption,
    /// How the tracker and the seeding peer hold under floods.
    pub limits: SwarmLimits,
    /// A Mainline DHT node (BEP 5) that announces every served object's
    /// info-hash with the seeding peer's port, so that a magnet link with
    /// only its `xt` finds the endpoint; `None` (the default): no DHT. It
    /// needs the seeding peer ([`Seeding::Peer`] or [`Seeding::Both`]).
    pub dht: Option<DhtConfig>,
}

impl SwarmConfig {
    /// The default [`ration_above`](Self::ration_above): 8. A handful of
    /// downloaders on fast links finish sooner from a plain seed (rationed,
    /// they must get most pieces from each other); a crowd is rationed.
    pub const DEFAULT_RATION_ABOVE: usize = 8;
}

impl Default for SwarmConfig {
    fn default() -> Self {
        SwarmConfig {
            seeding: Seeding::Peer,
            seed_rate: None,
            ration_above: Self::DEFAULT_RATION_ABOVE,
            peer_encryption: PeerEncryption::Prefer,
            limits: SwarmLimits::default(),
            dht: None,
        }
    }
}

/// How an endpoint (`serve`, the gateway) faces its clients: the torrents
/// it makes and the URLs they name, the clocks and the connection limit of
/// its HTTP front, and the reverse proxies it believes. One part of both
/// [`ServerConfig`] and
#[cfg_attr(feature = "gateway", doc = "[`GatewayConfig`](crate::GatewayConfig).")]
#[cfg_attr(not(feature = "gateway"), doc = "`GatewayConfig` (feature `gateway`).")]
///
/// ```
/// use s3torrent_server::ServerConfig;
///
/// let mut config = ServerConfig::default();
/// config.front.public_url = Some("https://s3.example.com".into());
/// assert_eq!(config.front.max_connections, ServerConfig::DEFAULT_MAX_CONNECTIONS);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FrontConfig {
    /// The largest object that gets a torrent, in bytes (the AWS limit,
    /// 5 GB, by default).
    pub max_torrent_size: u64,
    /// Which torrents `?torrent` answers: v1 (as Amazon S3), v2 or hybrid.
    pub torrent_version: TorrentVersion,
    /// Further trackers for every torrent, each its own tier after the
    /// endpoint's own (an external tracker, for example). Seeding as a
    /// peer, the endpoint announces itself to each (`http://` and `udp://`;
    /// an `https://` one is listed, not announced to: no TLS client yet).
    pub trackers: Vec<String>,
    /// The S3 endpoint as clients reach it (`http(s)://HOST[:PORT]`): the
    /// web seed's base in torrents. `None`: `http://` (`https://` with
    /// [`Listeners::tls`](crate::Listeners::tls)) and the listener's
    /// address (which a listener on every interface, `0.0.0.0`, is not).
    pub public_url: Option<String>,
    /// The endpoint's own tracker as clients reach it
    /// (`http(s)://HOST[:PORT]/announce`), listed first in torrents. `None`:
    /// `http://` (`https://` with [`Listeners::tls`](crate::Listeners::tls))
    /// and the tracker listener's address, then `/announce`.
    pub announce_url: Option<String>,
    /// The reverse proxies in front of the HTTP tracker, the WebSocket
    /// tracker and the S3 listener: a request from one of them is taken to
    /// come from the client its `X-Forwarded-For` (the right-most entry
    /// that is not a trusted proxy) or `Forwarded: for=` names (announces
    /// list it, the WebSocket tracker counts its connections under it, S3's
    /// log line shows it), and, on the S3 listener, to have been secure
    /// (`aws:SecureTransport`) as its `X-Forwarded-Proto` or `Forwarded:
    /// proto=` says ([`TrustedProxies::scheme`]). None by default: the
    /// socket's address and transport, always.
    pub trusted_proxies: TrustedProxies,
    /// How long a client has to send a request's whole head (request line
    /// and headers), on the S3 listener; `None` waits for ever. For a new
    /// connection the clock starts at the accept; for the next request on a
    /// keep-alive connection, at its first byte (before that,
    /// [`idle_timeout`](Self::idle_timeout) applies). Then the connection
    /// is closed. It does not cover bodies (see
    /// [`min_body_rate`](Self::min_body_rate)) or a slow reader of an
    /// answer (see [`send_timeout`](Self::send_timeout)). 10 s by default.
    pub header_read_timeout: Option<Duration>,
    /// How long a keep-alive connection may wait, after an answer, for the
    /// first byte of its next request; then it is closed. `None` keeps it
    /// for ever. 20 s by default.
    pub idle_timeout: Option<Duration>,
    /// How long an answer may wait for the client to read it: a write to
    /// the socket that makes no progress for this long closes the
    /// connection (a client that stops reading holds no connection slot for
    /// ever). `None` waits for ever. 60 s by default.
    pub send_timeout: Option<Duration>,
    /// The slowest a request body may arrive (a PutObject, an UploadPart);
    /// a slower one is cut off with S3's `RequestTimeout` (400) and its
    /// connection closed. `None` lets a body take for ever. 4 KiB/s over
    /// 10 s windows after a 10 s grace by default
    /// ([`MinBodyRate::DEFAULT`]).
    pub min_body_rate: Option<MinBodyRate>,
    /// How many S3 connections are served at once. At the limit, the
    /// oldest quiet connection (an idle keep-alive one, or one that has
    /// sent nothing since its accept) is closed for a newcomer; while every
    /// connection is active, newcomers wait, in the listener's backlog, for
    /// one to close (a slow one is closed by the timeouts above). 1024 by
    /// default; the command line's default is what the open-files limit
    /// allows ([`ServerConfig::max_connections_for`]).
    pub max_connections: NonZeroUsize,
}

impl Default for FrontConfig {
    /// The AWS size limit, v1 torrents, no further trackers, the listeners'
    /// own addresses, no trusted proxy, and the default clocks and limit.
    fn default() -> Self {
        FrontConfig {
            max_torrent_size: TorrentPolicy::AWS_MAX_OBJECT_SIZE,
            torrent_version: TorrentVersion::V1,
            trackers: Vec::new(),
            public_url: None,
            announce_url: None,
            trusted_proxies: TrustedProxies::default(),
            header_read_timeout: Some(ServerConfig::DEFAULT_HEADER_READ_TIMEOUT),
            idle_timeout: Some(ServerConfig::DEFAULT_IDLE_TIMEOUT),
            send_timeout: Some(ServerConfig::DEFAULT_SEND_TIMEOUT),
            min_body_rate: Some(MinBodyRate::DEFAULT),
            max_connections: ServerConfig::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// The endpoint's Mainline DHT node (BEP 5, README "The DHT"): it joins the
/// DHT through `bootstrap`, announces every served info-hash with the
/// seeding peer's port, again every `interval`, and stops announcing an
/// info-hash once its object is no longer served.
///
/// ```
/// use s3torrent_server::DhtConfig;
///
/// let mut dht = DhtConfig::default();
/// assert_eq!(dht.bootstrap.len(), DhtConfig::PUBLIC_ROUTERS.len());
/// dht.bootstrap = vec!["127.0.0.1:6882".into()];
/// assert_eq!(dht.listen, None); // the seeding peer's address, over UDP
/// assert_eq!(dht.interval.as_secs(), 900);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DhtConfig {
    /// The node's UDP address, IPv4 (the DHT crate speaks no IPv6). `None`:
    /// the seeding peer's address and port, over UDP, as libtorrent does (a
    /// peer on `[::]` gives `0.0.0.0`). Remote nodes record the announce's
    /// source address: the endpoint's peer must be reachable at that IP.
    pub listen: Option<SocketAddr>,
    /// The nodes the DHT is joined through, `HOST:PORT` (resolved once, at
    /// start). [`DhtConfig::PUBLIC_ROUTERS`] by default.
    pub bootstrap: Vec<String>,
    /// How often each served info-hash is announced again (peers stored in
    /// the DHT expire: libtorrent keeps them 45 minutes). 15 minutes by
    /// default.
    pub interval: Duration,
}

impl DhtConfig {
    /// The public routers BitTorrent clients bootstrap from.
    pub const PUBLIC_ROUTERS: [&'static str; 4] = [
        "router.bittorrent.com:6881",
        "router.utorrent.com:6881",
        "dht.transmissionbt.com:6881",
        "dht.libtorrent.org:25401",
    ];
    /// The default [`interval`](Self::interval): 15 minutes, as libtorrent's
    /// `dht_announce_interval`.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15 * 60);
}

impl Default for DhtConfig {
    fn default() -> Self {
        DhtConfig {
            listen: None,
            bootstrap: Self::PUBLIC_ROUTERS
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            interval: Self::DEFAULT_INTERVAL,
        }
    }
}

/// How the tracker and the seeding peer hold under floods (README,
/// "Floods"): idle or useless connections cannot lock useful ones out, and
/// the clients behind one NAT address are each served at their own rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SwarmLimits {
    /// The tracker's announce rate, per client and per address.
    pub announce_rate: AnnounceRate,
    /// How many peer connections one address (an IPv6 /64) holds at once.
    /// 8 by default.
    pub peers_per_address: NonZeroUsize,
    /// How many tracker connections one address (an IPv6 /64) holds at
    /// once. 32 by default.
    pub tracker_connections_per_address: NonZeroUsize,
    /// How long a peer connection has to complete its handshake (a
    /// tracker connection, to be useful at all) before it may be closed to
    /// admit a newcomer when the connection slots run out. 3 s by default.
    pub handshake_grace: Duration,
}

impl SwarmLimits {
    /// The default [`peers_per_address`](Self::peers_per_address): 8.
    pub const DEFAULT_PEERS_PER_ADDRESS: NonZeroUsize = NonZeroUsize::new(8).expect("not zero");
    /// The default
    /// [`tracker_connections_per_address`](Self::tracker_connections_per_address): 32.
    pub const DEFAULT_TRACKER_CONNECTIONS_PER_ADDRESS: NonZeroUsize =
        NonZeroUsize::new(32).expect("not zero");
    /// The default [`handshake_grace`](Self::handshake_grace): 3 s.
    pub const DEFAULT_HANDSHAKE_GRACE: Duration = Duration::from_secs(3);
}

impl Default for SwarmLimits {
    fn default() -> Self {
        SwarmLimits {
            announce_rate: AnnounceRate::DEFAULT,
            peers_per_address: Self::DEFAULT_PEERS_PER_ADDRESS,
            tracker_connections_per_address: Self::DEFAULT_TRACKER_CONNECTIONS_PER_ADDRESS,
            handshake_grace: Self::DEFAULT_HANDSHAKE_GRACE,
        }
    }
}

/// The tracker's announce rate: announces (and scrapes) per minute from
/// one client (an address, an IPv6 /64, and the peer id it announces as),
/// and from one address over all its clients. Written
/// `PER_CLIENT[/PER_ADDRESS]`; without `/PER_ADDRESS`, 25 times
/// `PER_CLIENT`.
///
/// ```
/// use s3torrent_server::AnnounceRate;
///
/// let rate: AnnounceRate = "60/1000".parse()?;
/// assert_eq!((rate.per_client(), rate.per_address()), (60, 1000));
/// assert_eq!("120".parse::<AnnounceRate>()?, AnnounceRate::DEFAULT);
/// assert!("0".parse::<AnnounceRate>().is_err());
/// assert!("100/10".parse::<AnnounceRate>().is_err());
/// # Ok::<(), s3torrent_server::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceRate {
    per_client: u32,
    per_address: u32,
}

impl AnnounceRate {
    /// 120 a minute per client, 3,000 per address.
    pub const DEFAULT: AnnounceRate = AnnounceRate {
        per_client: 120,
        per_address: 3000,
    };

    /// Announces a minute from one client.
    pub fn per_client(self) -> u32 {
        self.per_client
    }

    /// Announces a minute from one address, all its clients together.
    pub fn per_address(self) -> u32 {
        self.per_address
    }
}

impl fmt::Display for AnnounceRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.per_client, self.per_address)
    }
}

impl FromStr for AnnounceRate {
    type Err = Error;

    fn from_str(text: &str) -> Result<AnnounceRate, Error> {
        let bad = |why: &str| {
            Error::Config(format!(
                "announce rate {text:?}: {why} (expected PER_CLIENT[/PER_ADDRESS], announces a minute)"
            ))
        };
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("not a positive number"))
        };
        let (client, address) = match text.split_once('/') {
            Some((c, a)) => (number(c)?, number(a)?),
            None => {
                let c = number(text)?;
                (c, c.saturating_mul(25))
            }
        };
        if address < client {
            return Err(bad("the per-address rate is below the per-client one"));
        }
        Ok(AnnounceRate {
            per_client: client,
            per_address: address,
        })
    }
}

/// The slowest a request body may arrive: at least `bytes_per_second`,
/// measured over consecutive windows of `window`, the first of them
/// starting once `grace` has passed.
///
/// Only the time the server spends waiting for the body counts: while it
/// is busy with what arrived (writing it to disk, say) the clock stops, so
/// a slow disk is never blamed on the client.
///
/// ```
/// use std::num::NonZeroU64;
/// use std::time::Duration;
/// use s3torrent_server::MinBodyRate;
///
/// let rate = MinBodyRate::new(NonZeroU64::new(1024).unwrap(), Duration::from_secs(5), Duration::ZERO)?;
/// assert_eq!(rate.bytes_per_second().get(), 1024);
/// assert!(MinBodyRate::new(NonZeroU64::MIN, Duration::ZERO, Duration::ZERO).is_err());
/// assert!(MinBodyRate::new(NonZeroU64::MIN, Duration::from_micros(999), Duration::ZERO).is_err());
/// # Ok::<(), s3torrent_server::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinBodyRate {
    bytes_per_second: NonZeroU64,
    window: Duration,
    grace: Duration,
}

impl MinBodyRate {
    /// 4 KiB/s, over 10 s windows, after 10 s of grace.
    pub const DEFAULT: MinBodyRate = MinBodyRate {
        bytes_per_second: NonZeroU64::new(4096).expect("not zero"),
        window: Duration::from_secs(10),
        grace: Duration::from_secs(10),
    };

    /// A minimum rate; `window` must be at least a millisecond.
    pub fn new(
        bytes_per_second: NonZeroU64,
        window: Duration,
        grace: Duration,
    ) -> Result<MinBodyRate, Error> {
        if window < Duration::from_millis(1) {
            return Err(Error::Config(format!(
                "the minimum body rate's window is {window:?}; it must be at least 1 ms"
            )));
        }
        Ok(MinBodyRate {
            bytes_per_second,
            window,
            grace,
        })
    }

    /// The rate, in bytes per second.
    pub fn bytes_per_second(self) -> NonZeroU64 {
        self.bytes_per_second
    }

    /// How long each measured window is.
    pub fn window(self) -> Duration {
        self.window
    }

    /// How long a body may take before the first window starts.
    pub fn grace(self) -> Duration {
        self.grace
    }

    /// The bytes a whole window must bring.
    pub(crate) fn per_window(self) -> u64 {
        (self.bytes_per_second.get() as f64 * self.window.as_secs_f64()) as u64
    }
}

/// How the endpoint seeds its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Seeding {
    /// Torrents carry `announce` and `announce-list` with the endpoint's own
    /// tracker, and the endpoint is a seeding peer in each swarm: downloaders
    /// find each other and share the load.
    #[default]
    Peer,
    /// Torrents carry `url-list` (BEP 19) and no tracker: clients download
    /// from the endpoint by HTTP, each one all of the object.
    Web,
    /// Tracker, seeding peer and `url-list`.
    Both,
}

impl Seeding {
    /// Whether torrents list the endpoint's tracker and it seeds as a peer.
    pub fn has_peer(self) -> bool {
        matches!(self, Seeding::Peer | Seeding::Both)
    }

    /// Whether torrents list the endpoint as a web seed.
    pub fn has_web_seed(self) -> bool {
        matches!(self, Seeding::Web | Seeding::Both)
    }

    /// The flag's spelling: `peer`, `web` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Seeding::Peer => "peer",
            Seeding::Web => "web",
            Seeding::Both => "both",
        }
    }
}

impl fmt::Display for Seeding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `peer`, `web` or `both`.
impl FromStr for Seeding {
    type Err = Error;

    fn from_str(text: &str) -> Result<Seeding, Error> {
        match text {
            "peer" => Ok(Seeding::Peer),
            "web" => Ok(Seeding::Web),
            "both" => Ok(Seeding::Both),
            _ => Err(Error::Config(format!(
                "seeding {text:?}: expected peer, web or both"
            ))),
        }
    }
}

/// Whether the seeding peer encrypts its connections (message stream
/// encryption, MSE/PE, the RC4 obfuscation of libtorrent, Transmission and
/// aria2): the `--peer-encryption` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerEncryption {
    /// Plain and encrypted connections are accepted; the endpoint dials
    /// leechers plain, encrypted those whose announce required it or that
    /// closed the plain dial before their handshake.
    #[default]
    Prefer,
    /// Only encrypted connections (RC4), accepted and dialed.
    Require,
    /// Plain connections only.
    Off,
}

impl PeerEncryption {
    /// The flag's spelling: `prefer`, `require` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerEncryption::Prefer => "prefer",
            PeerEncryption::Require => "require",
            PeerEncryption::Off => "off",
        }
    }

    /// The peer crate's policy.
    pub(crate) fn policy(self) -> s3torrent_peer::EncryptionPolicy {
        match self {
            PeerEncryption::Prefer => s3torrent_peer::EncryptionPolicy::Prefer,
            PeerEncryption::Require => s3torrent_peer::EncryptionPolicy::Require,
            PeerEncryption::Off => s3torrent_peer::EncryptionPolicy::Off,
        }
    }
}

impl fmt::Display for PeerEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `prefer`, `require` or `off`.
impl FromStr for PeerEncryption {
    type Err = Error;

    fn from_str(text: &str) -> Result<PeerEncryption, Error> {
        match text {
            "prefer" => Ok(PeerEncryption::Prefer),
            "require" => Ok(PeerEncryption::Require),
            "off" => Ok(PeerEncryption::Off),
            _ => Err(Error::Config(format!(
                "peer encryption {text:?}: expected prefer, require or off"
            ))),
        }
    }
}

/// A configured user: an account with SigV4 credentials.
///
/// Its canonical ID is derived from the account ID, so it is stable across
/// restarts and the same on every server configured with that account.
#[derive(Clone)]
pub struct User {
    pub(crate) access_key: String,
    pub(crate) secret_key: String,
    pub(crate) principal: Principal,
}

/// The secret key stays out of logs and panic messages (a `ServerConfig`
/// printed with `{:?}` prints its users).
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("access_key", &self.access_key)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl User {
    /// The development user `serve` runs with when no user is configured.
    pub const DEVELOPMENT: (&'static str, &'static str, &'static str) =
        ("s3torrent", "s3torrent-dev-secret", "000000000001");

    /// A user from its access key, secret key and 12-digit account ID.
    pub fn new(access_key: &str, secret_key: &str, account: &str) -> Result<User, Error> {
        let bad = |reason: &str| Error::User {
            access_key: access_key.to_owned(),
            reason: reason.to_owned(),
        };
        if access_key.is_empty() || secret_key.is_empty() {
            return Err(bad("the access key and the secret key must not be empty"));
        }
        Ok(User {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            principal: principal_of_account(account).map_err(|e| bad(e.message()))?,
        })
    }

    /// The development user ([`User::DEVELOPMENT`]).
    pub fn development() -> User {
        let (access, secret, account) = Self::DEVELOPMENT;
        User::new(access, secret, account).expect("the development user is valid")
    }

    /// The SigV4 access key.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// The account and canonical ID this user acts as.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// The principal of an account ID: a stable canonical ID per account, the
/// hex MD5 of `s3torrent:<account>`; the S3 model's error for an account ID
/// that is not 12 digits.
pub(crate) fn principal_of_account(account: &str) -> Result<Principal, S3Error> {
    let account_id = AccountId::new(account)?;
    let canonical = hex(&Md5::digest(format!("s3torrent:{account}")));
    let canonical = CanonicalId::new(canonical)?;
    Ok(Principal::new(canonical, account_id))
}

/// `ACCESS:SECRET:ACCOUNT_ID`, as `serve --user` takes it. The secret may
/// not contain `:`; the account ID is 12 digits.
impl FromStr for User {
    type Err = Error;

    fn from_str(text: &str) -> Result<User, Error> {
        let mut parts = text.splitn(3, ':');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(access), Some(secret), Some(account)) => User::new(access, secret, account),
            _ => Err(Error::User {
                access_key: text.split(':').next().unwrap_or_default().to_owned(),
                reason: "expected ACCESS:SECRET:ACCOUNT_ID".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod user_tests {
    use super::User;

    #[test]
    fn a_user_printed_shows_no_secret() {
        let user: User = "AKIA1:very-secret-key:111122223333".parse().unwrap();
        let printed = format!("{user:?} {:?}", super::ServerConfig::default());
        assert!(printed.contains("AKIA1"), "{printed}");
        assert!(!printed.contains("very-secret-key"), "{printed}");
        assert!(!printed.contains(User::DEVELOPMENT.1), "{printed}");
    }
}
