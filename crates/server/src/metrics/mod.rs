//! Prometheus metrics: counters and gauges kept in atomics that the edges
//! bump (one call each, no allocation on a request's path), written out by
//! the Prometheus project's client library (`prometheus-client`) for
//! `GET /metrics` on the metrics listener (`--metrics-listen`, in
//! `crate::edge`), in the OpenMetrics text format when the scraper asks
//! for it (Prometheus does) and in the Prometheus text format (0.0.4)
//! otherwise; `GET /health` and `GET /ready` for probes.
//!
//! The counters are process-wide ([`METRICS`]): one `serve` or gateway per
//! process, as the binary runs them.
//!
//! **The bandwidth the swarm saved** is an estimate from what clients
//! report: every announce carries the client's cumulative `downloaded`
//! bytes for its torrent; the latest one per (info-hash, peer id) is kept
//! (at most [`MAX_CLIENTS`] of them; the oldest one out, its bytes kept in
//! the sum) and summed into `s3torrent_swarm_downloaded_bytes`. What the
//! origin sent (`s3torrent_origin_sent_bytes`) is the seeding peer's
//! payload plus the body bytes of successful GETs other than `?torrent`.
//! Their difference, floored at 0, is `s3torrent_swarm_saved_bytes`.
//! Clients may lie, restart with a fresh count, or announce to other
//! trackers too; the numbers are a guide, not an account. The same three
//! are kept per torrent ([`torrents`]) for the [`torrents::MAX_TORRENTS`]
//! most recently active ones, labelled by info-hash.

mod operation;
pub(crate) mod torrents;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Instant;

use foldhash::{HashMap, HashMapExt as _};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use s3torrent_metainfo::{InfoHash, Torrent};
use s3torrent_tracker::{Decision, Tracker};

pub(crate) use self::operation::{
    CONSOLE_PREFIX, Channel, Console, RequestKind, classify, console_wants, host_names_bucket,
};
use self::operation::{OPERATIONS, Operation, STATUS_NAMES, STATUSES, status_index};
use self::torrents::{MAX_PATHS, TorrentStats, Torrents, minute_now, url_path};

/// The most clients whose latest `downloaded` is kept.
pub(crate) const MAX_CLIENTS: usize = 100_000;

/// The process's metrics.
pub(crate) static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// A client of a torrent: (info-hash, peer id).
type Client = ([u8; 20], [u8; 20]);

/// What clients reported downloading.
struct Reported {
    /// The latest `downloaded` of each client.
    latest: HashMap<Client, u64>,
    /// The clients in the order first seen, for the oldest out.
    order: VecDeque<Client>,
    /// The sum of `latest`, plus the last reports of the clients let go.
    sum: u64,
}

/// The endpoint's listeners, for the connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// The S3 listener.
    S3 = 0,
    /// The HTTP tracker's.
    Tracker = 1,
    /// The seeding peer's.
    Peer = 2,
    /// The WebSocket tracker's.
    WsTracker = 3,
}

impl Listener {
    const ALL: [(Listener, &'static str); 4] = [
        (Listener::S3, "s3"),
        (Listener::Tracker, "tracker"),
        (Listener::Peer, "peer"),
        (Listener::WsTracker, "ws_tracker"),
    ];
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its address held its share of the connections.
    PerAddress = 0,
    /// Every connection was taken.
    Full = 1,
}

/// The tracker's transports.
#[derive(Debug, Clone, Copy)]
enum Transport {
    /// HTTP announces.
    Http = 0,
    /// UDP announces (BEP 15).
    Udp = 1,
    /// WebSocket announces (WebTorrent's browsers).
    Ws = 2,
}

/// Where a `?torrent` answer's torrent came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    /// The torrent cache.
    Hit = 0,
    /// It was made for this request (or one it waited for).
    Miss = 1,
}

impl Cache {
    /// From `ServedTorrent::from_cache`.
    pub(crate) fn of(from_cache: bool) -> Cache {
        if from_cache { Cache::Hit } else { Cache::Miss }
    }
}

/// Whether an announce was served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its torrent is served: answered with peers.
    Answered = 0,
    /// Refused (a `failure reason`).
    Refused = 1,
}

/// The counters and gauges, in atomics.
pub(crate) struct Metrics {
    /// S3 answers by status class: 1xx, 2xx, 3xx, 4xx, 5xx.
    s3_requests: [AtomicU64; 5],
    /// S3 answers by operation and status ([`STATUSES`]).
    operations: [[AtomicU64; STATUSES.len()]; OPERATIONS],
    /// Body bytes delivered to S3 clients.
    s3_sent: AtomicU64,
    /// The objects' bytes the origin sent, by [`Channel`] (but `None`).
    sent: [AtomicU64; 3],
    /// `?torrent` answers served (2xx).
    torrents: AtomicU64,
    /// `?torrent` answers served from the cache, and made for the request.
    torrent_cache: [AtomicU64; 2],
    /// Torrents made (at a request, at upload or adoption), and the bytes
    /// hashed for them.
    made: AtomicU64,
    hashed: AtomicU64,
    /// `?torrent` requests answered on a blocking thread now (a torrent to
    /// make or wait for, or records to read).
    hashing: AtomicI64,
    /// Peer connections open.
    peer_open: AtomicI64,
    /// Announces: [HTTP, UDP] × [answered, refused].
    announces: [[AtomicU64; 2]; 3],
    /// Connections open, by [`Listener`].
    connections: [AtomicI64; Listener::ALL.len()],
    /// Connections refused, by [`Listener`] and [`Refused`]; and closed for
    /// a newcomer.
    refused: [[AtomicU64; 2]; Listener::ALL.len()],
    evicted: [AtomicU64; Listener::ALL.len()],
    /// What clients reported downloading.
    reported: Mutex<Reported>,
    /// The torrents lately active.
    torrents_active: Torrents,
    /// The tracker's swarms, while it runs.
    tracker: Mutex<Weak<Mutex<Tracker>>>,
}

/// Counts a connection open while it lives.
#[derive(Debug)]
pub(crate) struct Open(&'static AtomicI64);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the console shows of a torrent's swarm.
#[derive(Debug, Clone, Default)]
pub(crate) struct SwarmView {
    /// Peers that announced `left=0` (the endpoint's own peer aside).
    pub(crate) seeders: u64,
    /// Peers with bytes left.
    pub(crate) leechers: u64,
    /// `completed` announces while the endpoint kept its numbers.
    pub(crate) completed: u64,
    /// What its downloaders report downloading.
    pub(crate) downloaded: u64,
    /// What the origin sent for it (peer and web seed).
    pub(crate) origin: u64,
    /// The last hour, a sample a minute, the oldest first.
    pub(crate) history: Vec<torrents::Sample>,
    /// Whether the endpoint keeps numbers for it (it was active lately).
    pub(crate) tracked: bool,
}

/// The atomics of a fixed-size table.
/// The paths of `torrent`'s web seeds (at most as many as the metrics
/// register), as [`Metrics::serving_paths`] takes them.
pub(crate) fn web_seed_paths(torrent: &Torrent) -> Arc<[Box<str>]> {
    torrent
        .web_seeds()
        .iter()
        .filter_map(|u| url_path(u))
        .take(MAX_PATHS)
        .map(Box::from)
        .collect()
}

fn load(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// A gauge's value, floored at 0.
fn gauge(a: &AtomicI64) -> u64 {
    a.load(Ordering::Relaxed).max(0).unsigned_abs()
}

impl Metrics {
    fn new() -> Metrics {
        Metrics {
            s3_requests: Default::default(),
            operations: std::array::from_fn(|_| Default::default()),
            s3_sent: AtomicU64::new(0),
            sent: Default::default(),
            torrents: AtomicU64::new(0),
            torrent_cache: Default::default(),
            made: AtomicU64::new(0),
            hashed: AtomicU64::new(0),
            hashing: AtomicI64::new(0),
            peer_open: AtomicI64::new(0),
            announces: Default::default(),
            connections: Default::default(),
            refused: Default::default(),
            evicted: Default::default(),
            reported: Mutex::new(Reported {
                latest: HashMap::new(),
                order: VecDeque::new(),
                sum: 0,
            }),
            torrents_active: Torrents::default(),
            tracker: Mutex::new(Weak::new()),
        }
    }

    /// An S3 answer is over: what the request was, its status and the
    /// body bytes it delivered; `path` is the request's (for a web seed's
    /// GET, the torrent it counts for).
    pub(crate) fn s3_answer(&self, kind: RequestKind, status: u16, bytes: u64, path: &str) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.s3_requests[class].fetch_add(1, Ordering::Relaxed);
        self.operations[kind.operation as usize][status_index(status)]
            .fetch_add(1, Ordering::Relaxed);
        self.s3_sent.fetch_add(bytes, Ordering::Relaxed);
        if !(200..300).contains(&status) {
            return;
        }
        if kind.operation == Operation::GetObjectTorrent {
            self.torrents.fetch_add(1, Ordering::Relaxed);
        }
        match kind.channel {
            Channel::None | Channel::Peer => {}
            Channel::GetObject => {
                self.sent[Channel::GetObject as usize].fetch_add(bytes, Ordering::Relaxed);
            }
            Channel::WebSeed => {
                self.sent[Channel::WebSeed as usize].fetch_add(bytes, Ordering::Relaxed);
                if let Some(t) = self.torrents_active.by_path(path) {
                    t.web_seed_sent_more(bytes);
                    t.sample(minute_now());
                }
            }
        }
    }

    /// A `?torrent` answer came from the cache, or not.
    pub(crate) fn torrent_answer(&self, cache: Cache) {
        self.torrent_cache[cache as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A torrent was made of `bytes` of an object (hashed).
    pub(crate) fn torrent_made(&self, bytes: u64) {
        self.made.fetch_add(1, Ordering::Relaxed);
        self.hashed.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A `?torrent` request waits for its torrent while the guard lives.
    pub(crate) fn hashing(&'static self) -> Open {
        self.hashing.fetch_add(1, Ordering::Relaxed);
        Open(&self.hashing)
    }

    /// A connection of `listener` opened; it counts as open until the
    /// guard drops.
    pub(crate) fn connection(&'static self, listener: Listener) -> Open {
        let open = &self.connections[listener as usize];
        open.fetch_add(1, Ordering::Relaxed);
        Open(open)
    }

    /// A connection to `listener` was refused.
    pub(crate) fn refused(&self, listener: Listener, why: Refused) {
        self.refused[listener as usize][why as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// `n` connections of `listener` were closed for newcomers.
    pub(crate) fn evicted(&self, listener: Listener, n: u64) {
        self.evicted[listener as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// A peer connection opened; it counts as open until the guard drops.
    pub(crate) fn peer_open(&'static self) -> Open {
        self.peer_open.fetch_add(1, Ordering::Relaxed);
        Open(&self.peer_open)
    }

    /// The seeding peer sent `payload` bytes of pieces of `torrent`.
    pub(crate) fn peer_sent(&self, torrent: &TorrentStats, payload: u64) {
        self.sent[Channel::Peer as usize].fetch_add(payload, Ordering::Relaxed);
        torrent.peer_sent_more(payload);
        torrent.sample(minute_now());
    }

    /// The numbers of `info_hash`, which counts as active now.
    pub(crate) fn torrent(&self, info_hash: &InfoHash) -> Arc<TorrentStats> {
        self.torrents_active.touch(info_hash)
    }

    /// A client of `info_hash` announced that it completed its download.
    pub(crate) fn completed(&self, info_hash: &InfoHash) {
        self.torrent(info_hash).completed_one();
    }

    /// Records `info_hash`'s numbers now as its sample of this minute, if
    /// they are kept.
    pub(crate) fn sample(&self, info_hash: &InfoHash) {
        if let Some(t) = self.torrents_active.get(info_hash) {
            t.sample(minute_now());
        }
    }

    /// The tracker or the peer serves `torrent` under `info_hash`: it
    /// counts as active, and its web seed's GETs count for it.
    pub(crate) fn serving(&self, info_hash: &InfoHash, torrent: &Torrent) {
        self.torrents_active.served(
            info_hash,
            torrent.web_seeds().iter().filter_map(|u| url_path(u)),
        );
    }

    /// The same as [`Metrics::serving`], with the torrent's web seeds'
    /// paths as [`web_seed_paths`] gives them.
    pub(crate) fn serving_paths(&self, info_hash: &InfoHash, paths: &[Box<str>]) {
        self.torrents_active
            .served(info_hash, paths.iter().map(AsRef::as_ref));
    }

    /// The tracker's swarms: its seeders and leechers are reported from
    /// now on, while it lives.
    pub(crate) fn watch_tracker(&self, tracker: &Arc<Mutex<Tracker>>) {
        *self.tracker.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(tracker);
    }

    fn tracker(&self) -> Option<Arc<Mutex<Tracker>>> {
        self.tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade()
    }

    /// An announce was answered or refused.
    fn announce(&self, transport: Transport, outcome: Outcome) {
        self.announces[transport as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The HTTP tracker answered a request for `path` with what was
    /// decided for its info-hash, if anything: an announce (the tracker's
    /// path, `/announce`) is answered when its torrent was allowed, else
    /// refused. Scrapes are not counted.
    pub(crate) fn http_announce(&self, path: &str, decided: Option<&Decision>) {
        if path == "/announce" {
            let outcome = match decided {
                Some(Decision::Allow) => Outcome::Answered,
                _ => Outcome::Refused,
            };
            self.announce(Transport::Http, outcome);
        }
    }

    /// The UDP tracker answered a packet of `action` (`connect`,
    /// `announce`, `scrape`), refused or not: announces are counted.
    pub(crate) fn udp_announce(&self, action: &str, refused: bool) {
        if action == "announce" {
            let outcome = if refused {
                Outcome::Refused
            } else {
                Outcome::Answered
            };
            self.announce(Transport::Udp, outcome);
        }
    }

    /// The WebSocket tracker answered a message of `action` (`announce`,
    /// `scrape`), refused or not: announces are counted.
    pub(crate) fn ws_announce(&self, action: &str, refused: bool) {
        if action == "announce" {
            let outcome = if refused {
                Outcome::Refused
            } else {
                Outcome::Answered
            };
            self.announce(Transport::Ws, outcome);
        }
    }

    /// A served announce reported `downloaded` bytes for a client.
    /// The announce was allowed, so its torrent counts as active already
    /// (it is only looked up here). A client not yet known that reports
    /// nothing changes no sum, is not remembered and changes nothing of
    /// its torrent's (not even looked up): most announces are a download's
    /// first, and a flood of new peer ids must not push the clients that
    /// did report bytes out of the table. (Every change of a torrent's
    /// numbers samples it, so its minutes' history needs no announce.)
    pub(crate) fn downloaded(&self, info_hash: &[u8; 20], peer_id: &[u8; 20], downloaded: u64) {
        let mut r = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let key = (*info_hash, *peer_id);
        if downloaded == 0 && !r.latest.contains_key(&key) {
            return;
        }
        let hash = InfoHash::from_bytes(*info_hash);
        let torrent = self
            .torrents_active
            .get(&hash)
            .unwrap_or_else(|| self.torrent(&hash));
        match r.latest.insert(key, downloaded) {
            Some(before) => {
                r.sum = r.sum.saturating_sub(before).saturating_add(downloaded);
                torrent.reported(before, downloaded);
            }
            None => {
                r.sum = r.sum.saturating_add(downloaded);
                torrent.reported(0, downloaded);
                r.order.push_back(key);
                if r.order.len() > MAX_CLIENTS
                    && let Some(oldest) = r.order.pop_front()
                {
                    // Let go; its bytes stay in the sum.
                    r.latest.remove(&oldest);
                }
            }
        }
        drop(r);
        torrent.sample(minute_now());
    }

    /// What the console shows of `info_hash`'s swarm now.
    pub(crate) fn swarm_view(&self, info_hash: &InfoHash) -> SwarmView {
        let mut view = SwarmView::default();
        if let Some(tracker) = self.tracker()
            && let Some(stats) = tracker
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .swarm_stats(info_hash, Instant::now())
        {
            view.seeders = stats.complete;
            view.leechers = stats.incomplete;
        }
        if let Some(t) = self.torrents_active.get(info_hash) {
            view.tracked = true;
            view.completed = t.completed();
            view.downloaded = t.downloaded();
            view.origin = t.origin();
            view.history = t.history(minute_now());
        }
        view
    }

    /// The metrics in the OpenMetrics text format (`open_metrics`) or the
    /// Prometheus one (0.0.4).
    pub(crate) fn render(&'static self, format: Format) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Collect(self)));
        let mut out = String::with_capacity(8192);
        // Writing to a String fails only if an encoder does, which ours
        // (integers and label values) do not.
        let _ = match format {
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &registry),
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
            }
        };
        out
    }
}

/// The exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// OpenMetrics 1.0 text, which Prometheus asks for.
    OpenMetrics,
    /// Prometheus's text format, version 0.0.4.
    Prometheus,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// it, else Prometheus's text format.
    pub(crate) fn accepted(accept: Option<&str>) -> Format {
        if accept.is_some_and(|a| a.contains("application/openmetrics-text")) {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        }
    }
}

/// Writes every family at scrape time from [`Metrics`]' atomics and tables.
#[derive(Debug)]
struct Collect(&'static Metrics);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// One family: its samples (label pairs, value).
fn family<'l>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (&'l [(&'l str, &'l str)], u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        let sample = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(value).encode(sample)?,
            _ => ConstGauge::new(value).encode(sample)?,
        }
    }
    Ok(())
}

/// One family of a single, unlabelled sample.
fn single(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    value: u64,
) -> Result<(), std::fmt::Error> {
    family(enc, name, help, kind, [(&[][..], value)])
}

impl Collector for Collect {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let m = self.0;
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        let by_class: Vec<[(&str, &str); 1]> = classes.iter().map(|c| [("class", *c)]).collect();
        family(
            &mut enc,
            "s3torrent_s3_requests",
            "S3 requests answered, by status class",
            Counter,
            by_class
                .iter()
                .zip(&m.s3_requests)
                .map(|(l, n)| (&l[..], load(n))),
        )?;
        let mut by_op: Vec<([(&str, &str); 2], u64)> = Vec::new();
        for (op, row) in Operation::ALL.iter().zip(&m.operations) {
            for (status, n) in STATUS_NAMES.iter().zip(row) {
                let n = load(n);
                if n > 0 {
                    by_op.push(([("operation", op.name()), ("status", status)], n));
                }
            }
        }
        family(
            &mut enc,
            "s3torrent_s3_operations",
            "S3 requests answered, by operation and status (other: a status not listed)",
            Counter,
            by_op.iter().map(|(l, n)| (&l[..], *n)),
        )?;
        single(
            &mut enc,
            "s3torrent_s3_sent_bytes",
            "Body bytes delivered to S3 clients",
            Counter,
            load(&m.s3_sent),
        )?;
        let channels: Vec<([(&str, &str); 1], u64)> = Channel::SENDING
            .iter()
            .map(|(c, name)| ([("channel", *name)], load(&m.sent[*c as usize])))
            .collect();
        family(
            &mut enc,
            "s3torrent_sent_bytes",
            "Objects' bytes the origin sent, by channel: get_object (successful GETs but the \
             web seed's), web_seed (anonymous ranged GETs, as BitTorrent clients ask), peer \
             (the seeding peer's payload)",
            Counter,
            channels.iter().map(|(l, n)| (&l[..], *n)),
        )?;
        single(
            &mut enc,
            "s3torrent_torrents_served",
            "?torrent answers served (2xx)",
            Counter,
            load(&m.torrents),
        )?;
        single(
            &mut enc,
            "s3torrent_torrent_cache_hits",
            "?torrent answers served from the torrent cache",
            Counter,
            load(&m.torrent_cache[0]),
        )?;
        single(
            &mut enc,
            "s3torrent_torrent_cache_misses",
            "?torrent answers whose torrent was made for them (or by a request they waited for)",
            Counter,
            load(&m.torrent_cache[1]),
        )?;
        single(
            &mut enc,
            "s3torrent_torrents_generated",
            "Torrents made: for a ?torrent, at upload, or for an adopted file",
            Counter,
            load(&m.made),
        )?;
        single(
            &mut enc,
            "s3torrent_hashed_bytes",
            "Bytes of objects hashed into the torrents made",
            Counter,
            load(&m.hashed),
        )?;
        single(
            &mut enc,
            "s3torrent_hashing_queue",
            "?torrent requests answered on a blocking thread now: a torrent to make (or to wait \
             for), or records to read first",
            Gauge,
            gauge(&m.hashing),
        )?;
        single(
            &mut enc,
            "s3torrent_peer_connections",
            "Connections of the seeding peer open",
            Gauge,
            gauge(&m.peer_open),
        )?;
        single(
            &mut enc,
            "s3torrent_peer_sent_bytes",
            "Payload (piece) bytes the seeding peer sent",
            Counter,
            load(&m.sent[Channel::Peer as usize]),
        )?;
        let labels = [
            [("transport", "http"), ("outcome", "answered")],
            [("transport", "http"), ("outcome", "refused")],
            [("transport", "udp"), ("outcome", "answered")],
            [("transport", "udp"), ("outcome", "refused")],
            [("transport", "ws"), ("outcome", "answered")],
            [("transport", "ws"), ("outcome", "refused")],
        ];
        let values = m.announces.iter().flatten().map(load);
        family(
            &mut enc,
            "s3torrent_tracker_announces",
            "Announces the tracker answered or refused, by transport",
            Counter,
            labels.iter().map(|l| &l[..]).zip(values),
        )?;
        let census = m
            .tracker()
            .map(|t| {
                t.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .census(Instant::now())
            })
            .unwrap_or_default();
        single(
            &mut enc,
            "s3torrent_tracker_swarms",
            "Swarms the tracker holds (torrents with a live peer)",
            Gauge,
            census.swarms,
        )?;
        family(
            &mut enc,
            "s3torrent_tracker_peers",
            "Peers the tracker holds, by role: seeders announced left=0 (the endpoint's own \
             peer is not counted)",
            Gauge,
            [
                (&[("role", "seeder")][..], census.seeders),
                (&[("role", "leecher")][..], census.leechers),
            ],
        )?;
        let listeners: Vec<([(&str, &str); 1], Listener)> = Listener::ALL
            .iter()
            .map(|(l, n)| ([("listener", *n)], *l))
            .collect();
        family(
            &mut enc,
            "s3torrent_connections",
            "Connections open, by listener",
            Gauge,
            listeners
                .iter()
                .map(|(l, which)| (&l[..], gauge(&m.connections[*which as usize]))),
        )?;
        let refusals: Vec<([(&str, &str); 2], u64)> = Listener::ALL
            .iter()
            .flat_map(|(l, name)| {
                [
                    ("per_address", Refused::PerAddress),
                    ("full", Refused::Full),
                ]
                .map(|(why, r)| {
                    (
                        [("listener", *name), ("reason", why)],
                        load(&m.refused[*l as usize][r as usize]),
                    )
                })
            })
            .collect();
        family(
            &mut enc,
            "s3torrent_connections_refused",
            "Connections refused, by listener and reason (per_address: its address held its \
             share; full: every slot was taken)",
            Counter,
            refusals.iter().map(|(l, n)| (&l[..], *n)),
        )?;
        family(
            &mut enc,
            "s3torrent_connections_closed_for_newcomers",
            "Quiet or pending connections closed to make room for a newcomer, by listener",
            Counter,
            listeners
                .iter()
                .map(|(l, which)| (&l[..], load(&m.evicted[*which as usize]))),
        )?;
        let downloaded = m.reported.lock().unwrap_or_else(|p| p.into_inner()).sum;
        let origin = m.sent.iter().map(load).fold(0u64, u64::saturating_add);
        single(
            &mut enc,
            "s3torrent_swarm_downloaded_bytes",
            "Bytes the swarm's clients downloaded, as they report it: the sum of the latest \
             downloaded of each client seen in an announce (an estimate)",
            Gauge,
            downloaded,
        )?;
        single(
            &mut enc,
            "s3torrent_origin_sent_bytes",
            "Bytes the origin sent: the seeding peer's payload plus the body bytes of \
             successful GETs other than ?torrent",
            Gauge,
            origin,
        )?;
        single(
            &mut enc,
            "s3torrent_swarm_saved_bytes",
            "Bandwidth the swarm saved: swarm downloaded minus origin sent, floored at 0 \
             (an estimate from what clients report)",
            Gauge,
            downloaded.saturating_sub(origin),
        )?;
        // Per torrent, the most recently active ones.
        let all = m.torrents_active.all();
        let hexes: Vec<String> = all.iter().map(|(h, _)| h.to_hex()).collect();
        let labels: Vec<[(&str, &str); 1]> =
            hexes.iter().map(|h| [("info_hash", h.as_str())]).collect();
        single(
            &mut enc,
            "s3torrent_torrents_tracked",
            "Torrents with per-torrent series (the most recently active, at most 1000)",
            Gauge,
            all.len() as u64,
        )?;
        let per = |f: fn(&TorrentStats) -> u64| {
            labels
                .iter()
                .zip(&all)
                .map(move |(l, (_, t))| (&l[..], f(t)))
        };
        family(
            &mut enc,
            "s3torrent_torrent_downloaded_bytes",
            "Per torrent: what its clients report downloading (the sum of each one's latest)",
            Gauge,
            per(TorrentStats::downloaded),
        )?;
        family(
            &mut enc,
            "s3torrent_torrent_origin_sent_bytes",
            "Per torrent: what the origin sent for it (the seeding peer's payload and its web \
             seed's GETs)",
            Gauge,
            per(TorrentStats::origin),
        )?;
        family(
            &mut enc,
            "s3torrent_torrent_saved_bytes",
            "Per torrent: downloaded minus origin sent, floored at 0 (an estimate)",
            Gauge,
            per(|t| t.downloaded().saturating_sub(t.origin())),
        )?;
        let swarms: Vec<Option<s3torrent_tracker::ScrapeStats>> = match m.tracker() {
            Some(t) => {
                let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                all.iter().map(|(h, _)| t.swarm_stats(h, now)).collect()
            }
            None => vec![None; all.len()],
        };
        let role = |f: fn(&s3torrent_tracker::ScrapeStats) -> u64| {
            labels
                .iter()
                .zip(&swarms)
                .map(move |(l, s)| (&l[..], s.as_ref().map_or(0, f)))
        };
        family(
            &mut enc,
            "s3torrent_torrent_seeders",
            "Per torrent: peers that announced left=0 (the endpoint's own peer aside)",
            Gauge,
            role(|s| s.complete),
        )?;
        family(
            &mut enc,
            "s3torrent_torrent_leechers",
            "Per torrent: peers with bytes left",
            Gauge,
            role(|s| s.incomplete),
        )?;
        family(
            &mut enc,
            "s3torrent_torrent_completed",
            "Per torrent: completed announces (downloads its clients finished)",
            Counter,
            per(TorrentStats::completed),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh instance (the collector needs it for the process's life).
    fn fresh() -> &'static Metrics {
        Box::leak(Box::new(Metrics::new()))
    }

    fn kind(method: &str, uri: &str, headers: &[(&str, &str)]) -> RequestKind {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        classify(
            &method.parse().unwrap(),
            &uri.parse().unwrap(),
            &map,
            None,
            Console::Served,
        )
    }

    #[test]
    fn saved_is_downloaded_minus_origin() {
        let m = fresh();
        let h = [1; 20];
        m.downloaded(&h, &[2; 20], 100);
        m.downloaded(&h, &[2; 20], 300);
        m.downloaded(&h, &[3; 20], 200);
        m.peer_sent(&m.torrent(&InfoHash::from_bytes(h)), 150);
        m.s3_answer(kind("GET", "/b/k", &[]), 200, 50, "/b/k");
        m.s3_answer(kind("GET", "/b/k?torrent", &[]), 200, 400, "/b/k");
        m.s3_answer(kind("GET", "/b/k", &[]), 404, 120, "/b/k");
        // A web seed's GET of the torrent's url-list path counts for it.
        m.torrents_active
            .served(&InfoHash::from_bytes(h), ["/b/k"].into_iter());
        m.s3_answer(
            kind("GET", "/b/k", &[("range", "bytes=0-9")]),
            206,
            10,
            "/b/k",
        );
        let text = m.render(Format::Prometheus);
        let hex = InfoHash::from_bytes(h).to_hex();
        for line in [
            "s3torrent_swarm_downloaded_bytes 500",
            "s3torrent_origin_sent_bytes 210",
            "s3torrent_swarm_saved_bytes 290",
            "s3torrent_torrents_served_total 1",
            "s3torrent_s3_requests_total{class=\"2xx\"} 3",
            "s3torrent_s3_requests_total{class=\"4xx\"} 1",
            "s3torrent_s3_sent_bytes_total 580",
            "s3torrent_s3_operations_total{operation=\"GetObject\",status=\"206\"} 1",
            "s3torrent_s3_operations_total{operation=\"GetObject\",status=\"404\"} 1",
            "s3torrent_sent_bytes_total{channel=\"web_seed\"} 10",
            "s3torrent_sent_bytes_total{channel=\"get_object\"} 50",
            "s3torrent_peer_sent_bytes_total 150",
            &format!("s3torrent_torrent_downloaded_bytes{{info_hash=\"{hex}\"}} 500"),
            &format!("s3torrent_torrent_origin_sent_bytes{{info_hash=\"{hex}\"}} 160"),
            &format!("s3torrent_torrent_saved_bytes{{info_hash=\"{hex}\"}} 340"),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // OpenMetrics: the same samples, then the end.
        let open = m.render(Format::OpenMetrics);
        assert!(
            open.lines().any(|l| l == "s3torrent_swarm_saved_bytes 290"),
            "{open}"
        );
        assert!(
            open.lines()
                .any(|l| l == "# TYPE s3torrent_s3_requests counter"),
            "{open}"
        );
        assert_eq!(open.lines().last(), Some("# EOF"));
    }

    #[test]
    fn the_oldest_client_goes_and_its_bytes_stay() {
        let m = fresh();
        for i in 0..=MAX_CLIENTS as u32 {
            let mut peer = [0; 20];
            peer[..4].copy_from_slice(&i.to_be_bytes());
            m.downloaded(&[9; 20], &peer, 1);
        }
        let r = m.reported.lock().unwrap();
        assert_eq!(r.latest.len(), MAX_CLIENTS);
        assert_eq!(r.order.len(), MAX_CLIENTS);
        assert_eq!(r.sum, MAX_CLIENTS as u64 + 1);
    }

    #[test]
    fn saved_floors_at_zero() {
        let m = fresh();
        m.peer_sent(&m.torrent(&InfoHash::from_bytes([4; 20])), 10);
        assert!(
            m.render(Format::Prometheus)
                .lines()
                .any(|l| l == "s3torrent_swarm_saved_bytes 0")
        );
    }

    #[test]
    fn openmetrics_when_asked() {
        assert_eq!(
            Format::accepted(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::accepted(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::accepted(None), Format::Prometheus);
    }
}
