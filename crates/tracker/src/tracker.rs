//! The tracker: swarms by info-hash, the limits, and the answers.

use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt as _};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use s3torrent_metainfo::InfoHash;

use crate::announce::{Announce, Event, PeerId, PeerListForm, QueryLimits, Scrape};
use crate::error::{Error, Result};
use crate::rate::{Limiter, Over, RateLimit};
use crate::swarm::{Role, Skip, Swarm, Upsert};

/// Every limit and timing of a [`Tracker`]. The defaults suit a public
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerConfig {
    /// The most swarms (torrents) tracked at once (default 100,000). A new
    /// swarm beyond it replaces the least recently announced swarm (to the
    /// second) if all of that swarm's peers have expired, and is refused
    /// otherwise.
    pub max_swarms: usize,
    /// The most peers in one swarm (default 10,000). Expired peers are
    /// dropped before a new one is refused.
    pub max_peers_per_swarm: usize,
    /// The most peers one answer lists (default 200); `numwant` is clamped
    /// to it.
    pub max_numwant: usize,
    /// The peers listed when `numwant` is absent (default 50).
    pub default_numwant: usize,
    /// The answers' `interval` (default 1800 s).
    pub interval: Duration,
    /// The answers' `min interval` (default 300 s).
    pub min_interval: Duration,
    /// How long past `interval` a silent peer stays listed (default 600 s):
    /// a peer expires once `interval + peer_grace` has passed since its
    /// last announce.
    pub peer_grace: Duration,
    /// The announce rate, per client and per address.
    pub rate_limit: RateLimit,
    /// The query limits.
    pub query: QueryLimits,
    /// The announce path the HTTP adapter serves (default `/announce`). The
    /// scrape path is derived from it as BEP 48 says: the last segment's
    /// leading `announce` replaced by `scrape` (`/scrape`); a path whose
    /// last segment does not start with `announce` has no scrape.
    pub announce_path: String,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            max_swarms: 100_000,
            max_peers_per_swarm: 10_000,
            max_numwant: 200,
            default_numwant: 50,
            interval: Duration::from_secs(1800),
            min_interval: Duration::from_secs(300),
            peer_grace: Duration::from_secs(600),
            rate_limit: RateLimit::default(),
            query: QueryLimits::default(),
            announce_path: "/announce".to_owned(),
        }
    }
}

impl TrackerConfig {
    /// The time after its last announce at which a peer expires:
    /// `interval + peer_grace`.
    pub fn peer_ttl(&self) -> Duration {
        self.interval.saturating_add(self.peer_grace)
    }

    /// The scrape path derived from [`TrackerConfig::announce_path`].
    pub fn scrape_path(&self) -> Option<String> {
        let (dir, last) = self
            .announce_path
            .rsplit_once('/')
            .unwrap_or(("", &self.announce_path));
        let rest = last.strip_prefix("announce")?;
        let slash = if self.announce_path.contains('/') {
            "/"
        } else {
            ""
        };
        Some(format!("{dir}{slash}scrape{rest}"))
    }
}

/// What the host decided about one info-hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Serve it.
    Allow,
    /// Do not: the announce fails with this reason, and no swarm is made.
    Refuse(String),
}

/// Where an announce came from, as the host's listener saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// The connection's remote address. Its IP (IPv4-mapped IPv6 made
    /// IPv4) and the announced `port` make the peer's address; the
    /// announce's `ip` parameter is never used.
    pub remote: SocketAddr,
    /// The endpoint's own seeding peer, when it has one: the local address
    /// the announce arrived on with the configured peer port. It is listed
    /// first in every answer (that wants peers) and counted in `complete`.
    pub endpoint_seed: Option<SocketAddr>,
}

impl RequestContext {
    /// A context for an announce from `remote`, without an endpoint seed.
    pub fn new(remote: SocketAddr) -> Self {
        RequestContext {
            remote,
            endpoint_seed: None,
        }
    }

    /// The same context with the endpoint's seeding peer.
    pub fn with_endpoint_seed(mut self, seed: SocketAddr) -> Self {
        self.endpoint_seed = Some(seed);
        self
    }
}

/// One peer in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its id; `None` for the endpoint seed, whose id the tracker does not know.
    pub peer_id: Option<PeerId>,
}

/// The answer to an announce; [`AnnounceResponse::to_bencode`] encodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnounceResponse {
    /// `interval`.
    pub interval: Duration,
    /// `min interval`.
    pub min_interval: Duration,
    /// `complete`: seeders, the endpoint seed among them.
    pub complete: u64,
    /// `incomplete`: leechers.
    pub incomplete: u64,
    /// The peers, the endpoint seed first when there is one. Both address
    /// families; the compact form splits them into `peers` and `peers6`.
    pub peers: Vec<Peer>,
    /// The form the requester asked for.
    pub form: PeerListForm,
}

/// One torrent's counts in a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrapeStats {
    /// Seeders, the endpoint seed among them.
    pub complete: u64,
    /// Leechers.
    pub incomplete: u64,
    /// `completed` events seen.
    pub downloaded: u64,
}

/// How many swarms and announced peers a tracker holds: [`Tracker::census`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Census {
    /// Swarms with at least one live peer.
    pub swarms: u64,
    /// Peers that announced `left=0`, over all swarms.
    pub seeders: u64,
    /// Peers with bytes left, over all swarms.
    pub leechers: u64,
}

/// The answer to a scrape: the counts of each allowed info-hash, in the
/// order asked (refused ones are left out).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScrapeResponse {
    /// The info-hashes and their counts.
    pub files: Vec<(InfoHash, ScrapeStats)>,
}

/// A sans-IO HTTP tracker: no sockets, no clock, no threads. The host
/// passes the time of each call; [`Instant`]s earlier than one already seen
/// count as that one.
///
/// Peers are identified by address: the connection's IP and the announced
/// port. Their state expires lazily (each call expires what it touches, at a
/// cost proportional to what is removed); [`Tracker::expire`] sweeps
/// everything, for hosts that want memory back from idle swarms.
#[derive(Debug)]
pub struct Tracker {
    config: TrackerConfig,
    scrape_path: Option<String>,
    swarms: HashMap<InfoHash, Held>,
    /// Swarms by the sequence numbers of their places, the oldest first:
    /// an entry is its swarm's place when its number is the one the swarm
    /// holds; older entries are skipped, and dropped when they are the
    /// most. A swarm takes a new place at most once a second (the second
    /// of its place is the one of its last announce, or the one before).
    swarm_order: VecDeque<(u64, InfoHash)>,
    next_seq: u64,
    limiter: Limiter,
    /// The first time seen, which the order's seconds count from.
    first: Option<Instant>,
    latest: Option<Instant>,
    counter: u64,
}

/// A swarm and its place in the swarm order.
#[derive(Debug)]
struct Held {
    swarm: Swarm,
    /// The sequence number of its place.
    seq: u64,
    /// When it took that place: whole seconds after the tracker's first
    /// call.
    second: u64,
}

fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(TrackerConfig::default())
    }
}

impl Tracker {
    /// A tracker with no swarms.
    pub fn new(config: TrackerConfig) -> Self {
        Tracker {
            scrape_path: config.scrape_path(),
            config,
            swarms: HashMap::new(),
            swarm_order: VecDeque::new(),
            next_seq: 0,
            limiter: Limiter::default(),
            first: None,
            latest: None,
            counter: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    pub(crate) fn scrape_path(&self) -> Option<&str> {
        self.scrape_path.as_deref()
    }

    /// The number of swarms held (some may hold only expired peers until
    /// touched or swept).
    pub fn swarm_count(&self) -> usize {
        self.swarms.len()
    }

    /// The number of rate windows held, clients' or addresses' whichever
    /// is more: the slots of the rate limiter's tables used so far, ended
    /// windows included (an ended window is not removed, its slot is
    /// reused), so at most [`RateLimit::max_addresses`].
    pub fn rate_table_len(&self) -> usize {
        self.limiter.len()
    }

    /// Drops a swarm (the host learnt the object is no longer served);
    /// `true` if there was one.
    pub fn remove_swarm(&mut self, info_hash: &InfoHash) -> bool {
        self.swarms.remove(info_hash).is_some()
    }

    /// Removes every expired peer and every swarm left empty. Linear in the
    /// number of swarms. (Rate windows need no sweep: the limiter's tables
    /// are fixed, and an ended window's slot is simply reused.)
    pub fn expire(&mut self, now: Instant) {
        let now = self.clock(now);
        let ttl = self.config.peer_ttl();
        self.swarms.retain(|_, held| {
            held.swarm.expire(now, ttl);
            !held.swarm.is_empty()
        });
        self.trim_order();
    }

    fn clock(&mut self, now: Instant) -> Instant {
        let now = self.latest.map_or(now, |l| l.max(now));
        self.latest = Some(now);
        self.first.get_or_insert(now);
        now
    }

    /// Drops the swarm order's entries that are no swarm's place.
    fn trim_order(&mut self) {
        let swarms = &self.swarms;
        self.swarm_order
            .retain(|(seq, h)| swarms.get(h).is_some_and(|held| held.seq == *seq));
    }

    fn rate(&mut self, remote: IpAddr, peer_id: Option<PeerId>, now: Instant) -> Result<()> {
        match self
            .limiter
            .allow(remote, peer_id, now, &self.config.rate_limit)
        {
            Ok(()) => Ok(()),
            Err(Over::Client) => Err(Error::TooManyClientAnnounces),
            Err(Over::Address) => Err(Error::TooManyAnnounces),
        }
    }

    /// Makes room for one more swarm: drops the least recently announced
    /// swarm, to the second, if all its peers expired. (If that one has a
    /// live peer, every swarm had one a second ago: each was last
    /// announced no more than a second before it.)
    fn make_room(&mut self, now: Instant) -> Result<()> {
        if self.swarms.len() < self.config.max_swarms {
            return Ok(());
        }
        let full = Error::TooManySwarms {
            max: self.config.max_swarms,
        };
        // The stale entries in front go.
        while self
            .swarm_order
            .front()
            .is_some_and(|(seq, h)| self.swarms.get(h).is_none_or(|held| held.seq != *seq))
        {
            self.swarm_order.pop_front();
        }
        let Some(&(_, oldest)) = self.swarm_order.front() else {
            return Err(full);
        };
        let ttl = self.config.peer_ttl();
        let empty = self.swarms.get_mut(&oldest).is_none_or(|held| {
            held.swarm.expire(now, ttl);
            held.swarm.is_empty()
        });
        if !empty {
            return Err(full);
        }
        self.swarm_order.pop_front();
        self.swarms.remove(&oldest);
        Ok(())
    }

    /// Answers one announce at `now`, from where `ctx` says, asking
    /// `authorize` whether the info-hash is served (only once the request
    /// is within the rate limit).
    ///
    /// Fails with [`Error::TooManyClientAnnounces`],
    /// [`Error::TooManyAnnounces`], [`Error::Refused`] (no swarm
    /// is made), [`Error::TooManySwarms`] or [`Error::SwarmFull`].
    pub fn announce(
        &mut self,
        announce: &Announce,
        ctx: &RequestContext,
        now: Instant,
        authorize: impl FnOnce(&InfoHash) -> Decision,
    ) -> Result<AnnounceResponse> {
        let now = self.clock(now);
        let remote = canonical(ctx.remote);
        self.rate(remote.ip(), Some(announce.peer_id), now)?;
        if let Decision::Refuse(reason) = authorize(&announce.info_hash) {
            return Err(Error::Refused {
                info_hash: announce.info_hash.to_hex(),
                reason,
            });
        }
        let addr = SocketAddr::new(remote.ip(), announce.port);
        let seed = ctx.endpoint_seed.map(canonical).filter(|&s| s != addr);
        let want = match announce.event {
            Event::Stopped => 0,
            _ => announce
                .numwant
                .map_or(self.config.default_numwant, |n| {
                    usize::try_from(n).unwrap_or(usize::MAX)
                })
                .min(self.config.max_numwant),
        };
        let mut response = AnnounceResponse {
            interval: self.config.interval,
            min_interval: self.config.min_interval,
            complete: count(usize::from(seed.is_some())),
            incomplete: 0,
            peers: Vec::new(),
            form: announce.form,
        };

        let ttl = self.config.peer_ttl();
        let max_peers = self.config.max_peers_per_swarm;
        let seq = self.next_seq;
        let second = self
            .first
            .map_or(0, |first| now.saturating_duration_since(first).as_secs());
        // One lookup for a known swarm.
        let held = match self.swarms.get_mut(&announce.info_hash) {
            Some(held) => held,
            None => {
                if announce.event == Event::Stopped {
                    // `want` is 0: no peers, not even the endpoint seed.
                    return Ok(response);
                }
                if max_peers == 0 {
                    return Err(Error::SwarmFull { max: max_peers });
                }
                self.make_room(now)?;
                self.swarms.entry(announce.info_hash).or_insert(Held {
                    swarm: Swarm::default(),
                    seq,
                    second,
                })
            }
        };
        let swarm = &mut held.swarm;
        swarm.expire(now, ttl);
        let role = if announce.left == 0 {
            Role::Seeder
        } else {
            Role::Leecher
        };
        let mut result = Ok(());
        match announce.event {
            Event::Stopped => swarm.remove(&addr),
            event => {
                if swarm.upsert(addr, announce.peer_id, role, event, now, max_peers) == Upsert::Full
                {
                    result = Err(Error::SwarmFull { max: max_peers });
                }
            }
        }
        if let Some(seed) = seed
            && swarm.seed_role(&seed) == Some(Role::Seeder)
        {
            response.complete = 0;
        }
        response.complete = response.complete.saturating_add(count(swarm.seeders()));
        response.incomplete = count(swarm.leechers());
        let (r1, r2) = (splitmix(&mut self.counter), splitmix(&mut self.counter));
        if result.is_ok() && want > 0 {
            let rest = want - usize::from(seed.is_some());
            // Room for the peers that can be listed, not for what was asked.
            let rest = rest.min(swarm.len());
            let peers = &mut response.peers;
            peers.reserve_exact(usize::from(seed.is_some()) + rest);
            if let Some(seed) = seed {
                peers.push(Peer {
                    addr: seed,
                    peer_id: None,
                });
            }
            let skip = Skip::new(&addr, announce.peer_id, seed.as_ref());
            swarm.select(role, rest, r1, r2, &skip, |addr, id| {
                peers.push(Peer {
                    addr,
                    peer_id: Some(id),
                });
            });
        }

        // Keep the swarm order: by the last announce to the second, or
        // gone when empty. (A new swarm holds `seq` already; one that
        // refused the peer keeps its place, and so does one that took its
        // place this second.)
        let new = held.seq == seq;
        if swarm.is_empty() {
            self.swarms.remove(&announce.info_hash);
        } else if new || (result.is_ok() && second != held.second) {
            held.seq = seq;
            held.second = second;
            self.next_seq += 1;
            self.swarm_order.push_back((seq, announce.info_hash));
            if self.swarm_order.len() > 2 * self.swarms.len() + 64 {
                self.trim_order();
            }
        }
        result.map(|()| response)
    }

    /// How many leechers (peers with bytes left) the swarm of `info_hash`
    /// holds at `now`, its expired peers removed first; 0 without a swarm.
    pub fn leechers(&mut self, info_hash: &InfoHash, now: Instant) -> usize {
        let now = self.clock(now);
        let ttl = self.config.peer_ttl();
        match self.swarms.get_mut(info_hash) {
            Some(Held { swarm, .. }) => {
                swarm.expire(now, ttl);
                swarm.leechers()
            }
            None => 0,
        }
    }

    /// The counts of one swarm at `now`, its expired peers removed first:
    /// the peers that announced (the endpoint seed is not counted) and
    /// the `completed` events seen; `None` without a swarm. Unlike a
    /// scrape, it is not rate limited and asks no one: for the host's own
    /// reports (metrics, status pages).
    pub fn swarm_stats(&mut self, info_hash: &InfoHash, now: Instant) -> Option<ScrapeStats> {
        let now = self.clock(now);
        let ttl = self.config.peer_ttl();
        let swarm = &mut self.swarms.get_mut(info_hash)?.swarm;
        swarm.expire(now, ttl);
        Some(ScrapeStats {
            complete: count(swarm.seeders()),
            incomplete: count(swarm.leechers()),
            downloaded: swarm.downloaded(),
        })
    }

    /// How many swarms and peers are held at `now`, once every expired
    /// peer and empty swarm is removed ([`Tracker::expire`]). Linear in the
    /// number of swarms.
    pub fn census(&mut self, now: Instant) -> Census {
        self.expire(now);
        let mut census = Census {
            swarms: count(self.swarms.len()),
            ..Census::default()
        };
        for Held { swarm, .. } in self.swarms.values() {
            census.seeders = census.seeders.saturating_add(count(swarm.seeders()));
            census.leechers = census.leechers.saturating_add(count(swarm.leechers()));
        }
        census
    }

    /// Answers one scrape at `now`: the counts of each info-hash that
    /// `authorize` allows (refused ones are left out; unknown allowed ones
    /// count zero, plus the endpoint seed). Makes no swarm. Counts against
    /// the same rate limit as announces.
    pub fn scrape(
        &mut self,
        scrape: &Scrape,
        ctx: &RequestContext,
        now: Instant,
        mut authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> Result<ScrapeResponse> {
        let now = self.clock(now);
        self.rate(canonical(ctx.remote).ip(), None, now)?;
        let seed = ctx.endpoint_seed.map(canonical);
        let ttl = self.config.peer_ttl();
        let mut files = Vec::with_capacity(scrape.info_hashes.len());
        for hash in &scrape.info_hashes {
            if authorize(hash) != Decision::Allow {
                continue;
            }
            let mut stats = ScrapeStats {
                complete: count(usize::from(seed.is_some())),
                incomplete: 0,
                downloaded: 0,
            };
            if let Some(Held { swarm, .. }) = self.swarms.get_mut(hash) {
                swarm.expire(now, ttl);
                if let Some(seed) = seed
                    && swarm.role_of(&seed) == Some(Role::Seeder)
                {
                    stats.complete = 0;
                }
                stats.complete = stats.complete.saturating_add(count(swarm.seeders()));
                stats.incomplete = count(swarm.leechers());
                stats.downloaded = swarm.downloaded();
            }
            files.push((*hash, stats));
        }
        Ok(ScrapeResponse { files })
    }
}
