//! The WebSocket tracker: offers and answers relayed as WebTorrent's
//! clients expect them, and hostile messages, each refused with a failure
//! reason naming what is wrong (or the connection closed), never a panic.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use s3torrent_tracker::{Decision, WsConfig, WsConn, WsTracker, WsVerdict};
use serde_json::{Value, json};

fn bin(byte: u8) -> String {
    char::from(byte).to_string().repeat(20)
}

fn allow(_: &s3torrent_metainfo::InfoHash) -> Decision {
    Decision::Allow
}

fn announce(hash: u8, peer: u8, left: u64, offers: &[u8]) -> String {
    let offers: Vec<Value> = offers
        .iter()
        .map(
            |&o| json!({"offer": {"type": "offer", "sdp": format!("sdp {o}")}, "offer_id": bin(o)}),
        )
        .collect();
    json!({
        "action": "announce", "info_hash": bin(hash), "peer_id": bin(peer),
        "left": left, "numwant": offers.len(), "uploaded": 0, "downloaded": 0,
        "event": "started", "offers": offers,
    })
    .to_string()
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).expect("the tracker sends JSON")
}

#[test]
fn offers_and_answers_are_relayed() {
    let mut t = WsTracker::default();
    let now = Instant::now();
    // Two leechers and a seeder, each on its own connection; the hash has
    // bytes over 0x7f, which JSON carries as characters U+0080 to U+00FF.
    let hash = 0xe9;
    let out = t.message(WsConn(1), &announce(hash, b'a', 10, &[]), now, allow);
    let a = parsed(&out.sends[0].text);
    assert_eq!(a["action"], "announce");
    assert_eq!(a["info_hash"], bin(hash));
    assert_eq!(a["interval"], 120);
    assert_eq!(
        (a["complete"].as_u64(), a["incomplete"].as_u64()),
        (Some(0), Some(1))
    );
    t.message(WsConn(2), &announce(hash, b's', 0, &[]), now, allow);
    // The third offers two: one to each other peer.
    let out = t.message(WsConn(3), &announce(hash, b'b', 10, &[1, 2]), now, allow);
    assert_eq!(out.sends.len(), 3, "{:?}", out.sends);
    let mut to: Vec<u64> = out.sends[1..].iter().map(|s| s.to.0).collect();
    to.sort_unstable();
    assert_eq!(to, [1, 2]);
    let relayed = out.sends.iter().find(|s| s.to == WsConn(2)).unwrap();
    let offer = parsed(&relayed.text);
    assert_eq!(offer["peer_id"], bin(b'b'));
    assert_eq!(offer["info_hash"], bin(hash));
    assert!(offer["offer"]["sdp"].as_str().unwrap().starts_with("sdp "));
    let offer_id = offer["offer_id"].as_str().unwrap().to_owned();
    // The seeder answers: the answer goes to connection 3 only.
    let answer = json!({
        "action": "announce", "info_hash": bin(hash), "peer_id": bin(b's'),
        "to_peer_id": bin(b'b'), "offer_id": offer_id,
        "answer": {"type": "answer", "sdp": "the answer"},
    })
    .to_string();
    let out = t.message(WsConn(2), &answer, now, allow);
    assert_eq!(out.sends.len(), 1, "{:?}", out.sends);
    assert_eq!(out.sends[0].to, WsConn(3));
    let back = parsed(&out.sends[0].text);
    assert_eq!(back["answer"]["sdp"], "the answer");
    assert_eq!(back["peer_id"], bin(b's'));
    assert_eq!(back["offer_id"], offer_id);
    // The same answer again: no pending offer any more.
    let out = t.message(WsConn(2), &answer, now, allow);
    assert!(
        parsed(&out.sends[0].text)["failure reason"]
            .as_str()
            .unwrap()
            .contains("offer_id is no pending offer")
    );
    // A seeder's offers go to leechers only.
    let out = t.message(WsConn(4), &announce(hash, b't', 0, &[7, 8, 9]), now, allow);
    let mut to: Vec<u64> = out.sends[1..].iter().map(|s| s.to.0).collect();
    to.sort_unstable();
    assert_eq!(to, [1, 3]);
    // Stopped: gone from the swarm; a closed connection too.
    let stop = json!({"action": "announce", "info_hash": bin(hash), "peer_id": bin(b'a'), "event": "stopped"});
    t.message(WsConn(1), &stop.to_string(), now, allow);
    t.disconnect(WsConn(4));
    let census = t.census();
    assert_eq!(census.peers, 2);
    // Scrape: the counts of the one swarm.
    let scrape = json!({"action": "scrape", "info_hash": [bin(hash)]}).to_string();
    let out = t.message(WsConn(9), &scrape, now, allow);
    let files = &parsed(&out.sends[0].text)["files"];
    assert_eq!(files[bin(hash)]["complete"], 1);
    assert_eq!(files[bin(hash)]["incomplete"], 1);
    // Peers expire once silent past interval and grace.
    t.expire(now + Duration::from_secs(241));
    assert_eq!(t.census().peers, 0);
}

#[test]
fn a_refused_info_hash_makes_no_swarm() {
    let mut t = WsTracker::default();
    let out = t.message(
        WsConn(1),
        &announce(0xff, b'a', 1, &[]),
        Instant::now(),
        |_| Decision::Refuse("not served: Access Denied (AccessDenied)".into()),
    );
    let m = parsed(&out.sends[0].text);
    assert_eq!(m["action"], "announce");
    assert_eq!(m["info_hash"], bin(0xff));
    let reason = m["failure reason"].as_str().unwrap();
    assert!(
        reason.contains("refused: not served: Access Denied"),
        "{reason}"
    );
    assert_eq!(t.census().swarms, 0);
}

/// Hostile messages and the failure reason each gets (or the close).
#[test]
fn hostile_messages() {
    let h = bin(1);
    let p = bin(2);
    let long_sdp = "x".repeat(70_000);
    let table: Vec<(String, &str)> = vec![
        ("not json".into(), "message is not JSON: expected ident at line 1 column 2"),
        ("[1,2]".into(), "message must be a JSON object"),
        ("{}".into(), "action is missing"),
        (r#"{"action":"connect"}"#.into(), "action must be announce or scrape"),
        (r#"{"action":7}"#.into(), "action must be announce or scrape"),
        (json!({"action":"announce","peer_id":p}).to_string(), "info_hash is missing"),
        (json!({"action":"announce","info_hash":"short","peer_id":p}).to_string(), "info_hash must be 20 bytes, got 5"),
        (json!({"action":"announce","info_hash":"é".repeat(21),"peer_id":p}).to_string(), "info_hash must be 20 bytes, got 21"),
        (json!({"action":"announce","info_hash":"€".repeat(20),"peer_id":p}).to_string(), "info_hash must be a binary string (characters U+0000 to U+00FF)"),
        (json!({"action":"announce","info_hash":12,"peer_id":p}).to_string(), "info_hash must be a string of 20 characters"),
        (json!({"action":"announce","info_hash":h}).to_string(), "peer_id is missing"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"left":-1}).to_string(), "left must be a decimal number"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"numwant":"ten"}).to_string(), "numwant must be a decimal number"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"event":"paused"}).to_string(), "event must be started, completed, stopped, update or absent"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"offers":{}}).to_string(), "offers must be a list of {offer, offer_id} objects"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"offers":[1]}).to_string(), "offers must be a list of {offer, offer_id} objects"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"offers":[{"offer":"sdp","offer_id":h}]}).to_string(), "offer must be an object (a WebRTC session description)"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"offers":[{"offer":{}}]}).to_string(), "offer_id is missing"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"answer":{},"offer_id":h}).to_string(), "to_peer_id is missing"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"answer":"sdp"}).to_string(), "answer must be an object (a WebRTC session description)"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"answer":{},"offer_id":h,"to_peer_id":p}).to_string(), "offer_id is no pending offer from to_peer_id to this peer"),
        (json!({"action":"scrape"}).to_string(), "scrape needs at least one info_hash"),
        (json!({"action":"scrape","info_hash":[]}).to_string(), "scrape needs at least one info_hash"),
        (json!({"action":"scrape","info_hash":vec![h.clone(); 65]}).to_string(), "scrape names more than 64 info_hash values"),
        (json!({"action":"scrape","info_hash":["x"]}).to_string(), "info_hash must be 20 bytes, got 1"),
        ("{\"action\":".to_owned() + &"[".repeat(200), "message is not JSON: recursion limit exceeded"),
        (json!({"action":"announce","info_hash":h,"peer_id":p,"offers":[{"offer":{"sdp":long_sdp},"offer_id":h}]}).to_string(), "close: message is 70"),
    ];
    for (message, expected) in table {
        let mut t = WsTracker::default();
        let out = t.message(WsConn(1), &message, Instant::now(), allow);
        let got = match &out.verdict {
            WsVerdict::Close(e) => format!("close: {e}"),
            WsVerdict::Keep => {
                assert_eq!(out.sends.len(), 1, "{message}: {:?}", out.sends);
                let m = parsed(&out.sends[0].text);
                m["failure reason"].as_str().unwrap_or_default().to_owned()
            }
        };
        assert!(
            got.starts_with(expected),
            "{message:.80}: got {got:?}, expected {expected:?}"
        );
        assert_eq!(t.census().swarms, 0, "{message:.80}");
    }
}

#[test]
fn limits_hold() {
    let mut config = WsConfig::default();
    config.messages_per_second = 3;
    config.max_peers_per_swarm = 2;
    config.max_swarms_per_connection = 2;
    let mut t = WsTracker::new(config);
    let now = Instant::now();
    // A flood: the fourth message in a second closes the connection.
    for i in 0..3 {
        assert_eq!(
            t.message(WsConn(1), "{}", now, allow).verdict,
            WsVerdict::Keep,
            "{i}"
        );
    }
    assert!(matches!(
        t.message(WsConn(1), "{}", now, allow).verdict,
        WsVerdict::Close(_)
    ));
    // The next second it may speak again.
    let later = now + Duration::from_secs(1);
    assert_eq!(
        t.message(WsConn(1), "{}", later, allow).verdict,
        WsVerdict::Keep
    );
    // Peers per swarm.
    t.message(WsConn(2), &announce(5, b'a', 1, &[]), now, allow);
    t.message(WsConn(3), &announce(5, b'b', 1, &[]), now, allow);
    let out = t.message(WsConn(4), &announce(5, b'c', 1, &[]), now, allow);
    assert_eq!(
        parsed(&out.sends[0].text)["failure reason"],
        "swarm is full (2 peers); retry later"
    );
    // Swarms per connection.
    t.message(WsConn(5), &announce(6, b'a', 1, &[]), now, allow);
    t.message(WsConn(5), &announce(7, b'a', 1, &[]), now, allow);
    let out = t.message(WsConn(5), &announce(8, b'a', 1, &[]), now, allow);
    assert_eq!(
        parsed(&out.sends[0].text)["failure reason"],
        "this connection announces more than 2 torrents"
    );
    // Offers per announce: at most two relayed, though five peers could
    // take them.
    let mut config = WsConfig::default();
    config.max_offers = 2;
    let mut t = WsTracker::new(config);
    for c in 10..15u8 {
        t.message(WsConn(u64::from(c)), &announce(9, c, 1, &[]), now, allow);
    }
    let out = t.message(
        WsConn(20),
        &announce(9, 20, 1, &[1, 2, 3, 4, 5]),
        now,
        allow,
    );
    assert_eq!(out.sends.len(), 3);
    // A peer id held by another open connection is not taken over.
    let out = t.message(WsConn(21), &announce(9, 10, 1, &[]), now, allow);
    assert_eq!(
        parsed(&out.sends[0].text)["failure reason"],
        "peer_id is announced in this swarm on another connection"
    );
}

proptest! {
    #[test]
    fn arbitrary_messages_never_panic(messages in proptest::collection::vec(".{0,300}", 1..12)) {
        let mut t = WsTracker::default();
        let now = Instant::now();
        for (i, m) in messages.iter().enumerate() {
            let out = t.message(WsConn(i as u64 % 3), m, now, allow);
            for send in &out.sends {
                prop_assert!(serde_json::from_str::<Value>(&send.text).is_ok());
            }
        }
    }
}
