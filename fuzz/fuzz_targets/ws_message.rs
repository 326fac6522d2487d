//! Fuzzes the WebSocket tracker (`WsTracker::message`) over one small
//! tracker: the input is split at NUL bytes into messages, each sent on
//! one of four connections (the first byte of the input picks them, and
//! which connection closes between two messages).
//!
//! Nothing may panic, every message sent is JSON, nothing goes to a
//! connection the tracker was never told of, and the limits hold: no more
//! swarms than `max_swarms`, no more peers than `max_peers_per_swarm`
//! each.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use s3torrent_tracker::{Decision, WsConfig, WsConn, WsTracker, WsVerdict};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut config = WsConfig::default();
    config.max_swarms = 3;
    config.max_peers_per_swarm = 3;
    config.max_offers = 3;
    config.max_message = 4096;
    config.messages_per_second = 8;
    let mut tracker = WsTracker::new(config);
    let start = Instant::now();
    let mut seen = std::collections::BTreeSet::new();
    for (i, chunk) in rest.split(|&b| b == 0).take(64).enumerate() {
        let text = String::from_utf8_lossy(chunk);
        let conn = WsConn(u64::from((flags >> (i % 4)) & 3));
        seen.insert(conn);
        let now = start + Duration::from_millis(300 * i as u64);
        let out = tracker.message(conn, &text, now, |h| {
            if h.as_bytes()[0] == 0xff {
                Decision::Refuse("private".into())
            } else {
                Decision::Allow
            }
        });
        for send in &out.sends {
            assert!(seen.contains(&send.to), "sent to an unknown connection");
            assert!(serde_json::from_str::<serde_json::Value>(&send.text).is_ok());
        }
        if let WsVerdict::Close(_) = out.verdict {
            seen.remove(&conn);
        }
        if flags & 0x80 != 0 && i % 5 == 4 {
            tracker.disconnect(conn);
            seen.remove(&conn);
        }
        let census = tracker.census();
        assert!(census.swarms <= 3);
        assert!(census.peers <= 9);
    }
});
