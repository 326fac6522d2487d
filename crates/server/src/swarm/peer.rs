//! The seeding peer's tokio edge: accept, read into the sans-IO
//! [`Connection`], look handshakes up, load the pieces it asks for (shared
//! between connections, never blocking the runtime), write what it gives
//! within the `--seed-rate` budget, fire its timeouts, and close.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use s3torrent_metainfo::InfoHash;
use s3torrent_peer::{
    Adaptive, Config, Connection, Crypto, Encryption, Event, MAX_PAD, MseEvent, MseHandshake, Seed,
    SeedMode, SeedOptions, SeedTorrent, UploadSlots, random_peer_id, skey_hash,
};
use s3torrent_s3::ETag;
use s3torrent_tracker::Tracker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::SwarmSource;
use super::admission::{Admission, Listener, Newcomer, Slot, Ticket};
use super::error::PeerClosed;
use super::pieces::{PieceLoad, Pieces};
use super::stopped;
use crate::config::PeerEncryption;
use crate::edge::listen::accept;
use crate::store::peer_info_hashes;
use crate::throttle::Throttle;

/// How often a connection checks that its object is still served as it was
/// (public, unchanged, not deleted).
const REVALIDATE: Duration = Duration::from_secs(2);

/// How long an address the endpoint dialed is left alone before another dial.
const REDIAL: Duration = Duration::from_secs(60);

/// The most addresses remembered as dialed.
const MAX_DIALED: usize = 10_000;

/// How often a full table of dialed addresses is swept for expired ones at
/// most: a sweep checks every entry, which an offer must not pay each time
/// while a flood of leechers keeps the table full.
const DIALED_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Offers waiting for the dialer; beyond it offers are dropped.
const DIAL_QUEUE: usize = 256;

/// How long a dial may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a dial waits for a free connection slot before it is dropped
/// (and may be offered again).
const DIAL_SLOT_WAIT: Duration = Duration::from_secs(30);

/// How long an offered dial counts as queued: past it, an announce may
/// offer it again (a dial is made or dropped well before).
const DIAL_QUEUED_TTL: Duration = Duration::from_secs(60);

/// How long after a leecher's announce the endpoint dials it: a client
/// that connects to the peers its tracker gives has done so by then, and is
/// not dialed a second time.
const DIAL_DELAY: Duration = Duration::from_millis(500);

/// The most info-hashes remembered for encrypted (MSE) connections, which
/// name their torrent only as a hash of it.
const MAX_SKEYS: usize = 100_000;

/// The verified pieces one seeded torrent keeps in memory.
const SEED_CACHE_BYTES: u64 = 8 << 20;

/// The verified pieces all seeded torrents keep in memory together: a
/// torrent seeded while the others hold this much keeps one piece only, so
/// peers asking for many objects at once cannot make the endpoint hold
/// [`SEED_CACHE_BYTES`] for each of its connections.
const SEED_CACHE_BUDGET: u64 = 128 << 20;

/// The cache a new seed gets when live seeds hold `held` bytes of cache
/// between them: [`SEED_CACHE_BYTES`] while the budget allows, what is left
/// of it, or nothing (the seed then keeps one piece).
fn seed_cache_bytes(held: u64) -> u64 {
    SEED_CACHE_BUDGET.saturating_sub(held).min(SEED_CACHE_BYTES)
}

/// What one round of writing may take without a rate limit.
const UNTHROTTLED_BUDGET: usize = 256 * 1024;

/// One object version being seeded: the shared [`Seed`] and its verified
/// pieces, loaded from that version's bytes.
pub(crate) struct Seeding {
    seed: Arc<Seed>,
    pieces: Pieces,
    etag: ETag,
    /// Its share of [`SEED_CACHE_BUDGET`].
    cache_bytes: u64,
}

/// Who is connected for which torrent: (info-hash, the peer's peer id).
type PeerKey = (InfoHash, [u8; 20]);

/// The peer listener's shared state.
pub(crate) struct PeerEdge {
    swarm: Arc<dyn SwarmSource>,
    throttle: Option<Arc<Throttle>>,
    config: Config,
    options: SeedOptions,
    /// This process's peer id (random: replicas and restarts differ).
    peer_id: [u8; 20],
    /// The peers connected now, so that one client gets one connection
    /// per torrent (its own, or the endpoint's dial).
    connected: Mutex<HashSet<PeerKey>>,
    /// Seeds by every info-hash they answer to, while a connection holds one.
    seeds: Mutex<HashMap<InfoHash, Weak<Seeding>>>,
    /// The connection slots (see [`Admission`]).
    slots: Arc<Admission>,
    /// Leechers the tracker told about, for the dialer.
    dial_tx: mpsc::Sender<Dial>,
    dial_rx: Mutex<Option<mpsc::Receiver<Dial>>>,
    /// The tracker's swarms: their leechers are a seed's crowd before the
    /// peers connect.
    tracker: Arc<Mutex<Tracker>>,
    /// Each address offered for a dial: queued since, or dialed when, so
    /// that each is dialed at most once per [`REDIAL`].
    dialed: Mutex<DialBook>,

    /// Message stream encryption: accepted, required or off.
    encryption: PeerEncryption,
    /// The info-hashes announced or seeded lately, by `HASH('req2', info
    /// hash)`: how an encrypted connection names its torrent.
    skeys: Mutex<Skeys>,
    /// `skeys`' generation, read without its lock by [`SkeyMark`] holders.
    skey_generation: AtomicU64,
}

/// The info-hashes announced or seeded lately, by the hash an encrypted
/// connection names them with, and the set of them (so that an announce
/// of one already known costs no hash).
#[derive(Debug, Default)]
struct Skeys {
    by_hash: HashMap<[u8; 20], InfoHash>,
    known: HashSet<InfoHash>,
    /// How many times the table was forgotten (when full): a
    /// [`SkeyMark`] of an older generation no longer stands.
    generation: u64,
}

/// Says that its holder's info-hash was remembered for encrypted
/// connections ([`PeerEdge::announced`]), and in which generation of the
/// table: the holder (a decision the tracker keeps for the info-hash)
/// announces again without a look at the table while that generation
/// stands.
#[derive(Debug, Default)]
pub(crate) struct SkeyMark(AtomicU64);

impl SkeyMark {
    /// Whether it was set in `generation`.
    fn stands(&self, generation: u64) -> bool {
        self.0.load(Ordering::Acquire) == generation.wrapping_add(1)
    }

    fn set(&self, generation: u64) {
        self.0.store(generation.wrapping_add(1), Ordering::Release);
    }
}

impl Skeys {
    /// Remembers `info_hash` (forgetting every one first when `max` are
    /// held: the ones in use are remembered again at their next announce),
    /// sets `mark` to the generation it is remembered in, and says it.
    fn remember(&mut self, info_hash: InfoHash, mark: Option<&SkeyMark>, max: usize) -> u64 {
        // Known already (every announce of a swarm but its first): no hash.
        if !self.known.contains(&info_hash) {
            if self.by_hash.len() >= max {
                self.by_hash.clear();
                self.known.clear();
                self.generation = self.generation.wrapping_add(1);
            }
            self.by_hash.insert(skey_hash(&info_hash), info_hash);
            self.known.insert(info_hash);
        }
        if let Some(mark) = mark {
            mark.set(self.generation);
        }
        self.generation
    }
}

/// The addresses offered for a dial, when the table was last swept
/// because it was full, and how many more dials this second may start.
#[derive(Debug, Default)]
struct DialBook {
    by_addr: HashMap<SocketAddr, DialState>,
    swept: Option<Instant>,
    budget: DialBudget,
}

/// The most dials the endpoint starts in a second (libtorrent's
/// `connection_speed` is 30 by default): a crowd of leechers announcing at
/// once is dialed over seconds, not in one burst of thousands of
/// connection attempts. They connect to the endpoint themselves meanwhile
/// (it is first in every answer), and one not dialed now is offered again
/// by its next announce.
const DIALS_PER_SECOND: u32 = 30;

/// Dials left in the current one-second window.
#[derive(Debug, Default)]
struct DialBudget {
    window: Option<Instant>,
    started: u32,
}

impl DialBudget {
    /// Whether the window of `now` has no dial left.
    fn spent(&mut self, now: Instant) -> bool {
        let fresh = self
            .window
            .is_none_or(|w| now.saturating_duration_since(w) >= Duration::from_secs(1));
        if fresh {
            self.window = Some(now);
            self.started = 0;
        }
        self.started >= DIALS_PER_SECOND
    }

    /// Whether one more dial may start at `now` (and it is counted).
    fn take(&mut self, now: Instant) -> bool {
        if self.spent(now) {
            return false;
        }
        self.started += 1;
        true
    }
}

/// Where an address offered for a dial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialState {
    /// Offered at this time, waiting for its delay or for a slot.
    Queued(Instant),
    /// Dialed at this time (or found connected already).
    Made(Instant),
}

impl DialState {
    /// Whether it keeps the address from being offered again at `now`.
    fn holds(self, now: Instant) -> bool {
        match self {
            DialState::Queued(t) => now.saturating_duration_since(t) < DIAL_QUEUED_TTL,
            DialState::Made(t) => now.saturating_duration_since(t) < REDIAL,
        }
    }
}

/// How the seeding peer admits connections (README, "Floods").
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerLimits {
    /// The most connections one address (an IPv6 /64) holds.
    pub(crate) per_address: usize,
    /// How long a connection has to complete its handshake before it may
    /// be closed to admit a newcomer.
    pub(crate) handshake_grace: Duration,
}

/// What a leecher's announce said of encryption (`requirecrypto=1`,
/// `supportcrypto=1`, or neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnnouncedCrypto {
    /// `requirecrypto=1`: it accepts encrypted connections only.
    Required,
    /// `supportcrypto=1`, or nothing said.
    Optional,
}

/// How the seeding peer seeds: when it rations (`--ration-above`), and
/// whether it encrypts (`--peer-encryption`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerSettings {
    /// Rationed offers past this many interested peers or leechers.
    pub(crate) ration_above: usize,
    /// Message stream encryption: accepted, required or off.
    pub(crate) encryption: PeerEncryption,
}

tokio::task_local! {
    /// The slot ticket of the connection this task runs.
    static CURRENT_SLOT: Arc<Ticket>;
}

/// The running connection's handshake is accepted: its slot is no longer
/// closed for newcomers.
fn slot_established() {
    let _ = CURRENT_SLOT.try_with(|t| t.establish());
}

/// Whether an announcing peer is downloading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leeching {
    /// It has bytes left and did not stop.
    Yes,
    /// It is complete, or stopped.
    No,
}

/// Who a peer offered for a dial is, as far as the endpoint knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    /// It announced to the endpoint's tracker under this peer id.
    Announced([u8; 20]),
    /// Another tracker listed its address only (compact peers).
    Listed,
}

/// A leecher to dial: the torrent, its address, who it is, and when.
struct Dial {
    info_hash: InfoHash,
    addr: SocketAddr,
    peer: Offered,
    at: Instant,
    crypto: AnnouncedCrypto,
}

impl PeerEdge {
    pub(crate) fn new(
        swarm: Arc<dyn SwarmSource>,
        throttle: Option<Arc<Throttle>>,
        tracker: Arc<Mutex<Tracker>>,
        settings: PeerSettings,
        limits: PeerLimits,
    ) -> PeerEdge {
        let PeerSettings {
            ration_above,
            encryption,
        } = settings;
        // A plain seed while the upload has room, rationed offers while it
        // is the bottleneck (README, "How the endpoint seeds"). Every
        // interested peer is unchoked: with upload to spare nobody should
        // wait, and while rationing every peer should have its few pieces
        // to pass on. Each torrent being seeded keeps its own cache of
        // verified pieces (see `seed_cache_bytes`); the page cache is the
        // second level.
        let mut options = SeedOptions::default();
        let mut adaptive = Adaptive::default();
        adaptive.ration_above = ration_above;
        options.mode = SeedMode::Adaptive(adaptive);
        options.choker.slots = UploadSlots::Unlimited;
        let (dial_tx, dial_rx) = mpsc::channel(DIAL_QUEUE);
        let config = Config::default();
        let slots = Arc::new(Admission::new(
            Listener::Peer,
            config.limits.max_connections,
            limits.per_address,
            limits.handshake_grace,
        ));
        PeerEdge {
            swarm,
            throttle,
            config,
            options,
            peer_id: random_peer_id(),
            connected: Mutex::new(HashSet::new()),
            tracker,
            seeds: Mutex::new(HashMap::new()),
            slots,
            dial_tx,
            dial_rx: Mutex::new(Some(dial_rx)),
            dialed: Mutex::new(DialBook::default()),
            encryption,
            skeys: Mutex::new(Skeys::default()),
            skey_generation: AtomicU64::new(0),
        }
    }

    /// This process's peer id, which the seeding peer's handshakes and its
    /// announces to other trackers carry.
    pub(crate) fn peer_id(&self) -> [u8; 20] {
        self.peer_id
    }

    /// Remembers `info_hash` for encrypted connections, which name it by
    /// its [`skey_hash`]; when `mark` says it was, in the table's current
    /// generation, without a look at the table.
    fn remember_skey(&self, info_hash: InfoHash, mark: Option<&SkeyMark>) {
        if self.encryption == PeerEncryption::Off {
            return;
        }
        if mark.is_some_and(|m| m.stands(self.skey_generation.load(Ordering::Acquire))) {
            return;
        }
        let mut skeys = self.skeys.lock().unwrap_or_else(|p| p.into_inner());
        let generation = skeys.remember(info_hash, mark, MAX_SKEYS);
        self.skey_generation.store(generation, Ordering::Release);
    }

    /// The info-hash an encrypted connection named by `hash`, if it was
    /// announced or seeded lately.
    fn skey(&self, hash: &[u8; 20]) -> Option<InfoHash> {
        self.skeys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_hash
            .get(hash)
            .copied()
    }

    /// A leecher announced `info_hash` (already allowed) from `addr` as
    /// `peer` (or another tracker listed it): the endpoint connects to it
    /// too, [`DIAL_DELAY`] later, unless it did so lately or the client
    /// connected by itself meanwhile (known by its peer id, when it
    /// announced here; otherwise its handshake tells, and a second
    /// connection is refused then). Clients that do not connect to loopback
    /// or private-range peers from a tracker (transmission) still get the
    /// endpoint this way, and so does a leecher that announced to another
    /// tracker before the endpoint did.
    /// The dial is encrypted when the policy requires it, or when the
    /// leecher's announce required it and the policy allows it.
    pub(crate) fn offer(
        &self,
        info_hash: InfoHash,
        addr: SocketAddr,
        peer: Offered,
        crypto: AnnouncedCrypto,
    ) {
        let now = Instant::now();
        let mut dialed = self.dialed.lock().unwrap_or_else(|p| p.into_inner());
        // Under a crowd the budget is spent first: no look at the table.
        if dialed.budget.spent(now) || dialed.by_addr.get(&addr).is_some_and(|d| d.holds(now)) {
            return;
        }
        if dialed.by_addr.len() >= MAX_DIALED {
            if dialed
                .swept
                .is_none_or(|t| now.saturating_duration_since(t) >= DIALED_SWEEP_EVERY)
            {
                dialed.by_addr.retain(|_, d| d.holds(now));
                dialed.swept = Some(now);
            }
            if dialed.by_addr.len() >= MAX_DIALED {
                return;
            }
        }
        if !dialed.budget.take(now) {
            return;
        }
        let queued = self.dial_tx.try_send(Dial {
            info_hash,
            addr,
            peer,
            at: now + DIAL_DELAY,
            crypto,
        });
        if queued.is_ok() {
            // Dialed is recorded when the dial is made (`dial_made`).
            dialed.by_addr.insert(addr, DialState::Queued(now));
        }
    }

    /// The dial to `addr` is made now (or it is connected already): it is
    /// not dialed again for [`REDIAL`].
    fn dial_made(&self, addr: SocketAddr) {
        self.dialed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_addr
            .insert(addr, DialState::Made(Instant::now()));
    }

    /// The dial to `addr` was never made: the next announce offers it
    /// again.
    fn dial_dropped(&self, addr: SocketAddr) {
        let mut dialed = self.dialed.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(dialed.by_addr.get(&addr), Some(DialState::Queued(_))) {
            dialed.by_addr.remove(&addr);
        }
    }

    /// An allowed announce for `info_hash` (the tracker's swarm has taken
    /// it): the torrent's seed learns how many leechers there are, and an
    /// encrypted connection may name the torrent. `mark`: the decision the
    /// announce was allowed by, when it was one the tracker keeps.
    pub(crate) fn announced(&self, info_hash: InfoHash, mark: Option<&SkeyMark>) {
        self.remember_skey(info_hash, mark);
        let seeding = self
            .seeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&info_hash)
            .and_then(Weak::upgrade);
        if let Some(s) = seeding {
            s.seed.set_leechers(self.leechers(&info_hash));
        }
    }

    /// How many leechers of `info_hash` the tracker holds now.
    fn leechers(&self, info_hash: &InfoHash) -> usize {
        self.tracker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .leechers(info_hash, Instant::now())
    }

    /// Whether the peer `key` is connected now.
    fn is_connected(&self, key: &PeerKey) -> bool {
        self.connected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    /// The seed for `info_hash`, if the object is served now: the one other
    /// connections share while it is current, or a new one over a fresh
    /// snapshot of the object.
    fn seeding(&self, info_hash: &InfoHash) -> Result<Arc<Seeding>, PeerClosed> {
        let target = self.swarm.lookup(info_hash)?;
        crate::metrics::METRICS.serving(info_hash, &target.torrent);
        let mut seeds = self.seeds.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = seeds.get(info_hash).and_then(Weak::upgrade)
            && s.etag == target.object.etag
            && s.seed.stale_piece().is_none()
        {
            return Ok(s);
        }
        let source = self.swarm.open(&target.bucket, &target.object)?;
        let torrent = SeedTorrent::from_torrent(&target.torrent, self.peer_id)
            .map_err(|source| PeerClosed::Torrent { source })?;
        seeds.retain(|_, s| s.strong_count() > 0);
        // What the live seeds hold (a hybrid seed is in the map twice).
        let mut live: Vec<Arc<Seeding>> = seeds.values().filter_map(Weak::upgrade).collect();
        live.sort_by_key(|s| Arc::as_ptr(s) as usize);
        live.dedup_by(|a, b| Arc::ptr_eq(a, b));
        let held = live.iter().map(|s| s.cache_bytes).sum();
        drop(live);
        let cache_bytes = seed_cache_bytes(held);
        let pieces = usize::try_from(cache_bytes / u64::from(torrent.piece_length()))
            .unwrap_or(usize::MAX)
            .max(1);
        let seed = Arc::new(Seed::new(torrent, self.options));
        seed.set_leechers(self.leechers(info_hash));
        let seeding = Arc::new(Seeding {
            pieces: Pieces::new(Arc::clone(&seed), source, pieces),
            seed,
            etag: target.object.etag,
            cache_bytes,
        });
        for hash in peer_info_hashes(&target.torrent) {
            seeds.insert(hash, Arc::downgrade(&seeding));
            self.remember_skey(hash, None);
        }
        Ok(seeding)
    }

    /// Whether `seeding` is still what `info_hash` serves: the object is
    /// still served, and still the version it was (its ETag), so its
    /// torrent has not changed either; the torrent need not be read again.
    fn still_served(&self, info_hash: &InfoHash, seeding: &Seeding) -> Result<(), PeerClosed> {
        let (_, object) = self.swarm.decide(info_hash)?;
        if object.etag != seeding.etag {
            return Err(PeerClosed::Changed);
        }
        Ok(())
    }
}

/// Accepts peer connections on `listener`, and dials the leechers the
/// tracker offers, until `shutdown` turns true.
pub(crate) async fn serve_peers(
    listener: TcpListener,
    edge: Arc<PeerEdge>,
    mut shutdown: watch::Receiver<bool>,
) {
    let dials = edge
        .dial_rx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(dials) = dials {
        tokio::spawn(dialer(Arc::clone(&edge), dials, shutdown.clone()));
    }
    while let Some((socket, remote)) = accept(&listener, &mut shutdown, "peer").await {
        // Refused: closed at once (`Admission` logs a summary).
        let Some(slot) = edge.admit(remote, Newcomer::Accepted) else {
            continue;
        };
        let started = Instant::now();
        let conn = Connection::incoming(edge.config.clone(), started);
        // A plain handshake is told apart from an encrypted one by its
        // first bytes, unless encryption is off.
        let mse = match edge.encryption {
            PeerEncryption::Off => None,
            policy => Some(MseHandshake::incoming(
                policy.policy(),
                random_key(),
                &random_pad(),
                started,
                edge.config.handshake_timeout,
            )),
        };
        tokio::spawn(hold(
            slot,
            remote,
            Dialed::No,
            run(
                Arc::clone(&edge),
                conn,
                mse,
                socket,
                remote,
                None,
                shutdown.clone(),
            ),
        ));
    }
}

/// Whether the endpoint dialed a connection, for its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialed {
    /// The peer connected to the endpoint.
    No,
    /// The endpoint connected to the peer.
    Yes,
}

/// Runs `connection` (one of [`run`]) in `slot`: until it ends, or until
/// its slot is given to a newcomer while its handshake is pending (then it
/// is closed, and logged here). The slot is given back at the end.
async fn hold<T>(
    slot: Slot,
    remote: SocketAddr,
    dialed: Dialed,
    connection: impl Future<Output = T>,
) -> Option<T> {
    let ticket = Arc::clone(slot.ticket());
    let started = Instant::now();
    let ended = tokio::select! {
        done = CURRENT_SLOT.scope(Arc::clone(&ticket), connection) => Some(done),
        () = ticket.evicted() => {
            // Not a line each at INFO: a flood makes thousands (the
            // admission's summary counts them).
            tracing::debug!(
                target: "peer",
                client = %remote,
                dialed = dialed == Dialed::Yes,
                ms = crate::edge::listen::millis(started),
                outcome = "closed: no handshake yet, and its slot went to a newcomer",
                "connection"
            );
            None
        }
    };
    drop(slot);
    ended
}

/// Connects to the leechers the tracker offers.
async fn dialer(
    edge: Arc<PeerEdge>,
    mut dials: mpsc::Receiver<Dial>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let dial = tokio::select! {
            next = dials.recv() => match next {
                Some(d) => d,
                None => return,
            },
            () = stopped(&mut shutdown) => return,
        };
        let (edge, mut stop) = (Arc::clone(&edge), shutdown.clone());
        tokio::spawn(async move {
            let Dial {
                info_hash,
                addr,
                peer,
                at,
                crypto,
            } = dial;
            tokio::select! {
                () = tokio::time::sleep_until(at.into()) => {}
                () = stopped(&mut stop) => return,
            }
            let mut encrypted = match edge.encryption {
                PeerEncryption::Require => true,
                PeerEncryption::Prefer => crypto == AnnouncedCrypto::Required,
                PeerEncryption::Off => false,
            };
            loop {
                if let Offered::Announced(peer_id) = peer
                    && edge.is_connected(&(info_hash, peer_id))
                {
                    tracing::debug!(target: "peer", client = %addr, "not dialed: connected already");
                    edge.dial_made(addr);
                    return;
                }
                // A slot, waiting for one to free if none can be had now.
                let give_up = tokio::time::Instant::now() + DIAL_SLOT_WAIT;
                let slot = loop {
                    let freed = edge.slots.freed().notified();
                    let mut freed = std::pin::pin!(freed);
                    freed.as_mut().enable();
                    if let Some(slot) = edge.admit(addr, Newcomer::Chosen) {
                        break slot;
                    }
                    tokio::select! {
                        () = freed => {}
                        () = tokio::time::sleep_until(give_up) => {
                            edge.dial_dropped(addr);
                            return;
                        }
                        () = stopped(&mut stop) => return,
                    }
                };
                edge.dial_made(addr);
                let connected = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr)).await;
                let socket = match connected {
                    Ok(Ok(socket)) => socket,
                    Ok(Err(e)) => return edge.release(addr, &format!("dial failed: {e}")),
                    Err(_) => return edge.release(addr, "dial timed out"),
                };
                let _ = socket.set_nodelay(true);
                let lookup = Arc::clone(&edge);
                let found = tokio::task::spawn_blocking(move || lookup.seeding(&info_hash)).await;
                let seeding = match found {
                    Ok(Ok(s)) => s,
                    Ok(Err(reason)) => return edge.release(addr, &reason.to_string()),
                    Err(e) => return edge.release(addr, &e.to_string()),
                };
                let now = Instant::now();
                let conn =
                    Connection::outgoing(edge.config.clone(), Arc::clone(&seeding.seed), now);
                let mse = encrypted.then(|| {
                    MseHandshake::outgoing(
                        edge.encryption.policy(),
                        info_hash,
                        random_key(),
                        &random_pad(),
                        now,
                        edge.config.handshake_timeout,
                    )
                });
                let connection = run(
                    Arc::clone(&edge),
                    conn,
                    mse,
                    socket,
                    addr,
                    Some((info_hash, seeding)),
                    stop.clone(),
                );
                let handshake = hold(slot, addr, Dialed::Yes, connection).await;
                // A leecher that ends a plain dial before its handshake may
                // take encrypted connections only: under `prefer`, one more
                // dial, encrypted.
                if handshake == Some(Handshook::Yes)
                    || encrypted
                    || edge.encryption != PeerEncryption::Prefer
                    || *stop.borrow()
                {
                    return;
                }
                encrypted = true;
            }
        });
    }
}

impl PeerEdge {
    /// Takes a connection slot for `remote` (see [`Admission`]), closing
    /// a connection whose handshake is overdue if the slots run out.
    fn admit(&self, remote: SocketAddr, newcomer: Newcomer) -> Option<Slot> {
        self.slots.admit(remote.ip(), newcomer).ok()
    }

    /// Logs a dial that never became a connection (its slot is given back
    /// when dropped).
    fn release(&self, addr: SocketAddr, why: &str) {
        tracing::info!(target: "peer", client = %addr, dialed = true, outcome = why, "connection");
    }
}

/// Whether a connection got as far as the peer's BitTorrent handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshook {
    Yes,
    No,
}

/// Runs one connection (it holds a slot) to its end and logs it; says
/// whether the peer's handshake came.
async fn run(
    edge: Arc<PeerEdge>,
    mut conn: Connection,
    mse: Option<MseHandshake>,
    socket: TcpStream,
    remote: SocketAddr,
    seeding: Option<(InfoHash, Arc<Seeding>)>,
    stop: watch::Receiver<bool>,
) -> Handshook {
    let started = Instant::now();
    let _open = crate::metrics::METRICS.peer_open();
    let dialed = seeding.is_some();
    let mut crypto = None;
    let outcome = drive(&edge, &mut conn, mse, &mut crypto, socket, seeding, stop).await;
    let encryption = crypto.map(|c| match c {
        Crypto::Rc4 => "rc4",
        Crypto::Plaintext => "plaintext",
    });
    let stats = conn.stats();
    if let Some(h) = conn.peer() {
        // The torrent's sample of this minute has what this connection sent.
        crate::metrics::METRICS.sample(&h.info_hash);
    }
    let info_hash = conn.peer().map(|h| h.info_hash.to_hex());
    let offered = conn.offering().map(|o| match o {
        s3torrent_peer::Offering::All => "all",
        s3torrent_peer::Offering::Rationed => "rationed",
    });
    let outcome = match outcome {
        Ok(why) => why,
        Err(why) => format!("closed: {why}"),
    };
    tracing::info!(
        target: "peer",
        client = %remote,
        dialed,
        info_hash,
        sent = stats.payload_sent,
        blocks = stats.blocks_sent,
        received = stats.bytes_received,
        offered,
        encryption,
        ms = crate::edge::listen::millis(started),
        outcome,
        "connection"
    );
    if info_hash.is_some() {
        Handshook::Yes
    } else {
        Handshook::No
    }
}

/// A connected peer's place in [`PeerEdge::connected`], given back when the
/// connection ends.
struct Registered<'a> {
    edge: &'a PeerEdge,
    key: PeerKey,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.edge
            .connected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// What one connection holds while it runs: its seed, its place among the
/// connected peers, the pieces being loaded for it.
struct Session<'a> {
    seeding: Option<(InfoHash, Arc<Seeding>)>,
    /// The info-hash an encrypted connection named in its MSE handshake:
    /// its BitTorrent handshake must name the same.
    skey: Option<InfoHash>,
    registered: Option<Registered<'a>>,
    loads: FuturesUnordered<PieceLoad>,
}

impl<'a> Session<'a> {
    /// Registers the peer once its handshake is known; a second
    /// connection of the same peer for the same torrent is refused.
    fn register(&mut self, edge: &'a PeerEdge, conn: &Connection) -> Result<(), PeerClosed> {
        if self.registered.is_some() {
            return Ok(());
        }
        let (Some(peer), Some((info_hash, _))) = (conn.peer(), &self.seeding) else {
            return Ok(());
        };
        let key = (*info_hash, peer.peer_id);
        if !edge
            .connected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key)
        {
            return Err(PeerClosed::Duplicate);
        }
        self.registered = Some(Registered { edge, key });
        slot_established();
        Ok(())
    }

    /// Handles the connection's events: a handshake is looked up and
    /// accepted or rejected, a needed piece starts loading. `Some` ends the
    /// connection, saying why.
    async fn events(
        &mut self,
        edge: &'a Arc<PeerEdge>,
        conn: &mut Connection,
    ) -> Result<Option<String>, PeerClosed> {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Handshake(h) => {
                    if self.skey.is_some_and(|k| k != h.info_hash) {
                        let _ = conn.reject();
                        return Err(PeerClosed::OtherInfoHash);
                    }
                    let lookup = Arc::clone(edge);
                    let found =
                        tokio::task::spawn_blocking(move || lookup.seeding(&h.info_hash)).await?;
                    match found {
                        Ok(s) => {
                            if edge.is_connected(&(h.info_hash, h.peer_id)) {
                                let _ = conn.reject();
                                return Err(PeerClosed::Duplicate);
                            }
                            conn.accept(Arc::clone(&s.seed), Instant::now())?;
                            self.seeding = Some((h.info_hash, s));
                        }
                        Err(reason) => {
                            let _ = conn.reject();
                            return Err(reason);
                        }
                    }
                }
                Event::NeedPiece(index) => {
                    if let Some((_, s)) = &self.seeding {
                        let s = Arc::clone(s);
                        self.loads
                            .push(Box::pin(async move { s.pieces.get(index).await }));
                    }
                }
                Event::PeerComplete => return Ok(Some("the peer has every piece".into())),
                _ => {}
            }
        }
        self.register(edge, conn)?;
        Ok(None)
    }
}

/// 160 random bits: an MSE private key.
fn random_key() -> [u8; 20] {
    let mut key = [0u8; 20];
    fill_random(&mut key);
    key
}

/// An MSE pad: 0 to [`MAX_PAD`] random bytes.
fn random_pad() -> Vec<u8> {
    let mut len = [0u8; 2];
    fill_random(&mut len);
    let mut pad = vec![0u8; usize::from(u16::from_be_bytes(len)) % (MAX_PAD + 1)];
    fill_random(&mut pad);
    pad
}

/// Random bytes from the system; should it fail, from the process's
/// random hash keys and the clock (MSE obfuscates, it is not a secret).
pub(super) fn fill_random(bytes: &mut [u8]) {
    if getrandom::fill(bytes).is_ok() {
        return;
    }
    use std::hash::{BuildHasher, Hasher};
    for (k, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(k);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// Runs a connection's encryption handshake (MSE, or the detection of a
/// plain one) to its end: the stream's [`Encryption`] and the plaintext
/// received after it.
async fn encryption_handshake(
    edge: &PeerEdge,
    hs: &mut MseHandshake,
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(Encryption, Vec<u8>), PeerClosed> {
    let mut input = vec![0u8; 4096];
    let mut out = Vec::new();
    loop {
        let mut done = false;
        while let Some(event) = hs.poll_event() {
            match event {
                MseEvent::Skey(hash) => hs.provide_skey(edge.skey(&hash))?,
                MseEvent::Done(_) => done = true,
                _ => {}
            }
        }
        out.clear();
        hs.poll_transmit(&mut out);
        if !out.is_empty() {
            wr.write_all(&out).await.map_err(PeerClosed::Write)?;
        }
        if done {
            return Ok(hs.finish()?);
        }
        let deadline = hs.poll_timeout().unwrap_or_else(Instant::now);
        tokio::select! {
            read = rd.read(&mut input) => match read {
                Ok(0) => return Err(PeerClosed::ClosedInHandshake),
                Ok(n) => hs.handle_input(Instant::now(), &input[..n])?,
                Err(e) => return Err(PeerClosed::Read(e)),
            },
            () = tokio::time::sleep_until(deadline.into()) => {
                hs.handle_timeout(Instant::now())?;
            }
            () = stopped(shutdown) => return Err(PeerClosed::ShuttingDown),
        }
    }
}

/// Runs one connection to its end; says why it ended.
async fn drive(
    edge: &Arc<PeerEdge>,
    conn: &mut Connection,
    mse: Option<MseHandshake>,
    crypto: &mut Option<Crypto>,
    socket: TcpStream,
    seeding: Option<(InfoHash, Arc<Seeding>)>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<String, PeerClosed> {
    let (mut rd, mut wr) = socket.into_split();
    let mut skey = None;
    let mut encryption = match mse {
        Some(mut hs) => {
            // Bounded by the handshake's own deadline; the writes too.
            let limit = edge.config.handshake_timeout + Duration::from_secs(1);
            let (encryption, received) = tokio::time::timeout(
                limit,
                encryption_handshake(edge, &mut hs, &mut rd, &mut wr, &mut shutdown),
            )
            .await
            .map_err(|_| PeerClosed::HandshakeTimeout(limit))??;
            skey = hs.info_hash();
            if !received.is_empty() {
                conn.handle_input(Instant::now(), &received)?;
            }
            encryption
        }
        None => Encryption::plaintext(),
    };
    *crypto = Some(encryption.crypto());
    let mut input = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(UNTHROTTLED_BUDGET + 64);
    let mut revalidate = Instant::now() + REVALIDATE;
    let budget = match &edge.throttle {
        Some(_) => Throttle::CHUNK + 13,
        None => UNTHROTTLED_BUDGET,
    };
    let mut session = Session {
        seeding,
        skey,
        registered: None,
        loads: FuturesUnordered::new(),
    };
    // The payload counted in the metrics so far, and the torrent it
    // counts for (once the handshake named it).
    let mut counted = 0u64;
    let mut torrent = None;
    loop {
        if let Some(why) = session.events(edge, conn).await? {
            return Ok(why);
        }
        if let Some((hash, s)) = &session.seeding {
            let torrent =
                Arc::clone(torrent.get_or_insert_with(|| crate::metrics::METRICS.torrent(hash)));
            loop {
                out.clear();
                let n = conn.poll_transmit(Instant::now(), budget, &mut out)?;
                if n == 0 {
                    break;
                }
                // Counted as the connection hands it out, as it is sent.
                let payload = conn.stats().payload_sent;
                crate::metrics::METRICS.peer_sent(&torrent, payload.saturating_sub(counted));
                counted = payload;
                if let Some(t) = &edge.throttle
                    && t.take(n).await
                {
                    // The rate limit held this sender back: the upload
                    // is the bottleneck, and the seed rations.
                    s.seed.saturated(Instant::now());
                }
                encryption.encrypt(&mut out);
                wr.write_all(&out).await.map_err(PeerClosed::Write)?;
            }
            // The pieces the transmit found missing start loading now.
            if let Some(why) = session.events(edge, conn).await? {
                return Ok(why);
            }
        }
        let now = Instant::now();
        let deadline = conn
            .poll_timeout()
            .unwrap_or(now + REVALIDATE)
            .min(revalidate);
        tokio::select! {
            read = rd.read(&mut input) => match read {
                Ok(0) => return Ok("the peer closed".into()),
                Ok(n) => {
                    encryption.decrypt(&mut input[..n]);
                    conn.handle_input(Instant::now(), &input[..n])?;
                }
                Err(e) => return Err(PeerClosed::Read(e)),
            },
            Some(loaded) = session.loads.next(), if !session.loads.is_empty() => {
                conn.piece_loaded(loaded?)
                    ?;
            }
            () = tokio::time::sleep_until(deadline.into()) => {
                let now = Instant::now();
                if conn.poll_timeout().is_some_and(|t| t <= now) {
                    conn.handle_timeout(now)?;
                }
                if now >= revalidate {
                    revalidate = now + REVALIDATE;
                    if let Some((hash, s)) = &session.seeding {
                        let (edge, hash, s) = (Arc::clone(edge), *hash, Arc::clone(s));
                        tokio::task::spawn_blocking(move || edge.still_served(&hash, &s))
                            .await
                            ??;
                    }
                }
            },
            () = stopped(&mut shutdown) => return Ok("shutting down".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 dials a second: the 31st waits for the next second, however
    /// many leechers are offered; a quiet second does not save up dials.
    #[test]
    fn dials_start_at_most_thirty_a_second() {
        let mut budget = DialBudget::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let started = |b: &mut DialBudget, ms: u64, offers: u32| {
            (0..offers).filter(|_| b.take(at(ms))).count()
        };
        assert_eq!(started(&mut budget, 0, 100), 30);
        assert_eq!(started(&mut budget, 999, 100), 0);
        assert_eq!(started(&mut budget, 1000, 10), 10);
        assert_eq!(started(&mut budget, 1500, 100), 20);
        assert_eq!(started(&mut budget, 5000, 100), 30);
        // Spent is seen without taking; a new window is fresh.
        assert!(budget.spent(at(5999)));
        assert!(!budget.spent(at(6000)));
        assert_eq!(started(&mut budget, 6000, 100), 30);
    }

    /// A mark stands while the table it was set in is not forgotten: the
    /// info-hash is in the table then. Once the table is forgotten (full),
    /// the mark no longer stands, and remembering again sets it anew.
    #[test]
    fn skey_marks_stand_for_their_generation() {
        let hash = |b: u8| InfoHash::from_bytes([b; 20]);
        let mut skeys = Skeys::default();
        let mark = SkeyMark::default();
        assert!(!mark.stands(0), "a new mark stands for nothing");
        let g = skeys.remember(hash(1), Some(&mark), 3);
        assert!(mark.stands(g));
        assert_eq!(skeys.by_hash.get(&skey_hash(&hash(1))), Some(&hash(1)));
        skeys.remember(hash(2), None, 3);
        skeys.remember(hash(3), None, 3);
        // The fourth forgets the three: hash(1)'s mark no longer stands.
        let g2 = skeys.remember(hash(4), None, 3);
        assert_ne!(g2, g);
        assert!(!mark.stands(g2));
        assert!(!skeys.by_hash.contains_key(&skey_hash(&hash(1))));
        let g3 = skeys.remember(hash(1), Some(&mark), 3);
        assert!(mark.stands(g3));
        assert_eq!(skeys.by_hash.get(&skey_hash(&hash(1))), Some(&hash(1)));
    }

    /// However many seeds start, one after another while the earlier ones
    /// live, their caches stay within the budget (each still keeps the one
    /// piece `Seed` always has).
    #[test]
    fn seeds_share_one_cache_budget() {
        let mut held = 0;
        let mut full = 0;
        for _ in 0..1000 {
            let got = seed_cache_bytes(held);
            assert!(got <= SEED_CACHE_BYTES);
            if got == SEED_CACHE_BYTES {
                full += 1;
            }
            held += got;
            assert!(held <= SEED_CACHE_BUDGET, "{held} held");
        }
        assert_eq!(full, SEED_CACHE_BUDGET / SEED_CACHE_BYTES);
        // A seed that goes gives its share back.
        assert_eq!(seed_cache_bytes(held - SEED_CACHE_BYTES), SEED_CACHE_BYTES);
    }
}
