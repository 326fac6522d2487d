//! One torrent's swarm: its peers in compact form, each role's in the
//! order they were last seen, so that expiring them costs nothing until
//! they are due.
//!
//! A peer is one [`Entry`] of 56 bytes in its role's queue (address and
//! port in 18 bytes, its peer id, when it was seen) and one index row
//! (its address to its place). An announce appends the peer at the back
//! of its role's queue and marks its older entry dead; dead entries are
//! dropped when they reach the front, and a queue holding more dead
//! entries than live ones (and a few more) is compacted, which costs its
//! live entries once and so is paid for by the announces that made the
//! dead ones. Listing peers reads the queues alone.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
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

/// A peer's address and port: the IP as IPv6 (an IPv4 one mapped), then
/// the port, big-endian.
pub(crate) type Compact = [u8; 18];

/// `addr` in compact form.
pub(crate) fn compact(addr: &SocketAddr) -> Compact {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let mut out = [0; 18];
    out[..16].copy_from_slice(&ip.octets());
    out[16..].copy_from_slice(&addr.port().to_be_bytes());
    out
}

fn address(c: &Compact) -> SocketAddr {
    let mut ip = [0; 16];
    ip.copy_from_slice(&c[..16]);
    let ip = Ipv6Addr::from(ip);
    let port = u16::from_be_bytes([c[16], c[17]]);
    match ip.to_ipv4_mapped() {
        Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
        None => SocketAddr::V6(SocketAddrV6::new(ip, port, 0, 0)),
    }
}

/// One announce of a peer, in its role's queue.
#[derive(Debug, Clone)]
struct Entry {
    addr: Compact,
    peer_id: PeerId,
    /// `false` once a later announce (or a `stopped`) replaced it.
    live: bool,
    seen: Instant,
}

/// Where a peer's live entry is: its role and its entry's sequence number
/// in that role's queue.
#[derive(Debug, Clone, Copy)]
struct Place {
    role: Role,
    seq: u64,
}

/// One role's entries in the order they were seen, the oldest first. The
/// entry at index `i` has the sequence number `head + i`.
#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    head: u64,
    live: usize,
}

impl Queue {
    fn next_seq(&self) -> u64 {
        self.head + self.entries.len() as u64
    }

    fn at(&mut self, seq: u64) -> Option<&mut Entry> {
        let i = usize::try_from(seq.checked_sub(self.head)?).ok()?;
        self.entries.get_mut(i)
    }

    /// Marks the entry of `seq` dead.
    fn kill(&mut self, seq: u64) {
        if let Some(e) = self.at(seq)
            && e.live
        {
            e.live = false;
            self.live -= 1;
        }
    }

    /// Drops the dead entries at the front, and the live ones expired at
    /// `now` (removing those from `index`).
    fn expire(&mut self, now: Instant, ttl: Duration, index: &mut HashMap<Compact, Place>) {
        while let Some(front) = self.entries.front() {
            if front.live {
                if !expired(front.seen, now, ttl) {
                    break;
                }
                index.remove(&front.addr);
                self.live -= 1;
            }
            self.entries.pop_front();
            self.head += 1;
        }
    }

    /// Drops every dead entry when they outnumber the live ones (and a
    /// few more), renumbering the live ones in `index`.
    fn compact(&mut self, role: Role, index: &mut HashMap<Compact, Place>) {
        let dead = self.entries.len() - self.live;
        if dead <= self.live + 32 {
            return;
        }
        let head = self.next_seq();
        self.entries.retain(|e| e.live);
        self.entries
            .shrink_to(self.entries.len().saturating_mul(2).max(8));
        self.head = head;
        for (i, e) in self.entries.iter().enumerate() {
            index.insert(
                e.addr,
                Place {
                    role,
                    seq: head + i as u64,
                },
            );
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Swarm {
    /// Every live peer: where its entry is.
    index: HashMap<Compact, Place>,
    seeders: Queue,
    leechers: Queue,
    /// `completed` events seen (scrape's `downloaded`).
    downloaded: u64,
}

impl Swarm {
    fn queue(&mut self, role: Role) -> &mut Queue {
        match role {
            Role::Seeder => &mut self.seeders,
            Role::Leecher => &mut self.leechers,
        }
    }

    pub(crate) fn seeders(&self) -> usize {
        self.seeders.live
    }

    pub(crate) fn leechers(&self) -> usize {
        self.leechers.live
    }

    pub(crate) fn downloaded(&self) -> u64 {
        self.downloaded
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub(crate) fn role_of(&self, addr: &SocketAddr) -> Option<Role> {
        self.index.get(&compact(addr)).map(|p| p.role)
    }

    /// Removes every peer last seen `ttl` or more before `now`; costs one
    /// index removal per peer removed, plus one look per role.
    pub(crate) fn expire(&mut self, now: Instant, ttl: Duration) {
        self.seeders.expire(now, ttl, &mut self.index);
        self.leechers.expire(now, ttl, &mut self.index);
    }

    /// Records an announce from `addr` at `now` (which the tracker keeps
    /// monotonic, so the queues stay in `seen` order); a `completed` event
    /// counts a download.
    pub(crate) fn upsert(
        &mut self,
        addr: SocketAddr,
        peer_id: PeerId,
        role: Role,
        event: Event,
        now: Instant,
        max_peers: usize,
    ) -> Upsert {
        let key = compact(&addr);
        let old = self.index.get(&key).copied();
        if old.is_none() && self.index.len() >= max_peers {
            return Upsert::Full;
        }
        if let Some(old) = old {
            self.queue(old.role).kill(old.seq);
        }
        if event == Event::Completed && old.is_none_or(|p| p.role != Role::Seeder) {
            self.downloaded = self.downloaded.saturating_add(1);
        }
        let queue = self.queue(role);
        let seq = queue.next_seq();
        queue.entries.push_back(Entry {
            addr: key,
            peer_id,
            live: true,
            seen: now,
        });
        queue.live += 1;
        self.index.insert(key, Place { role, seq });
        if let Some(old) = old {
            let index = &mut self.index;
            match old.role {
                Role::Seeder => self.seeders.compact(old.role, index),
                Role::Leecher => self.leechers.compact(old.role, index),
            }
        }
        Upsert::Done
    }

    /// Removes the peer at `addr` (a `stopped` announce).
    pub(crate) fn remove(&mut self, addr: &SocketAddr) {
        if let Some(p) = self.index.remove(&compact(addr)) {
            let index = &mut self.index;
            let queue = match p.role {
                Role::Seeder => &mut self.seeders,
                Role::Leecher => &mut self.leechers,
            };
            queue.kill(p.seq);
            queue.compact(p.role, index);
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
        skip: impl Fn(&Compact, &PeerId) -> bool,
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
            // The queues hold each live peer once (an announce moves it),
            // with the peer id of its last announce.
            let next = iter
                .by_ref()
                .find(|e| !skip(&e.addr, &e.peer_id))
                .map(|e| (address(&e.addr), e.peer_id));
            match next {
                Some(peer) => out.push(peer),
                None => *source = None,
            }
        }
    }
}

/// Every live entry of `queue` once, starting from a position chosen by
/// `r` and wrapping around.
fn rotating(queue: &Queue, r: u64) -> impl Iterator<Item = &Entry> {
    let len = queue.entries.len();
    let start = match u64::try_from(len) {
        Ok(n) if n > 0 => usize::try_from(r % n).unwrap_or(0),
        _ => 0,
    };
    queue
        .entries
        .range(start..)
        .chain(queue.entries.range(..start))
        .filter(|e| e.live)
}
