//! The swarm against a simple model: a map of peers with their last-seen
//! times, under random announces, stops and time advances.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use s3torrent_tracker::{Event, Tracker, TrackerConfig};

const INTERVAL: u64 = 100;
const GRACE: u64 = 50;
const MAX_NUMWANT: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Announce {
        peer: u8,
        seeder: bool,
        event: Event,
        numwant: Option<u64>,
        seed: bool,
    },
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            0u8..10,
            any::<bool>(),
            prop::sample::select(vec![Event::Regular, Event::Started, Event::Completed, Event::Stopped]),
            prop::option::of(0u64..10),
            any::<bool>(),
        )
            .prop_map(|(peer, seeder, event, numwant, seed)| Op::Announce { peer, seeder, event, numwant, seed }),
        2 => (0u64..=200).prop_map(Op::Advance),
    ]
}

/// Peer `i`: IPv4 for even, IPv6 for odd; two peers share each address
/// with different ports, so identity by address and port is exercised.
fn remote(i: u8) -> SocketAddr {
    let host = i / 4;
    if i.is_multiple_of(2) {
        addr(&format!("10.0.0.{host}:40000"))
    } else {
        addr(&format!("[2001:db8::{host}]:40000"))
    }
}

fn port(i: u8) -> u16 {
    6881 + u16::from(i)
}

struct ModelPeer {
    id: u8,
    seeder: bool,
    last_seen: Instant,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn swarm_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut config = TrackerConfig::default();
        config.interval = Duration::from_secs(INTERVAL);
        config.peer_grace = Duration::from_secs(GRACE);
        config.max_numwant = MAX_NUMWANT;
        config.default_numwant = 4;
        let ttl = Duration::from_secs(INTERVAL + GRACE);
        let mut tracker = Tracker::new(config);
        let mut model: HashMap<SocketAddr, ModelPeer> = HashMap::new();
        let endpoint_seed = addr("192.0.2.100:6881");
        let start = Instant::now();
        let mut now = start;

        for op in ops {
            match op {
                Op::Advance(s) => now += Duration::from_secs(s),
                Op::Announce { peer, seeder, event, numwant, seed } => {
                    let me = SocketAddr::new(remote(peer).ip(), port(peer));
                    let mut c = ctx(&remote(peer).to_string());
                    if seed {
                        c = c.with_endpoint_seed(endpoint_seed);
                    }
                    let a = ann(9, peer, port(peer), if seeder { 0 } else { 1000 }, event, numwant);
                    let r = announce_ok(&mut tracker, &a, &c, now);

                    // The model.
                    model.retain(|_, p| now.duration_since(p.last_seen) < ttl);
                    if event == Event::Stopped {
                        model.remove(&me);
                    } else {
                        model.insert(me, ModelPeer { id: peer, seeder, last_seen: now });
                    }
                    let seeders = model.values().filter(|p| p.seeder).count() as u64;
                    let leechers = model.len() as u64 - seeders;
                    prop_assert_eq!(r.complete, seeders + u64::from(seed));
                    prop_assert_eq!(r.incomplete, leechers);

                    let want = if event == Event::Stopped {
                        0
                    } else {
                        numwant.map_or(4, |n| n as usize).min(MAX_NUMWANT)
                    };
                    prop_assert!(r.peers.len() <= want, "{} peers for numwant {}", r.peers.len(), want);
                    let mut rest = r.peers.as_slice();
                    if seed && want > 0 {
                        prop_assert_eq!(rest[0].addr, endpoint_seed, "the endpoint seed comes first");
                        prop_assert_eq!(rest[0].peer_id, None);
                        rest = &rest[1..];
                    }
                    let mut seen = HashSet::new();
                    for p in rest {
                        prop_assert!(seen.insert(p.addr), "{} listed twice", p.addr);
                        prop_assert_ne!(p.addr, me, "the requester got itself");
                        let Some(m) = model.get(&p.addr) else {
                            return Err(TestCaseError::fail(format!("{} is not a live peer", p.addr)));
                        };
                        prop_assert_eq!(p.peer_id, Some(peer_id(m.id)));
                        if seeder {
                            prop_assert!(!m.seeder, "a seeder got seeder {}", p.addr);
                        }
                    }
                    // As many as there are to give.
                    let eligible = model
                        .iter()
                        .filter(|(a, p)| **a != me && p.id != peer && !(seeder && p.seeder))
                        .count();
                    let room = want.saturating_sub(usize::from(seed && want > 0));
                    prop_assert_eq!(rest.len(), eligible.min(room));
                }
            }
        }
        // Swarms hold live peers only once swept; an empty one is dropped.
        now += ttl;
        tracker.expire(now);
        prop_assert_eq!(tracker.swarm_count(), 0);
    }
}
