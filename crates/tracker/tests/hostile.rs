//! Hostile announces: each is refused with a failure reason naming what is
//! wrong, and arbitrary input never panics.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use proptest::prelude::*;
use s3torrent_tracker::{
    Event, PeerListForm, QueryLimits, Tracker, TrackerConfig, handle, parse_announce, parse_scrape,
};

fn valid() -> String {
    query(1, 2, 6881, 0, "")
}

fn without(param: &str) -> String {
    valid()
        .split('&')
        .filter(|kv| !kv.starts_with(&format!("{param}=")))
        .collect::<Vec<_>>()
        .join("&")
}

fn table() -> Vec<(String, &'static str)> {
    let hash = enc(&[1; 20]);
    let peer = enc(&[2; 20]);
    let rest = "&uploaded=0&downloaded=0&left=0";
    let with = |hash: &str, peer: &str, port: &str| {
        format!("info_hash={hash}&peer_id={peer}&port={port}{rest}")
    };
    vec![
        (
            with(&enc(&[1; 19]), &peer, "6881"),
            "info_hash must be 20 bytes, got 19",
        ),
        (
            with(&enc(&[1; 21]), &peer, "6881"),
            "info_hash must be 20 bytes, got 21",
        ),
        (with("", &peer, "6881"), "info_hash must be 20 bytes, got 0"),
        (
            with(&hash, "-AB0001-abc", "6881"),
            "peer_id must be 20 bytes, got 11",
        ),
        (
            with(&hash, &peer, "0"),
            "port must be from 1 to 65535, got 0",
        ),
        (
            with(&hash, &peer, "70000"),
            "port must be from 1 to 65535, got 70000",
        ),
        (
            with(&hash, &peer, "65536"),
            "port must be from 1 to 65535, got 65536",
        ),
        (with(&hash, &peer, "-1"), "port must be a decimal number"),
        (with(&hash, &peer, ""), "port must be a decimal number"),
        (
            format!("{}&numwant=99999999999999999999", valid()),
            "numwant must be a decimal number",
        ),
        (without("info_hash"), "info_hash is missing"),
        (without("peer_id"), "peer_id is missing"),
        (without("port"), "port is missing"),
        (without("uploaded"), "uploaded is missing"),
        (without("downloaded"), "downloaded is missing"),
        (without("left"), "left is missing"),
        (String::new(), "info_hash is missing"),
        (
            format!("{}&info_hash={}", valid(), enc(&[3; 20])),
            "info_hash is given more than once",
        ),
        (
            format!("{}&port=6882", valid()),
            "port is given more than once",
        ),
        (
            format!("{}&event=started&event=stopped", valid()),
            "event is given more than once",
        ),
        (
            format!("{}&ip=1.2.3.4&ip=5.6.7.8", valid()),
            "ip is given more than once",
        ),
        // `info_hash=` is 10 bytes; `%zz` starts at byte 10.
        (
            format!("info_hash=%zz{}", &valid()[10..]),
            "invalid percent-encoding in info_hash at byte 10",
        ),
        (
            format!("{}&key=%4", valid()),
            "invalid percent-encoding in key",
        ),
        (
            format!("{}&key=ab%", valid()),
            "invalid percent-encoding in key",
        ),
        (
            format!("{}&supportcrypto=%g1", valid()),
            "invalid percent-encoding in supportcrypto",
        ),
        (
            format!("{}&%zzname=1", valid()),
            "invalid percent-encoding in a parameter name",
        ),
        (
            format!("{}&pad={}", valid(), "x".repeat(5000)),
            "over the limit of 4096",
        ),
        (
            valid().replace("uploaded=0", "uploaded=abc"),
            "uploaded must be a decimal number",
        ),
        (
            valid().replace("uploaded=0", "uploaded=1.5"),
            "uploaded must be a decimal number",
        ),
        (
            valid().replace("left=0", "left=-1"),
            "left must be a decimal number",
        ),
        (
            valid().replace("downloaded=0", "downloaded=18446744073709551616"),
            "downloaded must be a decimal number",
        ),
        (
            format!("{}&event=paused", valid()),
            "event must be started, completed, stopped or empty",
        ),
        (
            format!("{}&event=startedxxxxxxxxxxxxxxxxxxxxxxxx", valid()),
            "event must be started, completed, stopped or empty",
        ),
        (format!("{}&compact=2", valid()), "compact must be 0 or 1"),
        (format!("{}&compact=", valid()), "compact must be 0 or 1"),
        (format!("{}&key=a b", valid()), "byte 0x20 at byte"),
        (format!("{}&key=\u{e9}", valid()), "must be percent-encoded"),
    ]
}

#[test]
fn hostile_announces_are_refused_by_name() {
    let limits = QueryLimits::default();
    let cases = table();
    assert_eq!(cases.len(), 37);
    for (query, fragment) in &cases {
        let err = parse_announce(query, &limits).expect_err(query);
        let text = err.to_string();
        assert!(
            text.contains(fragment),
            "{query:?}: {text:?} lacks {fragment:?}"
        );
        // The same text is the failure reason of the bencoded answer.
        assert_eq!(failure_reason(&err.to_bencode()), text);
    }
}

#[test]
fn hostile_announces_over_http_answer_200_with_a_failure_reason() {
    let mut tracker = Tracker::default();
    let now = Instant::now();
    for (query, fragment) in table() {
        // Queries `http` itself refuses never reach the adapter.
        let Ok(req) = http::Request::get(format!("/announce?{query}")).body(()) else {
            continue;
        };
        let response = handle(&mut tracker, &req, &ctx("192.0.2.1:1000"), now, allow);
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/plain");
        let reason = failure_reason(response.body());
        assert!(reason.contains(fragment), "{query:?}: {reason:?}");
    }
    assert_eq!(tracker.swarm_count(), 0, "no refusal makes a swarm");
}

#[test]
fn the_valid_base_parses_and_numbers_fit() {
    let limits = QueryLimits::default();
    let a = parse_announce(valid(), &limits).unwrap();
    assert_eq!(a.info_hash.as_bytes(), &[1; 20]);
    assert_eq!(a.peer_id.as_bytes(), &[2; 20]);
    assert_eq!(a.port, 6881);
    assert_eq!(a.event, Event::Regular);
    assert_eq!(a.form, PeerListForm::Dict);
    assert_eq!(a.numwant, None);
    let a = parse_announce(
        format!(
            "{}&numwant=18446744073709551615&compact=1&event=&key=%41b&trackerid=t1&ip=evil&no_peer_id=1&port%3d=",
            valid().replace("port=6881", "port=65535")
        ),
        &limits,
    )
    .unwrap();
    assert_eq!(a.port, 65535);
    assert_eq!(a.numwant, Some(u64::MAX));
    assert_eq!(a.form, PeerListForm::Compact);
    assert_eq!(a.event, Event::Regular);
    assert_eq!(a.key.as_deref(), Some(&b"Ab"[..]));
    assert_eq!(a.tracker_id.as_deref(), Some(&b"t1"[..]));
    // Raw (unencoded) bytes in info_hash are the bytes themselves.
    let a = parse_announce(
        "info_hash=abcdefghij0123456789&peer_id=-TR4050-abcdefghijkl&port=1&uploaded=1&downloaded=2&left=3&event=completed",
        &limits,
    )
    .unwrap();
    assert_eq!(a.info_hash.as_bytes(), b"abcdefghij0123456789");
    assert_eq!((a.uploaded, a.downloaded, a.left), (1, 2, 3));
    assert_eq!(a.event, Event::Completed);
    // Exactly at the length limit is fine; one over is not.
    let q = valid();
    assert!(parse_announce(&q, &QueryLimits::new(q.len(), 1)).is_ok());
    assert!(parse_announce(&q, &QueryLimits::new(q.len() - 1, 1)).is_err());
}

#[test]
fn scrape_queries() {
    let limits = QueryLimits::new(4096, 2);
    let s = parse_scrape(
        format!(
            "info_hash={}&info_hash={}&info_hash={}",
            enc(&[1; 20]),
            enc(&[2; 20]),
            enc(&[1; 20])
        ),
        &limits,
    )
    .unwrap();
    assert_eq!(s.info_hashes, vec![hash(1), hash(2)]);
    let too_many = format!(
        "info_hash={}&info_hash={}&info_hash={}",
        enc(&[1; 20]),
        enc(&[2; 20]),
        enc(&[3; 20])
    );
    assert!(
        parse_scrape(too_many, &limits)
            .unwrap_err()
            .to_string()
            .contains("more than 2 info_hash")
    );
    assert!(
        parse_scrape("", &limits)
            .unwrap_err()
            .to_string()
            .contains("full scrapes are not served")
    );
    assert!(
        parse_scrape("info_hash=abc", &limits)
            .unwrap_err()
            .to_string()
            .contains("info_hash must be 20 bytes, got 3")
    );
}

fn small_tracker() -> Tracker {
    let mut config = TrackerConfig::default();
    config.max_swarms = 4;
    config.max_peers_per_swarm = 4;
    config.max_numwant = 3;
    Tracker::new(config)
}

fn exercise(tracker: &mut Tracker, bytes: &[u8], now: Instant) {
    let limits = QueryLimits::default();
    if let Ok(a) = parse_announce(bytes, &limits) {
        let c = ctx("192.0.2.1:1000").with_endpoint_seed(addr("[2001:db8::1]:6881"));
        if let Ok(r) = tracker.announce(&a, &c, now, allow) {
            assert!(r.peers.len() <= 3);
            s3torrent_bencode::decode(&r.to_bencode()).expect("strict bencode");
        }
    }
    let _ = parse_scrape(bytes, &limits);
    if let Ok(s) = std::str::from_utf8(bytes)
        && let Ok(req) = http::Request::get(format!("/announce?{s}")).body(())
    {
        let response = handle(tracker, &req, &ctx("192.0.2.2:1"), now, allow);
        assert_eq!(response.status(), 200);
        s3torrent_bencode::decode(response.body()).expect("strict bencode");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut tracker = small_tracker();
        exercise(&mut tracker, &bytes, Instant::now());
    }

    #[test]
    fn query_shaped_strings_never_panic(
        parts in proptest::collection::vec(
            (
                prop::sample::select(vec![
                    "info_hash", "peer_id", "port", "uploaded", "downloaded", "left",
                    "event", "numwant", "compact", "key", "trackerid", "ip", "x", "",
                ]),
                "[0-9a-fA-F%=&+.-]{0,64}",
            ),
            0..14,
        ),
        advance in 0u64..10_000,
    ) {
        let q: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let q = q.join("&");
        let mut tracker = small_tracker();
        let now = Instant::now();
        exercise(&mut tracker, q.as_bytes(), now);
        exercise(&mut tracker, q.as_bytes(), now + Duration::from_secs(advance));
    }

    #[test]
    fn valid_announces_with_noise_parse(
        port in 1u16..,
        left in any::<u64>(),
        numwant in any::<u64>(),
        noise in "[a-z]{1,8}=[a-zA-Z0-9]{0,8}",
    ) {
        let q = format!("{}&numwant={numwant}&{noise}", query(7, 8, port, left, ""));
        let q = if noise.starts_with("numwant=") || ["info_hash=", "peer_id=", "port=", "uploaded=", "downloaded=", "left=", "event=", "compact=", "ip=", "key=", "trackerid="].iter().any(|k| noise.starts_with(k)) {
            return Ok(());
        } else { q };
        let a = parse_announce(&q, &QueryLimits::default()).unwrap();
        prop_assert_eq!(a.port, port);
        prop_assert_eq!(a.left, left);
        prop_assert_eq!(a.numwant, Some(numwant));
    }
}
