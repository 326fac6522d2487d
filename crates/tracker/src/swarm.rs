//! One torrent's swarm: its peers in compact form, in one queue per
//! address family and role, each in the order its peers were last seen,
//! so that expiring them costs nothing until they are due.
//!
//! A peer is one entry in its family's and role's queue: its address and
//! port (6 bytes for IPv4, 18 for IPv6), its peer id (20) and when it was
//! seen in whole seconds (4), 30 bytes for an IPv4 peer and 42 for an IPv6
//! one, with no padding; and one row in its family's index, from its
//! address to its place (16 bytes for IPv4, 28 for IPv6). An announce
//! appends the peer at the back of its queue and marks its older entry
//! dead; dead entries are dropped when they reach the front, and a queue
//! holding more dead entries than live ones (and a few more) is compacted,
//! which costs its live entries once and so is paid for by the announces
//! that made the dead ones. The swarm remembers a time no live entry is
//! older than, so that expiring looks at the queues only once a peer may
//! be due; and the role of the endpoint seed last asked about, so that an
//! announce need not look it up. Listing peers reads the queues alone,
//! each entry it passes once, from random positions; the span it will
//! likely read is asked of memory at once rather than line by line.

use std::collections::VecDeque;
use std::collections::hash_map::Entry as Slot;
use std::fmt::Debug;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::{Duration, Instant};

use foldhash::HashMap;

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

/// An IPv4 peer's address and port: the address's 4 bytes, then the port,
/// big-endian.
type V4 = [u8; 6];

/// An IPv6 peer's address and port: the address's 16 bytes, then the port,
/// big-endian.
type V6 = [u8; 18];

/// An address and port in compact form, as one family's queues hold them.
trait Compact: Copy + Eq + Hash + Debug {
    /// The address and port it stands for.
    fn address(&self) -> SocketAddr;
}

impl Compact for V4 {
    fn address(&self) -> SocketAddr {
        let [a, b, c, d, p0, p1] = *self;
        SocketAddr::V4(SocketAddrV4::new(
            [a, b, c, d].into(),
            u16::from_be_bytes([p0, p1]),
        ))
    }
}

impl Compact for V6 {
    fn address(&self) -> SocketAddr {
        let mut ip = [0; 16];
        ip.copy_from_slice(&self[..16]);
        let port = u16::from_be_bytes([self[16], self[17]]);
        SocketAddr::V6(SocketAddrV6::new(ip.into(), port, 0, 0))
    }
}

/// A peer's address and port in compact form, in its family (an
/// IPv4-mapped IPv6 address is the IPv4 address it maps; an IPv6 address's
/// flow info and scope are not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    V4(V4),
    V6(V6),
}

impl Key {
    fn of(addr: &SocketAddr) -> Key {
        let [p0, p1] = addr.port().to_be_bytes();
        match addr.ip().to_canonical() {
            IpAddr::V4(ip) => {
                let [a, b, c, d] = ip.octets();
                Key::V4([a, b, c, d, p0, p1])
            }
            IpAddr::V6(ip) => {
                let mut out = [0; 18];
                out[..16].copy_from_slice(&ip.octets());
                out[16..].copy_from_slice(&[p0, p1]);
                Key::V6(out)
            }
        }
    }
}

/// The `seen` of an entry that a later announce (or a `stopped`) replaced;
/// live entries' times stop one short of it.
const DEAD: u32 = u32::MAX;

/// One announce of a peer, in its queue.
#[derive(Debug, Clone, Copy)]
struct Entry<A> {
    addr: A,
    peer_id: PeerId,
    /// When it was seen: whole seconds after the swarm's epoch, rounded
    /// up (so a peer expires at most a second late, never early), in
    /// native byte order; [`DEAD`] once replaced. Bytes rather than a
    /// `u32`, so that the entry has no padding.
    seen: [u8; 4],
}

impl<A> Entry<A> {
    fn seen(&self) -> u32 {
        u32::from_ne_bytes(self.seen)
    }

    fn live(&self) -> bool {
        self.seen() != DEAD
    }
}

/// Where a peer's live entry is: its role and its entry's sequence number
/// in its family's queue of that role. Sequence numbers are 32 bits and
/// wrap (a queue never holds 2^32 entries).
#[derive(Debug, Clone, Copy)]
struct Place {
    role: Role,
    seq: u32,
}

/// One family's and role's entries in the order they were seen, the
/// oldest first. The entry at index `i` has the sequence number `head + i`
/// (wrapping).
#[derive(Debug)]
struct Queue<A> {
    entries: VecDeque<Entry<A>>,
    head: u32,
    live: usize,
}

impl<A> Default for Queue<A> {
    fn default() -> Self {
        Queue {
            entries: VecDeque::new(),
            head: 0,
            live: 0,
        }
    }
}

/// `n` as a sequence-number step: a queue holds fewer than 2^32 entries
/// (a swarm's peers are capped far below), so it is exact.
fn step(n: usize) -> u32 {
    // Truncation never happens; wrapping keeps the arithmetic total.
    (n as u64 & u64::from(u32::MAX)) as u32
}

impl<A: Compact> Queue<A> {
    fn next_seq(&self) -> u32 {
        self.head.wrapping_add(step(self.entries.len()))
    }

    /// Appends a live entry; its sequence number is the `next_seq` before.
    fn push(&mut self, addr: A, peer_id: PeerId, seen: u32) {
        self.entries.push_back(Entry {
            addr,
            peer_id,
            seen: seen.to_ne_bytes(),
        });
        self.live += 1;
    }

    /// Marks the entry of `seq` dead.
    fn kill(&mut self, seq: u32) {
        let Ok(i) = usize::try_from(seq.wrapping_sub(self.head)) else {
            return;
        };
        if let Some(e) = self.entries.get_mut(i)
            && e.live()
        {
            e.seen = DEAD.to_ne_bytes();
            self.live -= 1;
        }
    }

    /// Drops the dead entries at the front, and the live ones `due`
    /// (removing those from `index`); the `seen` of the oldest live entry
    /// left, if any.
    fn expire(&mut self, due: impl Fn(u32) -> bool, index: &mut HashMap<A, Place>) -> Option<u32> {
        while let Some(front) = self.entries.front() {
            let seen = front.seen();
            if seen != DEAD {
                if !due(seen) {
                    return Some(seen);
                }
                index.remove(&front.addr);
                self.live -= 1;
            }
            self.entries.pop_front();
            self.head = self.head.wrapping_add(1);
        }
        None
    }

    /// Drops every dead entry when they outnumber the live ones (and a
    /// few more), renumbering the live ones in `index`.
    fn compact(&mut self, role: Role, index: &mut HashMap<A, Place>) {
        let dead = self.entries.len() - self.live;
        if dead <= self.live + 32 {
            return;
        }
        let head = self.next_seq();
        self.entries.retain(Entry::live);
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

/// What a family's upsert found.
enum Prior {
    /// The peer was not there.
    New,
    /// The peer was there, in this role.
    Was(Role),
    /// The peer was not there, and the swarm is full.
    Full,
}

/// One address family's peers: where each is, and the two queues.
#[derive(Debug)]
struct Family<A> {
    index: HashMap<A, Place>,
    seeders: Queue<A>,
    leechers: Queue<A>,
}

impl<A> Default for Family<A> {
    fn default() -> Self {
        Family {
            index: HashMap::default(),
            seeders: Queue::default(),
            leechers: Queue::default(),
        }
    }
}

impl<A: Compact> Family<A> {
    fn queue(&mut self, role: Role) -> &mut Queue<A> {
        match role {
            Role::Seeder => &mut self.seeders,
            Role::Leecher => &mut self.leechers,
        }
    }

    /// The queue of `role` and the index, borrowed together.
    fn parts(&mut self, role: Role) -> (&mut Queue<A>, &mut HashMap<A, Place>) {
        match role {
            Role::Seeder => (&mut self.seeders, &mut self.index),
            Role::Leecher => (&mut self.leechers, &mut self.index),
        }
    }

    /// Records an announce of `addr` as `role` at `seen`, looking the
    /// address up once; a new peer is refused when `full`.
    fn upsert(&mut self, addr: A, peer_id: PeerId, role: Role, seen: u32, full: bool) -> Prior {
        let seq = self.queue(role).next_seq();
        let place = Place { role, seq };
        let old = match self.index.entry(addr) {
            Slot::Occupied(mut row) => Some(row.insert(place)),
            Slot::Vacant(_) if full => return Prior::Full,
            Slot::Vacant(row) => {
                row.insert(place);
                None
            }
        };
        // Killing the old entry leaves the queue's length, so the new one
        // gets `seq`.
        if let Some(old) = old {
            self.queue(old.role).kill(old.seq);
        }
        self.queue(role).push(addr, peer_id, seen);
        match old {
            Some(old) => {
                let (queue, index) = self.parts(old.role);
                queue.compact(old.role, index);
                Prior::Was(old.role)
            }
            None => Prior::New,
        }
    }

    /// Removes the peer at `addr`, if there is one.
    fn remove(&mut self, addr: &A) {
        if let Some(p) = self.index.remove(addr) {
            let (queue, index) = self.parts(p.role);
            queue.kill(p.seq);
            queue.compact(p.role, index);
        }
    }

    /// Drops the dead entries at the queues' fronts and the live ones
    /// `due`; the `seen` of the oldest live entry left, if any.
    fn expire(&mut self, due: impl Fn(u32) -> bool + Copy) -> Option<u32> {
        let seeders = self.seeders.expire(due, &mut self.index);
        let leechers = self.leechers.expire(due, &mut self.index);
        earliest(seeders, leechers)
    }
}

/// The earlier of two optional times.
fn earliest(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `now` as an entry's `seen`: whole seconds after `epoch`, rounded up,
/// and at most one short of [`DEAD`] (136 years).
fn stamp(epoch: Instant, now: Instant) -> u32 {
    let age = now.saturating_duration_since(epoch);
    let secs = age.as_secs() + u64::from(age.subsec_nanos() > 0);
    u32::try_from(secs).map_or(DEAD - 1, |s| s.min(DEAD - 1))
}

/// The peers an answer must not list: the requester, by address or by
/// peer id, and the endpoint seed (which is listed apart).
pub(crate) struct Skip {
    v4: [Option<V4>; 2],
    v6: [Option<V6>; 2],
    peer_id: PeerId,
}

impl Skip {
    /// Skips `requester` and `peer_id`, and `seed` if there is one.
    pub(crate) fn new(requester: &SocketAddr, peer_id: PeerId, seed: Option<&SocketAddr>) -> Self {
        let mut skip = Skip {
            v4: [None; 2],
            v6: [None; 2],
            peer_id,
        };
        for (i, addr) in [Some(requester), seed].into_iter().enumerate() {
            match addr.map(Key::of) {
                Some(Key::V4(a)) => skip.v4[i] = Some(a),
                Some(Key::V6(a)) => skip.v6[i] = Some(a),
                None => {}
            }
        }
        skip
    }
}

#[derive(Debug, Default)]
pub(crate) struct Swarm {
    /// The instant entries' `seen` count from: the first announce recorded.
    epoch: Option<Instant>,
    /// No live entry was seen before this (`None`: none is held), so that
    /// [`Swarm::expire`] looks at the queues only once one may be due.
    oldest: Option<u32>,
    v4: Family<V4>,
    v6: Family<V6>,
    /// The endpoint seed last asked about ([`Swarm::seed_role`]) and its
    /// role in the swarm, kept up to date by every change.
    seed: Option<(Key, Option<Role>)>,
    /// `completed` events seen (scrape's `downloaded`).
    downloaded: u64,
}

impl Swarm {
    pub(crate) fn seeders(&self) -> usize {
        self.v4.seeders.live + self.v6.seeders.live
    }

    pub(crate) fn leechers(&self) -> usize {
        self.v4.leechers.live + self.v6.leechers.live
    }

    /// The peers held.
    pub(crate) fn len(&self) -> usize {
        self.v4.index.len() + self.v6.index.len()
    }

    pub(crate) fn downloaded(&self) -> u64 {
        self.downloaded
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn role_at(&self, key: &Key) -> Option<Role> {
        match key {
            Key::V4(a) => self.v4.index.get(a),
            Key::V6(a) => self.v6.index.get(a),
        }
        .map(|p| p.role)
    }

    pub(crate) fn role_of(&self, addr: &SocketAddr) -> Option<Role> {
        self.role_at(&Key::of(addr))
    }

    /// [`Swarm::role_of`] the endpoint seed `seed`, remembered: asked
    /// again about the same address, it looks nothing up.
    pub(crate) fn seed_role(&mut self, seed: &SocketAddr) -> Option<Role> {
        let key = Key::of(seed);
        match self.seed {
            Some((k, role)) if k == key => role,
            _ => {
                let role = self.role_at(&key);
                self.seed = Some((key, role));
                role
            }
        }
    }

    /// Removes every peer last seen `ttl` or more before `now`; costs one
    /// index removal per peer removed, plus, once one may be due, one look
    /// per queue.
    pub(crate) fn expire(&mut self, now: Instant, ttl: Duration) {
        let (Some(epoch), Some(oldest)) = (self.epoch, self.oldest) else {
            return;
        };
        let age = now.saturating_duration_since(epoch);
        let due = |seen: u32| Duration::from_secs(u64::from(seen)).saturating_add(ttl) <= age;
        if !due(oldest) {
            return;
        }
        self.oldest = earliest(self.v4.expire(due), self.v6.expire(due));
        if let Some((key, Some(_))) = self.seed {
            self.seed = Some((key, self.role_at(&key)));
        }
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
        let epoch = self.epoch.unwrap_or(now);
        let seen = stamp(epoch, now);
        let full = self.len() >= max_peers;
        let key = Key::of(&addr);
        let prior = match key {
            Key::V4(a) => self.v4.upsert(a, peer_id, role, seen, full),
            Key::V6(a) => self.v6.upsert(a, peer_id, role, seen, full),
        };
        let old = match prior {
            Prior::Full => return Upsert::Full,
            Prior::New => None,
            Prior::Was(old) => Some(old),
        };
        self.epoch = Some(epoch);
        self.oldest = earliest(self.oldest, Some(seen));
        if event == Event::Completed && old != Some(Role::Seeder) {
            self.downloaded = self.downloaded.saturating_add(1);
        }
        if let Some((k, r)) = &mut self.seed
            && *k == key
        {
            *r = Some(role);
        }
        Upsert::Done
    }

    /// Removes the peer at `addr` (a `stopped` announce).
    pub(crate) fn remove(&mut self, addr: &SocketAddr) {
        let key = Key::of(addr);
        match &key {
            Key::V4(a) => self.v4.remove(a),
            Key::V6(a) => self.v6.remove(a),
        }
        if let Some((k, r)) = &mut self.seed
            && *k == key
        {
            *r = None;
        }
    }

    /// Up to `want` peers for a requester of role `role`, handed to `list`
    /// one by one, passing over the ones `skip` names, starting at
    /// positions chosen by `r1`/`r2`, so successive answers differ. A
    /// seeder gets leechers only; a leecher gets seeders and leechers in
    /// turn.
    pub(crate) fn select(
        &self,
        role: Role,
        want: usize,
        r1: u64,
        r2: u64,
        skip: &Skip,
        mut list: impl FnMut(SocketAddr, PeerId),
    ) {
        let mut seeders = match role {
            Role::Seeder => None,
            Role::Leecher => Some(Walk::new(&self.v4.seeders, &self.v6.seeders, r1)),
        };
        let mut leechers = Some(Walk::new(&self.v4.leechers, &self.v6.leechers, r2));
        // The entries each walk is likely to read, asked from memory at
        // once rather than one after the other.
        match (&seeders, &leechers) {
            (Some(s), Some(l)) => {
                s.warm(want.div_ceil(2).max(want.saturating_sub(l.left)) + 1);
                l.warm((want / 2).max(want.saturating_sub(s.left)) + 1);
            }
            (None, Some(l)) => l.warm(want + 1),
            _ => {}
        }
        let mut turn_seeder = true;
        let mut listed = 0;
        while listed < want {
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
            match walk.next(skip) {
                Some((addr, peer_id)) => {
                    list(addr, peer_id);
                    listed += 1;
                }
                None => *source = None,
            }
        }
    }
}

/// A walk over every entry of one role's queues once (the IPv4 one, then
/// the IPv6 one), starting from a position chosen by `r` and wrapping
/// around; [`Walk::next`] passes over the dead ones.
struct Walk<'a> {
    v4: &'a VecDeque<Entry<V4>>,
    v6: &'a VecDeque<Entry<V6>>,
    /// The next position, and how many entries are left to look at.
    at: usize,
    left: usize,
}

impl<'a> Walk<'a> {
    fn new(v4: &'a Queue<V4>, v6: &'a Queue<V6>, r: u64) -> Self {
        let (v4, v6) = (&v4.entries, &v6.entries);
        let len = v4.len() + v6.len();
        let at = match u64::try_from(len) {
            Ok(n) if n > 0 => usize::try_from(r % n).unwrap_or(0),
            _ => 0,
        };
        Walk {
            v4,
            v6,
            at,
            left: len,
        }
    }

    /// Reads one byte of each cache line the next `n` entries are in, so
    /// that the memory is asked for at once (each load independent of the
    /// others) rather than as the walk reaches it: a prefetch.
    fn warm(&self, n: usize) {
        let len = self.v4.len() + self.v6.len();
        let n = n.min(len);
        // The positions [at, at + n), wrapped: [at, end) and [0, rest).
        let end = (self.at + n).min(len);
        let spans = [(self.at, end), (0, self.at + n - end)];
        let (a, b) = self.v4.as_slices();
        let (c, d) = self.v6.as_slices();
        let mut sum = touch(a, 0, spans);
        sum = sum.wrapping_add(touch(b, a.len(), spans));
        sum = sum.wrapping_add(touch(c, a.len() + b.len(), spans));
        sum = sum.wrapping_add(touch(d, a.len() + b.len() + c.len(), spans));
        std::hint::black_box(sum);
    }

    /// The address and peer id of the next live entry that `skip` does not
    /// name.
    fn next(&mut self, skip: &Skip) -> Option<(SocketAddr, PeerId)> {
        let split = self.v4.len();
        let len = split + self.v6.len();
        while self.left > 0 {
            self.left -= 1;
            let i = self.at;
            self.at = if i + 1 == len { 0 } else { i + 1 };
            let found = match i.checked_sub(split) {
                None => self.v4.get(i).and_then(|e| pick(e, &skip.v4, skip)),
                Some(j) => self.v6.get(j).and_then(|e| pick(e, &skip.v6, skip)),
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
}

/// The sum of one byte per cache line of the entries of `slice` (which
/// holds the positions from `base`) at the positions `spans` cover.
fn touch<A>(slice: &[Entry<A>], base: usize, spans: [(usize, usize); 2]) -> u8 {
    let per_line = (64 / std::mem::size_of::<Entry<A>>()).max(1);
    let mut sum = 0u8;
    for (from, to) in spans {
        let from = from.saturating_sub(base).min(slice.len());
        let to = to.saturating_sub(base).min(slice.len());
        for e in slice
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .step_by(per_line)
        {
            sum = sum.wrapping_add(e.seen[0]);
        }
    }
    sum
}

/// `e`'s address and peer id, if it is live and neither its address is in
/// `addrs` nor its peer id the one `skip` names.
fn pick<A: Compact>(
    e: &Entry<A>,
    addrs: &[Option<A>; 2],
    skip: &Skip,
) -> Option<(SocketAddr, PeerId)> {
    (e.live() && e.peer_id != skip.peer_id && !addrs.contains(&Some(e.addr)))
        .then(|| (e.addr.address(), e.peer_id))
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
        swarm.v4.seeders.head = u32::MAX - 2;
        swarm.v4.leechers.head = u32::MAX - 2;
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
        assert!(swarm.v4.leechers.entries.len() < 40, "compacted");
        swarm.remove(&addr(0));
        swarm.remove(&addr(1));
        assert_eq!((swarm.seeders(), swarm.leechers()), (2, 2));
        assert_eq!(swarm.role_of(&addr(3)), Some(Role::Leecher));
        let mut listed = Vec::new();
        let skip = Skip::new(&addr(99), id(99), None);
        swarm.select(Role::Leecher, 10, 7, 11, &skip, |a, _| listed.push(a));
        listed.sort();
        assert_eq!(listed, [addr(2), addr(3), addr(4), addr(5)]);
        swarm.expire(later + ttl, ttl);
        assert!(swarm.is_empty());
        assert_eq!((swarm.seeders(), swarm.leechers()), (0, 0));
    }

    /// The bytes a peer costs are the module's documentation's.
    #[test]
    fn a_peer_costs_the_bytes_documented() {
        use std::mem::size_of;
        assert_eq!(size_of::<Entry<V4>>(), 30);
        assert_eq!(size_of::<Entry<V6>>(), 42);
        assert_eq!(size_of::<(V4, Place)>(), 16);
        assert_eq!(size_of::<(V6, Place)>(), 28);
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

    /// The addresses the model test uses: IPv4 and IPv6, two ports on one
    /// address, and an IPv4-mapped IPv6 form of an IPv4 one (the same peer).
    const ADDRS: [&str; 7] = [
        "10.0.0.1:1",
        "10.0.0.1:2",
        "10.0.0.2:1",
        "[2001:db8::1]:1",
        "[2001:db8::1]:2",
        "[2001:db8::2]:1",
        "[::ffff:10.0.0.1]:1",
    ];

    fn model_addr(i: usize) -> SocketAddr {
        ADDRS[i % ADDRS.len()].parse().unwrap()
    }

    /// What the model keys a peer by.
    fn canonical(addr: SocketAddr) -> SocketAddr {
        SocketAddr::new(addr.ip().to_canonical(), addr.port())
    }

    #[derive(Debug, Clone)]
    enum Op {
        Upsert {
            addr: usize,
            id: u16,
            seeder: bool,
            completed: bool,
        },
        Remove(usize),
        Advance(u64),
        Expire,
        Select {
            addr: usize,
            id: u16,
            seeder: bool,
            want: usize,
            r1: u64,
            r2: u64,
            seed: Option<usize>,
        },
        SeedRole(usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let addr = 0..ADDRS.len() + 2;
        prop_oneof![
            8 => (addr.clone(), 0u16..4, any::<bool>(), proptest::bool::weighted(0.2))
                .prop_map(|(addr, id, seeder, completed)| Op::Upsert { addr, id, seeder, completed }),
            1 => addr.clone().prop_map(Op::Remove),
            2 => (0u64..40).prop_map(Op::Advance),
            1 => Just(Op::Expire),
            3 => (
                addr.clone(),
                0u16..5,
                any::<bool>(),
                0usize..12,
                any::<u64>(),
                any::<u64>(),
                proptest::option::of(addr.clone()),
            )
                .prop_map(|(addr, id, seeder, want, r1, r2, seed)| Op::Select {
                    addr, id, seeder, want, r1, r2, seed,
                }),
            1 => addr.prop_map(Op::SeedRole),
        ]
    }

    fn role(seeder: bool) -> Role {
        if seeder { Role::Seeder } else { Role::Leecher }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// The swarm against a map from address to peer id, role and last
        /// announce: counts, roles, downloads, expiry and what select lists,
        /// across compactions, sequence numbers that wrap and a full swarm.
        #[test]
        fn the_swarm_is_the_models(
            ops in proptest::collection::vec(op(), 1..250),
            head in proptest::prop_oneof![proptest::strategy::Just(0u32), proptest::strategy::Just(u32::MAX - 4)],
            max_peers in 1usize..9,
        ) {
            use proptest::prelude::*;
            let ttl = Duration::from_secs(60);
            let mut swarm = Swarm::default();
            for q in [&mut swarm.v4.seeders, &mut swarm.v4.leechers] {
                q.head = head;
            }
            for q in [&mut swarm.v6.seeders, &mut swarm.v6.leechers] {
                q.head = head;
            }
            let mut model: std::collections::HashMap<SocketAddr, (PeerId, Role, Instant)> =
                std::collections::HashMap::new();
            let mut downloaded = 0u64;
            let mut now = Instant::now();
            for op in ops {
                match op {
                    Op::Upsert { addr: a, id: i, seeder, completed } => {
                        let a = model_addr(a);
                        let event = if completed { Event::Completed } else { Event::Regular };
                        let got = swarm.upsert(a, id(i), role(seeder), event, now, max_peers);
                        let old = model.get(&canonical(a)).map(|p| p.1);
                        if old.is_none() && model.len() >= max_peers {
                            prop_assert_eq!(got, Upsert::Full);
                        } else {
                            prop_assert_eq!(got, Upsert::Done);
                            if completed && old != Some(Role::Seeder) {
                                downloaded += 1;
                            }
                            model.insert(canonical(a), (id(i), role(seeder), now));
                        }
                    }
                    Op::Remove(a) => {
                        let a = model_addr(a);
                        swarm.remove(&a);
                        model.remove(&canonical(a));
                    }
                    Op::Advance(s) => now += Duration::from_secs(s),
                    Op::Expire => {
                        swarm.expire(now, ttl);
                        model.retain(|_, p| now.duration_since(p.2) < ttl);
                    }
                    Op::SeedRole(a) => {
                        let a = model_addr(a);
                        prop_assert_eq!(swarm.seed_role(&a), model.get(&canonical(a)).map(|p| p.1));
                    }
                    Op::Select { addr: a, id: i, seeder, want, r1, r2, seed } => {
                        let me = model_addr(a);
                        let seed = seed.map(model_addr);
                        let skip = Skip::new(&me, id(i), seed.as_ref());
                        let mut listed = Vec::new();
                        swarm.select(role(seeder), want, r1, r2, &skip, |a, p| listed.push((a, p)));
                        let excluded = |a: &SocketAddr, p: &(PeerId, Role, Instant)| {
                            *a == canonical(me)
                                || Some(*a) == seed.map(canonical)
                                || p.0 == id(i)
                                || (seeder && p.1 == Role::Seeder)
                        };
                        let mut seen = std::collections::HashSet::new();
                        for (a, p) in &listed {
                            prop_assert!(seen.insert(*a), "{} listed twice", a);
                            let Some(m) = model.get(a) else {
                                return Err(TestCaseError::fail(format!("{a} is not a peer")));
                            };
                            prop_assert_eq!(*p, m.0);
                            prop_assert!(!excluded(a, m), "{} must not be listed", a);
                        }
                        let eligible = model.iter().filter(|(a, p)| !excluded(a, p)).count();
                        prop_assert_eq!(listed.len(), eligible.min(want));
                    }
                }
                let seeders = model.values().filter(|p| p.1 == Role::Seeder).count();
                prop_assert_eq!(swarm.seeders(), seeders);
                prop_assert_eq!(swarm.leechers(), model.len() - seeders);
                prop_assert_eq!(swarm.len(), model.len());
                prop_assert_eq!(swarm.downloaded(), downloaded);
                for i in 0..ADDRS.len() {
                    let a = model_addr(i);
                    prop_assert_eq!(swarm.role_of(&a), model.get(&canonical(a)).map(|p| p.1));
                }
                // Dead entries stay bounded: no more than a swarm's peers
                // and a few more per queue.
                for (entries, live) in [
                    (swarm.v4.seeders.entries.len(), swarm.v4.seeders.live),
                    (swarm.v4.leechers.entries.len(), swarm.v4.leechers.live),
                    (swarm.v6.seeders.entries.len(), swarm.v6.seeders.live),
                    (swarm.v6.leechers.entries.len(), swarm.v6.leechers.live),
                ] {
                    prop_assert!(entries - live <= max_peers + 32, "{} entries for {} live", entries, live);
                }
            }
        }
    }
}
