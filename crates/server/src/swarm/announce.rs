//! Announcing the endpoint to the other trackers its torrents list
//! (`--tracker`): the tokio edge of the sans-IO [`Announcer`].
//!
//! The sweeper ([`spawn_sweeper`](super::spawn_sweeper)) says which
//! info-hashes are served and which trackers each torrent lists; the
//! announcer makes them pairs, and this edge makes each announce it says is
//! due: an HTTP/1.1 GET over a fresh TCP connection (hyper's client), or
//! BEP 15's connect and announce over a UDP socket (each step sent again
//! once, after 15 s, then given 30 s). The endpoint announces as the seed
//! (`left=0`) under the seeding peer's peer id and port; the tracker takes
//! the endpoint's address from where the announce comes from. The peers a
//! tracker lists are offered to the seeding peer, which dials them as it
//! dials its own tracker's leechers. At shutdown every pair a tracker heard
//! of announces `stopped`, for at most [`STOP_DEADLINE`].

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    AnnounceAnswer, Announcer, AnnouncerConfig, AnswerLimits, ClientAnnounce, ClientError, Due,
    Event, Outcome, PeerFamily, PeerId, TrackerUrl, Transport, parse_announce_answer,
    parse_udp_announce_answer, parse_udp_connect_answer, udp_announce_request, udp_connect_request,
};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::peer::{AnnouncedCrypto, Offered, fill_random};
use super::{PeerEdge, Served, stopped};

/// How long an HTTP announce may take, from the name lookup to the last
/// byte of the answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a name lookup may take.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// BEP 15's first wait for an answer; it doubles for each try.
const UDP_FIRST_WAIT: Duration = Duration::from_secs(15);

/// How many times a UDP step (connect, announce) is sent: waits of 15 s
/// and 30 s, where BEP 15 goes up to 3840 s (a slot of the cap in flight
/// would be held an hour).
const UDP_TRIES: u32 = 2;

/// How long a UDP tracker's connection id is used (BEP 15: one minute).
const CONNECTION_ID_TTL: Duration = Duration::from_secs(60);

/// The most trackers whose connection ids are remembered.
const MAX_CONNECTION_IDS: usize = 1024;

/// How long the `stopped` announces may take at shutdown.
const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// The most tracker URLs whose parse is remembered (a torrent's URLs are
/// the policy's: a handful).
const MAX_URLS: usize = 1024;

/// What every announce of this endpoint says about it.
struct Seeder {
    peer_id: PeerId,
    /// The seeding peer's listening address (its port is announced).
    peer: SocketAddr,
    /// The `key` of every announce of this process.
    key: u32,
    edge: Arc<PeerEdge>,
    /// UDP trackers' connection ids, by address, with when they were got.
    connection_ids: Mutex<HashMap<SocketAddr, (u64, Instant)>>,
}

impl Seeder {
    /// Whether `addr`, listed by a tracker reached from `local`, is this
    /// endpoint's own seeding peer (trackers list the announcer too).
    fn is_self(&self, addr: SocketAddr, local: IpAddr) -> bool {
        addr.port() == self.peer.port()
            && (addr.ip() == self.peer.ip()
                || addr.ip() == local
                || (self.peer.ip().is_unspecified() && addr.ip().is_loopback()))
    }

    fn connection_id(&self, tracker: SocketAddr) -> Option<u64> {
        let ids = self
            .connection_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        ids.get(&tracker)
            .filter(|(_, got)| got.elapsed() < CONNECTION_ID_TTL)
            .map(|(id, _)| *id)
    }

    fn remember_connection_id(&self, tracker: SocketAddr, id: u64) {
        let mut ids = self
            .connection_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if ids.len() >= MAX_CONNECTION_IDS {
            ids.clear();
        }
        ids.insert(tracker, (id, Instant::now()));
    }

    fn forget_connection_id(&self, tracker: SocketAddr) {
        self.connection_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&tracker);
    }
}

/// Why an announce got no answer to use.
#[derive(Debug)]
enum Failed {
    /// The tracker answered, but refused this info-hash or said nothing
    /// usable (opentracker answers a UDP announce of an info-hash off its
    /// whitelist with an 8-byte packet): this pair backs off.
    Refused(String),
    /// The tracker was not reached, or answered no announce at all (an
    /// HTTP error status): the tracker backs off.
    Unreachable(String),
}

impl From<ClientError> for Failed {
    fn from(e: ClientError) -> Failed {
        match e {
            ClientError::Failure { .. } => Failed::Refused(e.to_string()),
            other => Failed::Refused(format!("unusable answer: {other}")),
        }
    }
}

/// An answer, and the local address the announce went out from (the
/// tracker lists the endpoint under it).
struct Answered {
    answer: AnnounceAnswer,
    local: IpAddr,
}

/// One finished announce.
struct Done {
    due: Due,
    result: Result<Answered, Failed>,
    started: Instant,
}

/// Starts announcing the endpoint to the trackers `served` lists, as the
/// seeding peer `edge` listening on `peer`, until `shutdown` (then the
/// `stopped` announces). `trackers` are the `--tracker` URLs: start-up
/// lines say which are announced to, and which cannot be (`https`: no TLS
/// client yet).
pub(crate) fn spawn_announcer(
    name: &str,
    trackers: &[String],
    served: watch::Receiver<Arc<Served>>,
    edge: Arc<PeerEdge>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut urls = Urls::default();
    for url in trackers {
        let parsed = TrackerUrl::parse(url);
        match &parsed {
            Ok(_) => eprintln!("{name}: announcing to {url}"),
            Err(e) => eprintln!("{name}: warning: not announcing to {url}: {e}"),
        }
        urls.remember(url, parsed.ok());
    }
    let mut key = [0; 4];
    fill_random(&mut key);
    let seeder = Arc::new(Seeder {
        peer_id: PeerId::from_bytes(edge.peer_id()),
        peer,
        key: u32::from_be_bytes(key),
        edge,
        connection_ids: Mutex::new(HashMap::new()),
    });
    let name = name.to_owned();
    tokio::spawn(run(name, urls, served, seeder, shutdown))
}

/// Tracker URLs parsed once each; one that cannot be announced to is
/// reported once.
#[derive(Default)]
struct Urls {
    parsed: HashMap<String, Option<TrackerUrl>>,
}

impl Urls {
    /// `url` parsed; the first time it fails, a warning says why.
    fn parse(&mut self, url: &str) -> Option<TrackerUrl> {
        if let Some(known) = self.parsed.get(url) {
            return known.clone();
        }
        let parsed = TrackerUrl::parse(url)
            .inspect_err(|e| {
                tracing::warn!(target: "tracker", tracker = url, error = %e, "not announced to");
            })
            .ok();
        self.remember(url, parsed.clone());
        parsed
    }

    fn remember(&mut self, url: &str, parsed: Option<TrackerUrl>) {
        if self.parsed.len() >= MAX_URLS {
            self.parsed.clear();
        }
        self.parsed.insert(url.to_owned(), parsed);
    }
}

/// The pairs `served` asks for.
fn wanted(served: &Served, urls: &mut Urls) -> BTreeSet<(TrackerUrl, InfoHash)> {
    let mut pairs = BTreeSet::new();
    for (hash, trackers) in &served.swarms {
        for url in trackers {
            if let Some(tracker) = urls.parse(url) {
                pairs.insert((tracker, *hash));
            }
        }
    }
    pairs
}

/// The next set the sweeper publishes; `None` for ever once it has ended.
async fn next_served(watching: &mut Option<watch::Receiver<Arc<Served>>>) -> Option<Arc<Served>> {
    let Some(rx) = watching else {
        return std::future::pending().await;
    };
    match rx.changed().await {
        Ok(()) => Some(Arc::clone(&rx.borrow_and_update())),
        Err(_) => {
            *watching = None;
            None
        }
    }
}

/// Sleeps until `at`, or for ever.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn run(
    name: String,
    mut urls: Urls,
    served: watch::Receiver<Arc<Served>>,
    seeder: Arc<Seeder>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut announcer = Announcer::new(AnnouncerConfig::default());
    let mut tasks = Tasks::default();
    let mut last = Arc::clone(&served.borrow());
    let mut watching = Some(served);
    sync(&mut announcer, &last, &mut urls, &name);
    loop {
        launch(&mut announcer, &mut tasks, &seeder);
        let next = announcer.poll_timeout();
        tokio::select! {
            set = next_served(&mut watching) => {
                if let Some(set) = set {
                    withdraw_gone(&mut announcer, &last, &set, &mut urls);
                    sync(&mut announcer, &set, &mut urls, &name);
                    last = set;
                }
            }
            Some(done) = tasks.next(), if !tasks.is_empty() => {
                finish(&mut announcer, done, &seeder, Dialing::Yes);
            }
            () = until(next) => {}
            () = stopped(&mut shutdown) => break,
        }
    }
    // Shutting down: `stopped` to every tracker that heard of a pair,
    // within the deadline; what is still out then is dropped.
    announcer.stop_all(Instant::now());
    let deadline = Instant::now() + STOP_DEADLINE;
    loop {
        launch(&mut announcer, &mut tasks, &seeder);
        if announcer.is_empty() && tasks.is_empty() {
            break;
        }
        let next = announcer
            .poll_timeout()
            .map_or(deadline, |t| t.min(deadline));
        tokio::select! {
            Some(done) = tasks.next(), if !tasks.is_empty() => {
                finish(&mut announcer, done, &seeder, Dialing::No);
            }
            () = tokio::time::sleep_until(next.into()) => {
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
    }
    tasks.set.abort_all();
}

/// The announces out, each task's announce kept by its id, so that one
/// whose task failed is still answered (as unreachable).
#[derive(Default)]
struct Tasks {
    set: JoinSet<Done>,
    out: HashMap<tokio::task::Id, Due>,
}

impl Tasks {
    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn spawn(&mut self, seeder: &Arc<Seeder>, due: Due) {
        let (seeder, kept) = (Arc::clone(seeder), due.clone());
        let handle = self.set.spawn(async move {
            let started = Instant::now();
            let result = announce(&seeder, &due).await;
            Done {
                due,
                result,
                started,
            }
        });
        self.out.insert(handle.id(), kept);
    }

    /// The next announce to end.
    async fn next(&mut self) -> Option<Done> {
        let (id, done) = match self.set.join_next_with_id().await? {
            Ok((id, done)) => (id, done),
            Err(e) => {
                let due = self.out.remove(&e.id())?;
                let done = Done {
                    due,
                    result: Err(Failed::Unreachable(format!(
                        "the announce's task failed: {e}"
                    ))),
                    started: Instant::now(),
                };
                return Some(done);
            }
        };
        self.out.remove(&id);
        Some(done)
    }
}

/// Whether the peers an answer lists are dialed (not while shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialing {
    Yes,
    No,
}

/// The swarms `old` served and `new` does not (made private, deleted,
/// overwritten): `stopped` to each of their trackers.
fn withdraw_gone(announcer: &mut Announcer, old: &Served, new: &Served, urls: &mut Urls) {
    let now = Instant::now();
    for hash in old.gone(new) {
        let trackers = old.swarms.get(hash).map(Vec::as_slice).unwrap_or_default();
        tracing::info!(
            target: "tracker",
            info_hash = %hash.to_hex(),
            trackers = trackers.len(),
            "no longer served: announcing stopped"
        );
        for url in trackers {
            if let Some(tracker) = urls.parse(url) {
                announcer.withdraw(&tracker, hash, now);
            }
        }
    }
}

/// Makes the announcer's pairs those `served` lists.
fn sync(announcer: &mut Announcer, served: &Served, urls: &mut Urls, name: &str) {
    let pairs = wanted(served, urls);
    let refused = announcer.sync(&pairs, Instant::now());
    if refused > 0 {
        tracing::warn!(
            target: "tracker",
            endpoint = name,
            refused,
            max = announcer.config().max_entries,
            "not announced elsewhere: too many (tracker, info-hash) pairs"
        );
    }
}

/// Starts every announce that is due.
fn launch(announcer: &mut Announcer, tasks: &mut Tasks, seeder: &Arc<Seeder>) {
    while let Some(due) = announcer.poll_due(Instant::now()) {
        tasks.spawn(seeder, due);
    }
}

fn event_name(event: Event) -> &'static str {
    match event {
        Event::Started => "started",
        Event::Stopped => "stopped",
        Event::Completed => "completed",
        Event::Regular => "regular",
    }
}

/// Takes a finished announce: the schedule learns how it ended, the peers
/// it lists are offered to the seeding peer, and it is logged.
fn finish(announcer: &mut Announcer, done: Done, seeder: &Seeder, dialing: Dialing) {
    let Done {
        due,
        result,
        started,
    } = done;
    let outcome = match &result {
        Ok(a) => Outcome::Answered(&a.answer),
        Err(Failed::Refused(_)) => Outcome::Refused,
        Err(Failed::Unreachable(_)) => Outcome::Unreachable,
    };
    announcer.answered(&due.tracker, &due.info_hash, outcome, Instant::now());
    let text = match &result {
        Ok(a) => {
            let mut offered = 0usize;
            if dialing == Dialing::Yes && due.event != Event::Stopped {
                for &peer in &a.answer.peers {
                    if !seeder.is_self(peer, a.local) {
                        seeder.edge.offer(
                            due.info_hash,
                            peer,
                            Offered::Listed,
                            AnnouncedCrypto::Optional,
                        );
                        offered += 1;
                    }
                }
            }
            let mut text = format!(
                "answered: {} peers ({offered} others), interval {} s",
                a.answer.peers.len(),
                a.answer.interval.as_secs()
            );
            if let Some(w) = &a.answer.warning {
                text.push_str(&format!(", warning: {w}"));
            }
            text
        }
        Err(Failed::Refused(why)) => why.clone(),
        Err(Failed::Unreachable(why)) => format!("unreachable: {why}"),
    };
    tracing::info!(
        target: "tracker",
        tracker = %due.tracker,
        info_hash = %due.info_hash.to_hex(),
        event = event_name(due.event),
        outcome = text,
        ms = crate::edge::listen::millis(started),
        "announced"
    );
}

/// The announce `due` says, as this seeder.
async fn announce(seeder: &Seeder, due: &Due) -> Result<Answered, Failed> {
    let mut request = ClientAnnounce::seed(
        due.info_hash,
        seeder.peer_id,
        seeder.peer.port(),
        seeder.key,
    );
    request.event = due.event;
    if due.event == Event::Stopped {
        request.numwant = 0;
    }
    let addr = resolve(&due.tracker).await?;
    match due.tracker.transport() {
        Transport::Http => {
            let target = due
                .tracker
                .announce_target(&request, due.tracker_id.as_deref());
            tokio::time::timeout(HTTP_TIMEOUT, http_get(&due.tracker, addr, &target))
                .await
                .map_err(|_| Failed::Unreachable(format!("no answer within {HTTP_TIMEOUT:?}")))?
        }
        Transport::Udp => udp_announce(seeder, addr, &request).await,
    }
}

/// The tracker's address: its host when it is one, else the first address
/// its name resolves to.
async fn resolve(tracker: &TrackerUrl) -> Result<SocketAddr, Failed> {
    if let Ok(ip) = tracker.host().parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, tracker.port()));
    }
    let lookup = tokio::net::lookup_host((tracker.host(), tracker.port()));
    match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(mut addrs)) => addrs
            .next()
            .ok_or_else(|| Failed::Unreachable(format!("{} has no address", tracker.host()))),
        Ok(Err(e)) => Err(Failed::Unreachable(format!(
            "resolving {}: {e}",
            tracker.host()
        ))),
        Err(_) => Err(Failed::Unreachable(format!(
            "resolving {}: no answer within {RESOLVE_TIMEOUT:?}",
            tracker.host()
        ))),
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `GET target` from the tracker at `addr`, over HTTP/1.1: its answer, read
/// within the answer limit.
async fn http_get(
    tracker: &TrackerUrl,
    addr: SocketAddr,
    target: &str,
) -> Result<Answered, Failed> {
    let unreachable =
        |what: &str, e: &dyn std::fmt::Display| Failed::Unreachable(format!("{what}: {e}"));
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| unreachable("connect", &e))?;
    let _ = stream.set_nodelay(true);
    let local = stream
        .local_addr()
        .map_err(|e| unreachable("connect", &e))?
        .ip();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable("HTTP", &e))?;
    let _conn = AbortOnDrop(tokio::spawn(conn).abort_handle());
    let host = match tracker.host().parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
        _ => tracker.host().to_owned(),
    };
    let host = if tracker.port() == 80 {
        host
    } else {
        format!("{host}:{}", tracker.port())
    };
    let request = http::Request::get(target)
        .header(http::header::HOST, host)
        .header(
            http::header::USER_AGENT,
            concat!("s3torrent/", env!("CARGO_PKG_VERSION")),
        )
        .header(http::header::ACCEPT_ENCODING, "identity")
        .body(Empty::<Bytes>::new())
        .map_err(|e| unreachable("request", &e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable("HTTP", &e))?;
    let status = response.status();
    let limits = AnswerLimits::default();
    let body = Limited::new(response.into_body(), limits.max_len)
        .collect()
        .await
        .map_err(|e| unreachable("reading the answer", &e))?
        .to_bytes();
    let parsed = parse_announce_answer(&body, &limits);
    // A refusal is a refusal whatever the status (some trackers send 4xx
    // with a failure reason); any other answer needs a success status.
    if !status.is_success() && !matches!(parsed, Err(ClientError::Failure { .. })) {
        return Err(Failed::Unreachable(format!("HTTP status {status}")));
    }
    parsed
        .map(|answer| Answered { answer, local })
        .map_err(Failed::from)
}

/// A fresh transaction id.
fn transaction_id() -> u32 {
    let mut id = [0; 4];
    fill_random(&mut id);
    u32::from_be_bytes(id)
}

/// Sends `packet` on the connected `socket` and waits for the answer that
/// `read` takes (ignoring other transactions' packets), sending it again
/// once ([`UDP_TRIES`]) when none comes.
async fn exchange<T>(
    socket: &UdpSocket,
    packet: &[u8],
    mut read: impl FnMut(&[u8]) -> Result<T, ClientError>,
) -> Result<T, Failed> {
    let mut buf = vec![0u8; AnswerLimits::default().max_len + 1];
    let mut wait = UDP_FIRST_WAIT;
    for _ in 0..UDP_TRIES {
        socket
            .send(packet)
            .await
            .map_err(|e| Failed::Unreachable(format!("send: {e}")))?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let received = tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await;
            let len = match received {
                Err(_) => break,
                Ok(Ok(len)) => len,
                // An ICMP error: port unreachable, say.
                Ok(Err(e)) => return Err(Failed::Unreachable(format!("receive: {e}"))),
            };
            match read(buf.get(..len).unwrap_or_default()) {
                Ok(v) => return Ok(v),
                // A late answer to an earlier try, or noise: keep waiting.
                Err(ClientError::Transaction { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        wait = wait.saturating_mul(2);
    }
    Err(Failed::Unreachable(format!(
        "no answer after {UDP_TRIES} tries (BEP 15's waits of 15 s, then 30 s)"
    )))
}

/// BEP 15's connect (or a connection id got within the last minute), then
/// the announce, over a socket connected to the tracker at `addr`.
async fn udp_announce(
    seeder: &Seeder,
    addr: SocketAddr,
    request: &ClientAnnounce,
) -> Result<Answered, Failed> {
    let bind: SocketAddr = match addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|e| Failed::Unreachable(format!("bind: {e}")))?;
    socket
        .connect(addr)
        .await
        .map_err(|e| Failed::Unreachable(format!("connect: {e}")))?;
    let local = socket
        .local_addr()
        .map_err(|e| Failed::Unreachable(format!("connect: {e}")))?
        .ip();
    let family = match addr.ip().to_canonical() {
        IpAddr::V4(_) => PeerFamily::V4,
        IpAddr::V6(_) => PeerFamily::V6,
    };
    let limits = AnswerLimits::default();
    // A remembered connection id may have expired at the tracker: a
    // refusal with it gets one more try with a fresh one.
    let remembered = seeder.connection_id(addr);
    for cached in [remembered, None] {
        let connection_id = match cached {
            Some(id) => id,
            None => {
                let tid = transaction_id();
                let id = exchange(&socket, &udp_connect_request(tid), |p| {
                    parse_udp_connect_answer(p, tid)
                })
                .await?;
                seeder.remember_connection_id(addr, id);
                id
            }
        };
        let tid = transaction_id();
        let packet = udp_announce_request(connection_id, tid, request);
        let answered = exchange(&socket, &packet, |p| {
            parse_udp_announce_answer(p, tid, family, &limits)
        })
        .await;
        match answered {
            Ok(answer) => return Ok(Answered { answer, local }),
            Err(Failed::Refused(_)) if cached.is_some() => {
                seeder.forget_connection_id(addr);
            }
            Err(e) => return Err(e),
        }
    }
    Err(Failed::Unreachable(
        "refused with a remembered connection id and with a fresh one".into(),
    ))
}
