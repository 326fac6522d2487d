//! The tokio edge: accept connections, hand them to hyper and s3s, log one
//! line per request, and shut down gracefully.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;
use s3torrent_http::AdapterConfig;
use s3torrent_s3::{Addressing, TorrentPolicy, TorrentService, TorrentVersion, WebSeed};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, watch};

use crate::config::{MinBodyRate, Seeding, ServerConfig};
use crate::error::Error;
use crate::front;
use crate::listen::{Endpoint, Scheme, SwarmListeners, accept, millis};
use crate::ops::{self, Server};
use crate::route;
use crate::store::{DbCache, Store};
use crate::swarm::{self, Swarm, SwarmSource};
use crate::throttle::Throttle;
use crate::tls::Tls;

/// How long a graceful shutdown waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(10);

/// The sockets [`serve`] listens on, bound by the host.
#[derive(Debug)]
#[non_exhaustive]
pub struct Listeners {
    /// S3 and `?torrent`. Its local address is the web seed's address in
    /// torrents (`url-list`).
    pub s3: TcpListener,
    /// The tracker and the seeding peer, which `--seeding peer` and `both`
    /// need.
    pub swarm: Option<SwarmListeners>,
    /// Prometheus metrics and health checks (`/metrics`, `/health`,
    /// `/ready`), when there is a listener for them:
    /// [`Listeners::bind_metrics`]. It speaks plain HTTP, with or without
    /// [`tls`](Self::tls).
    pub metrics: Option<TcpListener>,
    /// The certificate the S3 listener and the HTTP tracker present, when
    /// they speak HTTPS ([`Tls::load`]); torrents then name `https://` web
    /// seeds and trackers by default. `None`: plain HTTP.
    pub tls: Option<Tls>,
}

impl Listeners {
    /// S3 only: enough for [`Seeding::Web`].
    pub fn s3(s3: TcpListener) -> Listeners {
        Listeners {
            s3,
            swarm: None,
            metrics: None,
            tls: None,
        }
    }

    /// S3, the tracker and the seeding peer.
    pub fn with_swarm(s3: TcpListener, tracker: TcpListener, peer: TcpListener) -> Listeners {
        Listeners {
            s3,
            swarm: Some(SwarmListeners {
                tracker,
                peer,
                udp_tracker: None,
            }),
            metrics: None,
            tls: None,
        }
    }

    /// Binds the metrics listener (`GET /metrics`, `/health`, `/ready`) at
    /// `addr`.
    pub async fn bind_metrics(&mut self, addr: &str) -> Result<(), Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        self.metrics = Some(listener);
        Ok(())
    }

    /// Binds the UDP tracker's socket at `addr`, or, when `None`, at the
    /// HTTP tracker listener's own address (the same port, over UDP, as
    /// opentracker does). Nothing without the swarm's listeners.
    pub async fn bind_udp_tracker(&mut self, addr: Option<&str>) -> Result<(), Error> {
        let Some(swarm) = &mut self.swarm else {
            return Ok(());
        };
        let addr = match addr {
            Some(a) => a.to_owned(),
            None => swarm
                .tracker
                .local_addr()
                .map_err(Error::Listener)?
                .to_string(),
        };
        let socket = UdpSocket::bind(&addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        swarm.udp_tracker = Some(socket);
        Ok(())
    }

    /// Binds the three addresses (the tracker and the peer only when
    /// `seeding` needs them).
    pub async fn bind(
        s3: &str,
        seeding: Seeding,
        tracker: &str,
        peer: &str,
    ) -> Result<Listeners, Error> {
        let bind = |addr: &str| {
            let addr = addr.to_owned();
            async move {
                TcpListener::bind(&addr)
                    .await
                    .map_err(|source| Error::Bind { addr, source })
            }
        };
        let s3 = bind(s3).await?;
        Ok(if seeding.has_peer() {
            Listeners::with_swarm(s3, bind(tracker).await?, bind(peer).await?)
        } else {
            Listeners::s3(s3)
        })
    }
}

/// Serves S3 and `?torrent`, and with [`Seeding::Peer`] or
/// [`Seeding::Both`] the tracker and the seeding peer, until `shutdown`
/// completes; then lets requests in flight finish (at most 10 s).
///
/// Once the root is open it says so on stderr, ending with
/// `serve: listening on http://ADDR` (`https://` with
/// [`Listeners::tls`]); then one line per request, announce
/// and peer connection. Bind the addresses clients will reach: they are
/// written into the torrents. Opening the root fails with [`Error::Root`]
/// when another server holds its database; a configuration without users
/// fails with [`Error::NoUsers`], and one that seeds as a peer without its
/// listeners, or asks for a DHT node without seeding as a peer, with
/// [`Error::Config`]. A DHT node's address that is not IPv4, or cannot be
/// bound, is an [`Error::Listener`].
///
/// ```no_run
/// # async fn run() -> Result<(), s3torrent_server::Error> {
/// use s3torrent_server::{Listeners, ServerConfig, User, serve};
///
/// let mut config = ServerConfig::default();
/// config.users.push(User::development());
/// let listeners =
///     Listeners::bind("127.0.0.1:9000", config.seeding, "127.0.0.1:6969", "127.0.0.1:6881")
///         .await?;
/// serve(config, listeners, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    config: ServerConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    if config.users.is_empty() {
        return Err(Error::NoUsers);
    }
    check_dht(config.seeding, config.dht.as_ref())?;
    let checked = Checked::new(listeners, config.seeding)?;

    let mut auth = SimpleAuth::new();
    for u in &config.users {
        auth.register(u.access_key.clone(), u.secret_key.clone().into());
    }
    let store = Store::open(&config.root, config.users.clone()).map_err(|reason| Error::Root {
        path: config.root.clone(),
        reason,
    })?;
    let store = Arc::new(store);

    let advertised = Advertised::new(
        Endpoint::Serve,
        config.seeding,
        config.public_url.as_deref(),
        config.announce_url.as_deref(),
        &checked,
    )?;
    let own_trackers = advertised.own_trackers();
    let Checked {
        s3: listener,
        addr,
        swarm: swarm_listeners,
        metrics,
        tls,
        ..
    } = checked;
    let policy = advertised.policy(
        config.max_torrent_size,
        config.torrent_version,
        &config.trackers,
    );
    let torrents = Arc::new(TorrentService::with_cache(
        policy,
        DbCache::new(Arc::clone(&store)),
    ));
    let throttle = config.seed_rate.map(|rate| Arc::new(Throttle::new(rate)));

    let server = || Server {
        store: Arc::clone(&store),
        torrents: Arc::clone(&torrents),
        throttle: throttle.clone(),
    };
    // The same operations without a signature check, for a request whose
    // signature the outer service has checked already and whose signed
    // `Range` header is to be ignored (see `route::TorrentRoute`).
    let mut verified = S3ServiceBuilder::new(server());
    if let Some(domain) = &config.base_domain {
        verified.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    let verified = verified.build();
    let mut builder = S3ServiceBuilder::new(server());
    builder.set_auth(auth);
    builder.set_access(ops::Access {
        store: Arc::clone(&store),
    });
    if let Some(domain) = &config.base_domain {
        builder.set_host(BaseDomain(domain.to_ascii_lowercase()));
    }
    builder.set_route(route::TorrentRoute {
        store: Arc::clone(&store),
        torrents: Arc::clone(&torrents),
        config: AdapterConfig::new(config.base_domain.clone()),
        verified,
    });
    let service = builder.build();
    // The console's pages, on the S3 listener; its links name the
    // endpoint as clients reach it.
    let console = Arc::new(crate::console::Console::new(
        Arc::clone(&store),
        Arc::clone(&torrents),
        service.clone(),
        config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}")),
    ));

    let (stop, stopping) = watch::channel(false);
    let mut edges = Vec::new();
    if let Some(listeners) = swarm_listeners {
        let source: Arc<dyn SwarmSource> = Arc::new(Swarm::new(Arc::clone(&store), torrents));
        edges = swarm::spawn_edges(
            Endpoint::Serve,
            listeners,
            source,
            throttle.clone(),
            crate::swarm::SwarmSettings {
                peer: crate::swarm::PeerSettings {
                    ration_above: config.ration_above,
                    encryption: config.peer_encryption,
                },
                trusted: config.trusted_proxies.clone(),
                limits: config.swarm_limits,
                dht: config.dht.clone(),
                trackers: crate::swarm::Trackers {
                    own: own_trackers,
                    others: config.trackers.clone(),
                },
                tls: tls.clone(),
            },
            &stopping,
        )
        .map_err(Error::Listener)?;
    }

    // The start-up lines stay plain `eprintln!`, whatever the log format:
    // they are few, not on any hot path, and scripts and the end-to-end
    // tests wait for `serve: listening on http://ADDR` as a line of its own.
    // Everything logged per request, announce or peer connection, and every
    // warning, is a `tracing` event.
    eprintln!("serve: root {}", config.root.display());
    eprintln!(
        "serve: ?torrent answers {} torrents, seeding {}",
        config.torrent_version, config.seeding
    );
    if let Some(listener) = metrics {
        let store = Arc::clone(&store);
        let health: crate::metrics::Health =
            Arc::new(move || store.buckets().map(drop).map_err(|e| e.to_string()));
        edges.push(crate::metrics::spawn("serve", listener, health, &stopping)?);
    }
    eprintln!(
        "serve: listening on {}://{addr}",
        Scheme::of(tls.as_ref()).as_str()
    );

    let front = Front {
        endpoint: Endpoint::Serve,
        clocks: front::Clocks {
            header: config.header_read_timeout,
            idle: config.idle_timeout,
            send: config.send_timeout,
        },
        max_connections: config.max_connections,
        base_domain: config.base_domain.as_deref().map(Arc::from),
        tls,
    };
    let min_body_rate = config.min_body_rate;
    let cors = Arc::new(crate::cors::Cors {
        store: Arc::clone(&store),
        addressing: Arc::new(AdapterConfig::new(config.base_domain.clone())),
    });
    let base_domain = config.base_domain.clone();
    let handle = move |mut req: hyper::Request<hyper::body::Incoming>, request_id: String| {
        // A console page (`/_s3torrent/`), unless the host names a bucket.
        let page = crate::console::wants(
            req.uri().path(),
            crate::metrics::host_names_bucket(req.headers(), base_domain.as_deref()),
        )
        .then(|| Arc::clone(&console));
        let early = match page {
            Some(_) => None,
            None => front::screen(&mut req, &request_id),
        };
        req.extensions_mut()
            .insert(front::RequestId(request_id.clone()));
        let s3 = service.clone();
        let cors = Arc::clone(&cors);
        // Only a request with `Origin` is looked at for CORS.
        let cross_origin = cors.cross_origin(&req);
        async move {
            if let Some(console) = page {
                let uri = req.uri();
                return Ok(console.answer(req.method(), uri.path(), uri.query()).await);
            }
            if req.method() == hyper::Method::OPTIONS {
                return Ok(cors.preflight(&req, &request_id).await);
            }
            let mut answer = match early {
                Some(answer) => Ok(answer),
                None => call(&s3, req, min_body_rate, &request_id, &cors.store).await,
            };
            if let (Some(cross_origin), Ok(answer)) = (cross_origin, &mut answer) {
                cors.decorate(cross_origin, answer).await;
            }
            answer
        }
    };
    serve_http(&listener, front, shutdown, &stop, edges, handle).await;
    Ok(())
}

/// Once the S3 accept loop has ended: stops the edges (`stop`), lets open
/// connections finish for up to [`DRAIN`], and waits as long for each edge
/// task. `serve`'s and the gateway's way to end.
async fn drain(
    name: &str,
    stop: &watch::Sender<bool>,
    graceful: hyper_util::server::graceful::GracefulShutdown,
    edges: Vec<tokio::task::JoinHandle<()>>,
) {
    let _ = stop.send(true);
    eprintln!("{name}: shutting down");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(DRAIN) => {},
    }
    for edge in edges {
        let _ = tokio::time::timeout(DRAIN, edge).await;
    }
}

/// The DHT announces the seeding peer's port: it needs the peer.
pub(crate) fn check_dht(seeding: Seeding, dht: Option<&crate::DhtConfig>) -> Result<(), Error> {
    match dht {
        Some(_) if !seeding.has_peer() => Err(Error::Config(format!(
            "the DHT announces the seeding peer, which seeding {seeding} does not run: use --seeding peer or both with --dht"
        ))),
        _ => Ok(()),
    }
}

/// An endpoint's listeners, checked against its seeding, with their
/// addresses.
pub(crate) struct Checked {
    pub(crate) s3: TcpListener,
    pub(crate) addr: SocketAddr,
    /// The tracker's and the peer's, when seeding as a peer.
    pub(crate) swarm: Option<SwarmListeners>,
    /// The tracker's address, when seeding as a peer.
    pub(crate) tracker: Option<SocketAddr>,
    /// The UDP tracker's address, when there is one.
    pub(crate) udp_tracker: Option<SocketAddr>,
    /// The metrics listener, when there is one.
    pub(crate) metrics: Option<TcpListener>,
    /// The certificate of the S3 listener and the HTTP tracker, when they
    /// speak HTTPS.
    pub(crate) tls: Option<Tls>,
}

impl Checked {
    pub(crate) fn new(listeners: Listeners, seeding: Seeding) -> Result<Checked, Error> {
        let Listeners {
            s3,
            swarm,
            metrics,
            tls,
        } = listeners;
        let addr = s3.local_addr().map_err(Error::Listener)?;
        let swarm = match (seeding.has_peer(), swarm) {
            (true, Some(l)) => Some(l),
            (true, None) => {
                return Err(Error::Config(format!(
                    "seeding {seeding} needs the tracker's and the peer's listeners"
                )));
            }
            (false, _) => None,
        };
        let tracker = match &swarm {
            Some(l) => Some(l.tracker.local_addr().map_err(Error::Listener)?),
            None => None,
        };
        let udp_tracker = match swarm.as_ref().and_then(|l| l.udp_tracker.as_ref()) {
            Some(u) => Some(u.local_addr().map_err(Error::Listener)?),
            None => None,
        };
        Ok(Checked {
            s3,
            addr,
            swarm,
            tracker,
            udp_tracker,
            metrics,
            tls,
        })
    }
}

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
        if let Some(url) = &web_seed {
            eprintln!("{name}: torrents name the web seed {url}/BUCKET/KEY");
        }
        if let Some(url) = &announce {
            eprintln!("{name}: torrents name the tracker {url}");
        }
        if let Some(url) = &udp_announce {
            eprintln!("{name}: torrents name the UDP tracker {url}");
        }
        Ok(Advertised {
            web_seed,
            announce,
            udp_announce,
        })
    }

    /// The endpoint's own tracker URLs as torrents list them (HTTP, then
    /// UDP), none when it runs no tracker.
    pub(crate) fn own_trackers(&self) -> Vec<String> {
        self.announce
            .iter()
            .chain(&self.udp_announce)
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

/// One line per answered request, under the endpoint's target (a
/// `tracing` target is a constant).
macro_rules! request_line {
    ($target:literal, $($field:tt)*) => {
        tracing::info!(target: $target, $($field)*, "request")
    };
}

/// How an endpoint's HTTP front serves its connections.
pub(crate) struct Front {
    /// Whose front: its log lines' target.
    pub(crate) endpoint: Endpoint,
    /// The socket's header, idle and send clocks.
    pub(crate) clocks: front::Clocks,
    /// How many connections are served at once.
    pub(crate) max_connections: NonZeroUsize,
    /// `--base-domain`, under which a host names the bucket (for the
    /// metrics' operations).
    pub(crate) base_domain: Option<Arc<str>>,
    /// The certificate, when the front speaks HTTPS.
    pub(crate) tls: Option<Tls>,
}

/// The HTTP/1 front of `serve` and of the gateway, until `shutdown`: at
/// most `front.max_connections` connections (at the limit the oldest quiet
/// one is closed for a newcomer; while none is quiet, the newcomer waits
/// for a slot and further ones wait in the listener's backlog), each on a
/// socket with `front.clocks`
/// (`front::Guarded`); each request gets its ID and goes to `handle`; each
/// answer gets its small body gathered (one write), its IDs
/// (`front::stamp`; an answer that has a request ID already, an
/// upstream's, keeps it) and a log line. Then it stops the edges (`stop`),
/// and [`drain`]s the connections and `edges`.
pub(crate) async fn serve_http<H, F>(
    listener: &TcpListener,
    front: Front,
    shutdown: impl Future<Output = ()>,
    stop: &watch::Sender<bool>,
    edges: Vec<tokio::task::JoinHandle<()>>,
    handle: H,
) where
    H: Fn(hyper::Request<hyper::body::Incoming>, String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<s3s::Body>, s3s::HttpError>> + Send + 'static,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let accepting = accept_loop(listener, &front, stop.subscribe(), &graceful, handle);
    let mut shutdown = std::pin::pin!(shutdown);
    tokio::select! {
        () = accepting => {},
        () = shutdown.as_mut() => {},
    }
    drain(front.endpoint.name(), stop, graceful, edges).await;
}

/// [`serve_http`]'s accept loop, until `stopping`.
async fn accept_loop<H, F>(
    listener: &TcpListener,
    front: &Front,
    mut stopping: watch::Receiver<bool>,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    handle: H,
) where
    H: Fn(hyper::Request<hyper::body::Incoming>, String) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<hyper::Response<s3s::Body>, s3s::HttpError>> + Send + 'static,
{
    let Front {
        endpoint,
        clocks,
        max_connections,
        ref base_domain,
        ref tls,
    } = *front;
    let host_id = front::host_id_header();
    // HTTP/1 only (the only protocol built in): the auto builder then skips
    // its version sniffing, which reads the first bytes with no timeout.
    // The header and idle clocks are the socket's (`front::Guarded`), from
    // the accept on; hyper's header timeout would also cut idle keep-alive
    // connections at the header timeout.
    let mut http = ConnBuilder::new(TokioExecutor::new()).http1_only();
    // hyper takes more of an answer's body while what it has queued is
    // below this (and reads a request head up to it): a client that stops
    // reading holds about this much plus a chunk (`ops::STREAM_CHUNK`).
    http.http1().max_buf_size(WRITE_BUFFER);
    // A TLS connection is served by its own task once its handshake is
    // done, which shares the builder.
    let http = Arc::new(http);
    // The TLS handshake, with the peek at its first byte, is bounded by the
    // header timeout (it runs from the accept in any case), or, when that
    // is off, by its default: a stalled handshake always ends.
    let handshake_limit = clocks
        .header
        .unwrap_or(crate::config::ServerConfig::DEFAULT_HEADER_READ_TIMEOUT);
    let slots = Arc::new(Semaphore::new(
        max_connections.get().min(Semaphore::MAX_PERMITS),
    ));
    // The connections being served, the oldest first: when every slot is
    // taken, the oldest quiet one is closed for a newcomer.
    let live: Arc<Mutex<BTreeMap<u64, Arc<front::ConnState>>>> = Arc::default();
    let mut next_id = 0u64;
    loop {
        let Some((socket, client)) = accept(listener, &mut stopping, endpoint.name()).await else {
            break;
        };
        // A slot: a free one, or the slot of the oldest quiet connection
        // (an idle keep-alive one, or one that has sent nothing since its
        // accept), closed for this one; or, when every connection is
        // active, the first to end (the header, send and body clocks end
        // the slow ones).
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(tokio::sync::TryAcquireError::Closed) => break,
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                close_quietest(&live);
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    _ = stopping.changed() => break,
                }
            }
        };
        let open = crate::metrics::METRICS.connection(crate::metrics::Listener::S3);
        let conn_state = Arc::new(front::ConnState::default());
        let id = next_id;
        next_id += 1;
        live.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, Arc::clone(&conn_state));
        let (watched, live) = (Arc::clone(&conn_state), Arc::clone(&live));
        let socket = front::Guarded::new(socket, Arc::clone(&conn_state), clocks);
        let (handle, host_id) = (handle.clone(), host_id.clone());
        let base_domain = base_domain.clone();
        let logged =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                conn_state.start();
                let conn_state = Arc::clone(&conn_state);
                let host_id = host_id.clone();
                // For the log line: a clone of the URI shares its bytes.
                let (method, uri) = (req.method().clone(), req.uri().clone());
                // A refusal may come before the body is read (an access
                // check, a bad header): hyper then keeps the connection
                // only if it could drain the body at once, and a body
                // still on its way would be read as the next request.
                let has_body = front::declares_body(&req);
                let kind = crate::metrics::classify(
                    &method,
                    &uri,
                    req.headers(),
                    base_domain.as_deref(),
                    match endpoint {
                        Endpoint::Serve => crate::metrics::Console::Served,
                        // The gateway passes the console's paths through.
                        Endpoint::Gateway => crate::metrics::Console::None,
                    },
                );
                let started = Instant::now();
                let request_id = front::request_id();
                let answer = handle(req, request_id.clone());
                async move {
                    let mut resp = answer.await;
                    if let Ok(r) = &mut resp
                        && gather_small_body(r).await.is_err()
                    {
                        // Its file failed before a byte was sent: an
                        // answer can still say so.
                        *r = front::internal_error(&request_id);
                    }
                    let Ok(r) = &mut resp else {
                        return resp.map(|r| {
                            r.map(|body| {
                                front::Answer::new(body, conn_state, None, Box::new(|_| {}))
                            })
                        });
                    };
                    if !r.headers().contains_key(front::REQUEST_ID) {
                        front::stamp(r, &request_id, &host_id);
                    }
                    if has_body && r.status().as_u16() >= 400 {
                        r.headers_mut().insert(
                            http::header::CONNECTION,
                            http::HeaderValue::from_static("close"),
                        );
                    }
                    let request_id = r
                        .headers()
                        .get(front::REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .map_or(request_id, str::to_owned);
                    let status = r.status().as_u16();
                    let declared: Option<u64> = r
                        .headers()
                        .get(http::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .or_else(|| hyper::body::Body::size_hint(r.body()).exact());
                    // Logged once the answer is over: the body bytes it
                    // delivered (not its declared length) and whether it
                    // was complete; `ms` until then.
                    let report: front::Report = Box::new(move |delivery: front::Delivery| {
                        let path = uri.path_and_query().map_or("", |p| p.as_str());
                        let bytes = delivery.bytes;
                        let complete = delivery.end == front::End::Complete;
                        let ms = millis(started);
                        crate::metrics::METRICS.s3_answer(kind, status, bytes, uri.path());
                        match endpoint {
                            Endpoint::Serve => request_line!("serve",
                                %method, path, status, bytes, ms, complete, request_id, %client),
                            Endpoint::Gateway => request_line!("gateway",
                                %method, path, status, bytes, ms, complete, request_id, %client),
                        }
                    });
                    resp.map(|r| {
                        r.map(|body| front::Answer::new(body, conn_state, declared, report))
                    })
                }
            });
        let Some(tls) = tls else {
            let conn = http.serve_connection(TokioIo::new(socket), logged);
            let conn = graceful.watch(conn.into_owned());
            tokio::spawn(async move {
                tokio::select! {
                    _ = conn => {}
                    // Quiet, and its slot went to a newcomer: dropped (closed).
                    () = watched.evicted() => {}
                }
                live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                drop(slot);
            });
            continue;
        };
        // Over TLS: the handshake in the connection's own task, so that a
        // slow one holds up no other, under the same eviction as a plain
        // connection (one that has sent nothing is quiet).
        let (tls, http, watcher) = (tls.clone(), Arc::clone(&http), graceful.watcher());
        let mut stop = stopping.clone();
        tokio::spawn(async move {
            let served = async {
                let stream = tokio::select! {
                    stream = tls.handshake(socket, handshake_limit, endpoint.name(), client) => stream,
                    () = crate::listen::stopped(&mut stop) => None,
                };
                let Some(stream) = stream else {
                    return;
                };
                // The handshake is no request: a connection that sent
                // nothing more (no request in rustls's buffer either) is
                // quiet again, as one just accepted.
                if stream.get_ref().1.wants_read() {
                    watched.forget_heard();
                }
                let conn = http.serve_connection(TokioIo::new(stream), logged);
                let _ = watcher.watch(conn.into_owned()).await;
            };
            tokio::select! {
                () = served => {}
                // Quiet, and its slot went to a newcomer: dropped (closed).
                () = watched.evicted() => {}
            }
            live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            drop(slot);
            drop(open);
        });
    }
}

/// Tells the oldest quiet connection of `live` ([`front::Activity::Quiet`])
/// to close, if there is one.
fn close_quietest(live: &Mutex<BTreeMap<u64, Arc<front::ConnState>>>) {
    let mut live = live.lock().unwrap_or_else(|p| p.into_inner());
    let quietest = live
        .iter()
        .find(|(_, c)| c.activity() == front::Activity::Quiet)
        .map(|(id, _)| *id);
    if let Some(c) = quietest.and_then(|id| live.remove(&id)) {
        tracing::debug!(target: "serve", "a quiet connection closed for a newcomer");
        crate::metrics::METRICS.evicted(crate::metrics::Listener::S3, 1);
        c.evict();
    }
}

/// hyper's buffer per connection: the most of an answer it queues for the
/// socket (its default is 400 KiB), and the longest request head (request
/// line and headers) it reads; S3 takes heads of 8 KiB.
const WRITE_BUFFER: usize = 64 * 1024;

/// The largest answer body gathered before the head is sent (see
/// [`gather_small_body`]).
const ONE_WRITE: u64 = 16 * 1024;

/// Gathers a streamed body of at most [`ONE_WRITE`] bytes (a small
/// GetObject, read from its file) into one buffer before hyper sends the
/// head, so that head and body leave in one `writev`: otherwise hyper sends
/// the head alone while the first chunk is still being read.
async fn gather_small_body(resp: &mut hyper::Response<s3s::Body>) -> Result<(), s3s::StdError> {
    if resp.body().bytes().is_some() {
        return Ok(());
    }
    // s3s declares a streamed object's length in the header only.
    let declared = resp
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = resp.body_mut();
    match declared.or_else(|| hyper::body::Body::size_hint(body).exact()) {
        Some(n) if n > 0 && n <= ONE_WRITE => {
            body.store_all_limited(ONE_WRITE as usize).await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Hands a request to s3s, its body held to `min_body_rate` when it has
/// one: a body that falls below it is answered `RequestTimeout`, whatever
/// the operation made of the failed body.
async fn call(
    s3: &s3s::service::S3Service,
    req: hyper::Request<hyper::body::Incoming>,
    min_body_rate: Option<MinBodyRate>,
    request_id: &str,
    store: &Arc<Store>,
) -> Result<hyper::Response<s3s::Body>, s3s::HttpError> {
    let (req, too_slow) = front::meter(req, min_body_rate);
    if crate::chunked::needs_spooling(&req) {
        // A chunked upload: received whole first (`crate::chunked`).
        let resp = match crate::chunked::spool(store, req).await {
            Ok(req) => s3.call(req).await,
            Err(_) if too_slow.load(Ordering::Acquire) => {
                return Ok(front::request_timeout(request_id));
            }
            Err(refused) => {
                match &refused {
                    crate::chunked::Unspooled::Disk(why) => {
                        tracing::warn!(target: "serve", error = %why, "spooling a chunked upload failed");
                    }
                    crate::chunked::Unspooled::Body(why) => {
                        tracing::debug!(target: "serve", error = %why, "a chunked upload's body failed");
                    }
                    crate::chunked::Unspooled::TooLarge => {}
                }
                return Ok(refused.answer(request_id));
            }
        };
        return resp;
    }
    let (parts, body) = req.into_parts();
    let resp = match body {
        // No body to hold to a rate: s3s reads hyper's as it is.
        http_body_util::Either::Left(body) => {
            let req = hyper::Request::from_parts(parts, body);
            hyper::service::Service::call(s3, req).await
        }
        metered => {
            let req = hyper::Request::from_parts(parts, s3s::Body::http_body(metered));
            s3.call(req).await
        }
    };
    if too_slow.load(Ordering::Acquire) {
        return Ok(front::request_timeout(request_id));
    }
    resp
}

/// Virtual-hosted-style addressing under a base domain: `BUCKET.DOMAIN[:port]`
/// names the bucket; any other host is path-style. (s3s's own hosts compare
/// the `Host` header with its port, so `bucket.domain:9000` never matched.)
struct BaseDomain(String);

impl S3Host for BaseDomain {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> s3s::S3Result<VirtualHost<'a>> {
        // The adapter's rule, so that `?torrent` and the operations agree
        // (a trailing dot, a port, case, IPv6 literals).
        match s3torrent_http::virtual_host_bucket(host, &self.0) {
            Some(bucket) => Ok(VirtualHost::new(self.0.as_str()).with_bucket(bucket)),
            None => Ok(VirtualHost::new(host)),
        }
    }
}
