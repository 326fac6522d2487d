//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Instant;

use s3torrent_bencode::{BorrowedValue, decode};
use s3torrent_metainfo::InfoHash;
use s3torrent_tracker::{
    Announce, AnnounceResponse, Decision, Event, PeerId, PeerListForm, RequestContext, Tracker,
};

/// Every byte percent-encoded.
pub(crate) fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02x}")).collect()
}

/// A valid announce query for info-hash `[h; 20]`, peer `[p; 20]`, with `extra` appended.
pub(crate) fn query(h: u8, p: u8, port: u16, left: u64, extra: &str) -> String {
    format!(
        "info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        enc(&[h; 20]),
        enc(&[p; 20])
    )
}

pub(crate) fn hash(h: u8) -> InfoHash {
    InfoHash::from_bytes([h; 20])
}

pub(crate) fn peer_id(p: u8) -> PeerId {
    PeerId::from_bytes([p; 20])
}

pub(crate) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

pub(crate) fn ctx(remote: &str) -> RequestContext {
    RequestContext::new(addr(remote))
}

pub(crate) fn allow(_: &InfoHash) -> Decision {
    Decision::Allow
}

/// A typed announce.
pub(crate) fn ann(
    h: u8,
    p: u8,
    port: u16,
    left: u64,
    event: Event,
    numwant: Option<u64>,
) -> Announce {
    let mut a = Announce::new(hash(h), peer_id(p), port, left);
    a.event = event;
    a.numwant = numwant;
    a.form = PeerListForm::Compact;
    a
}

/// Announces and unwraps.
pub(crate) fn announce_ok(
    t: &mut Tracker,
    a: &Announce,
    c: &RequestContext,
    now: Instant,
) -> AnnounceResponse {
    t.announce(a, c, now, allow).expect("announce accepted")
}

pub(crate) fn addrs(r: &AnnounceResponse) -> Vec<SocketAddr> {
    r.peers.iter().map(|p| p.addr).collect()
}

/// Decodes a strict bencode dictionary and returns its failure reason.
pub(crate) fn failure_reason(body: &[u8]) -> String {
    let v: BorrowedValue<'_> = decode(body).expect("strict bencode");
    let d = v.as_dict().expect("a dictionary");
    assert_eq!(d.len(), 1, "only the failure reason: {v:?}");
    v.get("failure reason")
        .and_then(|r| r.as_str())
        .expect("a failure reason string")
        .to_owned()
}
