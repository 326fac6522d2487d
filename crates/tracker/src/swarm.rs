//! One torrent's swarm: its peers in compact form, each role's in the
//! order they were last seen, so that expiring them costs nothing until
//! they are due.
//!
//! A peer is one [`Entry`] of 44 bytes in its role's queue (address and
//! port in 18 bytes, its peer id, when it was seen in whole seconds) and
//! one index row of 28 (its address to its place). An announce appends the peer at the back
//! of its role's queue and marks its older entry dead; dead entries are
//! dropped when they reach the front, and a queue holding more dead
//! entries than live ones (and a few more) is compacted, which costs its
//! live entries once and so is paid for by the announces that made the
//! dead ones. Listing peers reads the queues alone.

use std::collections::VecDeque;

use foldhash::HashMap;
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
    /// When it was seen: whole seconds after the swarm's epoch, rounded
    /// up (so a peer expires at most a second late, never early).
    seen: u32,
}

/// Where a peer's live entry is: its role and its entry's sequence number
/// in that role's queue. Sequence numbers are 32 bits and wrap (a queue
/// never holds 2^32 entries): an index row is 28 bytes, not 40.
#[derive(Debug, Clone, Copy)]
struct Place {
    role: Role,
    seq: u32,
}

/// One role's entries in the order they were seen, the oldest first. The
/// entry at index `i` has the sequence number `head + i` (wrapping).
#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    head: u32,
    live: usize,
}

/// `n` as a sequence-number step: a queue holds fewer than 2^32 entries
/// (a swarm's peers are capped far below), so it is exact.
fn step(n: usize) -> u32 {
    // Truncation never happens; wrapping keeps the arithmetic total.
    (n as u64 & u64::from(u32::MAX)) as u32
}

impl Queue {
    fn next_seq(&self) -> u32 {
        self.head.wrapping_add(step(self.entries.len()))
    }

    fn at(&mut self, seq: u32) -> Option<&mut Entry> {
        let i = usize::try_from(seq.wrapping_sub(self.head)).ok()?;
        self.entries.get_mut(i)
    }

    /// Marks the entry of `seq` dead.
    fn kill(&mut self, seq: u32) {
        if let Some(e) = self.at(seq)
            && e.live
        {
            e.live = false;
            self.live -= 1;
        }
    }

    /// Drops the dead entries at the front, and the live ones expired at
    /// `now` (removing those from `index`).
    /// `age` is the time since the swarm's epoch.
    fn expire(&mut self, age: Duration, ttl: Duration, index: &mut HashMap<Compact, Place>) {
        while let Some(front) = self.entries.front() {
            if front.live {
                if Duration::from_secs(u64::from(front.seen)).saturating_add(ttl) > age {
                    break;
                }
                index.remove(&front.addr);
                self.live -= 1;
            }
            self.entries.pop_front();
            self.head = self.head.wrapping_add(1);
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
                    seq: head.wrapping_add(step(i)),
                },
            );
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Swarm {
    /// The instant entries' `seen` count from: the first announce recorded.
    epoch: Option<Instant>,
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
        let Some(epoch) = self.epoch else {
            return;
        };
        let age = now.saturating_duration_since(epoch);
        self.seeders.expire(age, ttl, &mut self.index);
        self.leechers.expire(age, ttl, &mut self.index);
    }

    /// `now` as an entry's `seen`: whole seconds after the swarm's epoch
    /// (the first announce it recorded), rounded up.
    fn stamp(&mut self, now: Instant) -> u32 {
        let epoch = *self.epoch.get_or_insert(now);
        let age = now.saturating_duration_since(epoch);
        let secs = age.as_secs() + u64::from(age.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
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
        let seen = self.stamp(now);
        let queue = self.queue(role);
        let seq = queue.next_seq();
        queue.entries.push_back(Entry {
            addr: key,
            peer_id,
            live: true,
            seen,
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
            Role::Leecher => Some(Walk::new(&self.seeders, r1)),
        };
        let mut leechers = Some(Walk::new(&self.leechers, r2));
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
            let Some(walk) = source.as_mut() else { break };
            // The queues hold each live peer once (an announce moves it),
            // with the peer id of its last announce.
            match walk.next_where(&skip) {
                Some(e) => out.push((address(&e.addr), e.peer_id)),
                None => *source = None,
            }
        }
    }
}

/// A walk over every entry of a queue once, starting from a position
/// chosen by `r` and wrapping around; [`Walk::next_where`] passes over the
/// dead ones.
struct Walk<'a> {
    /// The queue's entries, as the two slices it holds them in.
    front: &'a [Entry],
    back: &'a [Entry],
    /// The next position, and how many entries are left to look at.
    at: usize,
    left: usize,
}

impl<'a> Walk<'a> {
    fn new(queue: &'a Queue, r: u64) -> Self {
        let (front, back) = queue.entries.as_slices();
        let len = front.len() + back.len();
        let at = match u64::try_from(len) {
            Ok(n) if n > 0 => usize::try_from(r % n).unwrap_or(0),
            _ => 0,
        };
        Walk {
            front,
            back,
            at,
            left: len,
        }
    }

    /// The next live entry that `skip` does not pass over.
    fn next_where(&mut self, skip: &impl Fn(&Compact, &PeerId) -> bool) -> Option<&'a Entry> {
        while self.left > 0 {
            self.left -= 1;
            let e = match self.front.get(self.at) {
                Some(e) => e,
                None => self.back.get(self.at - self.front.len())?,
            };
            self.at += 1;
            if self.at == self.front.len() + self.back.len() {
                self.at = 0;
            }
            if e.live && !skip(&e.addr, &e.peer_id) {
                return Some(e);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], 1000 + i))
    }

    fn id(i: u16) -> PeerId {
        let mut b = [b'x'; 20];
        b[..2].copy_from_slice(&i.to_be_bytes());
        PeerId::from_bytes(b)
    }

    /// Sequence numbers past 2^32 wrap: peers are found, moved, removed,
    /// compacted away and expired across the wrap as anywhere else.
    #[test]
    fn sequence_numbers_wrap() {
        let mut swarm = Swarm::default();
        swarm.seeders.head = u32::MAX - 2;
        swarm.leechers.head = u32::MAX - 2;
        let t0 = Instant::now();
        let ttl = Duration::from_secs(100);
        let later = t0 + Duration::from_secs(1);
        for i in 0..6 {
            swarm.upsert(addr(i), id(i), Role::Leecher, Event::Started, t0, 100);
        }
        for i in 0..6 {
            let role = if i % 2 == 0 {
                Role::Seeder
            } else {
                Role::Leecher
            };
            swarm.upsert(addr(i), id(i), role, Event::Regular, later, 100);
        }
        assert_eq!((swarm.seeders(), swarm.leechers()), (3, 3));
        // Enough announces of one peer that its queue is compacted.
        for _ in 0..40 {
            swarm.upsert(addr(3), id(3), Role::Leecher, Event::Regular, later, 100);
        }
        assert!(swarm.leechers.entries.len() < 40, "compacted");
        swarm.remove(&addr(0));
        swarm.remove(&addr(1));
        assert_eq!((swarm.seeders(), swarm.leechers()), (2, 2));
        assert_eq!(swarm.role_of(&addr(3)), Some(Role::Leecher));
        let mut out = Vec::new();
        swarm.select(Role::Leecher, 10, 7, 11, |_, _| false, &mut out);
        let mut listed: Vec<SocketAddr> = out.iter().map(|(a, _)| *a).collect();
        listed.sort();
        assert_eq!(listed, [addr(2), addr(3), addr(4), addr(5)]);
        swarm.expire(later + ttl, ttl);
        assert!(swarm.is_empty());
        assert_eq!((swarm.seeders(), swarm.leechers()), (0, 0));
    }

    /// Times are kept in whole seconds after the swarm's first announce,
    /// rounded up: a peer expires at most a second late, never early.
    #[test]
    fn a_peer_expires_never_early_and_at_most_a_second_late() {
        let mut swarm = Swarm::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        let ms = Duration::from_millis;
        swarm.upsert(addr(1), id(1), Role::Leecher, Event::Started, t0, 10);
        swarm.upsert(
            addr(2),
            id(2),
            Role::Leecher,
            Event::Started,
            t0 + ms(500),
            10,
        );
        swarm.expire(t0 + ms(9_999), ttl);
        assert_eq!(swarm.leechers(), 2);
        swarm.expire(t0 + ttl, ttl);
        assert_eq!(swarm.role_of(&addr(1)), None, "on time");
        swarm.expire(t0 + ms(10_500), ttl);
        assert_eq!(swarm.role_of(&addr(2)), Some(Role::Leecher), "not early");
        swarm.expire(t0 + ms(11_000), ttl);
        assert!(swarm.is_empty(), "at most a second late");
    }
}
