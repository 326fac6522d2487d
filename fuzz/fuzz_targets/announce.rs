//! Fuzzes the tracker's announce and scrape parsers and its swarm state.
//!
//! The input is one flags byte, then newline-separated queries (the seeds
//! in `fuzz/seeds/announce.py` show the shape). Each query goes to
//! `parse_announce` (and `parse_scrape`); what parses is announced to one
//! small tracker, from an address the flags and the line's position choose,
//! a few seconds apart, so swarms fill, expire and hit every limit. Each
//! query also goes through the HTTP adapter when `http` accepts it as a URI.
//!
//! Nothing may panic, and what comes back must hold together: every answer
//! and every refusal decodes as strict bencode; a refusal is exactly one
//! `failure reason`; `peers` is a multiple of 6 bytes and `peers6` of 18;
//! no answer lists more than `max_numwant` peers, the requester, or a peer
//! twice; the endpoint seed, when given and wanted, is listed first.

#![no_main]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use s3torrent_bencode::decode;
use s3torrent_tracker::{
    AnnounceResponse, Decision, Event, PeerListForm, RateLimit, RequestContext, Tracker,
    TrackerConfig, handle, parse_announce, parse_scrape,
};

const MAX_NUMWANT: usize = 4;

fn tracker() -> Tracker {
    let mut config = TrackerConfig::default();
    config.max_swarms = 3;
    config.max_peers_per_swarm = 4;
    config.max_numwant = MAX_NUMWANT;
    config.default_numwant = 3;
    config.interval = Duration::from_secs(10);
    config.min_interval = Duration::from_secs(5);
    config.peer_grace = Duration::from_secs(5);
    config.rate_limit = RateLimit::new(6, Duration::from_secs(20), 3);
    config.query.max_query_len = 512;
    config.query.max_scrape_hashes = 3;
    Tracker::new(config)
}

fn remote(flags: u8, i: usize) -> SocketAddr {
    let host = ((usize::from(flags) >> 2) + i) % 5;
    let port = 40000 + (i % 3) as u16;
    if (flags >> (i % 8)) & 1 == 1 {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, host as u16], port))
    } else {
        SocketAddr::from(([192, 0, 2, host as u8], port))
    }
}

fn seed(flags: u8) -> Option<SocketAddr> {
    match flags & 3 {
        0 => None,
        1 => Some(SocketAddr::from(([10, 0, 0, 1], 6881))),
        2 => Some(SocketAddr::from((
            [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x99],
            6881,
        ))),
        // The seed at a requester's own address (the endpoint announcing itself).
        _ => Some(SocketAddr::from(([192, 0, 2, 0], 6881))),
    }
}

fn check_failure(body: &[u8]) {
    let v = decode(body).expect("a refusal is strict bencode");
    let d = v.as_dict().expect("a dictionary");
    assert_eq!(d.len(), 1);
    let reason = v.get("failure reason").and_then(|r| r.as_str());
    assert!(reason.is_some_and(|r| !r.is_empty()), "a failure reason");
}

fn check_answer(r: &AnnounceResponse, me: SocketAddr, ctx: &RequestContext, event: Event) {
    assert!(r.peers.len() <= MAX_NUMWANT);
    if event == Event::Stopped {
        assert!(r.peers.is_empty());
    }
    let mut seen = HashSet::new();
    for (i, p) in r.peers.iter().enumerate() {
        assert!(seen.insert(p.addr), "listed twice");
        assert_ne!(p.addr, me, "the requester got itself");
        if p.peer_id.is_none() {
            assert_eq!(i, 0, "the endpoint seed comes first");
            assert_eq!(
                Some(p.addr),
                ctx.endpoint_seed
                    .map(|s| SocketAddr::new(s.ip().to_canonical(), s.port()))
            );
        }
    }
    let body = r.to_bencode();
    let v = decode(&body).expect("an answer is strict bencode");
    assert_eq!(v.to_vec(), &body[..], "canonical");
    for key in ["complete", "incomplete", "interval", "min interval"] {
        assert!(
            v.get(key).and_then(|n| n.as_int()).is_some_and(|n| n >= 0),
            "{key}"
        );
    }
    match r.form {
        PeerListForm::Compact => {
            let v4 = v.get("peers").and_then(|p| p.as_bytes()).expect("peers");
            assert_eq!(v4.len() % 6, 0);
            let v6 = v
                .get("peers6")
                .and_then(|p| p.as_bytes())
                .unwrap_or_default();
            assert_eq!(v6.len() % 18, 0);
            assert_eq!(v4.len() / 6 + v6.len() / 18, r.peers.len());
        }
        PeerListForm::Dict => {
            let list = v.get("peers").and_then(|p| p.as_list()).expect("peers");
            assert_eq!(list.len(), r.peers.len());
            for p in list {
                let ip = p.get("ip").and_then(|i| i.as_str()).expect("ip");
                assert!(ip.parse::<std::net::IpAddr>().is_ok());
                let port = p.get("port").and_then(|i| i.as_int()).expect("port");
                assert!((1..=65535).contains(&port));
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut tracker = tracker();
    let start = Instant::now();
    let limits = tracker.config().query.clone();
    for (i, line) in rest.split(|&b| b == b'\n').take(32).enumerate() {
        let now = start + Duration::from_secs(3 * i as u64);
        let ctx = match seed(flags) {
            Some(s) => RequestContext::new(remote(flags, i)).with_endpoint_seed(s),
            None => RequestContext::new(remote(flags, i)),
        };
        // The host refuses info-hashes starting with 0xff.
        let allow = |h: &s3torrent_metainfo::InfoHash| {
            if h.as_bytes()[0] == 0xff {
                Decision::Refuse("private".into())
            } else {
                Decision::Allow
            }
        };
        match parse_announce(line, &limits) {
            Ok(a) => {
                let me = SocketAddr::new(ctx.remote.ip().to_canonical(), a.port);
                match tracker.announce(&a, &ctx, now, allow) {
                    Ok(r) => check_answer(&r, me, &ctx, a.event),
                    Err(e) => check_failure(&e.to_bencode()),
                }
            }
            Err(e) => check_failure(&e.to_bencode()),
        }
        match parse_scrape(line, &limits) {
            Ok(s) => match tracker.scrape(&s, &ctx, now, allow) {
                Ok(r) => {
                    assert!(r.files.len() <= s.info_hashes.len());
                    let body = r.to_bencode();
                    let v = decode(&body).expect("a scrape answer is strict bencode");
                    let files = v.get("files").and_then(|f| f.as_dict()).expect("files");
                    assert_eq!(files.len(), r.files.len());
                }
                Err(e) => check_failure(&e.to_bencode()),
            },
            Err(e) => check_failure(&e.to_bencode()),
        }
        let path = if flags & 0x80 != 0 {
            "/scrape?"
        } else {
            "/announce?"
        };
        let mut uri = path.as_bytes().to_vec();
        uri.extend_from_slice(line);
        if let Ok(uri) = http::Uri::try_from(uri)
            && let Ok(req) = http::Request::get(uri).body(())
        {
            let response = handle(&mut tracker, &req, &ctx, now, allow);
            assert_eq!(response.status(), 200);
            assert_eq!(response.headers()["content-type"], "text/plain");
            let v = decode(response.body()).expect("an HTTP answer is strict bencode");
            assert!(v.as_dict().is_some());
        }
    }
    assert!(tracker.swarm_count() <= 3);
    assert!(tracker.rate_table_len() <= 3);
});
