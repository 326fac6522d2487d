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

/// Appends `n` in decimal (without the formatting machinery: this is on
/// every announce's path).
fn decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // A digit: below 10.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `n` as a `u64` (a length, which fits).
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl AnnounceResponse {
    /// The canonical bencoding of the answer: `complete`, `incomplete`,
    /// `interval`, `min interval`, and the peers: in the compact form
    /// `peers` (6 bytes per IPv4 peer, BEP 23) and, when there are IPv6
    /// peers, `peers6` (18 bytes per peer, BEP 7); in the dictionary form a
    /// `peers` list of `ip`, `peer id` (left out for the endpoint seed) and
    /// `port`.
    pub fn to_bencode(&self) -> Bytes {
        match self.form {
            PeerListForm::Compact => self.compact_bencode(),
            PeerListForm::Dict => self.dict_bencode(),
        }
    }

    /// The compact answer, written straight out: its keys are fixed, and
    /// this is the answer nearly every client asks for.
    fn compact_bencode(&self) -> Bytes {
        let v6 = self.peers.iter().filter(|p| p.addr.is_ipv6()).count();
        let v4 = self.peers.len() - v6;
        let mut out = Vec::with_capacity(96 + 6 * v4 + 18 * v6);
        out.push(b'd');
        for (key, n) in [
            (&b"8:complete"[..], self.complete),
            (b"10:incomplete", self.incomplete),
            (b"8:interval", self.interval.as_secs()),
            (b"12:min interval", self.min_interval.as_secs()),
        ] {
            out.extend_from_slice(key);
            out.push(b'i');
            decimal(n.min(i64::MAX.unsigned_abs()), &mut out);
            out.push(b'e');
        }
        out.extend_from_slice(b"5:peers");
        decimal(count(6 * v4), &mut out);
        out.push(b':');
        for p in self.peers.iter().filter(|p| p.addr.is_ipv4()) {
            compact(&p.addr, &mut out);
        }
        if v6 > 0 {
            out.extend_from_slice(b"6:peers6");
            decimal(count(18 * v6), &mut out);
            out.push(b':');
            for p in self.peers.iter().filter(|p| p.addr.is_ipv6()) {
                compact(&p.addr, &mut out);
            }
        }
        out.push(b'e');
        Bytes::from(out)
    }

    /// Any answer through the dictionary model (the compact one too, which
    /// the tests compare with [`Self::compact_bencode`]).
    fn dict_bencode(&self) -> Bytes {
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};

    use proptest::prelude::*;

    use super::*;
    use crate::announce::PeerId;
    use crate::tracker::Peer;

    fn peer() -> impl Strategy<Value = Peer> {
        (
            prop_oneof![
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u8; 16]>().prop_map(|b| IpAddr::from(Ipv6Addr::from(b))),
            ],
            any::<u16>(),
            proptest::option::of(any::<[u8; 20]>()),
        )
            .prop_map(|(ip, port, id)| Peer {
                addr: SocketAddr::new(ip, port),
                peer_id: id.map(PeerId::from_bytes),
            })
    }

    proptest! {
        /// The compact answer written straight out is the one the
        /// dictionary model encodes, byte for byte (huge counts clamped the
        /// same way, IPv4 and IPv6 peers mixed in any order).
        #[test]
        fn the_compact_answer_is_the_models(
            complete in prop_oneof![0..100u64, any::<u64>()],
            incomplete in prop_oneof![0..100u64, any::<u64>()],
            interval in any::<u64>(),
            min_interval in 0..100_000u64,
            peers in proptest::collection::vec(peer(), 0..60),
        ) {
            let r = AnnounceResponse {
                interval: Duration::from_secs(interval),
                min_interval: Duration::from_secs(min_interval),
                complete,
                incomplete,
                peers,
                form: PeerListForm::Compact,
            };
            prop_assert_eq!(r.to_bencode(), r.dict_bencode());
        }
    }
}
