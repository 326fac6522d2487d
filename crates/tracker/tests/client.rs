//! The client side: answers captured from opentracker and written from the
//! BEPs, read back; a table of hostile answers each refused by name;
//! arbitrary input never panicking; the requests as our own tracker (and
//! the BEP's byte layout) read them; and the announce schedule.

use crate::common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use s3torrent_tracker::{
    AnnounceAnswer, Announcer, AnnouncerConfig, AnswerLimits, ClientAnnounce, ClientError, Event,
    Outcome, PeerFamily, QueryLimits, Taken, TrackerUrl, UdpRequest, parse_announce,
    parse_announce_answer, parse_udp, parse_udp_announce_answer, parse_udp_connect_answer,
    udp_announce_request, udp_connect_request,
};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn parse(body: &[u8]) -> Result<AnnounceAnswer, ClientError> {
    parse_announce_answer(body, &AnswerLimits::default())
}

/// What opentracker (Debian's 0.0~git20210823) answered a seed's
/// `event=started` when two other peers were in the swarm, byte for byte.
const OPENTRACKER_ANSWER: &[u8] = b"d8:completei2e10:downloadedi0e10:incompletei1e8:intervali1906e\
12:min intervali953e5:peers18:\x7f\x00\x00\x01\x1b\x5a\x7f\x00\x00\x01\x1b\x59\x7f\x00\x00\x01\x1b\x58e";

/// Its answer to an info-hash not on its whitelist.
const OPENTRACKER_REFUSAL: &[u8] =
    b"d14:failure reason63:Requested download is not authorized for use with this tracker.e";

#[test]
fn reads_opentrackers_answers() {
    let a = parse(OPENTRACKER_ANSWER).unwrap();
    assert_eq!(a.interval, secs(1906));
    assert_eq!(a.min_interval, Some(secs(953)));
    assert_eq!((a.seeders, a.leechers), (Some(2), Some(1)));
    assert_eq!(
        a.peers,
        vec![
            addr("127.0.0.1:7002"),
            addr("127.0.0.1:7001"),
            addr("127.0.0.1:7000")
        ]
    );
    assert_eq!(a.tracker_id, None);
    // Its answer to `stopped`: no peers.
    let stopped =
        parse(b"d8:completei0e10:incompletei0e8:intervali1904e12:min intervali952e5:peers0:e")
            .unwrap();
    assert!(stopped.peers.is_empty());
    assert_eq!(
        parse(OPENTRACKER_REFUSAL),
        Err(ClientError::Failure {
            reason: "Requested download is not authorized for use with this tracker.".into()
        })
    );
}

#[test]
fn reads_every_form_of_the_beps() {
    // BEP 3's dictionary form, BEP 7's peers6, a tracker id and a warning,
    // keys out of order (some trackers write them so), unknown keys.
    let body = b"d8:intervali60e5:peersld2:ip9:192.0.2.77:peer id20:-XX0001-aaaaaaaaaaaa4:porti6881eed2:ip11:2001:db8::14:porti51413eed2:ip13:tracker.local4:porti1eed2:ip7:0.0.0.04:porti9eed2:ip8:10.0.0.14:porti0eee6:peers618:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x1a\xe110:tracker id3:abc15:warning message4:slow3:zzzi1ee";
    let a = parse(body).unwrap();
    assert_eq!(a.interval, secs(60));
    assert_eq!(a.min_interval, None);
    assert_eq!(
        a.peers,
        vec![
            addr("192.0.2.7:6881"),
            addr("[2001:db8::1]:51413"),
            addr("[2001:db8::2]:6881"),
        ],
        "a host name, 0.0.0.0 and port 0 are left out"
    );
    assert_eq!(a.tracker_id.as_deref(), Some(&b"abc"[..]));
    assert_eq!(a.warning.as_deref(), Some("slow"));
    // No peers at all is an answer too.
    assert!(parse(b"d8:intervali1800ee").unwrap().peers.is_empty());
}

#[test]
fn hostile_answers_are_refused_by_name() {
    let many = format!(
        "d8:intervali1e5:peers{}:{}e",
        6 * 1001,
        "\x01".repeat(6 * 1001)
    );
    let long = format!("d8:intervali1e3:pad{}:{}e", 70_000, "x".repeat(70_000));
    let deep = format!("d8:intervali1e1:x{}{}e", "l".repeat(10), "e".repeat(10));
    let list = format!(
        "d8:intervali1e5:peersl{}ee",
        "d2:ip7:1.2.3.44:porti1ee".repeat(1001)
    );
    let cases: &[(&[u8], &str)] = &[
        (b"", "the answer is not bencode: unexpected end of input"),
        (b"i1e", "the answer is not a dictionary"),
        (
            b"d8:intervali1ee junk",
            "answer at byte 15 must be one bencoded value with nothing after it",
        ),
        (b"de", "interval is missing"),
        (b"d12:min intervali1ee", "interval is missing"),
        (
            b"d8:interval4:1800e",
            "interval at byte 11 must be an integer from 0 to 4294967295",
        ),
        (
            b"d8:intervali-1ee",
            "interval at byte 11 must be an integer from 0 to 4294967295",
        ),
        (
            b"d8:intervali4294967296ee",
            "interval at byte 11 must be an integer from 0 to 4294967295",
        ),
        (
            b"d8:intervali1e12:min intervali-5ee",
            "min interval at byte 29 must be an integer from 0 to 4294967295",
        ),
        (
            b"d8:completei-1e8:intervali1ee",
            "complete at byte 11 must be a non-negative integer",
        ),
        (
            b"d10:incomplete1:x8:intervali1ee",
            "incomplete at byte 14 must be a non-negative integer",
        ),
        (
            b"d8:intervali1e5:peers5:abcdee",
            "peers at byte 21 must be a whole number of 6-byte peers",
        ),
        (
            b"d8:intervali1e6:peers67:abcdefge",
            "peers6 at byte 22 must be a whole number of 18-byte peers",
        ),
        (
            b"d8:intervali1e6:peers6lee",
            "peers6 at byte 22 must be a string of 18-byte peers",
        ),
        (
            b"d8:intervali1e5:peersi3ee",
            "peers at byte 21 must be a string (compact) or a list of dictionaries",
        ),
        (
            b"d8:intervali1e5:peersli1eee",
            "peers[0] at byte 22 must be a dictionary",
        ),
        (
            b"d8:intervali1e5:peersld4:porti1eeee",
            "peers[0].ip is missing",
        ),
        (
            b"d8:intervali1e5:peersld2:ip7:1.2.3.4eee",
            "peers[0].port is missing",
        ),
        (
            b"d8:intervali1e5:peersld2:ip7:1.2.3.44:porti65536eeee",
            "peers[0].port at byte 42 must be an integer from 0 to 65535",
        ),
        (
            b"d8:intervali1e5:peersld2:ipi1e4:porti1eeee",
            "peers[0].ip at byte 27 must be a string",
        ),
        (
            b"d8:intervali1e5:peersld2:ip7:1.2.3.47:peer id3:abc4:porti1eeee",
            "peers[0].peer id at byte 45 must be 20 bytes",
        ),
        (
            b"d8:intervali1e10:tracker idi1ee",
            "tracker id at byte 27 must be a string",
        ),
        (
            b"d14:failure reasoni1ee",
            "failure reason at byte 18 must be a string",
        ),
        (
            b"d8:intervali1e8:intervali2ee",
            "the answer is not bencode: duplicate dictionary key",
        ),
        (
            b"d14:failure reason4:\x00\xff\"\ne",
            "the tracker refused: \\x00\\xff\\\"\\n",
        ),
        (many.as_bytes(), "the answer lists more than 1000 peers"),
        (list.as_bytes(), "the answer lists more than 1000 peers"),
        (
            long.as_bytes(),
            "HTTP answer is 70026 bytes, over the limit of 65536",
        ),
        (
            deep.as_bytes(),
            "the answer is not bencode: nesting deeper than the limit of 3",
        ),
    ];
    for (body, expected) in cases {
        let got = parse(body).map(|a| format!("{a:?}"));
        let text = match &got {
            Ok(a) => a.clone(),
            Err(e) => e.to_string(),
        };
        assert!(
            got.is_err() && text.starts_with(expected),
            "{}: got {text:?}, expected {expected:?}",
            body[..body.len().min(80)].escape_ascii()
        );
    }
    let long_id = format!("d8:intervali1e10:tracker id257:{}e", "i".repeat(257));
    assert_eq!(
        parse(long_id.as_bytes()).unwrap_err().to_string(),
        "tracker id at byte 27 must be at most 256 bytes"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever a tracker sends, the reader answers without panicking and
    /// within its limits.
    #[test]
    fn arbitrary_answers_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(a) = parse(&body) {
            prop_assert!(a.peers.len() <= 1000);
        }
        let _ = parse_udp_connect_answer(&body, 7);
        let _ = parse_udp_announce_answer(&body, 7, PeerFamily::V4, &AnswerLimits::default());
        let _ = parse_udp_announce_answer(&body, 7, PeerFamily::V6, &AnswerLimits::default());
    }

    /// Bencode-shaped noise reaches the field checks, not only the decoder.
    #[test]
    fn answer_shaped_noise_never_panics(
        interval in any::<i64>(),
        peers in proptest::collection::vec(any::<u8>(), 0..64),
        key in "[a-z ]{1,16}",
        value in prop_oneof![
            any::<i64>().prop_map(|n| format!("i{n}e")),
            "[ -~]{0,12}".prop_map(|s| format!("{}:{s}", s.len())),
            Just("le".to_owned()),
            Just("d2:ip3:::14:porti1eee".to_owned()),
        ],
    ) {
        let mut body = format!("d8:intervali{interval}e").into_bytes();
        body.extend_from_slice(format!("5:peers{}:", peers.len()).as_bytes());
        body.extend_from_slice(&peers);
        body.extend_from_slice(format!("{}:{key}{value}e", key.len()).as_bytes());
        if let Ok(a) = parse(&body) {
            prop_assert_eq!(a.interval, secs(u64::try_from(interval).unwrap()));
            prop_assert!(a.peers.len() <= peers.len() / 6 + 1);
        }
    }

    /// Compact peers: every 6-byte entry with a port and an address is
    /// one peer, in order.
    #[test]
    fn compact_peers_are_read_in_order(entries in proptest::collection::vec(any::<[u8; 6]>(), 0..50)) {
        let mut body = format!("d8:intervali1e5:peers{}:", entries.len() * 6).into_bytes();
        for e in &entries {
            body.extend_from_slice(e);
        }
        body.push(b'e');
        let expected: Vec<SocketAddr> = entries
            .iter()
            .map(|e| SocketAddr::from(([e[0], e[1], e[2], e[3]], u16::from_be_bytes([e[4], e[5]]))))
            .filter(|a| a.port() != 0 && !a.ip().is_unspecified())
            .collect();
        prop_assert_eq!(parse(&body).unwrap().peers, expected);
    }

    /// The announce this client sends is one our tracker's strict parser
    /// reads back exactly, whatever the bytes of the info-hash and peer id.
    #[test]
    fn the_http_announce_parses_back(
        h in any::<[u8; 20]>(),
        p in any::<[u8; 20]>(),
        port in 1u16..,
        left in any::<u64>(),
        key in any::<u32>(),
        event in prop_oneof![Just(Event::Regular), Just(Event::Started), Just(Event::Stopped)],
        id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
        passkey in proptest::option::of("[a-z0-9]{1,8}"),
    ) {
        let url = match &passkey {
            Some(k) => format!("http://t.example/announce?passkey={k}"),
            None => "http://t.example/announce".to_owned(),
        };
        let url = TrackerUrl::parse(&url).unwrap();
        let mut a = ClientAnnounce::seed(
            s3torrent_metainfo::InfoHash::from_bytes(h),
            s3torrent_tracker::PeerId::from_bytes(p),
            port,
            key,
        );
        a.left = left;
        a.event = event;
        let target = url.announce_target(&a, id.as_deref());
        let query = target.split_once('?').unwrap().1;
        let got = parse_announce(query, &QueryLimits::default()).unwrap();
        prop_assert_eq!(got.info_hash.as_bytes(), &h);
        prop_assert_eq!(got.peer_id.as_bytes(), &p);
        prop_assert_eq!((got.port, got.left, got.uploaded, got.downloaded), (port, left, 0, 0));
        prop_assert_eq!(got.event, event);
        prop_assert_eq!(got.numwant, Some(50));
        prop_assert_eq!(got.key, Some(format!("{key:08x}").into_bytes()));
        prop_assert_eq!(got.tracker_id, id);
        prop_assert_eq!(query.starts_with("passkey="), passkey.is_some());
    }
}

#[test]
fn udp_requests_have_the_beps_layout() {
    // BEP 15: the connect request is the magic 0x41727101980, action 0,
    // the transaction id.
    assert_eq!(
        udp_connect_request(0xdead_beef),
        [
            0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef
        ]
    );
    let mut a = ClientAnnounce::seed(hash(0xab), peer_id(b'P'), 6881, 0x0102_0304);
    a.event = Event::Stopped;
    a.numwant = 0;
    let packet = udp_announce_request(0x1122_3344_5566_7788, 9, &a);
    let mut expected = vec![
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 1, 0, 0, 0, 9,
    ];
    expected.extend_from_slice(&[0xab; 20]);
    expected.extend_from_slice(&[b'P'; 20]);
    expected.extend_from_slice(&[0; 24]); // downloaded, left, uploaded
    expected.extend_from_slice(&[0, 0, 0, 3]); // stopped
    expected.extend_from_slice(&[0; 4]); // IP: the sender's
    expected.extend_from_slice(&[1, 2, 3, 4]); // key
    expected.extend_from_slice(&[0; 4]); // num_want 0
    expected.extend_from_slice(&[0x1a, 0xe1]); // 6881
    assert_eq!(packet.to_vec(), expected);
    // And our tracker reads it as such.
    match parse_udp(&packet, &QueryLimits::default()).unwrap() {
        UdpRequest::Announce {
            connection_id,
            transaction_id,
            announce,
        } => {
            assert_eq!((connection_id, transaction_id), (0x1122_3344_5566_7788, 9));
            assert_eq!(announce.event, Event::Stopped);
            assert_eq!((announce.port, announce.left), (6881, 0));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn udp_answers_are_read_strictly() {
    let limits = AnswerLimits::default();
    // Connect: action 0, the transaction id, the connection id.
    let connect = [0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4, 5, 6, 7, 8];
    assert_eq!(
        parse_udp_connect_answer(&connect, 7),
        Ok(0x0102_0304_0506_0708)
    );
    // Announce: action 1, tid, interval 1800, 3 leechers, 2 seeders, two peers.
    let mut announce = vec![0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 7, 8, 0, 0, 0, 3, 0, 0, 0, 2];
    announce.extend_from_slice(&[127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0, 80]);
    let a = parse_udp_announce_answer(&announce, 7, PeerFamily::V4, &limits).unwrap();
    assert_eq!(a.interval, secs(1800));
    assert_eq!((a.leechers, a.seeders), (Some(3), Some(2)));
    assert_eq!(a.peers, vec![addr("127.0.0.1:6881"), addr("10.0.0.2:80")]);
    // Over IPv6 the 12 bytes are not a whole peer.
    assert_eq!(
        parse_udp_announce_answer(&announce, 7, PeerFamily::V6, &limits)
            .unwrap_err()
            .to_string(),
        "peers at byte 20 must be a whole number of 18-byte peers"
    );

    let error = b"\x00\x00\x00\x03\x00\x00\x00\x07not whitelisted";
    let cases: Vec<(Vec<u8>, ClientError)> = vec![
        (
            error.to_vec(),
            ClientError::Failure {
                reason: "not whitelisted".into(),
            },
        ),
        (
            connect[..7].to_vec(),
            ClientError::PacketSize {
                action: "answer",
                len: 7,
                expected: "at least 8 bytes",
            },
        ),
        (
            connect[..15].to_vec(),
            ClientError::PacketSize {
                action: "connect",
                len: 15,
                expected: "16 bytes",
            },
        ),
        (
            [&connect[..], &[0]].concat(),
            ClientError::PacketSize {
                action: "connect",
                len: 17,
                expected: "16 bytes",
            },
        ),
        (
            [&[0, 0, 0, 0, 0, 0, 0, 8], &connect[8..]].concat(),
            ClientError::Transaction {
                got: 8,
                expected: 7,
            },
        ),
        (
            announce.clone(),
            ClientError::Action {
                got: 1,
                expected: 0,
            },
        ),
    ];
    for (packet, expected) in cases {
        assert_eq!(
            parse_udp_connect_answer(&packet, 7),
            Err(expected),
            "{packet:?}"
        );
    }
    assert_eq!(
        parse_udp_announce_answer(&announce[..19], 7, PeerFamily::V4, &limits),
        Err(ClientError::PacketSize {
            action: "announce",
            len: 19,
            expected: "at least 20 bytes",
        })
    );
    assert_eq!(
        parse_udp_announce_answer(&announce[..23], 7, PeerFamily::V4, &limits)
            .unwrap_err()
            .to_string(),
        "peers at byte 20 must be a whole number of 6-byte peers"
    );
}

fn url(s: &str) -> TrackerUrl {
    TrackerUrl::parse(s).unwrap()
}

fn answer(interval: u64, min: Option<u64>) -> AnnounceAnswer {
    let mut a = AnnounceAnswer::new(secs(interval));
    a.min_interval = min.map(secs);
    a
}

/// Every due announce at `now`, as (tracker, first info-hash byte, event).
fn drain(a: &mut Announcer, now: Instant) -> Vec<(String, u8, Event)> {
    std::iter::from_fn(|| a.poll_due(now))
        .map(|d| (d.tracker.to_string(), d.info_hash.as_bytes()[0], d.event))
        .collect()
}

#[test]
fn a_pair_starts_announces_on_the_interval_and_stops() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let t = url("http://t.example/announce");
    let now = Instant::now();
    assert_eq!(a.serve(t.clone(), hash(1), now), Taken::Yes);
    assert_eq!(drain(&mut a, now), vec![(t.to_string(), 1, Event::Started)]);
    // The tracker's interval, and its min interval when longer.
    a.answered(
        &t,
        &hash(1),
        Outcome::Answered(&answer(900, Some(1800))),
        now,
    );
    assert_eq!(a.poll_timeout(), Some(now + secs(1800)));
    assert!(drain(&mut a, now + secs(1799)).is_empty());
    let later = now + secs(1800);
    assert_eq!(
        drain(&mut a, later),
        vec![(t.to_string(), 1, Event::Regular)]
    );
    // An interval under the floor is raised to it, over the ceiling cut.
    a.answered(&t, &hash(1), Outcome::Answered(&answer(5, None)), later);
    assert_eq!(a.poll_timeout(), Some(later + secs(60)));
    let later = later + secs(60);
    drain(&mut a, later);
    a.answered(
        &t,
        &hash(1),
        Outcome::Answered(&answer(u64::from(u32::MAX), None)),
        later,
    );
    assert_eq!(a.poll_timeout(), Some(later + secs(6 * 3600)));
    // Withdrawn: stopped at once, then forgotten.
    a.withdraw(&t, &hash(1), later);
    assert_eq!(
        drain(&mut a, later),
        vec![(t.to_string(), 1, Event::Stopped)]
    );
    a.answered(&t, &hash(1), Outcome::Answered(&answer(1800, None)), later);
    assert!(a.is_empty());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn the_tracker_id_is_sent_back() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let t = url("http://t.example/announce");
    let now = Instant::now();
    a.serve(t.clone(), hash(1), now);
    assert_eq!(a.poll_due(now).unwrap().tracker_id, None);
    let mut given = answer(60, None);
    given.tracker_id = Some(b"xyz".to_vec());
    a.answered(&t, &hash(1), Outcome::Answered(&given), now);
    let due = a.poll_due(now + secs(60)).unwrap();
    assert_eq!(due.tracker_id.as_deref(), Some(&b"xyz"[..]));
}

#[test]
fn a_pair_never_answered_is_not_stopped() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let t = url("udp://t.example:6969");
    let now = Instant::now();
    a.serve(t.clone(), hash(1), now);
    a.withdraw(&t, &hash(1), now);
    assert!(a.is_empty());
    assert!(drain(&mut a, now).is_empty());

    // Withdrawn while its started is out: stopped once it is answered...
    a.serve(t.clone(), hash(2), now);
    drain(&mut a, now);
    a.withdraw(&t, &hash(2), now);
    a.answered(&t, &hash(2), Outcome::Answered(&answer(60, None)), now);
    assert_eq!(drain(&mut a, now), vec![(t.to_string(), 2, Event::Stopped)]);
    // ... one try: a failed stopped is given up.
    a.answered(&t, &hash(2), Outcome::Unreachable, now);
    assert!(a.is_empty());
}

#[test]
fn served_again_while_stopping() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let t = url("udp://t.example:6969");
    let now = Instant::now();
    a.serve(t.clone(), hash(1), now);
    drain(&mut a, now);
    a.answered(
        &t,
        &hash(1),
        Outcome::Answered(&answer(1800, Some(900))),
        now,
    );
    // Withdrawn and served again before the stopped went out: it stays
    // announced, and waits for the min interval.
    a.withdraw(&t, &hash(1), now);
    a.serve(t.clone(), hash(1), now);
    assert!(drain(&mut a, now).is_empty());
    assert_eq!(
        drain(&mut a, now + secs(900)),
        vec![(t.to_string(), 1, Event::Regular)]
    );
    a.answered(
        &t,
        &hash(1),
        Outcome::Answered(&answer(1800, Some(900))),
        now + secs(900),
    );
    // Taken again while its stopped is out: started once it is answered.
    let later = now + secs(2700);
    a.withdraw(&t, &hash(1), later);
    assert_eq!(
        drain(&mut a, later),
        vec![(t.to_string(), 1, Event::Stopped)]
    );
    a.serve(t.clone(), hash(1), later);
    a.answered(&t, &hash(1), Outcome::Answered(&answer(1800, None)), later);
    assert_eq!(
        drain(&mut a, later),
        vec![(t.to_string(), 1, Event::Started)]
    );
}

#[test]
fn failures_back_off_per_pair_and_per_tracker() {
    let mut a = Announcer::new(AnnouncerConfig::default());
    let (t, u) = (
        url("udp://down.example:1"),
        url("http://up.example/announce"),
    );
    let now = Instant::now();
    for h in 1..=3 {
        a.serve(t.clone(), hash(h), now);
        a.serve(u.clone(), hash(h), now);
    }
    assert_eq!(drain(&mut a, now).len(), 6);
    // The first tracker cannot be reached: all its pairs wait 15 s, its
    // failures counted once for the three announces that failed together.
    for h in 1..=3 {
        a.answered(&t, &hash(h), Outcome::Unreachable, now);
    }
    // The second refuses one info-hash (whitelist) and takes the others.
    a.answered(&u, &hash(1), Outcome::Refused, now);
    let long = answer(u64::from(u32::MAX), None);
    a.answered(&u, &hash(2), Outcome::Answered(&long), now);
    a.answered(&u, &hash(3), Outcome::Answered(&long), now);
    assert!(drain(&mut a, now + secs(14)).is_empty());
    let mut due = drain(&mut a, now + secs(15));
    due.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(
        due,
        vec![
            (u.to_string(), 1, Event::Started),
            (t.to_string(), 1, Event::Started),
            (t.to_string(), 2, Event::Started),
            (t.to_string(), 3, Event::Started),
        ]
    );
    // Failing again: 30 s, then 60 s, ... at most 30 minutes.
    let mut at = now + secs(15);
    let mut waits = Vec::new();
    for _ in 0..9 {
        a.answered(&t, &hash(1), Outcome::Unreachable, at);
        a.answered(&t, &hash(2), Outcome::Unreachable, at);
        a.answered(&t, &hash(3), Outcome::Unreachable, at);
        a.answered(&u, &hash(1), Outcome::Refused, at);
        let next = a.poll_timeout().unwrap();
        waits.push(next.duration_since(at).as_secs());
        let due = drain(&mut a, next);
        assert_eq!(due.len(), 4, "{due:?}");
        at = next;
    }
    assert_eq!(waits, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    // An answer ends the backoff.
    a.answered(&t, &hash(1), Outcome::Answered(&answer(1800, None)), at);
    a.answered(&t, &hash(2), Outcome::Unreachable, at);
    a.answered(&t, &hash(3), Outcome::Refused, at);
    a.answered(&u, &hash(1), Outcome::Answered(&answer(1800, None)), at);
    assert_eq!(a.in_flight(), 0);
}

#[test]
fn announces_in_flight_are_capped() {
    let mut config = AnnouncerConfig::default();
    config.max_in_flight = 4;
    let mut a = Announcer::new(config);
    let t = url("http://t.example/announce");
    let now = Instant::now();
    for h in 0..10 {
        a.serve(t.clone(), hash(h), now);
    }
    let first = drain(&mut a, now);
    assert_eq!(first.len(), 4);
    assert_eq!(a.poll_timeout(), None, "nothing can go out until an answer");
    a.answered(
        &t,
        &hash(first[0].1),
        Outcome::Answered(&answer(1800, None)),
        now,
    );
    assert_eq!(a.poll_timeout(), Some(now));
    assert_eq!(drain(&mut a, now).len(), 1);
}

#[test]
fn sync_serves_and_withdraws_and_stop_all_stops_everything() {
    let mut config = AnnouncerConfig::default();
    config.max_entries = 3;
    let mut a = Announcer::new(config);
    let (t, u) = (url("udp://t.example:1"), url("http://u.example/"));
    let now = Instant::now();
    let wanted: BTreeSet<_> = [
        (t.clone(), hash(1)),
        (u.clone(), hash(1)),
        (t.clone(), hash(2)),
    ]
    .into_iter()
    .collect();
    assert_eq!(a.sync(&wanted, now), 0);
    for d in std::iter::from_fn(|| a.poll_due(now)).collect::<Vec<_>>() {
        a.answered(
            &d.tracker,
            &d.info_hash,
            Outcome::Answered(&answer(1800, None)),
            now,
        );
    }
    // hash(2) is gone; hash(3) is new, and one more than fits.
    let wanted: BTreeSet<_> = [
        (t.clone(), hash(1)),
        (u.clone(), hash(1)),
        (t.clone(), hash(3)),
        (u.clone(), hash(3)),
    ]
    .into_iter()
    .collect();
    assert_eq!(a.sync(&wanted, now), 2, "the pair stopping still counts");
    let mut due = drain(&mut a, now);
    due.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(due, vec![(t.to_string(), 2, Event::Stopped)]);
    a.answered(&t, &hash(2), Outcome::Answered(&answer(1800, None)), now);
    assert_eq!(
        a.sync(&wanted, now),
        1,
        "pairs are served in order; the last does not fit"
    );
    let mut due = drain(&mut a, now);
    due.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(due, vec![(u.to_string(), 3, Event::Started)]);
    // Shutting down, with hash(3)'s started still out: the announced pairs
    // stop at once, hash(3) once its started is answered.
    a.stop_all(now);
    let mut due = drain(&mut a, now);
    due.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(
        due,
        vec![
            (u.to_string(), 1, Event::Stopped),
            (t.to_string(), 1, Event::Stopped)
        ]
    );
    a.answered(&u, &hash(3), Outcome::Answered(&answer(1800, None)), now);
    assert_eq!(drain(&mut a, now), vec![(u.to_string(), 3, Event::Stopped)]);
    for (tr, h) in [(&t, 1), (&u, 1), (&u, 3)] {
        a.answered(tr, &hash(h), Outcome::Answered(&answer(1800, None)), now);
    }
    assert!(a.is_empty());
}
