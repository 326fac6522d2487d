//! The swarm: the endpoint's own tracker and seeding peer, serving an
//! info-hash only while its torrent could be fetched anonymously.
//!
//! The edges read objects through [`SwarmSource`]: `serve`'s store
//! ([`Swarm`]) or the gateway's cluster.
//!
//! Both ask [`Swarm::lookup`] (a connection already seeding re-asks only
//! [`Swarm::decide`], and compares the ETag), which applies `?torrent`'s own rules: the
//! object version exists and is unchanged (its cached torrent, keyed by its
//! version ID, or by its ETag for the null version, still has this
//! info-hash), its ACL grants anonymous READ, and its bucket is not
//! requester-pays. The info-hash index names the version: in a versioned
//! bucket an overwrite leaves the older versions, and their swarms, as
//! they were; in an unversioned one it replaces the null version. A lookup never hashes: an info-hash whose torrent
//! is not cached for the object as it is now is refused.

mod admission;
mod announce;
mod datagrams;
mod dht;
mod error;
mod peer;
mod pieces;
mod served;
mod tracker;
mod udp;
mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s3torrent_metainfo::{InfoHash, ReadAt, Torrent};
use s3torrent_peer::Seed;
use s3torrent_s3::{
    BucketName, CachedTorrent, ObjectInfo, Requester, TorrentCache, TorrentRequest,
};

use s3torrent_tracker::{Decision, RateLimit, Tracker, TrackerConfig, TrustedProxies};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) use crate::edge::listen::stopped;
use crate::edge::listen::{Endpoint, SwarmListeners};
use crate::ops::Service;
use crate::store::{Store, VersionId, peer_info_hashes};
use crate::throttle::Throttle;

use self::admission::{Admission, Listener};
pub(crate) use self::error::{NotServed, PieceError};
use self::peer::serve_peers;
pub(crate) use self::peer::{PeerEdge, PeerSettings};
use self::peer::{PeerLimits, SkeyMark};
pub(crate) use self::pieces::{PieceLoad, PieceSource};
pub(crate) use self::served::{Served, spawn_sweeper};
use self::tracker::{TrackerFront, serve_tracker};
use self::udp::serve_udp_tracker;
use self::ws::serve_ws_tracker;

/// The tracker's announce interval: short, so that clients hear of new
/// peers soon (and of an object that stopped being served at once: every
/// announce is decided afresh).
const TRACKER_INTERVAL: Duration = Duration::from_secs(120);
/// The most tracker connections at once; past it the oldest is closed for a
/// newcomer (a tracker connection is one short exchange, or idle).
const TRACKER_MAX_CONNECTIONS: usize = 4096;
/// The shortest interval clients should keep between announces.
const TRACKER_MIN_INTERVAL: Duration = Duration::from_secs(15);

/// How the swarm's edges behave: the seeding peer's policy, the proxies
/// the HTTP tracker believes, the flood limits, and the DHT node.
pub(crate) struct SwarmSettings {
    /// `--ration-above` and `--peer-encryption`.
    pub(crate) peer: PeerSettings,
    /// `--trusted-proxy`.
    pub(crate) trusted: TrustedProxies,
    /// `--announce-rate`, `--peers-per-address`, `--handshake-grace`.
    pub(crate) limits: crate::config::SwarmLimits,
    /// `--dht`, `--dht-listen`, `--dht-bootstrap`, `--dht-interval`.
    pub(crate) dht: Option<crate::config::DhtConfig>,
    /// `--tracker`, and the endpoint's own trackers.
    pub(crate) trackers: Trackers,
    /// The HTTP tracker's certificate, when it speaks HTTPS (the S3
    /// listener's).
    pub(crate) tls: Option<crate::edge::tls::Tls>,
}

impl SwarmSettings {
    /// The settings `swarm` and `front` give an endpoint whose own
    /// announce URLs are `own_trackers` and whose HTTP tracker speaks
    /// HTTPS with `tls`.
    pub(crate) fn new(
        swarm: &crate::config::SwarmConfig,
        front: &crate::config::FrontConfig,
        own_trackers: Vec<String>,
        tls: Option<crate::edge::tls::Tls>,
    ) -> SwarmSettings {
        SwarmSettings {
            peer: PeerSettings {
                ration_above: swarm.ration_above,
                encryption: swarm.peer_encryption,
            },
            trusted: front.trusted_proxies.clone(),
            limits: swarm.limits,
            dht: swarm.dht.clone(),
            trackers: Trackers {
                own: own_trackers,
                others: front.trackers.clone(),
            },
            tls,
        }
    }
}

/// The trackers torrents list: the endpoint's own (its HTTP and UDP
/// announce URLs) and the others (`--tracker`), to which the endpoint
/// announces itself.
pub(crate) struct Trackers {
    /// The endpoint's own announce URLs, as torrents list them.
    pub(crate) own: Vec<String>,
    /// `--tracker`.
    pub(crate) others: Vec<String>,
}

/// Starts the tracker (HTTP, and UDP when it has a socket) and the seeding
/// peer on their listeners, over `source` (`serve`'s store or the
/// gateway's cluster), until `shutdown`, and prints their addresses
/// (start-up lines): their tasks, for the caller to wait on when it
/// drains. Both trackers share one swarm state; the HTTP one believes the
/// forwarding headers of the trusted proxies. With a DHT node or other
/// trackers (`--tracker`), one sweep of what is served feeds the DHT node
/// and an announcer that announces the seeding peer to those trackers.
pub(crate) fn spawn_edges(
    endpoint: Endpoint,
    listeners: SwarmListeners,
    source: Arc<dyn SwarmSource>,
    throttle: Option<Arc<Throttle>>,
    settings: SwarmSettings,
    shutdown: &watch::Receiver<bool>,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let SwarmSettings {
        peer: peer_settings,
        trusted,
        limits,
        dht,
        trackers,
        tls,
    } = settings;
    let SwarmListeners {
        tracker,
        peer,
        udp_tracker,
        ws_tracker,
    } = listeners;
    let peer_addr = peer.local_addr()?;
    let name = endpoint.name();
    eprintln!(
        "{name}: tracker on {}://{}/announce",
        crate::edge::listen::Scheme::of(tls.as_ref()).as_str(),
        tracker.local_addr()?
    );
    if let Some(udp) = &udp_tracker {
        eprintln!(
            "{name}: UDP tracker on udp://{}/announce",
            udp.local_addr()?
        );
    }
    if let Some(ws) = &ws_tracker {
        let scheme = match tls {
            Some(_) => "wss",
            None => "ws",
        };
        eprintln!(
            "{name}: WebSocket tracker on {scheme}://{}/",
            ws.local_addr()?
        );
    }
    eprintln!("{name}: seeding peer on {peer_addr}");
    let mut config = TrackerConfig::default();
    config.interval = TRACKER_INTERVAL;
    config.min_interval = TRACKER_MIN_INTERVAL;
    config.peer_grace = TRACKER_INTERVAL;
    let rate = limits.announce_rate;
    config.rate_limit = RateLimit::new(
        rate.per_client(),
        config.rate_limit.window,
        config.rate_limit.max_addresses,
    )
    .with_per_address(rate.per_address());
    let state = Arc::new(Mutex::new(Tracker::new(config)));
    crate::metrics::METRICS.watch_tracker(&state);
    let edge = Arc::new(PeerEdge::new(
        Arc::clone(&source),
        throttle,
        Arc::clone(&state),
        peer_settings,
        PeerLimits {
            per_address: limits.peers_per_address.get(),
            handshake_grace: limits.handshake_grace,
        },
    ));
    let tracker_slots = Arc::new(Admission::new(
        Listener::Tracker,
        TRACKER_MAX_CONNECTIONS,
        limits.tracker_connections_per_address.get(),
        limits.handshake_grace,
    ));
    let trusted = Arc::new(trusted);
    let mut tasks = Vec::with_capacity(5);
    if dht.is_some() || !trackers.others.is_empty() {
        let (served, sweeper) = spawn_sweeper(Arc::clone(&source), trackers.own, shutdown.clone());
        tasks.push(sweeper);
        if let Some(dht) = dht {
            let node = self::dht::Node::bind(name, dht, peer_addr)?;
            tasks.push(node.spawn(served.clone(), shutdown.clone()));
        }
        if !trackers.others.is_empty() {
            tasks.push(announce::spawn_announcer(
                name,
                &trackers.others,
                served,
                Arc::clone(&edge),
                peer_addr,
                shutdown.clone(),
            ));
        }
    }
    if let Some(udp) = udp_tracker {
        tasks.push(tokio::spawn(serve_udp_tracker(
            udp,
            Arc::clone(&source),
            Arc::clone(&state),
            peer_addr,
            Arc::clone(&edge),
            shutdown.clone(),
        )));
    }
    if let Some(ws) = ws_tracker {
        // Slots of its own, each address held to the HTTP tracker's share.
        let ws_slots = Arc::new(Admission::new(
            Listener::WsTracker,
            ws::MAX_CONNECTIONS,
            limits.tracker_connections_per_address.get(),
            limits.handshake_grace,
        ));
        tasks.push(tokio::spawn(serve_ws_tracker(
            ws,
            Arc::clone(&source),
            TrackerFront {
                trusted: Arc::clone(&trusted),
                slots: ws_slots,
                tls: tls.clone(),
            },
            shutdown.clone(),
        )));
    }
    tasks.push(tokio::spawn(serve_tracker(
        tracker,
        source,
        state,
        peer_addr,
        Arc::clone(&edge),
        TrackerFront {
            trusted,
            slots: tracker_slots,
            tls,
        },
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(serve_peers(peer, edge, shutdown.clone())));
    Ok(tasks)
}

/// The tracker's `authorize` over `swarm`: an info-hash is served while
/// [`SwarmSource::tracked`] says so (then it counts as served in the
/// metrics), else refused with the reason. `early` is an announce's answer
/// found before the tracker's lock was taken (a lookup may read the
/// store, and every other announce would wait on the lock meanwhile),
/// used for its info-hash; any other (a scrape's) is asked then. Records
/// what was answered last in `seen`, for the log.
pub(crate) fn authorize_with<'a>(
    swarm: &'a dyn SwarmSource,
    early: Option<(InfoHash, Tracked)>,
    seen: &'a mut Option<(InfoHash, Decision)>,
) -> impl FnMut(&InfoHash) -> Decision + 'a {
    let mut early = early;
    move |info_hash| {
        let tracked = match early.take() {
            Some((h, tracked)) if h == *info_hash => tracked,
            _ => swarm.tracked(info_hash),
        };
        let decision = match tracked {
            Tracked::Served(served) => {
                served.count_active(info_hash);
                Decision::Allow
            }
            Tracked::Refused(reason) => Decision::Refuse(reason.as_ref().to_owned()),
        };
        *seen = Some((*info_hash, decision.clone()));
        decision
    }
}

/// The tracker's answer about one info-hash ([`SwarmSource::tracked`]):
/// [`SwarmSource::lookup`]'s, with only what the tracker needs of it.
#[derive(Debug, Clone)]
pub(crate) enum Tracked {
    /// Served.
    Served(Arc<Allowed>),
    /// Refused, and why.
    Refused(Arc<str>),
}

impl Tracked {
    fn of(looked: Result<Target, NotServed>) -> Tracked {
        match looked {
            Ok(target) => Tracked::Served(Arc::new(Allowed {
                paths: crate::metrics::web_seed_paths(&target.torrent),
                active: AtomicU64::new(0),
                skey: SkeyMark::default(),
            })),
            Err(reason) => Tracked::Refused(reason.to_string().into()),
        }
    }

    /// The served torrent, if it is.
    pub(crate) fn served(&self) -> Option<&Arc<Allowed>> {
        match self {
            Tracked::Served(served) => Some(served),
            Tracked::Refused(_) => None,
        }
    }
}

/// An allowed (served) torrent as the tracker's decisions keep it (one per kept
/// decision, shared by the announces it answers): what the metrics and
/// the peer edge learn of its announces, and when they last did, so that
/// most announces need not tell them again.
#[derive(Debug)]
pub(crate) struct Allowed {
    /// Its web seeds' paths (for the metrics).
    paths: Arc<[Box<str>]>,
    /// When the metrics last counted it active: the second since the
    /// process first counted any, plus one; 0 for never.
    active: AtomicU64,
    /// Whether the peer edge remembered it for encrypted connections.
    skey: SkeyMark,
}

impl Allowed {
    /// Counts the torrent active in the metrics, at most once a second
    /// for one kept decision (their most-recently-active order is kept to
    /// the second).
    fn count_active(&self, info_hash: &InfoHash) {
        static START: std::sync::LazyLock<std::time::Instant> =
            std::sync::LazyLock::new(std::time::Instant::now);
        let second = START.elapsed().as_secs().saturating_add(1);
        if self.active.swap(second, Ordering::Relaxed) != second {
            crate::metrics::METRICS.serving_paths(info_hash, &self.paths);
        }
    }

    /// Its mark in the peer edge's table of encrypted connections' names.
    pub(crate) fn skey(&self) -> &SkeyMark {
        &self.skey
    }
}

/// What an info-hash is served from, as it stands now.
pub(crate) struct Target {
    /// The bucket.
    pub(crate) bucket: BucketName,
    /// The object version the torrent describes.
    pub(crate) object: ObjectInfo,
    /// Its torrent.
    pub(crate) torrent: Torrent,
}

/// Where the swarm's objects live, as the tracker and the peer need them:
/// `serve`'s store ([`Swarm`]) or the gateway's cluster. Every method may
/// block (the edges call them on blocking threads); the pieces are then
/// loaded asynchronously ([`PieceSource`]).
pub(crate) trait SwarmSource: Send + Sync {
    /// The bucket and object version `info_hash` points at, if that object
    /// is served to anyone now (`?torrent`'s decision for an anonymous
    /// requester); or why not, in words for a tracker's `failure reason`
    /// and the log. It does not look at the torrent.
    fn decide(&self, info_hash: &InfoHash) -> Result<(BucketName, ObjectInfo), NotServed>;

    /// The torrent cached for this object version, if any (never hashes).
    fn cached_torrent(&self, bucket: &BucketName, object: &ObjectInfo) -> Option<CachedTorrent>;

    /// The pieces of exactly this object version: from a snapshot, or
    /// reads that fail once the object changed.
    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Arc<dyn PieceSource>, NotServed>;

    /// Every info-hash the source's torrents have had, at most `limit`;
    /// whether each is served now is [`SwarmSource::lookup`]'s question.
    /// For what announces the endpoint elsewhere (other trackers, the DHT).
    fn info_hashes(&self, limit: usize) -> Vec<InfoHash>;

    /// A number that changes whenever a torrent is made or learned, so
    /// that a sweep of [`SwarmSource::info_hashes`] can wait while it
    /// stands.
    fn generation(&self) -> u64;

    /// What the tracker answers about `info_hash`: [`SwarmSource::lookup`]'s
    /// decision. May block, as `lookup` does.
    fn tracked(&self, info_hash: &InfoHash) -> Tracked {
        Tracked::of(self.lookup(info_hash))
    }

    /// [`SwarmSource::tracked`]'s answer when it is known without blocking
    /// (remembered since the last write that could change it), for the
    /// tracker to answer on the runtime's thread; `None` otherwise.
    fn tracked_in_memory(&self, _info_hash: &InfoHash) -> Option<Tracked> {
        None
    }

    /// The object `info_hash` names and its torrent, if it is served to
    /// anyone now and unchanged: the torrent cached for the object as it is
    /// now has this info-hash.
    fn lookup(&self, info_hash: &InfoHash) -> Result<Target, NotServed> {
        let (bucket, object) = self.decide(info_hash)?;
        // An adopted object whose ETag is not computed has no torrent yet
        // (the source answers `None`).
        let cached = self
            .cached_torrent(&bucket, &object)
            .ok_or(NotServed::Stale)?;
        let torrent =
            Torrent::from_bytes(cached.bytes).map_err(|source| NotServed::Torrent { source })?;
        if !peer_info_hashes(&torrent).contains(info_hash) {
            return Err(NotServed::Stale);
        }
        Ok(Target {
            bucket,
            object,
            torrent,
        })
    }
}

/// The lookup both edges share, over `serve`'s store.
pub(crate) struct Swarm {
    store: Arc<Store>,
    torrents: Arc<Service>,
    /// The tracker's answers, remembered until the store's next write.
    decisions: Decisions,
}

impl Swarm {
    /// The swarm of `serve`'s store and torrent service.
    pub(crate) fn new(store: Arc<Store>, torrents: Arc<Service>) -> Swarm {
        Swarm {
            store,
            torrents,
            decisions: Decisions::default(),
        }
    }
}

/// The tracker's answers of one store epoch (as the store's record memos
/// keep rows): what [`SwarmSource::tracked`] answered for an info-hash,
/// kept while no write has happened since it was decided, so that the
/// next announce of it is answered from memory (on the runtime's thread,
/// as a cached `?torrent` is). Only answers that depend on the database
/// alone are kept: an info-hash no torrent has, or an object version
/// whose bytes are in the store's own file (a hand-placed file may change
/// without a write, and is decided afresh each time).
#[derive(Default)]
struct Decisions {
    inner: Mutex<(u64, foldhash::HashMap<InfoHash, Tracked>)>,
}

impl Decisions {
    /// The most answers kept; when full, it starts again empty.
    const ROWS: usize = 100_000;

    fn get(&self, epoch: u64, info_hash: &InfoHash) -> Option<Tracked> {
        let mut memo = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if memo.0 != epoch {
            if memo.0 < epoch {
                memo.1.clear();
                memo.0 = epoch;
            }
            return None;
        }
        memo.1.get(info_hash).cloned()
    }

    /// Keeps `tracked`, decided from the database as of epoch `read`,
    /// unless a write has moved the epoch on since (`now`).
    fn put(&self, read: u64, now: u64, info_hash: InfoHash, tracked: Tracked) {
        if read != now {
            return;
        }
        let mut memo = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if memo.0 != read {
            if memo.0 > read {
                return;
            }
            memo.1.clear();
            memo.0 = read;
        }
        if memo.1.len() >= Self::ROWS {
            memo.1.clear();
        }
        memo.1.insert(info_hash, tracked);
    }
}

impl SwarmSource for Swarm {
    fn tracked(&self, info_hash: &InfoHash) -> Tracked {
        let read = self.store.write_epoch();
        if let Some(known) = self.decisions.get(read, info_hash) {
            return known;
        }
        let Some((bucket, key, version)) = self.store.swarm_target(info_hash) else {
            let tracked = Tracked::Refused(
                NotServed::Unknown {
                    endpoint: "endpoint",
                }
                .to_string()
                .into(),
            );
            self.decisions
                .put(read, self.store.write_epoch(), *info_hash, tracked.clone());
            return tracked;
        };
        let tracked = Tracked::of(self.lookup(info_hash));
        if self.store.current_in_own_file(&bucket, &key, &version) {
            self.decisions
                .put(read, self.store.write_epoch(), *info_hash, tracked.clone());
        }
        tracked
    }

    fn tracked_in_memory(&self, info_hash: &InfoHash) -> Option<Tracked> {
        self.decisions.get(self.store.write_epoch(), info_hash)
    }

    fn decide(&self, info_hash: &InfoHash) -> Result<(BucketName, ObjectInfo), NotServed> {
        let Some((bucket, key, version)) = self.store.swarm_target(info_hash) else {
            return Err(NotServed::Unknown {
                endpoint: "endpoint",
            });
        };
        let refused = |source| NotServed::Refused { source };
        // The version the torrent was made of, while an anonymous GET could
        // read it: as the key's current version, or by its ID once an
        // overwrite made it older (in a versioned bucket; the null version
        // of an unversioned one is its current object, which an overwrite
        // replaces).
        let mut req = TorrentRequest::new(bucket.as_str(), key.as_str(), Requester::Anonymous);
        let current = self.torrents.plan(&*self.store, &req);
        if let Ok(plan) = &current
            && plan
                .object
                .version_id
                .as_deref()
                .map_or(VersionId::Null, VersionId::of)
                == version
        {
            let plan = current.map_err(refused)?;
            return Ok((plan.bucket, plan.object));
        }
        req.version_id = Some(version.as_str().to_owned());
        let plan = self.torrents.plan(&*self.store, &req).map_err(refused)?;
        Ok((plan.bucket, plan.object))
    }

    fn cached_torrent(&self, bucket: &BucketName, object: &ObjectInfo) -> Option<CachedTorrent> {
        let key = self.torrents.cache_key(bucket, object)?;
        self.torrents.cache().get(&key)
    }

    fn info_hashes(&self, limit: usize) -> Vec<InfoHash> {
        self.store.swarm_info_hashes(limit)
    }

    fn generation(&self) -> u64 {
        self.torrents.cache().generation()
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Arc<dyn PieceSource>, NotServed> {
        let version = object
            .version_id
            .as_deref()
            .map_or(VersionId::Null, VersionId::of);
        let file = self
            .store
            .open_snapshot(
                bucket,
                &object.key,
                &version,
                object.etag.as_known().unwrap_or_default(),
            )
            .map_err(|e| NotServed::Open {
                source: Box::new(e),
            })?;
        Ok(Arc::new(Snapshot(file)))
    }
}

/// An object version's file (a snapshot: it stays that version's bytes),
/// read a piece at a time on a blocking thread, checked there too.
struct Snapshot(crate::sse::ObjectReader);

impl PieceSource for Snapshot {
    fn load(self: Arc<Self>, seed: Arc<Seed>, index: u32) -> PieceLoad {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                seed.read_piece(index, &self.0 as &dyn ReadAt)
                    .map_err(PieceError::seed)
            })
            .await
            .map_err(PieceError::task)?
        })
    }
}
