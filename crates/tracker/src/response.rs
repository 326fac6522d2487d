//! The bencoded answers.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use s3torrent_bencode::{Dict, OwnedValue, Value};

use crate::announce::PeerListForm;
use crate::tracker::{AnnounceResponse, ScrapeResponse, ScrapeStats};

fn key(k: &'static str) -> Bytes {
    Bytes::from_static(k.as_bytes())
}

fn int(n: u64) -> OwnedValue {
    Value::int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn secs(d: Duration) -> OwnedValue {
    int(d.as_secs())
}

/// Appends the compact form of `addr`: the address's bytes, then the port,
/// big-endian (6 bytes for IPv4, 18 for IPv6).
fn compact(addr: &SocketAddr, out: &mut Vec<u8>) {
    match addr {
        SocketAddr::V4(a) => out.extend_from_slice(&a.ip().octets()),
        SocketAddr::V6(a) => out.extend_from_slice(&a.ip().octets()),
    }
    out.extend_from_slice(&addr.port().to_be_bytes());
}

impl AnnounceResponse {
    /// The canonical bencoding of the answer: `complete`, `incomplete`,
    /// `interval`, `min interval`, and the peers: in the compact form
    /// `peers` (6 bytes per IPv4 peer, BEP 23) and, when there are IPv6
    /// peers, `peers6` (18 bytes per peer, BEP 7); in the dictionary form a
    /// `peers` list of `ip`, `peer id` (left out for the endpoint seed) and
    /// `port`.
    pub fn to_bencode(&self) -> Bytes {
        let mut d = Dict::new();
        d.insert(key("complete"), int(self.complete));
        d.insert(key("incomplete"), int(self.incomplete));
        d.insert(key("interval"), secs(self.interval));
        d.insert(key("min interval"), secs(self.min_interval));
        match self.form {
            PeerListForm::Compact => {
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for p in &self.peers {
                    let out = if p.addr.is_ipv4() { &mut v4 } else { &mut v6 };
                    compact(&p.addr, out);
                }
                d.insert(key("peers"), Value::bytes(Bytes::from(v4)));
                if !v6.is_empty() {
                    d.insert(key("peers6"), Value::bytes(Bytes::from(v6)));
                }
            }
            PeerListForm::Dict => {
                let list = self
                    .peers
                    .iter()
                    .map(|p| {
                        let mut peer = Dict::new();
                        peer.insert(
                            key("ip"),
                            Value::bytes(Bytes::from(p.addr.ip().to_string())),
                        );
                        if let Some(id) = &p.peer_id {
                            peer.insert(
                                key("peer id"),
                                Value::bytes(Bytes::copy_from_slice(id.as_bytes())),
                            );
                        }
                        peer.insert(key("port"), int(u64::from(p.addr.port())));
                        Value::dict(peer)
                    })
                    .collect();
                d.insert(key("peers"), Value::list(list));
            }
        }
        Bytes::from(Value::dict(d).to_vec())
    }
}

fn stats(s: &ScrapeStats) -> OwnedValue {
    let mut d = Dict::new();
    d.insert(key("complete"), int(s.complete));
    d.insert(key("downloaded"), int(s.downloaded));
    d.insert(key("incomplete"), int(s.incomplete));
    Value::dict(d)
}

impl ScrapeResponse {
    /// The canonical bencoding of the answer (BEP 48): a `files`
    /// dictionary from each 20-byte info-hash to its `complete`,
    /// `downloaded` and `incomplete`.
    pub fn to_bencode(&self) -> Bytes {
        let mut files = Dict::new();
        for (hash, s) in &self.files {
            files.insert(Bytes::copy_from_slice(hash.as_bytes()), stats(s));
        }
        let mut d = Dict::new();
        d.insert(key("files"), Value::dict(files));
        Bytes::from(Value::dict(d).to_vec())
    }
}
