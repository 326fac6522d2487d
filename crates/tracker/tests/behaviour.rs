//! Expiry, limits, the endpoint seed, both peer-list forms and IPv6, the
//! HTTP adapter and scrape, against hand-computed bytes.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::*;
use s3torrent_bencode::decode;
use s3torrent_tracker::{
    Decision, Event, PeerListForm, RateLimit, Route, Tracker, TrackerConfig, handle,
};

const HEAD: &[u8] = b"d8:completei0e10:incompletei2e8:intervali1800e12:min intervali300e";

fn config(f: impl FnOnce(&mut TrackerConfig)) -> Tracker {
    let mut c = TrackerConfig::default();
    f(&mut c);
    Tracker::new(c)
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn compact_form_bytes() {
    let mut t = Tracker::default();
    let now = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 6881, 5, Event::Started, None),
        &ctx("127.0.0.1:40000"),
        now,
    );
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 51413, 5, Event::Started, None),
        &ctx("127.0.0.2:40001"),
        now,
    );
    // 127.0.0.1:6881 is 7f 00 00 01 1a e1.
    let expected = concat(&[HEAD, b"5:peers6:\x7f\x00\x00\x01\x1a\xe1e"]);
    assert_eq!(r.to_bencode(), expected);
    let v = decode(&expected).unwrap();
    assert_eq!(
        v.get("peers").unwrap().as_bytes().unwrap(),
        [0x7f, 0, 0, 1, 0x1a, 0xe1]
    );
    assert!(v.get("peers6").is_none());
}

#[test]
fn dict_form_bytes() {
    let mut t = Tracker::default();
    let now = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 6881, 5, Event::Started, None),
        &ctx("127.0.0.1:40000"),
        now,
    );
    let mut a = ann(1, b'B', 51413, 5, Event::Started, None);
    a.form = PeerListForm::Dict;
    let r = announce_ok(&mut t, &a, &ctx("127.0.0.2:40001"), now);
    let expected = concat(&[
        HEAD,
        b"5:peersld2:ip9:127.0.0.17:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881eeee",
    ]);
    assert_eq!(r.to_bencode(), expected);
    let v = decode(&expected).unwrap();
    let peers = v.get("peers").unwrap().as_list().unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].get("ip").unwrap().as_str(), Some("127.0.0.1"));
    assert_eq!(
        peers[0].get("peer id").unwrap().as_bytes(),
        Some(&[b'A'; 20][..])
    );
    assert_eq!(peers[0].get("port").unwrap().as_int(), Some(6881));
}

#[test]
fn ipv6_peers_go_to_peers6() {
    let mut t = Tracker::default();
    let now = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 6881, 5, Event::Started, None),
        &ctx("[2001:db8::1]:40000"),
        now,
    );
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 6882, 5, Event::Started, None),
        &ctx("127.0.0.2:40001"),
        now,
    );
    let expected = concat(&[
        HEAD,
        b"5:peers0:6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe1e",
    ]);
    assert_eq!(r.to_bencode(), expected);

    let mut a = ann(1, b'B', 6882, 5, Event::Regular, None);
    a.form = PeerListForm::Dict;
    let r = announce_ok(&mut t, &a, &ctx("127.0.0.2:40001"), now);
    let expected = concat(&[
        HEAD,
        b"5:peersld2:ip11:2001:db8::17:peer id20:AAAAAAAAAAAAAAAAAAAA4:porti6881eeee",
    ]);
    assert_eq!(r.to_bencode(), expected);
}

#[test]
fn ipv4_mapped_remotes_and_the_ip_parameter() {
    let mut t = Tracker::default();
    let now = Instant::now();
    // A dual-stack listener sees ::ffff:127.0.0.1; the `ip` parameter lies.
    let q = query(1, b'A', 6881, 5, "&ip=203.0.113.9&compact=1");
    let a = s3torrent_tracker::parse_announce(q, &Default::default()).unwrap();
    announce_ok(&mut t, &a, &ctx("[::ffff:127.0.0.1]:40000"), now);
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 6882, 5, Event::Started, None),
        &ctx("127.0.0.2:1"),
        now,
    );
    assert_eq!(
        r.to_bencode(),
        concat(&[HEAD, b"5:peers6:\x7f\x00\x00\x01\x1a\xe1e"])
    );
}

#[test]
fn the_endpoint_seed_comes_first() {
    let mut t = Tracker::default();
    let now = Instant::now();
    for (i, host) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
        announce_ok(
            &mut t,
            &ann(1, b'A' + i as u8, 7000, 5, Event::Started, None),
            &ctx(&format!("{host}:1")),
            now,
        );
    }
    let seeded = ctx("192.0.2.9:1").with_endpoint_seed(addr("10.0.0.1:6881"));
    let r = announce_ok(
        &mut t,
        &ann(1, b'Z', 7000, 5, Event::Started, None),
        &seeded,
        now,
    );
    let body = r.to_bencode();
    let v = decode(&body).unwrap();
    assert_eq!(v.get("complete").unwrap().as_int(), Some(1));
    assert_eq!(v.get("incomplete").unwrap().as_int(), Some(4));
    let peers = v.get("peers").unwrap().as_bytes().unwrap();
    assert_eq!(peers.len(), 4 * 6);
    assert_eq!(&peers[..6], [10, 0, 0, 1, 0x1a, 0xe1]);
    let others: HashSet<&[u8]> = peers[6..].chunks(6).collect();
    let expected: HashSet<&[u8]> = [
        &[192, 0, 2, 1, 0x1b, 0x58][..],
        &[192, 0, 2, 2, 0x1b, 0x58][..],
        &[192, 0, 2, 3, 0x1b, 0x58][..],
    ]
    .into();
    assert_eq!(others, expected);

    // numwant 2: the seed and one other.
    let r = announce_ok(
        &mut t,
        &ann(1, b'Z', 7000, 5, Event::Regular, Some(2)),
        &seeded,
        now,
    );
    assert_eq!(r.peers.len(), 2);
    assert_eq!(r.peers[0].addr, addr("10.0.0.1:6881"));
    // numwant 0: no peers, but the seed still counts.
    let r = announce_ok(
        &mut t,
        &ann(1, b'Z', 7000, 5, Event::Regular, Some(0)),
        &seeded,
        now,
    );
    assert!(r.peers.is_empty());
    assert_eq!(r.complete, 1);

    // An IPv6 seed is first in peers6.
    let seeded6 = ctx("192.0.2.9:1").with_endpoint_seed(addr("[2001:db8::5]:6881"));
    let r = announce_ok(
        &mut t,
        &ann(1, b'Z', 7000, 5, Event::Regular, None),
        &seeded6,
        now,
    );
    let body = r.to_bencode();
    let v = decode(&body).unwrap();
    assert_eq!(
        v.get("peers6").unwrap().as_bytes().unwrap(),
        b"\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x1a\xe1"
    );
    assert_eq!(v.get("peers").unwrap().as_bytes().unwrap().len(), 18);

    // Dictionary form: the seed has no peer id.
    let mut a = ann(1, b'Z', 7000, 5, Event::Regular, Some(1));
    a.form = PeerListForm::Dict;
    let r = announce_ok(&mut t, &a, &seeded, now);
    assert_eq!(
        r.to_bencode(),
        &b"d8:completei1e10:incompletei4e8:intervali1800e12:min intervali300e5:peersld2:ip8:10.0.0.14:porti6881eeee"[..]
    );
}

#[test]
fn the_endpoint_seed_is_not_counted_twice_nor_given_to_itself() {
    let mut t = Tracker::default();
    let now = Instant::now();
    let seed = addr("10.0.0.1:6881");
    // The endpoint's own peer announces as a seeder from the seed address.
    let own = ctx("10.0.0.1:50000").with_endpoint_seed(seed);
    let r = announce_ok(
        &mut t,
        &ann(1, b'S', 6881, 0, Event::Started, None),
        &own,
        now,
    );
    assert_eq!(r.complete, 1);
    assert!(r.peers.is_empty(), "the seed is not given to itself");
    let c = ctx("192.0.2.1:1").with_endpoint_seed(seed);
    let r = announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 5, Event::Started, None),
        &c,
        now,
    );
    assert_eq!((r.complete, r.incomplete), (1, 1));
    assert_eq!(addrs(&r), vec![seed], "listed once");
}

#[test]
fn seeders_get_leechers_only_and_never_themselves() {
    let mut t = Tracker::default();
    let now = Instant::now();
    for i in 0..3u8 {
        announce_ok(
            &mut t,
            &ann(1, b'a' + i, 7000, 0, Event::Started, None),
            &ctx(&format!("192.0.2.{i}:1")),
            now,
        );
    }
    for i in 0..2u8 {
        announce_ok(
            &mut t,
            &ann(1, b'n' + i, 7000, 9, Event::Started, None),
            &ctx(&format!("198.51.100.{i}:1")),
            now,
        );
    }
    let r = announce_ok(
        &mut t,
        &ann(1, b'a', 7000, 0, Event::Regular, Some(50)),
        &ctx("192.0.2.0:1"),
        now,
    );
    let got: HashSet<_> = addrs(&r).into_iter().collect();
    assert_eq!(
        got,
        [addr("198.51.100.0:7000"), addr("198.51.100.1:7000")].into()
    );
    assert_eq!((r.complete, r.incomplete), (3, 2));
    let r = announce_ok(
        &mut t,
        &ann(1, b'n', 7000, 9, Event::Regular, Some(50)),
        &ctx("198.51.100.0:1"),
        now,
    );
    assert_eq!(r.peers.len(), 4);
    assert!(!addrs(&r).contains(&addr("198.51.100.0:7000")));
}

#[test]
fn numwant_is_clamped_and_defaulted() {
    let mut t = config(|c| {
        c.max_numwant = 3;
        c.default_numwant = 2;
    });
    let now = Instant::now();
    for i in 0..10u8 {
        announce_ok(
            &mut t,
            &ann(1, i, 7000, 9, Event::Started, None),
            &ctx(&format!("192.0.2.{i}:1")),
            now,
        );
    }
    let me = ctx("198.51.100.1:1");
    assert_eq!(
        announce_ok(
            &mut t,
            &ann(1, 99, 7000, 9, Event::Regular, Some(u64::MAX)),
            &me,
            now
        )
        .peers
        .len(),
        3
    );
    assert_eq!(
        announce_ok(&mut t, &ann(1, 99, 7000, 9, Event::Regular, None), &me, now)
            .peers
            .len(),
        2
    );
    assert_eq!(
        announce_ok(
            &mut t,
            &ann(1, 99, 7000, 9, Event::Regular, Some(0)),
            &me,
            now
        )
        .peers
        .len(),
        0
    );
    let r = announce_ok(
        &mut t,
        &ann(1, 99, 7000, 9, Event::Stopped, Some(50)),
        &me,
        now,
    );
    assert!(r.peers.is_empty(), "a stopped announce gets no peers");
    assert_eq!(r.incomplete, 10);
}

#[test]
fn selection_rotates() {
    let mut t = Tracker::default();
    let now = Instant::now();
    for i in 0..20u8 {
        announce_ok(
            &mut t,
            &ann(1, i, 7000, 9, Event::Started, None),
            &ctx(&format!("192.0.2.{i}:1")),
            now,
        );
    }
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let r = announce_ok(
            &mut t,
            &ann(1, 99, 7000, 9, Event::Regular, Some(1)),
            &ctx("198.51.100.1:1"),
            now,
        );
        seen.extend(addrs(&r));
    }
    assert!(
        seen.len() >= 8,
        "only {} different peers in 20 answers",
        seen.len()
    );
}

#[test]
fn peers_expire_after_interval_and_grace_and_stop_removes() {
    let mut t = config(|c| {
        c.interval = secs(100);
        c.peer_grace = secs(20);
    });
    let t0 = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 9, Event::Started, None),
        &ctx("192.0.2.1:1"),
        t0,
    );
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 9, Event::Started, None),
        &ctx("192.0.2.2:1"),
        t0 + secs(119),
    );
    assert_eq!(addrs(&r), vec![addr("192.0.2.1:7000")]);
    assert_eq!(r.interval, secs(100));
    let r = announce_ok(
        &mut t,
        &ann(1, b'C', 7000, 9, Event::Started, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(120),
    );
    assert_eq!(
        addrs(&r),
        vec![addr("192.0.2.2:7000")],
        "A expired at 120 s"
    );
    assert_eq!(r.incomplete, 2);
    // B stops: C is alone.
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 9, Event::Stopped, None),
        &ctx("192.0.2.2:1"),
        t0 + secs(121),
    );
    assert_eq!(r.incomplete, 1);
    let r = announce_ok(
        &mut t,
        &ann(1, b'C', 7000, 9, Event::Regular, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(122),
    );
    assert!(r.peers.is_empty());
    assert_eq!((r.complete, r.incomplete), (0, 1));
    // C stops: the swarm is gone; a stop for an unknown torrent makes none.
    announce_ok(
        &mut t,
        &ann(1, b'C', 7000, 9, Event::Stopped, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(123),
    );
    assert_eq!(t.swarm_count(), 0);
    announce_ok(
        &mut t,
        &ann(2, b'C', 7000, 9, Event::Stopped, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(123),
    );
    assert_eq!(t.swarm_count(), 0);
    // expire() sweeps swarms nobody touches.
    announce_ok(
        &mut t,
        &ann(3, b'C', 7000, 9, Event::Started, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(200),
    );
    t.expire(t0 + secs(319));
    assert_eq!(t.swarm_count(), 1);
    t.expire(t0 + secs(320));
    assert_eq!(t.swarm_count(), 0);
    // Time running backwards counts as the latest time seen.
    announce_ok(
        &mut t,
        &ann(3, b'C', 7000, 9, Event::Started, None),
        &ctx("192.0.2.3:1"),
        t0,
    );
    t.expire(t0 + secs(439));
    assert_eq!(t.swarm_count(), 1);
}

/// A tracker of at most two swarms, whose peers expire 100 s after their
/// last announce.
fn two_swarms_of_100_seconds() -> Tracker {
    config(|c| {
        c.max_swarms = 2;
        c.interval = secs(100);
        c.peer_grace = secs(0);
    })
}

#[test]
fn swarm_table_limit() {
    let mut t = two_swarms_of_100_seconds();
    let t0 = Instant::now();
    let c = ctx("192.0.2.1:1");
    announce_ok(&mut t, &ann(1, b'A', 7000, 9, Event::Started, None), &c, t0);
    announce_ok(
        &mut t,
        &ann(2, b'A', 7000, 9, Event::Started, None),
        &c,
        t0 + secs(10),
    );
    let err = t
        .announce(
            &ann(3, b'A', 7000, 9, Event::Started, None),
            &c,
            t0 + secs(20),
            allow,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "tracker is full (2 torrents); retry later");
    // Torrent 1's peer expired at 100 s: its swarm makes room; torrent 2's has not.
    announce_ok(
        &mut t,
        &ann(3, b'A', 7000, 9, Event::Started, None),
        &c,
        t0 + secs(100),
    );
    assert_eq!(t.swarm_count(), 2);
    let err = t
        .announce(
            &ann(4, b'A', 7000, 9, Event::Started, None),
            &c,
            t0 + secs(100),
            allow,
        )
        .unwrap_err();
    assert!(err.to_string().contains("tracker is full"));
    // An existing swarm still takes announces.
    announce_ok(
        &mut t,
        &ann(2, b'B', 7000, 9, Event::Started, None),
        &ctx("192.0.2.2:1"),
        t0 + secs(100),
    );
}

/// A re-announce moves its swarm to the back of the order: the swarm
/// announced least recently (not the one made first) makes room.
#[test]
fn the_least_recently_announced_swarm_makes_room() {
    let mut t = two_swarms_of_100_seconds();
    let t0 = Instant::now();
    let c = ctx("192.0.2.1:1");
    let started = |hash| ann(hash, b'A', 7000, 9, Event::Started, None);
    announce_ok(&mut t, &started(1), &c, t0);
    announce_ok(&mut t, &started(2), &c, t0 + secs(10));
    announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 9, Event::Regular, None),
        &c,
        t0 + Duration::from_millis(10_500),
    );
    // Torrent 2's peer expired at 110 s, torrent 1's expires at 111 s.
    announce_ok(&mut t, &started(3), &c, t0 + secs(110));
    assert_eq!(t.swarm_count(), 2);
    assert_eq!(t.swarm_stats(&hash(2), t0 + secs(110)), None);
    assert!(t.swarm_stats(&hash(1), t0 + secs(110)).is_some());
}

#[test]
fn swarm_size_limit() {
    let mut t = config(|c| {
        c.max_peers_per_swarm = 2;
        c.interval = secs(100);
        c.peer_grace = secs(0);
    });
    let t0 = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 9, Event::Started, None),
        &ctx("192.0.2.1:1"),
        t0,
    );
    announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 9, Event::Started, None),
        &ctx("192.0.2.2:1"),
        t0,
    );
    let err = t
        .announce(
            &ann(1, b'C', 7000, 9, Event::Started, None),
            &ctx("192.0.2.3:1"),
            t0,
            allow,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "swarm is full (2 peers); retry later");
    // A member re-announces fine, and may turn seeder.
    let r = announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 0, Event::Completed, None),
        &ctx("192.0.2.1:1"),
        t0 + secs(50),
    );
    assert_eq!((r.complete, r.incomplete), (1, 1));
    // B expired at 100 s: C takes its place.
    let r = announce_ok(
        &mut t,
        &ann(1, b'C', 7000, 9, Event::Started, None),
        &ctx("192.0.2.3:1"),
        t0 + secs(100),
    );
    assert_eq!((r.complete, r.incomplete), (1, 1));
    assert_eq!(addrs(&r), vec![addr("192.0.2.1:7000")]);
}

#[test]
fn rate_limit_per_client() {
    let mut t = config(|c| c.rate_limit = RateLimit::new(3, secs(60), 2));
    let t0 = Instant::now();
    let a = ann(1, b'A', 7000, 9, Event::Regular, None);
    for _ in 0..3 {
        announce_ok(&mut t, &a, &ctx("192.0.2.1:1"), t0);
    }
    let err = t
        .announce(&a, &ctx("192.0.2.1:2"), t0 + secs(59), allow)
        .unwrap_err();
    assert!(err.to_string().contains("too many announces"), "{err}");
    assert_eq!(
        err.to_bencode(),
        &b"d14:failure reason48:too many announces from this client; retry latere"[..]
    );
    announce_ok(&mut t, &a, &ctx("192.0.2.2:1"), t0 + secs(59));
    // The window ends: allowed again.
    announce_ok(&mut t, &a, &ctx("192.0.2.1:1"), t0 + secs(60));
    // IPv6 counts per /64.
    for i in 1..=3 {
        announce_ok(
            &mut t,
            &a,
            &ctx(&format!("[2001:db8:1:2::{i}]:1")),
            t0 + secs(60),
        );
    }
    assert!(
        t.announce(&a, &ctx("[2001:db8:1:2:ffff::9]:1"), t0 + secs(60), allow)
            .is_err()
    );
    announce_ok(&mut t, &a, &ctx("[2001:db8:1:3::1]:1"), t0 + secs(60));
    // The table holds at most 2 addresses.
    for i in 0..50 {
        let _ = t.announce(&a, &ctx(&format!("198.51.100.{i}:1")), t0 + secs(61), allow);
    }
    assert!(t.rate_table_len() <= 2);
    // Refused announces are rate limited before the host is asked.
    let mut asked = 0;
    let mut t = config(|c| c.rate_limit = RateLimit::new(1, secs(60), 10));
    let _ = t.announce(&a, &ctx("192.0.2.1:1"), t0, |_: &_| {
        asked += 1;
        Decision::Allow
    });
    let _ = t.announce(&a, &ctx("192.0.2.1:1"), t0, |_: &_| {
        asked += 1;
        Decision::Allow
    });
    assert_eq!(asked, 1);
}

/// Clients behind one address are each held to their own rate; the
/// address as a whole to its ceiling; a flooding client does not use up
/// its neighbours' share.
#[test]
fn rate_limit_per_address_ceiling() {
    let limit = RateLimit::new(2, secs(60), 1000).with_per_address(500);
    let mut t = config(|c| c.rate_limit = limit);
    let t0 = Instant::now();
    let flood = ann(1, b'F', 7000, 9, Event::Regular, None);
    for i in 0..1000 {
        let r = t.announce(&flood, &ctx("192.0.2.1:1"), t0, allow);
        assert_eq!(r.is_ok(), i < 2, "{i}");
    }
    let mut served = 0;
    for i in 0..600u16 {
        let mut a = ann(1, 0, 7000 + i, 9, Event::Regular, None);
        let id: [u8; 20] = *format!("-XX0001-{i:012}").as_bytes().first_chunk().unwrap();
        a.peer_id = s3torrent_tracker::PeerId::from_bytes(id);
        match t.announce(&a, &ctx("192.0.2.1:1"), t0, allow) {
            Ok(_) => served += 1,
            Err(e) => assert_eq!(
                e.to_string(),
                "too many announces from this address; retry later"
            ),
        }
    }
    // The flooder's two, and 498 others.
    assert_eq!(served, 498);
    // Another address is untouched.
    announce_ok(&mut t, &flood, &ctx("192.0.2.2:1"), t0);
}

/// A client making up a new peer id for each announce, as a load generator
/// or a hostile one does, fills a client table far smaller than its flood
/// and is still held to its address's ceiling; the table stays bounded.
#[test]
fn a_flood_of_peer_ids_from_one_address_hits_its_ceiling() {
    let limit = RateLimit::new(2, secs(60), 16).with_per_address(300);
    let mut t = config(|c| c.rate_limit = limit);
    let t0 = Instant::now();
    let mut served = 0;
    for i in 0..5000u32 {
        let mut a = ann(1, 0, 7000, 9, Event::Regular, None);
        let id: [u8; 20] = *format!("-XX0001-{i:012}").as_bytes().first_chunk().unwrap();
        a.peer_id = s3torrent_tracker::PeerId::from_bytes(id);
        let at = t0 + Duration::from_millis(i.into());
        match t.announce(&a, &ctx("[2001:db8:5:6::1]:1"), at, allow) {
            Ok(_) => served += 1,
            Err(e) => assert_eq!(
                e.to_string(),
                "too many announces from this address; retry later"
            ),
        }
        assert!(t.rate_table_len() <= 16);
    }
    assert_eq!(served, 300);
    // The ceiling holds for the whole /64; the next window serves again.
    let a = ann(1, b'Z', 7000, 9, Event::Regular, None);
    assert!(
        t.announce(&a, &ctx("[2001:db8:5:6::2]:1"), t0 + secs(10), allow)
            .is_err()
    );
    announce_ok(&mut t, &a, &ctx("[2001:db8:5:7::1]:1"), t0 + secs(10));
    announce_ok(&mut t, &a, &ctx("[2001:db8:5:6::2]:1"), t0 + secs(60));
}

#[test]
fn refused_torrents_make_no_swarm_and_remove_swarm() {
    let mut t = Tracker::default();
    let now = Instant::now();
    let a = ann(1, b'A', 7000, 9, Event::Started, None);
    let err = t
        .announce(&a, &ctx("192.0.2.1:1"), now, |_: &_| {
            Decision::Refuse("object is private".into())
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "info_hash 0101010101010101010101010101010101010101 refused: object is private"
    );
    assert_eq!(t.swarm_count(), 0);
    announce_ok(&mut t, &a, &ctx("192.0.2.1:1"), now);
    assert!(t.remove_swarm(&hash(1)));
    assert!(!t.remove_swarm(&hash(1)));
    let r = announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 9, Event::Started, None),
        &ctx("192.0.2.2:1"),
        now,
    );
    assert!(r.peers.is_empty());
    assert_eq!(r.incomplete, 1);
}

fn get(uri: &str) -> http::Request<()> {
    http::Request::get(uri).body(()).unwrap()
}

#[test]
fn http_adapter() {
    let mut t = Tracker::default();
    let now = Instant::now();
    let c = ctx("127.0.0.1:40000");
    let q = query(1, b'A', 6881, 5, "&compact=1");
    let response = handle(&mut t, &get(&format!("/announce?{q}")), &c, now, allow);
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let expected = b"d8:completei0e10:incompletei1e8:intervali1800e12:min intervali300e5:peers0:e";
    assert_eq!(&response.body()[..], expected);
    assert_eq!(
        response.headers()["content-length"],
        expected.len().to_string().as_str()
    );

    let head = http::Request::head(format!("/announce?{q}"))
        .body(())
        .unwrap();
    let response = handle(&mut t, &head, &c, now, allow);
    assert_eq!(response.status(), 200);
    assert!(response.body().is_empty());
    assert_eq!(
        response.headers()["content-length"],
        expected.len().to_string().as_str()
    );

    let response = handle(&mut t, &get("/other?x=1"), &c, now, allow);
    assert_eq!(response.status(), 404);
    assert_eq!(
        &response.body()[..],
        b"d14:failure reason20:no tracker at /othere"
    );
    assert_eq!(response.headers()["content-type"], "text/plain");

    let post = http::Request::post(format!("/announce?{q}"))
        .body(())
        .unwrap();
    let response = handle(&mut t, &post, &c, now, allow);
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(
        failure_reason(response.body()),
        "method POST not allowed; use GET"
    );

    // No query at all.
    let response = handle(&mut t, &get("/announce"), &c, now, allow);
    assert_eq!(failure_reason(response.body()), "info_hash is missing");
    // The refusal from the host.
    let response = handle(&mut t, &get(&format!("/announce?{q}")), &c, now, |_: &_| {
        Decision::Refuse("no".into())
    });
    assert!(failure_reason(response.body()).ends_with("refused: no"));
    assert_eq!(t.route("/announce"), Some(Route::Announce));
    assert_eq!(t.route("/scrape"), Some(Route::Scrape));
    assert_eq!(t.route("/announce/"), None);
}

#[test]
fn scrape_over_http() {
    let mut t = Tracker::default();
    let now = Instant::now();
    announce_ok(
        &mut t,
        &ann(1, b'A', 7000, 9, Event::Started, None),
        &ctx("192.0.2.1:1"),
        now,
    );
    announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 0, Event::Completed, None),
        &ctx("192.0.2.2:1"),
        now,
    );
    announce_ok(
        &mut t,
        &ann(1, b'B', 7000, 0, Event::Completed, None),
        &ctx("192.0.2.2:1"),
        now,
    );
    let uri = format!(
        "/scrape?info_hash={}&info_hash={}&info_hash={}",
        enc(&[1; 20]),
        enc(&[2; 20]),
        enc(&[3; 20])
    );
    let c = ctx("192.0.2.9:1").with_endpoint_seed(addr("10.0.0.1:6881"));
    let response = handle(&mut t, &get(&uri), &c, now, |h: &_| {
        if *h == hash(3) {
            Decision::Refuse("private".into())
        } else {
            Decision::Allow
        }
    });
    assert_eq!(response.status(), 200);
    let expected = concat(&[
        b"d5:filesd20:",
        &[1; 20],
        b"d8:completei2e10:downloadedi1e10:incompletei1ee20:",
        &[2; 20],
        b"d8:completei1e10:downloadedi0e10:incompletei0eeee",
    ]);
    assert_eq!(&response.body()[..], &expected[..]);
    assert_eq!(t.swarm_count(), 1, "scrape makes no swarm");
    let response = handle(&mut t, &get("/scrape"), &c, now, allow);
    assert!(failure_reason(response.body()).contains("full scrapes are not served"));
}

#[test]
fn custom_announce_path() {
    let mut t = config(|c| c.announce_path = "/.tracker/announce.php".into());
    assert_eq!(
        t.config().scrape_path().as_deref(),
        Some("/.tracker/scrape.php")
    );
    let now = Instant::now();
    let response = handle(&mut t, &get("/announce"), &ctx("192.0.2.1:1"), now, allow);
    assert_eq!(response.status(), 404);
    let response = handle(
        &mut t,
        &get(&format!("/.tracker/scrape.php?info_hash={}", enc(&[1; 20]))),
        &ctx("192.0.2.1:1"),
        now,
        allow,
    );
    assert_eq!(response.status(), 200);
    let t = config(|c| c.announce_path = "/t/x".into());
    assert_eq!(t.config().scrape_path(), None);
    assert_eq!(t.route("/t/scrape"), None);
}

#[test]
fn leechers_are_counted_per_swarm_and_expire() {
    let mut t = config(|c| {
        c.interval = secs(100);
        c.peer_grace = secs(20);
    });
    let t0 = Instant::now();
    assert_eq!(t.leechers(&hash(1), t0), 0);
    for (p, left, remote) in [
        (b'A', 9, "192.0.2.1:1"),
        (b'B', 9, "192.0.2.2:1"),
        (b'S', 0, "192.0.2.3:1"),
    ] {
        announce_ok(
            &mut t,
            &ann(1, p, 7000, left, Event::Started, None),
            &ctx(remote),
            t0,
        );
    }
    announce_ok(
        &mut t,
        &ann(2, b'C', 7000, 9, Event::Started, None),
        &ctx("192.0.2.4:1"),
        t0 + secs(60),
    );
    // Two leechers (the seeder does not count), another torrent apart.
    assert_eq!(t.leechers(&hash(1), t0 + secs(60)), 2);
    assert_eq!(t.leechers(&hash(2), t0 + secs(60)), 1);
    // Past the interval and its grace they are gone.
    assert_eq!(t.leechers(&hash(1), t0 + secs(120)), 0);
    assert_eq!(t.leechers(&hash(2), t0 + secs(120)), 1);
}

#[test]
fn swarm_stats_and_census_count_announced_peers_and_forget_expired_ones() {
    let mut t = Tracker::default();
    let now = Instant::now();
    let seed = ctx("127.0.0.9:40000").with_endpoint_seed(addr("127.0.0.1:6881"));
    announce_ok(
        &mut t,
        &ann(1, b'A', 6881, 0, Event::Completed, None),
        &seed,
        now,
    );
    announce_ok(
        &mut t,
        &ann(1, b'B', 6882, 5, Event::Started, None),
        &ctx("127.0.0.2:1"),
        now,
    );
    announce_ok(
        &mut t,
        &ann(2, b'C', 6883, 5, Event::Started, None),
        &ctx("127.0.0.3:1"),
        now,
    );
    let one = t.swarm_stats(&hash(1), now).expect("a swarm");
    // The endpoint seed, which a scrape adds, is not counted.
    assert_eq!((one.complete, one.incomplete, one.downloaded), (1, 1, 1));
    assert!(t.swarm_stats(&hash(3), now).is_none());
    let c = t.census(now);
    assert_eq!((c.swarms, c.seeders, c.leechers), (2, 1, 2));
    // Once every peer expired, nothing is left.
    let later = now + t.config().peer_ttl() + secs(1);
    assert_eq!(t.census(later), s3torrent_tracker::Census::default());
    assert!(t.swarm_stats(&hash(1), later).is_none());
}
