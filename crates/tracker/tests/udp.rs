//! The UDP tracker (BEP 15): packets written by hand from the BEP, the
//! answers compared byte for byte, hostile packets refused by name, and
//! arbitrary input never panicking nor amplified.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use s3torrent_tracker::{
    Decision, Error, QueryLimits, RequestContext, Tracker, TrackerConfig, UdpKey, UdpRequest,
    handle, parse_udp,
};

fn key(epoch: Instant) -> UdpKey {
    UdpKey::new([7; 32], epoch)
}

/// A connect request (BEP 15): protocol id 0x41727101980, action 0, the
/// transaction id.
fn connect_packet(tid: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x00, 0x00, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0];
    p.extend_from_slice(&tid);
    p
}

/// An announce request (BEP 15), byte by byte.
#[allow(clippy::too_many_arguments)]
fn announce_packet(
    cid: &[u8],
    tid: [u8; 4],
    h: u8,
    p: u8,
    left: u64,
    event: u32,
    num_want: i32,
    port: u16,
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(cid); // connection_id, 0
    b.extend_from_slice(&[0, 0, 0, 1]); // action 1, 8
    b.extend_from_slice(&tid); // 12
    b.extend_from_slice(&[h; 20]); // info_hash, 16
    b.extend_from_slice(&[p; 20]); // peer_id, 36
    b.extend_from_slice(&[0; 8]); // downloaded, 56
    b.extend_from_slice(&left.to_be_bytes()); // left, 64
    b.extend_from_slice(&[0; 8]); // uploaded, 72
    b.extend_from_slice(&event.to_be_bytes()); // event, 80
    b.extend_from_slice(&[0; 4]); // ip, 84
    b.extend_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]); // key, 88
    b.extend_from_slice(&num_want.to_be_bytes()); // num_want, 92
    b.extend_from_slice(&port.to_be_bytes()); // port, 96
    assert_eq!(b.len(), 98);
    b
}

fn scrape_packet(cid: &[u8], tid: [u8; 4], hashes: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(cid);
    b.extend_from_slice(&[0, 0, 0, 2]);
    b.extend_from_slice(&tid);
    for h in hashes {
        b.extend_from_slice(&[*h; 20]);
    }
    b
}

/// Connects from `remote` and returns the 8-byte connection id, checking
/// the answer's first 8 bytes against BEP 15.
fn connect(t: &mut Tracker, k: &UdpKey, remote: &str, now: Instant) -> Vec<u8> {
    let ex = t.udp(&connect_packet([1, 2, 3, 4]), &ctx(remote), k, now, allow);
    let reply = ex.reply.expect("a connect answer");
    assert_eq!(reply.len(), 16);
    assert_eq!(&reply[..8], &[0, 0, 0, 0, 1, 2, 3, 4]);
    assert_eq!(ex.error, None);
    reply[8..].to_vec()
}

fn config() -> TrackerConfig {
    let mut c = TrackerConfig::default();
    c.interval = Duration::from_secs(1800);
    c
}

#[test]
fn connect_announce_ipv4_answers_six_byte_peers() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    let seed = ctx("192.0.2.1:40000").with_endpoint_seed(addr("10.0.0.1:6881"));

    // A seeder at 192.0.2.1:6881 (left 0, event started).
    let cid = connect(&mut t, &k, "192.0.2.1:40000", now);
    let ex = t.udp(
        &announce_packet(&cid, [9, 9, 9, 9], 0x11, 0x22, 0, 2, -1, 6881),
        &seed,
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);
    assert_eq!(
        ex.reply.unwrap(),
        vec![
            0, 0, 0, 1, 9, 9, 9, 9, // action 1, transaction id
            0, 0, 0x07, 0x08, // interval 1800
            0, 0, 0, 0, // leechers
            0, 0, 0, 2, // seeders: the endpoint seed and this one
            10, 0, 0, 1, 0x1a, 0xe1, // the endpoint seed, 10.0.0.1:6881
        ]
    );

    // A leecher at 192.0.2.2:51413 gets the endpoint seed, then the seeder.
    let cid = connect(&mut t, &k, "192.0.2.2:40001", now);
    let leecher = ctx("192.0.2.2:40001").with_endpoint_seed(addr("10.0.0.1:6881"));
    let ex = t.udp(
        &announce_packet(&cid, [0, 0, 0, 5], 0x11, 0x33, 1000, 2, 50, 51413),
        &leecher,
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);
    assert_eq!(
        ex.served_announce().map(|a| (a.port, a.left)),
        Some((51413, 1000))
    );
    assert_eq!(
        ex.reply.unwrap(),
        vec![
            0, 0, 0, 1, 0, 0, 0, 5, //
            0, 0, 0x07, 0x08, //
            0, 0, 0, 1, // one leecher
            0, 0, 0, 2, //
            10, 0, 0, 1, 0x1a, 0xe1, //
            192, 0, 2, 1, 0x1a, 0xe1, // the seeder, 192.0.2.1:6881
        ]
    );
}

#[test]
fn announce_over_ipv6_answers_eighteen_byte_peers_of_ipv6_only() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    // An IPv4 seeder over HTTP, an IPv6 seeder over UDP.
    let q = query(0x11, 0x44, 6881, 0, "&compact=1");
    let req = http::Request::get(format!("/announce?{q}"))
        .body(())
        .unwrap();
    let r = handle(&mut t, &req, &ctx("192.0.2.9:1000"), now, allow);
    assert_eq!(r.status(), 200);
    let cid = connect(&mut t, &k, "[2001:db8::1]:40000", now);
    let ex = t.udp(
        &announce_packet(&cid, [0, 0, 0, 1], 0x11, 0x22, 0, 2, -1, 6881),
        &ctx("[2001:db8::1]:40000"),
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);

    let cid = connect(&mut t, &k, "[2001:db8::2]:40000", now);
    let ex = t.udp(
        &announce_packet(&cid, [0, 0, 0, 2], 0x11, 0x33, 5, 0, -1, 7000),
        &ctx("[2001:db8::2]:40000"),
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);
    let mut v6 = vec![0x20, 0x01, 0x0d, 0xb8];
    v6.extend_from_slice(&[0; 11]);
    v6.push(1);
    v6.extend_from_slice(&[0x1a, 0xe1]);
    let mut expected = vec![
        0, 0, 0, 1, 0, 0, 0, 2, //
        0, 0, 0x07, 0x08, //
        0, 0, 0, 1, // one leecher
        0, 0, 0, 2, // two seeders, one of each family
    ];
    expected.extend_from_slice(&v6); // the IPv6 seeder only, 18 bytes
    assert_eq!(ex.reply.unwrap(), expected);
}

#[test]
fn http_clients_see_udp_clients() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    let cid = connect(&mut t, &k, "192.0.2.1:40000", now);
    let ex = t.udp(
        &announce_packet(&cid, [0, 0, 0, 1], 0x11, 0x22, 0, 2, -1, 6881),
        &ctx("192.0.2.1:40000"),
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);
    let q = query(0x11, 0x44, 7000, 10, "&compact=1");
    let req = http::Request::get(format!("/announce?{q}"))
        .body(())
        .unwrap();
    let r = handle(&mut t, &req, &ctx("192.0.2.9:1000"), now, allow);
    assert_eq!(
        &r.body()[..],
        b"d8:completei1e10:incompletei1e8:intervali1800e12:min intervali300e5:peers6:\xc0\x00\x02\x01\x1a\xe1e"
    );
}

#[test]
fn scrape_answers_in_order_and_zero_for_refused() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    let cid = connect(&mut t, &k, "192.0.2.1:40000", now);
    for (p, left, port) in [(0x22, 0, 6881), (0x33, 9, 6882)] {
        let ex = t.udp(
            &announce_packet(&cid, [0; 4], 0x11, p, left, 2, -1, port),
            &ctx("192.0.2.1:40000"),
            &k,
            now,
            allow,
        );
        assert_eq!(ex.error, None);
    }
    let refuse_55 = |h: &s3torrent_metainfo::InfoHash| {
        if h.as_bytes()[0] == 0x55 {
            Decision::Refuse("no".into())
        } else {
            Decision::Allow
        }
    };
    let ex = t.udp(
        &scrape_packet(&cid, [0, 0, 0, 7], &[0x55, 0x11, 0x66, 0x11]),
        &ctx("192.0.2.1:40000"),
        &k,
        now,
        refuse_55,
    );
    assert_eq!(ex.error, None);
    assert_eq!(
        ex.reply.unwrap(),
        vec![
            0, 0, 0, 2, 0, 0, 0, 7, //
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // refused: zeros
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // 1 seeder, 0 completed, 1 leecher
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // unknown
            0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // asked again: same
        ]
    );
}

#[test]
fn refused_announce_is_an_error_packet() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    let cid = connect(&mut t, &k, "192.0.2.1:40000", now);
    let ex = t.udp(
        &announce_packet(&cid, [0, 0, 0, 3], 0x11, 0x22, 0, 2, -1, 6881),
        &ctx("192.0.2.1:40000"),
        &k,
        now,
        |_: &_| Decision::Refuse("not served".into()),
    );
    let mut expected = vec![0, 0, 0, 3, 0, 0, 0, 3];
    expected.extend_from_slice(
        b"info_hash 1111111111111111111111111111111111111111 refused: not served",
    );
    assert_eq!(ex.reply.clone().unwrap(), expected);
    assert!(ex.served_announce().is_none());
    assert_eq!(t.swarm_count(), 0);
}

#[test]
fn connection_ids_are_per_address_and_expire() {
    let epoch = Instant::now();
    let k = key(epoch);
    let mut t = Tracker::new(config());
    let cid = connect(&mut t, &k, "192.0.2.1:40000", epoch);
    let packet = announce_packet(&cid, [0, 0, 0, 4], 0x11, 0x22, 0, 2, -1, 6881);
    let at = |secs| epoch + Duration::from_secs(secs);
    // Another address with the same id: refused, and the answer is no
    // longer than the request.
    let ex = t.udp(&packet, &ctx("192.0.2.2:40000"), &k, at(0), allow);
    assert_eq!(ex.error, Some(Error::ConnectionId));
    let reply = ex.reply.unwrap();
    assert!(reply.len() <= packet.len());
    assert_eq!(&reply[..8], &[0, 0, 0, 3, 0, 0, 0, 4]);
    assert_eq!(
        &reply[8..],
        b"udp connection_id at byte 0 is unknown or expired; connect again"
    );
    // Another port of the same IP: fine. Still fine 119 s later.
    let ex = t.udp(&packet, &ctx("192.0.2.1:40001"), &k, at(119), allow);
    assert_eq!(ex.error, None);
    // 120 s later (two buckets on): expired.
    let ex = t.udp(&packet, &ctx("192.0.2.1:40000"), &k, at(120), allow);
    assert_eq!(ex.error, Some(Error::ConnectionId));
    // Another key (another process): unknown.
    let other = UdpKey::new([8; 32], epoch);
    let ex = t.udp(&packet, &ctx("192.0.2.1:40000"), &other, at(0), allow);
    assert_eq!(ex.error, Some(Error::ConnectionId));
}

#[test]
fn decoded_announce_fields() {
    let mut p = announce_packet(&[1; 8], [0, 0, 0, 9], 0x11, 0x22, 77, 3, 25, 443);
    p[56..64].copy_from_slice(&5u64.to_be_bytes());
    p[72..80].copy_from_slice(&6u64.to_be_bytes());
    p[84..88].copy_from_slice(&[1, 2, 3, 4]); // ip: ignored
    p.extend_from_slice(&[2, 5, b'/', b'a', b'n', b'n', b'o']); // a BEP 41 option: skipped
    let Ok(UdpRequest::Announce {
        connection_id,
        transaction_id,
        announce,
    }) = parse_udp(&p, &QueryLimits::default())
    else {
        panic!("an announce");
    };
    assert_eq!(connection_id, 0x0101_0101_0101_0101);
    assert_eq!(transaction_id, 9);
    assert_eq!(announce.info_hash, hash(0x11));
    assert_eq!(announce.peer_id, peer_id(0x22));
    assert_eq!(
        (announce.downloaded, announce.left, announce.uploaded),
        (5, 77, 6)
    );
    assert_eq!(announce.event, s3torrent_tracker::Event::Stopped);
    assert_eq!(announce.numwant, Some(25));
    assert_eq!(announce.port, 443);
    assert_eq!(announce.key.as_deref(), Some(&[0xaa, 0xbb, 0xcc, 0xdd][..]));
    let p = announce_packet(&[1; 8], [0; 4], 0x11, 0x22, 0, 1, -7, 1);
    let Ok(UdpRequest::Announce { announce, .. }) = parse_udp(&p, &QueryLimits::default()) else {
        panic!("an announce");
    };
    assert_eq!(announce.event, s3torrent_tracker::Event::Completed);
    assert_eq!(announce.numwant, None);
}

/// Malformed packets, and what each is refused with.
fn hostile() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let good = announce_packet(&[1; 8], [0; 4], 0x11, 0x22, 0, 2, -1, 6881);
    let mut bad_event = good.clone();
    bad_event[80..84].copy_from_slice(&[0, 0, 0, 4]);
    let mut port0 = good.clone();
    port0[96..98].copy_from_slice(&[0, 0]);
    let mut bad_magic = connect_packet([0; 4]);
    bad_magic[7] = 0x81;
    let mut long_connect = connect_packet([0; 4]);
    long_connect.push(0);
    let mut bad_action = connect_packet([0; 4]);
    bad_action[11] = 5;
    let mut partial = scrape_packet(&[1; 8], [0; 4], &[1]);
    partial.extend_from_slice(&[1; 7]);
    vec![
        (
            "empty",
            vec![],
            "udp request packet must be 16 to 1496 bytes, got 0",
        ),
        (
            "short",
            vec![0; 15],
            "udp request packet must be 16 to 1496 bytes, got 15",
        ),
        (
            "huge",
            vec![0; 1497],
            "udp request packet must be 16 to 1496 bytes, got 1497",
        ),
        (
            "bad protocol id",
            bad_magic,
            "udp protocol_id at byte 0 must be 0x41727101980, got 0x41727101981",
        ),
        (
            "long connect",
            long_connect,
            "udp connect packet must be 16 to 16 bytes, got 17",
        ),
        (
            "unknown action",
            bad_action,
            "udp action at byte 8 must be 0 (connect), 1 (announce) or 2 (scrape), got 5",
        ),
        (
            "short announce",
            good[..97].to_vec(),
            "udp announce packet must be 98 to 1496 bytes, got 97",
        ),
        (
            "event 4",
            bad_event,
            "udp event at byte 80 must be 0 (none), 1 (completed), 2 (started) or 3 (stopped), got 4",
        ),
        (
            "port 0",
            port0,
            "udp port at byte 96 must be 1 to 65535, got 0",
        ),
        (
            "empty scrape",
            scrape_packet(&[1; 8], [0; 4], &[]),
            "udp scrape packet must be 36 to 1496 bytes, got 16",
        ),
        (
            "partial info_hash",
            partial,
            "udp info_hash at byte 36 must be 20 bytes, got 7 bytes",
        ),
        (
            "65 info-hashes",
            scrape_packet(&[1; 8], [0; 4], &[3; 65]),
            "scrape names more than 64 info_hash values",
        ),
    ]
}

#[test]
fn hostile_packets_are_refused_by_name() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    for (name, packet, expected) in hostile() {
        let err = parse_udp(&packet, &QueryLimits::default()).expect_err(name);
        assert_eq!(err.to_string(), expected, "{name}");
        let ex = t.udp(&packet, &ctx("192.0.2.1:1"), &k, now, allow);
        assert_eq!(ex.error.as_ref(), Some(&err), "{name}");
        match ex.reply {
            None => assert!(packet.len() < 16, "{name}: answered"),
            Some(reply) => {
                assert!(reply.len() <= packet.len(), "{name}: amplified");
                assert_eq!(&reply[..4], &[0, 0, 0, 3], "{name}");
                assert_eq!(&reply[4..8], &packet[12..16], "{name}");
                assert!(expected.as_bytes().starts_with(&reply[8..]), "{name}");
            }
        }
    }
    assert_eq!(t.swarm_count(), 0);
}

#[test]
fn sixty_four_info_hashes_are_answered() {
    let now = Instant::now();
    let k = key(now);
    let mut t = Tracker::new(config());
    let cid = connect(&mut t, &k, "192.0.2.1:40000", now);
    let ex = t.udp(
        &scrape_packet(&cid, [0; 4], &[3; 64]),
        &ctx("192.0.2.1:40000"),
        &k,
        now,
        allow,
    );
    assert_eq!(ex.error, None);
    assert_eq!(ex.reply.unwrap().len(), 8 + 12 * 64);
}

proptest! {
    #[test]
    fn arbitrary_packets_never_panic_nor_amplify(
        packet in proptest::collection::vec(any::<u8>(), 0..1600),
        action in 0u8..4,
    ) {
        let now = Instant::now();
        let k = key(now);
        let mut t = Tracker::new(TrackerConfig::default());
        let mut packet = packet;
        if packet.len() >= 12 {
            packet[8..12].copy_from_slice(&[0, 0, 0, action]);
        }
        let ex = t.udp(&packet, &RequestContext::new(addr("192.0.2.1:1")), &k, now, allow);
        if let Some(reply) = ex.reply {
            prop_assert!(reply.len() <= packet.len());
        }
    }
}
