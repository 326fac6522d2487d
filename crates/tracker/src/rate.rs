//! The announce rate limit: a fixed window per client (an address and the
//! peer id it announces as) and a much higher ceiling per address, each in
//! a bounded table whose old windows expire in order.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::announce::PeerId;
use crate::swarm::expired;

/// The announce rate limit: at most `announces` announces per `window`
/// from one client (an address and the peer id it announces as; scrapes,
/// which name no peer id, count as one client per address), and at most
/// `per_address` from one address whatever the clients, so that the
/// clients behind one NAT address are served each at its own rate. IPv6
/// addresses are counted per /64, the block one subscriber usually holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Announces allowed per window and client (default 120).
    pub announces: u32,
    /// Announces allowed per window and address, over all its clients
    /// (default 3,000: 25 clients at the full rate, or a few hundred at a
    /// normal one).
    pub per_address: u32,
    /// The window (default 60 s).
    pub window: Duration,
    /// The most clients, and the most addresses, tracked at once (default
    /// 100,000 each). When a table is full of live windows, its oldest
    /// window is dropped.
    pub max_addresses: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::new(120, Duration::from_secs(60), 100_000)
    }
}

impl RateLimit {
    /// How many times a client's limit an address may announce, unless
    /// [`with_per_address`](Self::with_per_address) says otherwise.
    pub const ADDRESS_FACTOR: u32 = 25;

    /// A limit of `announces` per `window` and client, and
    /// [`ADDRESS_FACTOR`](Self::ADDRESS_FACTOR) times that per address,
    /// tracking at most `max_addresses` of each.
    pub fn new(announces: u32, window: Duration, max_addresses: usize) -> Self {
        RateLimit {
            announces,
            per_address: announces.saturating_mul(Self::ADDRESS_FACTOR),
            window,
            max_addresses,
        }
    }

    /// The same limit with `per_address` announces per window and address.
    pub fn with_per_address(mut self, per_address: u32) -> Self {
        self.per_address = per_address;
        self
    }
}

/// Who a rate window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// An address (its /64 for IPv6) announcing as a peer id.
    Peer(IpAddr, PeerId),
    /// An address's scrapes.
    Scrapes(IpAddr),
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    /// The client's own.
    Client,
    /// Its address's ceiling.
    Address,
}

/// The two tables: clients and addresses.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    clients: Windows<Client>,
    addresses: Windows<IpAddr>,
}

impl Limiter {
    /// Drops the windows that ended by `now`.
    pub(crate) fn expire(&mut self, now: Instant, window: Duration) {
        self.clients.expire(now, window);
        self.addresses.expire(now, window);
    }

    /// Counts one request from `ip`, by the client `peer_id` (`None` for a
    /// scrape), at `now` (monotonic): `Err` when it is over the client's
    /// limit (it is then not counted against the address, so that one
    /// flooding client does not use up its neighbours' ceiling) or the
    /// address's.
    pub(crate) fn allow(
        &mut self,
        ip: IpAddr,
        peer_id: Option<PeerId>,
        now: Instant,
        limit: &RateLimit,
    ) -> Result<(), Over> {
        let ip = bucket(ip);
        let client = match peer_id {
            Some(id) => Client::Peer(ip, id),
            None => Client::Scrapes(ip),
        };
        if !self.clients.allow(
            client,
            now,
            limit.window,
            limit.announces,
            limit.max_addresses,
        ) {
            return Err(Over::Client);
        }
        if !self.addresses.allow(
            ip,
            now,
            limit.window,
            limit.per_address,
            limit.max_addresses,
        ) {
            return Err(Over::Address);
        }
        Ok(())
    }

    /// The entries of the larger table.
    pub(crate) fn len(&self) -> usize {
        self.clients.windows.len().max(self.addresses.windows.len())
    }
}

#[derive(Debug)]
struct Window {
    count: u32,
    seq: u64,
}

/// Fixed windows by key, bounded.
#[derive(Debug)]
struct Windows<K> {
    windows: HashMap<K, Window>,
    /// Windows by the order they started in (`seq`, which only grows), the
    /// oldest first, with their start.
    order: VecDeque<(u64, K, Instant)>,
    next_seq: u64,
}

impl<K> Default for Windows<K> {
    fn default() -> Self {
        Windows {
            windows: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
        }
    }
}

fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

impl<K: Copy + Eq + Hash> Windows<K> {
    /// Drops the windows that ended by `now`.
    fn expire(&mut self, now: Instant, window: Duration) {
        // Starts only grow along the order: the first one not ended ends
        // the sweep, without a look at the table.
        while let Some(&(seq, key, start)) = self.order.front() {
            if !expired(start, now, window) {
                break;
            }
            if self.windows.get(&key).is_some_and(|w| w.seq == seq) {
                self.windows.remove(&key);
            }
            self.order.pop_front();
        }
    }

    /// Counts one request of `key` at `now` (monotonic); `false` when it
    /// is over `allowed` per `window`.
    fn allow(
        &mut self,
        key: K,
        now: Instant,
        window: Duration,
        allowed: u32,
        max_keys: usize,
    ) -> bool {
        self.expire(now, window);
        if let Some(w) = self.windows.get_mut(&key) {
            w.count = w.count.saturating_add(1);
            return w.count <= allowed;
        }
        if max_keys == 0 {
            return allowed > 0;
        }
        while self.windows.len() >= max_keys {
            let Some((_, oldest, _)) = self.order.pop_front() else {
                break;
            };
            self.windows.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((seq, key, now));
        self.windows.insert(key, Window { count: 1, seq });
        allowed > 0
    }
}
