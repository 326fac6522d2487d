//! A sans-IO BitTorrent HTTP tracker.
//!
//! The tracker is a state machine: no sockets, no clock reads, no threads.
//! The host passes each request, where it came from ([`RequestContext`]),
//! the time, and a decision about the info-hash ([`Decision`]); it gets the
//! answer back.
//!
//! - [`parse_announce`] reads an announce's raw query (BEP 3) strictly:
//!   exact percent-decoding, 20-byte `info_hash` and `peer_id`, a port
//!   from 1 to 65535, no repeated parameters, a bounded length
//!   ([`QueryLimits`]); [`parse_scrape`] reads a scrape's (BEP 48).
//! - [`Tracker::announce`] keeps the swarm (peers by address, expiring an
//!   interval and a grace after their last announce; `left == 0` makes a
//!   seeder), enforces every limit of [`TrackerConfig`] (swarms, peers per
//!   swarm, `numwant`, the per-client and per-address [`RateLimit`]) and answers an
//!   [`AnnounceResponse`]: seeders get leechers, leechers get both, in
//!   rotating order, never themselves; the endpoint's own seed, when the
//!   host names one, comes first.
//! - [`AnnounceResponse::to_bencode`] encodes it canonically: compact
//!   `peers` (BEP 23) and `peers6` (BEP 7), or the dictionary list.
//! - [`handle`] does all of it for an [`http::Request`]: `/announce` and
//!   `/scrape`, every refusal a bencoded `failure reason` ([`Error`]).
//!
//! - [`Tracker::udp`] answers the UDP tracker protocol (BEP 15, and its
//!   IPv6 answer) over the same swarms, so HTTP and UDP clients see each
//!   other: [`parse_udp`] decodes a packet with limits, connection ids are
//!   a keyed hash of the sender's IP and the minute ([`UdpKey`]), and no
//!   answer to an unverified sender is longer than its request.
//! - [`WsTracker`] answers WebTorrent's WebSocket tracker protocol (JSON
//!   announces carrying WebRTC offers, relayed to other browsers of the
//!   swarm, and their answers relayed back), with limits on message size,
//!   messages a second, offers, peers and swarms ([`WsConfig`]).
//! - [`TrustedProxies::client`] takes a request's client address from
//!   `X-Forwarded-For` or `Forwarded` when it came from a trusted proxy,
//!   and [`TrustedProxies::scheme`] the scheme it used ([`Scheme`]) from
//!   `X-Forwarded-Proto` or `Forwarded`'s `proto=`.
//! - The client side, for a seed that announces itself to other trackers:
//!   [`TrackerUrl`], the HTTP announce's target and its answer
//!   ([`parse_announce_answer`]), the UDP packets (BEP 15), and the
//!   [`Announcer`] schedule (see the `client` module's items below).
//!
//! Authorization stays with the host: `authorize` is asked per request,
//! and a refused info-hash never makes a swarm. [`Tracker::remove_swarm`]
//! drops one that stopped being served.
//!
//! ```
//! use std::time::Instant;
//! use s3torrent_bencode::decode;
//! use s3torrent_tracker::{Decision, RequestContext, Tracker, TrackerConfig, handle};
//!
//! let mut tracker = Tracker::new(TrackerConfig::default());
//! let now = Instant::now();
//! let allow = |_: &_| Decision::Allow;
//! // The endpoint seeds on 10.0.0.1:6881.
//! let ctx = |remote: &str| {
//!     RequestContext::new(remote.parse().unwrap()).with_endpoint_seed("10.0.0.1:6881".parse().unwrap())
//! };
//! let announce = |peer: char, port: u16, left: u32| {
//!     let uri = format!(
//!         "/announce?info_hash=%124Vx%9a%bc%de%f1%23Eg%89%ab%cd%ef%124Vx%9a&peer_id=-XX0001-{}\
//!          &port={port}&uploaded=0&downloaded=0&left={left}&compact=1&event=started",
//!         peer.to_string().repeat(12),
//!     );
//!     http::Request::get(uri).body(()).unwrap()
//! };
//!
//! // A leecher announces from 192.0.2.7: it gets the endpoint seed only.
//! let response = handle(&mut tracker, &announce('a', 6881, 100), &ctx("192.0.2.7:50000"), now, allow);
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["content-type"], "text/plain");
//! assert_eq!(
//!     &response.body()[..],
//!     b"d8:completei1e10:incompletei1e8:intervali1800e12:min intervali300e5:peers6:\x0a\x00\x00\x01\x1a\xe1e"
//! );
//!
//! // A second peer, at 192.0.2.8:6882, gets the seed, then the first peer.
//! let response = handle(&mut tracker, &announce('b', 6882, 0), &ctx("192.0.2.8:50001"), now, allow);
//! let body = decode(response.body())?;
//! assert_eq!(body.get("complete").and_then(|v| v.as_int()), Some(2));
//! assert_eq!(body.get("incomplete").and_then(|v| v.as_int()), Some(1));
//! assert_eq!(
//!     body.get("peers").and_then(|v| v.as_bytes()),
//!     Some(&[10, 0, 0, 1, 0x1a, 0xe1, 192, 0, 2, 7, 0x1a, 0xe1][..])
//! );
//!
//! // A refusal is a bencoded failure reason, with status 200.
//! let response = handle(&mut tracker, &announce('c', 0, 5), &ctx("192.0.2.9:50002"), now, allow);
//! assert_eq!(&response.body()[..], b"d14:failure reason35:port must be from 1 to 65535, got 0e");
//! # Ok::<(), s3torrent_bencode::Error>(())
//! ```

#![deny(missing_docs)]

mod adapter;
mod announce;
mod client;
mod error;
mod forwarded;
mod query;
mod rate;
mod response;
mod swarm;
mod tracker;
mod udp;
mod ws;

pub use adapter::{Route, TRACKER_CONTENT_TYPE, announce_answer, handle};
pub use announce::{
    Announce, Event, PeerId, PeerListForm, QueryLimits, Scrape, parse_announce, parse_scrape,
};
pub use client::{
    AnnounceAnswer, Announcer, AnnouncerConfig, AnswerLimits, ClientAnnounce, ClientError, Due,
    MAX_TRACKER_ID, MAX_TRACKER_URL, Outcome, PeerFamily, Taken, TrackerUrl, Transport,
    parse_announce_answer, parse_udp_announce_answer, parse_udp_connect_answer,
    udp_announce_request, udp_connect_request,
};
pub use error::{Error, Result};
pub use forwarded::{Cidr, Scheme, TrustedProxies};
pub use rate::RateLimit;
pub use tracker::{
    AnnounceResponse, Census, Decision, Peer, RequestContext, ScrapeResponse, ScrapeStats, Tracker,
    TrackerConfig,
};
pub use udp::{
    UDP_MAX_PACKET, UDP_MAX_SCRAPE, UDP_PROTOCOL_ID, UdpExchange, UdpKey, UdpParsed, UdpRequest,
    parse_udp,
};
pub use ws::{
    WsCensus, WsConfig, WsConn, WsOutcome, WsSend, WsTracker, WsVerdict, ws_announce_info_hash,
};
