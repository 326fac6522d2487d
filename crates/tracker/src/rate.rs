//! The per-address announce rate limit: a fixed window per address, in a
//! bounded table whose old windows expire in order.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use crate::swarm::expired;

/// The announce rate limit: at most `announces` announces (and scrapes)
/// per `window` from one address. IPv6 addresses are counted per /64, the
/// block one subscriber usually holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Announces allowed per window and address (default 120).
    pub announces: u32,
    /// The window (default 60 s).
    pub window: Duration,
    /// The most addresses tracked at once (default 100,000). When the
    /// table is full of live windows, the oldest window is dropped.
    pub max_addresses: usize,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            announces: 120,
            window: Duration::from_secs(60),
            max_addresses: 100_000,
        }
    }
}

impl RateLimit {
    /// A limit of `announces` per `window`, tracking at most `max_addresses`.
    pub fn new(announces: u32, window: Duration, max_addresses: usize) -> Self {
        RateLimit {
            announces,
            window,
            max_addresses,
        }
    }
}

#[derive(Debug)]
struct Window {
    start: Instant,
    count: u32,
    seq: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Limiter {
    windows: HashMap<IpAddr, Window>,
    /// Windows by the order they started in (`seq`), the oldest first.
    order: BTreeMap<u64, IpAddr>,
    next_seq: u64,
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

impl Limiter {
    /// Drops the windows that ended by `now`.
    pub(crate) fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((&seq, &ip)) = self.order.first_key_value() {
            match self.windows.get(&ip) {
                Some(w) if w.seq == seq && !expired(w.start, now, window) => break,
                Some(w) if w.seq == seq => {
                    self.windows.remove(&ip);
                }
                _ => {}
            }
            self.order.remove(&seq);
        }
    }

    /// Counts one announce from `ip` at `now` (monotonic); `false` when it
    /// is over the limit.
    pub(crate) fn allow(&mut self, ip: IpAddr, now: Instant, limit: &RateLimit) -> bool {
        let ip = bucket(ip);
        self.expire(now, limit.window);
        if let Some(w) = self.windows.get_mut(&ip) {
            w.count = w.count.saturating_add(1);
            return w.count <= limit.announces;
        }
        if limit.max_addresses == 0 {
            return limit.announces > 0;
        }
        while self.windows.len() >= limit.max_addresses {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.windows.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, ip);
        self.windows.insert(
            ip,
            Window {
                start: now,
                count: 1,
                seq,
            },
        );
        limit.announces > 0
    }

    pub(crate) fn len(&self) -> usize {
        self.windows.len()
    }
}
