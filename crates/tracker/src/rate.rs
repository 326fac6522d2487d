//! The announce rate limit: a fixed window per client (an address and the
//! peer id it announces as) and a much higher ceiling per address, each in
//! a fixed, set-associative table allocated once: a key's keyed hash picks
//! a set of slots, an ended window is a free slot, and a full set gives up
//! the window in it that started first.

use std::hash::{BuildHasher as _, Hasher as _};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use foldhash::fast::RandomState;

use crate::announce::PeerId;

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
    /// 100,000 each; at most 1,048,576, whatever is asked). Each of the two
    /// tables is allocated whole at the first request, 24 bytes a window,
    /// and never grows. A key (a client, or an address) has its place in
    /// one set of 8 windows, picked by a hash keyed with a random seed per
    /// process; when that set holds 8 live windows, the one of them that
    /// started first is dropped (its key starts afresh at its next
    /// request). 0 tracks nothing: every request is then within the limit
    /// (unless the limit is 0).
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

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    /// The client's own.
    Client,
    /// Its address's ceiling.
    Address,
}

/// The most windows a table holds, whatever
/// [`RateLimit::max_addresses`] asks (24 MiB a table).
const MAX_WINDOWS: usize = 1 << 20;

/// The windows of one set (fewer in a table smaller than one set).
const WAYS: usize = 8;

/// The two tables, clients and addresses, and the keyed hash that gives
/// each key its set and its fingerprint.
///
/// A table knows a key only by its fingerprint, a 64-bit hash keyed with
/// a random seed (per process and per limiter, [`RandomState`]). Two keys
/// of one set with the same fingerprint would share a window (one's
/// requests counting against the other): the set takes some of the
/// hash's bits, which leaves a chance of about 2^-46 per request at the
/// default size (two tables of 12,500 sets of 8), under 2^-43 at the
/// largest, and the seed is needed to aim at one.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    hasher: RandomState,
    /// The first request's time: windows start some nanoseconds after it.
    epoch: Option<Instant>,
    clients: Table,
    addresses: Table,
}

impl Limiter {
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
        let epoch = *self.epoch.get_or_insert(now);
        let now = nanos(now.saturating_duration_since(epoch));
        let window = nanos(limit.window);
        let address = address_key(ip);
        let mut client = self.hasher.build_hasher();
        match peer_id {
            Some(id) => {
                client.write_u128(address);
                client.write(id.as_bytes());
            }
            None => client.write_u128(address | SCRAPES),
        }
        if !self.clients.allow(
            client.finish(),
            now,
            window,
            limit.announces,
            limit.max_addresses,
        ) {
            return Err(Over::Client);
        }
        if !self.addresses.allow(
            self.hasher.hash_one(address),
            now,
            window,
            limit.per_address,
            limit.max_addresses,
        ) {
            return Err(Over::Address);
        }
        Ok(())
    }

    /// The windows held by the larger table, ended ones included (they
    /// are reused, never removed).
    pub(crate) fn len(&self) -> usize {
        self.clients.held.max(self.addresses.held)
    }
}

/// The bit of a client key that says scrapes (an address key is below
/// 2^65).
const SCRAPES: u128 = 1 << 127;

/// What an address is counted as: an IPv4 address whole, an IPv6 one by
/// its /64.
fn address_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => 1 << 64 | u128::from(v4.to_bits()),
        IpAddr::V6(v6) => v6.to_bits() >> 64,
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// One window: `count` requests of the key `fingerprint` since `start`
/// (nanoseconds after the limiter's epoch). A `count` of 0 is a slot never
/// used.
#[derive(Clone, Copy)]
struct Slot {
    fingerprint: u64,
    start: u64,
    count: u32,
}

impl Slot {
    const UNUSED: Slot = Slot {
        fingerprint: 0,
        start: 0,
        count: 0,
    };
}

/// The slots of one set, in three cache lines.
#[repr(align(64))]
#[derive(Clone, Copy)]
struct Set([Slot; WAYS]);

/// Fixed windows by fingerprint, in sets of [`WAYS`] slots, allocated
/// whole at the first request.
///
/// A key lives in the set its fingerprint picks. A new key takes the first
/// slot of its set that is unused or whose window ended, else the one whose
/// window started first. Unused slots are a suffix of their set (a slot
/// once used stays used), so a lookup stops at the first one.
#[derive(Default)]
struct Table {
    sets: Vec<Set>,
    /// The slots used in each set: [`WAYS`], or fewer in a table made for
    /// fewer keys.
    ways: usize,
    /// The slots ever used.
    held: usize,
    /// The `max_keys` the table was made for.
    made_for: usize,
}

impl std::fmt::Debug for Table {
    /// Its size, not its 100,000 slots.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("sets", &self.sets.len())
            .field("ways", &self.ways)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// Counts one request of `fingerprint` at `now`; `false` when it is
    /// over `allowed` per `window` (both in nanoseconds).
    fn allow(
        &mut self,
        fingerprint: u64,
        now: u64,
        window: u64,
        allowed: u32,
        max_keys: usize,
    ) -> bool {
        if max_keys == 0 {
            return allowed > 0;
        }
        if self.made_for != max_keys || self.sets.is_empty() {
            // The first request (or one under another limit: the table
            // starts over).
            self.make(max_keys);
        }
        // The hash's high bits pick the set, for any number of sets.
        let index = ((u128::from(fingerprint) * self.sets.len() as u128) >> 64) as usize;
        let Some(set) = self
            .sets
            .get_mut(index)
            .and_then(|set| set.0.get_mut(..self.ways))
        else {
            return allowed > 0;
        };
        let mut victim = 0;
        // The victim's start; `None` for a reusable slot, which sorts first.
        let mut oldest = Some(u64::MAX);
        for (i, slot) in set.iter_mut().enumerate() {
            if slot.count == 0 {
                if oldest.is_some() {
                    victim = i;
                }
                break;
            }
            let ended = now.saturating_sub(slot.start) >= window;
            if slot.fingerprint == fingerprint {
                if ended {
                    slot.start = now;
                    slot.count = 1;
                    return allowed > 0;
                }
                slot.count = slot.count.saturating_add(1);
                return slot.count <= allowed;
            }
            let start = (!ended).then_some(slot.start);
            if start < oldest {
                oldest = start;
                victim = i;
            }
        }
        if let Some(slot) = set.get_mut(victim) {
            if slot.count == 0 {
                self.held += 1;
            }
            *slot = Slot {
                fingerprint,
                start: now,
                count: 1,
            };
        }
        allowed > 0
    }

    /// The windows the table has room for.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.sets.len() * self.ways
    }

    /// Allocates the table for `max_keys` (at most [`MAX_WINDOWS`]), all
    /// its slots unused.
    fn make(&mut self, max_keys: usize) {
        let capacity = max_keys.clamp(1, MAX_WINDOWS);
        self.ways = capacity.min(WAYS);
        self.sets = vec![Set([Slot::UNUSED; WAYS]); capacity / self.ways];
        self.held = 0;
        self.made_for = max_keys;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    fn id(n: u32) -> PeerId {
        let mut b = *b"-XX0001-000000000000";
        b[16..].copy_from_slice(&n.to_be_bytes());
        PeerId::from_bytes(b)
    }

    fn v4(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The exact rule, one window per key that never forgets: what the
    /// tables must decide when they have room for every key.
    #[derive(Default)]
    struct Model {
        clients: HashMap<(IpAddr, Option<PeerId>), (Duration, u32)>,
        addresses: HashMap<IpAddr, (Duration, u32)>,
    }

    fn count<K: Eq + std::hash::Hash>(
        map: &mut HashMap<K, (Duration, u32)>,
        key: K,
        at: Duration,
        window: Duration,
        allowed: u32,
    ) -> bool {
        let w = map.entry(key).or_insert((at, 0));
        if at - w.0 >= window {
            *w = (at, 0);
        }
        w.1 = w.1.saturating_add(1);
        w.1 <= allowed
    }

    impl Model {
        fn allow(
            &mut self,
            ip: IpAddr,
            peer: Option<PeerId>,
            at: Duration,
            limit: &RateLimit,
        ) -> Result<(), Over> {
            let ip = match ip {
                IpAddr::V4(_) => ip,
                IpAddr::V6(a) => {
                    let s = a.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            };
            if !count(
                &mut self.clients,
                (ip, peer),
                at,
                limit.window,
                limit.announces,
            ) {
                return Err(Over::Client);
            }
            if !count(&mut self.addresses, ip, at, limit.window, limit.per_address) {
                return Err(Over::Address);
            }
            Ok(())
        }
    }

    const ADDRESSES: [&str; 5] = [
        "192.0.2.1",
        "192.0.2.2",
        "2001:db8::1",
        // The same /64 as the one before.
        "2001:db8::ffff:2",
        "2001:db8:0:1::1",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// With room for every key, the tables decide as the exact model.
        #[test]
        fn decisions_are_the_exact_fixed_windows(
            announces in 0u32..4,
            per_address in 0u32..8,
            window_ms in 1u64..5_000,
            requests in proptest::collection::vec(
                (0usize..ADDRESSES.len(), proptest::option::of(0u32..4), 0u64..3_000),
                0..200,
            ),
        ) {
            let limit = RateLimit::new(announces, Duration::from_millis(window_ms), 4096)
                .with_per_address(per_address);
            let mut limiter = Limiter::default();
            let mut model = Model::default();
            let t0 = Instant::now();
            let mut at = Duration::ZERO;
            for (i, (address, peer, step_ms)) in requests.into_iter().enumerate() {
                at += Duration::from_millis(step_ms);
                let ip: IpAddr = ADDRESSES[address].parse().unwrap();
                let peer = peer.map(id);
                prop_assert_eq!(
                    limiter.allow(ip, peer, t0 + at, &limit),
                    model.allow(ip, peer, at, &limit),
                    "request {} at {:?}", i, at
                );
            }
            prop_assert!(limiter.len() <= model.clients.len().max(model.addresses.len()));
        }
    }

    /// A flood of new clients from many addresses fills the tables and no
    /// more; a client within its limit is never refused meanwhile.
    #[test]
    fn a_flood_stays_bounded_and_refuses_no_client_within_its_limit() {
        let limit = RateLimit::new(2, secs(60), 64).with_per_address(u32::MAX);
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let steady: IpAddr = "198.51.100.7".parse().unwrap();
        let mut at = Duration::ZERO;
        for round in 0..40u32 {
            // Within its limit: 2 a window, 30 s apart.
            assert_eq!(limiter.allow(steady, Some(id(0)), t0 + at, &limit), Ok(()));
            for n in 0..5_000u32 {
                at += Duration::from_micros(6_000);
                let who = round * 5_000 + n + 1;
                assert_eq!(
                    limiter.allow(v4(who % 100_000), Some(id(who)), t0 + at, &limit),
                    Ok(())
                );
            }
            assert_eq!(limiter.clients.capacity(), 64);
            assert_eq!(limiter.addresses.capacity(), 64);
            assert!(limiter.len() <= 64);
        }
        assert_eq!(limiter.len(), 64);
    }

    /// In a full set the window that started first goes, never a younger
    /// one; an ended window's slot is reused before any live one.
    #[test]
    fn a_full_set_drops_its_oldest_window() {
        // One set of 8 slots; one announce a window per client.
        let limit = RateLimit::new(1, secs(60), 8).with_per_address(u32::MAX);
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let ip = v4(1);
        for n in 0..8 {
            assert_eq!(
                limiter.allow(ip, Some(id(n)), t0 + secs(n.into()), &limit),
                Ok(())
            );
        }
        assert_eq!(limiter.len(), 8);
        // A ninth client: the first one's window goes.
        assert_eq!(limiter.allow(ip, Some(id(8)), t0 + secs(8), &limit), Ok(()));
        for n in 1..=8 {
            assert_eq!(
                limiter.allow(ip, Some(id(n)), t0 + secs(9), &limit),
                Err(Over::Client),
                "{n}"
            );
        }
        // The first client starts afresh, and the second one's window goes.
        assert_eq!(
            limiter.allow(ip, Some(id(0)), t0 + secs(10), &limit),
            Ok(())
        );
        assert_eq!(
            limiter.allow(ip, Some(id(0)), t0 + secs(10), &limit),
            Err(Over::Client)
        );
        assert_eq!(
            limiter.allow(ip, Some(id(1)), t0 + secs(11), &limit),
            Ok(())
        );
        for n in 3..=8 {
            assert_eq!(
                limiter.allow(ip, Some(id(n)), t0 + secs(12), &limit),
                Err(Over::Client),
                "{n}"
            );
        }
        // At 64 s the windows of 3 (started at 3 s) and 4 (at 4 s) have
        // ended: a newcomer takes the first of those slots, and 4 starts a
        // new window in its own.
        let at = t0 + secs(64);
        assert_eq!(limiter.allow(ip, Some(id(9)), at, &limit), Ok(()));
        assert_eq!(limiter.allow(ip, Some(id(4)), at, &limit), Ok(()));
        assert_eq!(
            limiter.allow(ip, Some(id(4)), at, &limit),
            Err(Over::Client)
        );
        // 5's window (at 5 s) is the oldest live one: 3 takes its slot.
        assert_eq!(limiter.allow(ip, Some(id(3)), at, &limit), Ok(()));
        assert_eq!(limiter.allow(ip, Some(id(5)), at, &limit), Ok(()));
        assert_eq!(
            limiter.allow(ip, Some(id(9)), at, &limit),
            Err(Over::Client)
        );
        assert_eq!(limiter.len(), 8);
    }

    /// One address making up a new peer id for every announce is held to
    /// its ceiling, however small the client table.
    #[test]
    fn a_flood_of_peer_ids_from_one_address_hits_its_ceiling() {
        let limit = RateLimit::new(2, secs(60), 16).with_per_address(500);
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        let mut served = 0;
        for n in 0..10_000u32 {
            let at = t0 + Duration::from_millis(n.into());
            match limiter.allow(v4(1), Some(id(n)), at, &limit) {
                Ok(()) => served += 1,
                Err(over) => assert_eq!(over, Over::Address, "{n}"),
            }
        }
        assert_eq!(served, 500);
        // The same from one IPv6 /64, each announce from another address
        // of it.
        for n in 0..1_000u32 {
            let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, n as u16, 1));
            let want = if n < 500 { Ok(()) } else { Err(Over::Address) };
            assert_eq!(limiter.allow(ip, Some(id(n)), t0 + secs(10), &limit), want);
        }
        // Another address, and the next window, are untouched.
        assert_eq!(
            limiter.allow(v4(2), Some(id(0)), t0 + secs(10), &limit),
            Ok(())
        );
        assert_eq!(
            limiter.allow(v4(1), Some(id(0)), t0 + secs(60), &limit),
            Ok(())
        );
        assert!(limiter.len() <= 16);
    }

    #[test]
    fn no_table_allows_by_the_limit_alone() {
        let t0 = Instant::now();
        let mut limiter = Limiter::default();
        let open = RateLimit::new(1, secs(60), 0);
        for _ in 0..10 {
            assert_eq!(limiter.allow(v4(1), Some(id(1)), t0, &open), Ok(()));
        }
        let closed = RateLimit::new(0, secs(60), 0);
        assert_eq!(
            limiter.allow(v4(1), Some(id(1)), t0, &closed),
            Err(Over::Client)
        );
        let no_address = open.clone().with_per_address(0);
        assert_eq!(
            limiter.allow(v4(1), None, t0, &no_address),
            Err(Over::Address)
        );
        assert_eq!(limiter.len(), 0);
        assert!(limiter.clients.sets.is_empty());
    }

    #[test]
    fn a_huge_maximum_allocates_a_capped_table_once() {
        let t0 = Instant::now();
        let mut limiter = Limiter::default();
        let limit = RateLimit::new(1, secs(60), usize::MAX);
        assert_eq!(limiter.allow(v4(1), Some(id(1)), t0, &limit), Ok(()));
        assert_eq!(limiter.clients.capacity(), MAX_WINDOWS);
        assert_eq!(limiter.addresses.capacity(), MAX_WINDOWS);
        // Its debug form says its size, not its million windows.
        assert!(format!("{limiter:?}").len() < 400);
        assert_eq!(
            limiter.allow(v4(1), Some(id(1)), t0, &limit),
            Err(Over::Client)
        );
        // Tables smaller than a set are one set of that many slots.
        let small = RateLimit::new(1, secs(60), 3);
        let mut limiter = Limiter::default();
        for n in 0..10 {
            assert_eq!(limiter.allow(v4(n), Some(id(n)), t0, &small), Ok(()));
        }
        assert_eq!(limiter.clients.capacity(), 3);
        assert_eq!(limiter.len(), 3);
    }
}
