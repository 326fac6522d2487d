//! The endpoint in the Mainline DHT (BEP 5): a node (the `mainline` crate,
//! on a thread and UDP socket of its own) that announces every served
//! info-hash with the seeding peer's port, again every interval, and stops
//! announcing an info-hash once the sweeper ([`super::spawn_sweeper`]) no
//! longer lists it. BEP 5 has no way to take an announce back: the peers
//! the DHT stored expire (libtorrent keeps them 45 minutes), and the
//! seeding peer refuses the info-hash meanwhile.
//!
//! [`Schedule`] decides what is announced when, without I/O (it is handed
//! the time and the randomness); [`Node`] is the edge that feeds it the
//! sweeper's sets and runs the announces, at most [`MAX_IN_FLIGHT`] at once
//! and [`PER_MINUTE`] started a minute.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mainline::async_dht::AsyncDht;
use mainline::{Dht, Id};
use s3torrent_metainfo::InfoHash;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::error::DhtAnnounceError;
use super::{Served, stopped};
use crate::config::DhtConfig;

/// The most announces in flight at once.
const MAX_IN_FLIGHT: usize = 8;
/// The most announces started in any minute: every 15 minutes, 3,600
/// objects each get theirs; more are announced less often.
const PER_MINUTE: usize = 240;
/// The sliding window [`PER_MINUTE`] counts over.
const MINUTE: Duration = Duration::from_secs(60);
/// How long one announce (a lookup of the nodes closest to the info-hash,
/// then the announce to them) may take before it counts as failed.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(60);
/// The wait after a failed announce; it doubles with each further failure,
/// up to the interval.
const RETRY: Duration = Duration::from_secs(60);
/// Failures are summed up in one warning at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// How an announce ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Some nodes close to the info-hash took it.
    Stored,
    /// None did, or it took too long.
    Failed,
}

/// What [`Schedule::finished`] made of an announce, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// The info-hash's first stored announce.
    First,
    /// A later one.
    Again,
    /// A failure: the info-hash is tried again after a pause.
    Failed,
    /// The info-hash was withdrawn meanwhile: nothing is scheduled.
    Dropped,
}

/// Where a served info-hash stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// To be announced at this time (it is in the queue).
    Waiting(Instant),
    /// Being announced.
    InFlight,
}

#[derive(Debug)]
struct Entry {
    state: State,
    /// Failed announces since the last stored one.
    failures: u32,
    /// Whether an announce of it was ever stored.
    announced: Announced,
}

/// Whether an info-hash's announce was ever stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Announced {
    /// Not yet.
    Never,
    /// At least once.
    Yes,
}

/// When each served info-hash is announced next, within the caps: new ones
/// at once, stored ones again after the interval less up to a tenth (so
/// that a crowd made at once spreads out), failed ones after [`RETRY`],
/// doubling.
#[derive(Debug)]
pub(crate) struct Schedule {
    interval: Duration,
    /// The served info-hashes.
    entries: HashMap<InfoHash, Entry>,
    /// The waiting ones, soonest first.
    queue: BTreeSet<(Instant, InfoHash)>,
    /// The announces in flight, of served and of withdrawn info-hashes.
    in_flight: HashSet<InfoHash>,
    /// When the announces of the last minute started.
    started: VecDeque<Instant>,
}

impl Schedule {
    pub(crate) fn new(interval: Duration) -> Schedule {
        Schedule {
            interval,
            entries: HashMap::new(),
            queue: BTreeSet::new(),
            in_flight: HashSet::new(),
            started: VecDeque::new(),
        }
    }

    /// A served info-hash: new ones are due at `now`.
    pub(crate) fn add(&mut self, hash: InfoHash, now: Instant) {
        if self.entries.contains_key(&hash) {
            return;
        }
        // Withdrawn and served again while its announce is out: that
        // announce's end schedules the next.
        let state = if self.in_flight.contains(&hash) {
            State::InFlight
        } else {
            self.queue.insert((now, hash));
            State::Waiting(now)
        };
        self.entries.insert(
            hash,
            Entry {
                state,
                failures: 0,
                announced: Announced::Never,
            },
        );
    }

    /// An info-hash no longer served: it is not announced again. Whether it
    /// had been announced (`None`: it was not scheduled).
    pub(crate) fn withdraw(&mut self, hash: &InfoHash) -> Option<Announced> {
        let entry = self.entries.remove(hash)?;
        if let State::Waiting(due) = entry.state {
            self.queue.remove(&(due, *hash));
        }
        Some(entry.announced)
    }

    /// The next info-hash to announce now, if one is due and the caps
    /// allow; it is then in flight until [`Schedule::finished`].
    pub(crate) fn next(&mut self, now: Instant) -> Option<InfoHash> {
        while self
            .started
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= MINUTE)
        {
            self.started.pop_front();
        }
        if self.in_flight.len() >= MAX_IN_FLIGHT || self.started.len() >= PER_MINUTE {
            return None;
        }
        let &(due, hash) = self.queue.first()?;
        if due > now {
            return None;
        }
        self.queue.remove(&(due, hash));
        if let Some(entry) = self.entries.get_mut(&hash) {
            entry.state = State::InFlight;
        }
        self.in_flight.insert(hash);
        self.started.push_back(now);
        Some(hash)
    }

    /// An announce ended at `now`; `random` spreads the next one.
    pub(crate) fn finished(
        &mut self,
        hash: &InfoHash,
        outcome: Outcome,
        now: Instant,
        random: u64,
    ) -> Finished {
        self.in_flight.remove(hash);
        let Some(entry) = self.entries.get_mut(hash) else {
            return Finished::Dropped;
        };
        if entry.state != State::InFlight {
            return Finished::Dropped;
        }
        let (due, finished) = match outcome {
            Outcome::Stored => {
                let finished = match entry.announced {
                    Announced::Never => Finished::First,
                    Announced::Yes => Finished::Again,
                };
                entry.announced = Announced::Yes;
                entry.failures = 0;
                let spread = u64::try_from((self.interval / 10).as_nanos()).unwrap_or(u64::MAX);
                let early = Duration::from_nanos(random % spread.max(1));
                (now + self.interval.saturating_sub(early), finished)
            }
            Outcome::Failed => {
                entry.failures = entry.failures.saturating_add(1);
                let doubled = RETRY.saturating_mul(1 << (entry.failures - 1).min(16));
                (now + doubled.min(self.interval), Finished::Failed)
            }
        };
        entry.state = State::Waiting(due);
        self.queue.insert((due, *hash));
        finished
    }

    /// When [`Schedule::next`] may have an info-hash next: `None` while
    /// nothing waits or every slot is in flight (an announce's end is the
    /// next event then).
    pub(crate) fn wake_at(&self) -> Option<Instant> {
        if self.in_flight.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let &(due, _) = self.queue.first()?;
        let free = match self.started.len() >= PER_MINUTE {
            true => self.started.front().map(|t| *t + MINUTE),
            false => None,
        };
        Some(free.map_or(due, |free| free.max(due)))
    }
}

/// The endpoint's DHT node, bound and joining the DHT, not yet announcing.
pub(crate) struct Node {
    dht: Dht,
    /// The seeding peer's port, which every announce names.
    port: u16,
    interval: Duration,
}

impl Node {
    /// Binds the node on `config.listen` (by default the seeding peer's
    /// address over UDP) and joins the DHT through `config.bootstrap`.
    /// Prints its start-up line; fails when the address is not IPv4 or
    /// cannot be bound.
    pub(crate) fn bind(name: &str, config: DhtConfig, peer: SocketAddr) -> std::io::Result<Node> {
        let listen = node_address(config.listen, peer)?;
        let bootstrap = resolve(name, &config.bootstrap);
        let mut builder = Dht::builder();
        builder.bind_address(*listen.ip()).port(listen.port());
        if bootstrap.is_empty() {
            builder.no_bootstrap();
        } else {
            builder.bootstrap(&bootstrap);
        }
        let dht = builder.build().map_err(|e| {
            std::io::Error::new(e.kind(), format!("the DHT node on udp {listen}: {e}"))
        })?;
        // The address it bound (a port 0 picks one): its thread answers at
        // once, and the async `info` would need an async caller.
        #[allow(deprecated)]
        let bound = dht.info().local_addr();
        let port = peer.port();
        eprintln!(
            "{name}: DHT node on udp {bound}, announcing the seeding peer's port {port} every {}s, bootstrap {}",
            config.interval.as_secs(),
            match config.bootstrap.is_empty() {
                true => "none".to_owned(),
                false => config.bootstrap.join(" "),
            }
        );
        Ok(Node {
            dht,
            port,
            interval: config.interval,
        })
    }

    /// The task that announces what `served` lists until `shutdown`.
    pub(crate) fn spawn(
        self,
        served: watch::Receiver<Arc<Served>>,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        tokio::spawn(run(
            self.dht.as_async(),
            self.port,
            self.interval,
            served,
            shutdown,
        ))
    }
}

/// The node's address: `listen`, or the seeding peer's (`[::]` becomes
/// `0.0.0.0`). The `mainline` crate binds IPv4 only.
fn node_address(listen: Option<SocketAddr>, peer: SocketAddr) -> std::io::Result<SocketAddrV4> {
    match (listen, peer) {
        (Some(SocketAddr::V4(addr)), _) | (None, SocketAddr::V4(addr)) => Ok(addr),
        (None, SocketAddr::V6(addr)) if addr.ip().is_unspecified() => {
            Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, addr.port()))
        }
        (Some(addr), _) | (None, addr) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the DHT node needs an IPv4 address (its crate, mainline, speaks no IPv6), not {addr}{}",
                match listen {
                    Some(_) => " (--dht-listen)",
                    None => ", the seeding peer's: give --dht-listen",
                }
            ),
        )),
    }
}

/// The bootstrap nodes' IPv4 addresses; those that resolve to none are
/// named in a start-up warning. Resolving a host name blocks (once, at
/// start-up); numeric addresses do not.
fn resolve(name: &str, nodes: &[String]) -> Vec<SocketAddrV4> {
    let mut all = Vec::new();
    for node in nodes {
        let found: Vec<SocketAddrV4> = match node.to_socket_addrs() {
            Ok(addrs) => addrs
                .filter_map(|a| match a {
                    SocketAddr::V4(v4) => Some(v4),
                    SocketAddr::V6(_) => None,
                })
                .collect(),
            Err(e) => {
                eprintln!("{name}: warning: DHT bootstrap node {node}: {e}");
                continue;
            }
        };
        if found.is_empty() {
            eprintln!("{name}: warning: DHT bootstrap node {node} has no IPv4 address");
        }
        all.extend(found);
    }
    if all.is_empty() && !nodes.is_empty() {
        eprintln!(
            "{name}: warning: no DHT bootstrap node resolved: the node knows only the nodes that contact it"
        );
    }
    all
}

/// Failures since the last warning.
struct Failures {
    count: u64,
    last: Option<DhtAnnounceError>,
    /// When the last warning was written, if ever.
    warned: Option<Instant>,
}

impl Failures {
    fn record(&mut self, hash: &InfoHash, error: DhtAnnounceError) {
        tracing::debug!(target: "dht", info_hash = %hash.to_hex(), error = %error, "announce failed");
        self.count += 1;
        let last = self.last.insert(error);
        if self.warned.is_none_or(|t| t.elapsed() >= WARN_EVERY) {
            tracing::warn!(
                target: "dht",
                failures = self.count,
                last_error = %last,
                "announces failed since the last summary"
            );
            self.count = 0;
            self.warned = Some(Instant::now());
        }
    }
}

/// The announcing loop: the sweeper's sets in, the schedule's announces
/// out, until `shutdown` (or the sweeper's end). Dropping the node ends its
/// thread.
async fn run(
    dht: AsyncDht,
    port: u16,
    interval: Duration,
    mut served: watch::Receiver<Arc<Served>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut schedule = Schedule::new(interval);
    let mut current = Arc::new(Served::default());
    let mut announces = JoinSet::new();
    let mut hashes = HashMap::new();
    let mut failures = Failures {
        count: 0,
        last: None,
        warned: None,
    };
    loop {
        while let Some(hash) = schedule.next(Instant::now()) {
            let dht = dht.clone();
            let task = announces.spawn(async move { announce(&dht, &hash, port).await });
            hashes.insert(task.id(), hash);
        }
        let wake = schedule.wake_at();
        tokio::select! {
            changed = served.changed() => {
                if changed.is_err() {
                    return;
                }
                let now_served = Arc::clone(&served.borrow_and_update());
                for hash in current.gone(&now_served) {
                    if schedule.withdraw(hash) == Some(Announced::Yes) {
                        tracing::info!(target: "dht", info_hash = %hash.to_hex(), "withdrawn: no longer announced");
                    }
                }
                let now = Instant::now();
                for hash in now_served.swarms.keys() {
                    schedule.add(*hash, now);
                }
                current = now_served;
            }
            Some(joined) = announces.join_next_with_id() => {
                let (id, result) = match joined {
                    Ok((id, result)) => (id, result),
                    // The node's thread is gone (the crate panics then).
                    Err(e) => (e.id(), Err(DhtAnnounceError::Node { source: e })),
                };
                let Some(hash) = hashes.remove(&id) else { continue };
                let outcome = match &result {
                    Ok(()) => Outcome::Stored,
                    Err(_) => Outcome::Failed,
                };
                let random = getrandom::u64().unwrap_or(u64::from(id_bits(&hash)));
                match (schedule.finished(&hash, outcome, Instant::now(), random), result) {
                    (Finished::First, _) => tracing::info!(target: "dht", info_hash = %hash.to_hex(), port, "announced"),
                    (Finished::Again, _) => tracing::debug!(target: "dht", info_hash = %hash.to_hex(), port, "announced again"),
                    (_, Err(e)) => failures.record(&hash, e),
                    (_, Ok(())) => {}
                }
            }
            () = sleep_until(wake) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// Sleeps until `at`, or for ever.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Some bits of an info-hash: the spread's randomness when the system's
/// fails.
fn id_bits(hash: &InfoHash) -> u32 {
    let b = hash.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// One announce of `hash` with the seeding peer's `port`.
async fn announce(dht: &AsyncDht, hash: &InfoHash, port: u16) -> Result<(), DhtAnnounceError> {
    let id = Id::from_bytes(hash.as_bytes()).map_err(|e| DhtAnnounceError::Id {
        source: Box::new(e),
    })?;
    match tokio::time::timeout(ANNOUNCE_TIMEOUT, dht.announce_peer(id, Some(port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(source)) => Err(DhtAnnounceError::Put { source }),
        Err(_) => Err(DhtAnnounceError::Timeout {
            after: ANNOUNCE_TIMEOUT,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u32) -> InfoHash {
        let mut b = [0; 20];
        b[..4].copy_from_slice(&n.to_be_bytes());
        InfoHash::from_bytes(b)
    }

    const INTERVAL: Duration = Duration::from_secs(900);

    #[test]
    fn new_hashes_go_out_at_once_and_at_most_eight_at_a_time() {
        let t0 = Instant::now();
        let mut s = Schedule::new(INTERVAL);
        assert_eq!(s.next(t0), None);
        assert_eq!(s.wake_at(), None);
        for n in 0..10 {
            s.add(hash(n), t0);
        }
        assert_eq!(s.wake_at(), Some(t0));
        let out: Vec<_> = std::iter::from_fn(|| s.next(t0)).collect();
        assert_eq!(out, (0..8).map(hash).collect::<Vec<_>>());
        assert_eq!(s.wake_at(), None, "every slot is in flight");
        assert_eq!(
            s.finished(&hash(0), Outcome::Stored, t0, 0),
            Finished::First
        );
        assert_eq!(s.next(t0), Some(hash(8)));
        assert_eq!(s.next(t0), None);
    }

    #[test]
    fn at_most_240_start_in_a_minute() {
        let t0 = Instant::now();
        let mut s = Schedule::new(INTERVAL);
        for n in 0..300 {
            s.add(hash(n), t0);
        }
        let mut started = 0;
        let mut now = t0;
        while let Some(h) = s.next(now) {
            started += 1;
            s.finished(&h, Outcome::Stored, now, 0);
            now += Duration::from_millis(10);
        }
        assert_eq!(started, PER_MINUTE);
        assert_eq!(s.wake_at(), Some(t0 + MINUTE));
        assert_eq!(s.next(t0 + MINUTE - Duration::from_millis(1)), None);
        assert!(s.next(t0 + MINUTE).is_some());
    }

    #[test]
    fn stored_ones_return_after_the_interval_less_a_tenth_at_most() {
        let t0 = Instant::now();
        for random in [0, 1, 12_345_678_901, u64::MAX] {
            let mut s = Schedule::new(INTERVAL);
            s.add(hash(1), t0);
            let h = s.next(t0).unwrap();
            s.finished(&h, Outcome::Stored, t0, random);
            let due = s.wake_at().unwrap();
            assert!(
                due > t0 + INTERVAL * 9 / 10 && due <= t0 + INTERVAL,
                "{random}"
            );
            assert_eq!(s.next(due - Duration::from_nanos(1)), None);
            assert_eq!(s.next(due), Some(h));
            assert_eq!(
                s.finished(&h, Outcome::Stored, due, random),
                Finished::Again
            );
        }
    }

    #[test]
    fn failed_ones_are_retried_after_a_doubling_pause_up_to_the_interval() {
        let t0 = Instant::now();
        let mut s = Schedule::new(Duration::from_secs(300));
        s.add(hash(1), t0);
        let mut now = t0;
        let mut pauses = Vec::new();
        for _ in 0..5 {
            let h = s.next(now).unwrap();
            assert_eq!(s.finished(&h, Outcome::Failed, now, 7), Finished::Failed);
            let due = s.wake_at().unwrap();
            pauses.push((due - now).as_secs());
            now = due;
        }
        assert_eq!(pauses, [60, 120, 240, 300, 300]);
        let h = s.next(now).unwrap();
        assert_eq!(s.finished(&h, Outcome::Stored, now, 0), Finished::First);
        assert_eq!(s.wake_at(), Some(now + Duration::from_secs(300)));
    }

    #[test]
    fn withdrawn_ones_are_not_announced_again() {
        let t0 = Instant::now();
        let mut s = Schedule::new(INTERVAL);
        s.add(hash(1), t0);
        s.add(hash(2), t0);
        let first = s.next(t0).unwrap();
        s.finished(&first, Outcome::Stored, t0, 0);
        // Waiting: gone from the queue.
        assert_eq!(s.withdraw(&first), Some(Announced::Yes));
        assert_eq!(s.withdraw(&first), None);
        // In flight: its end schedules nothing.
        let second = s.next(t0).unwrap();
        assert_eq!(s.withdraw(&second), Some(Announced::Never));
        assert_eq!(
            s.finished(&second, Outcome::Stored, t0, 0),
            Finished::Dropped
        );
        assert_eq!(s.wake_at(), None);
        assert_eq!(s.next(t0 + INTERVAL * 2), None);
        // Served again while in flight: announced once that one ends.
        s.add(hash(3), t0);
        let third = s.next(t0).unwrap();
        s.withdraw(&third);
        s.add(third, t0);
        assert_eq!(s.next(t0), None, "not twice at once");
        assert_eq!(s.finished(&third, Outcome::Stored, t0, 0), Finished::First);
        assert!(s.wake_at().is_some());
    }

    #[test]
    fn the_node_binds_ipv4_only() {
        let peer: SocketAddr = "127.0.0.31:6881".parse().unwrap();
        assert_eq!(
            node_address(None, peer).unwrap(),
            "127.0.0.31:6881".parse::<SocketAddrV4>().unwrap()
        );
        assert_eq!(
            node_address(None, "[::]:7000".parse().unwrap()).unwrap(),
            "0.0.0.0:7000".parse::<SocketAddrV4>().unwrap()
        );
        assert_eq!(
            node_address(Some("0.0.0.0:0".parse().unwrap()), peer).unwrap(),
            "0.0.0.0:0".parse::<SocketAddrV4>().unwrap()
        );
        let e = node_address(None, "[::1]:6881".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("give --dht-listen"), "{e}");
        let e = node_address(Some("[::]:6881".parse().unwrap()), peer).unwrap_err();
        assert!(e.to_string().contains("[::]:6881 (--dht-listen)"), "{e}");
    }
}
