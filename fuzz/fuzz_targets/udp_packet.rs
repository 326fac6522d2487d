//! Fuzzes the UDP tracker (BEP 15): `parse_udp` and `Tracker::udp` over
//! one small tracker shared with nothing else.
//!
//! The input is one flags byte, then packets, each a length byte and that
//! many bytes (up to 255; a length byte of 0 stands for a packet of
//! `UDP_MAX_PACKET + 1` bytes of the rest, so that the size limit is hit).
//! When the flags' low bit is set, a packet that names announce or scrape
//! gets a valid connection id for its sender written over its first 8
//! bytes, so the fuzzer reaches the swarms and not only the codec.
//!
//! Nothing may panic, and the answers must hold together: an answer echoes
//! the transaction id; an error packet (action 3) is never longer than its
//! request unless the connection id checked out; a connect answer is 16
//! bytes; an announce answer is 20 bytes and whole peers of the sender's
//! family (6 bytes over IPv4, 18 over IPv6); a scrape answer is 8 bytes and
//! 12 per info-hash asked.

#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use s3torrent_tracker::{
    Decision, RateLimit, RequestContext, Tracker, TrackerConfig, UDP_MAX_PACKET, UdpKey,
    UdpRequest, parse_udp,
};

fn tracker() -> Tracker {
    let mut config = TrackerConfig::default();
    config.max_swarms = 3;
    config.max_peers_per_swarm = 4;
    config.max_numwant = 4;
    config.default_numwant = 3;
    config.rate_limit = RateLimit::new(6, Duration::from_secs(20), 3);
    config.query.max_scrape_hashes = 5;
    Tracker::new(config)
}

fn remote(flags: u8, i: usize) -> SocketAddr {
    let host = ((usize::from(flags) >> 2) + i) % 4;
    if (flags >> (1 + i % 7)) & 1 == 1 {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, host as u16], 40000))
    } else {
        SocketAddr::from(([192, 0, 2, host as u8], 40000))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let key = UdpKey::new([3; 32], start);
    let mut tracker = tracker();
    let limits = tracker.config().query.clone();
    let mut i = 0;
    while let Some((&len, tail)) = rest.split_first() {
        let len = if len == 0 {
            UDP_MAX_PACKET + 1
        } else {
            usize::from(len)
        };
        let (packet, next) = tail.split_at(len.min(tail.len()));
        rest = next;
        let mut packet = packet.to_vec();
        let from = remote(flags, i);
        let now = start + Duration::from_secs(7 * i as u64);
        i += 1;
        if i > 32 {
            break;
        }
        let action = packet
            .get(8..12)
            .map(|a| u32::from_be_bytes([a[0], a[1], a[2], a[3]]));
        if flags & 1 == 1 && matches!(action, Some(1 | 2)) {
            packet[..8].copy_from_slice(&key.connection_id(from.ip(), now).to_be_bytes());
        }
        let verified = packet.len() >= 8 && {
            let mut id = [0; 8];
            id.copy_from_slice(&packet[..8]);
            key.verify(u64::from_be_bytes(id), from.ip(), now)
        };
        let parsed = parse_udp(&packet, &limits);
        let ctx =
            RequestContext::new(from).with_endpoint_seed(SocketAddr::from(([10, 0, 0, 1], 6881)));
        let ex = tracker.udp(&packet, &ctx, &key, now, |h| {
            if h.as_bytes()[0] == 0xff {
                Decision::Refuse("private".into())
            } else {
                Decision::Allow
            }
        });
        assert_eq!(ex.request.is_some(), parsed.is_ok());
        let Some(reply) = ex.reply else {
            assert!(
                packet.len() < 16,
                "a packet with a transaction id went unanswered"
            );
            continue;
        };
        assert!(reply.len() >= 8);
        assert_eq!(
            &reply[4..8],
            &packet[12..16],
            "the transaction id is echoed"
        );
        let answer = u32::from_be_bytes([reply[0], reply[1], reply[2], reply[3]]);
        match (answer, &ex.request) {
            (3, _) => {
                assert!(ex.error.is_some());
                assert!(verified || reply.len() <= packet.len(), "amplified");
            }
            (0, Some(UdpRequest::Connect { .. })) => assert_eq!(reply.len(), 16),
            (1, Some(UdpRequest::Announce { .. })) => {
                assert!(verified);
                let size = if from.is_ipv6() { 18 } else { 6 };
                assert!(reply.len() >= 20 && (reply.len() - 20) % size == 0);
                assert!((reply.len() - 20) / size <= 4);
            }
            (2, Some(UdpRequest::Scrape { info_hashes, .. })) => {
                assert!(verified);
                assert_eq!(reply.len(), 8 + 12 * info_hashes.len());
            }
            (a, r) => panic!("answer {a} to {r:?}"),
        }
    }
    assert!(tracker.swarm_count() <= 3);
});
