//! One torrent's swarm: its peers, ordered by when they were last seen, so
//! that expiring them costs nothing until they are due.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::announce::{Event, PeerId};

/// Whether a peer still downloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `left == 0`.
    Seeder,
    /// `left > 0`.
    Leecher,
}

#[derive(Debug, Clone)]
struct PeerState {
    role: Role,
    /// The key of this peer in its role's order map.
    seq: u64,
    last_seen: Instant,
}

/// Whether something seen at `then` is expired at `now`, after `ttl`.
pub(crate) fn expired(then: Instant, now: Instant, ttl: Duration) -> bool {
    now.checked_duration_since(then).is_some_and(|d| d >= ttl)
}

/// What a swarm answered an upsert with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// The peer is in the swarm, with its new state.
    Done,
    /// The peer is new and the swarm is full.
    Full,
}

/// A peer in its role's order: its address, and its peer id as of its
/// last announce (so that listing peers reads the order alone).
type Ordered = (SocketAddr, PeerId);

#[derive(Debug, Default)]
pub(crate) struct Swarm {
    peers: HashMap<SocketAddr, PeerState>,
    /// Seeders and leechers by a sequence number given at each announce:
    /// the order of their `last_seen`, the oldest first.
    seeders: BTreeMap<u64, Ordered>,
    leechers: BTreeMap<u64, Ordered>,
    next_seq: u64,
    /// `completed` events seen (scrape's `downloaded`).
    downloaded: u64,
}

impl Swarm {
    fn order(&mut self, role: Role) -> &mut BTreeMap<u64, Ordered> {
        match role {
            Role::Seeder => &mut self.seeders,
            Role::Leecher => &mut self.leechers,
        }
    }

    pub(crate) fn seeders(&self) -> usize {
        self.seeders.len()
    }

    pub(crate) fn leechers(&self) -> usize {
        self.leechers.len()
    }

    pub(crate) fn downloaded(&self) -> u64 {
        self.downloaded
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    pub(crate) fn role_of(&self, addr: &SocketAddr) -> Option<Role> {
        self.peers.get(addr).map(|p| p.role)
    }

    /// Removes every peer last seen `ttl` or more before `now`; costs one
    /// map lookup per peer removed, plus one per role.
    pub(crate) fn expire(&mut self, now: Instant, ttl: Duration) {
        for role in [Role::Seeder, Role::Leecher] {
            while let Some((&seq, &(addr, _))) = self.order(role).first_key_value() {
                let due = self
                    .peers
                    .get(&addr)
                    .is_none_or(|p| p.seq != seq || expired(p.last_seen, now, ttl));
                if !due {
                    break;
                }
                self.order(role).remove(&seq);
                if self.peers.get(&addr).is_some_and(|p| p.seq == seq) {
                    self.peers.remove(&addr);
                }
            }
        }
    }

    /// Records an announce from `addr` at `now` (which the tracker keeps
    /// monotonic, so the order maps stay in `last_seen` order); a
    /// `completed` event counts a download.
    pub(crate) fn upsert(
        &mut self,
        addr: SocketAddr,
        peer_id: PeerId,
        role: Role,
        event: Event,
        now: Instant,
        max_peers: usize,
    ) -> Upsert {
        let seq = self.next_seq;
        let old = match self.peers.get(&addr) {
            Some(p) => Some((p.role, p.seq)),
            None if self.peers.len() >= max_peers => return Upsert::Full,
            None => None,
        };
        self.next_seq += 1;
        if let Some((old_role, old_seq)) = old {
            self.order(old_role).remove(&old_seq);
        }
        if event == Event::Completed && old.is_none_or(|(r, _)| r != Role::Seeder) {
            self.downloaded = self.downloaded.saturating_add(1);
        }
        self.order(role).insert(seq, (addr, peer_id));
        self.peers.insert(
            addr,
            PeerState {
                role,
                seq,
                last_seen: now,
            },
        );
        Upsert::Done
    }

    /// Removes the peer at `addr` (a `stopped` announce).
    pub(crate) fn remove(&mut self, addr: &SocketAddr) {
        if let Some(p) = self.peers.remove(addr) {
            self.order(p.role).remove(&p.seq);
        }
    }

    /// Up to `want` peers for a requester of role `role`, passing `skip`
    /// over the ones it must not get, starting at positions chosen by
    /// `r1`/`r2`, so successive answers differ. A seeder gets leechers only;
    /// a leecher gets seeders and leechers in turn.
    pub(crate) fn select(
        &self,
        role: Role,
        want: usize,
        r1: u64,
        r2: u64,
        skip: impl Fn(&SocketAddr, &PeerId) -> bool,
        out: &mut Vec<(SocketAddr, PeerId)>,
    ) {
        let mut seeders = match role {
            Role::Seeder => None,
            Role::Leecher => Some(rotating(&self.seeders, r1)),
        };
        let mut leechers = Some(rotating(&self.leechers, r2));
        let mut turn_seeder = true;
        let wanted = out.len().saturating_add(want);
        while out.len() < wanted {
            let source = if turn_seeder && seeders.is_some() {
                &mut seeders
            } else if leechers.is_some() {
                &mut leechers
            } else {
                &mut seeders
            };
            turn_seeder = !turn_seeder;
            let Some(iter) = source.as_mut() else { break };
            // The order maps hold each peer once (an announce moves it), with
            // the peer id of its last announce.
            let next = iter.by_ref().find(|(addr, id)| !skip(addr, id)).copied();
            match next {
                Some(peer) => out.push(peer),
                None => *source = None,
            }
        }
    }
}

/// Every peer of `map` once, starting from a key chosen by `r` and
/// wrapping around.
fn rotating(map: &BTreeMap<u64, Ordered>, r: u64) -> impl Iterator<Item = &Ordered> {
    let start = match (map.first_key_value(), map.last_key_value()) {
        (Some((&lo, _)), Some((&hi, _))) => lo + r % (hi - lo).saturating_add(1),
        _ => 0,
    };
    map.range(start..)
        .chain(map.range(..start))
        .map(|(_, peer)| peer)
}
