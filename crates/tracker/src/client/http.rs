//! Announcing over HTTP (BEP 3): the request target, and the bencoded
//! answer read strictly, with limits.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use s3torrent_bencode::{BorrowedValue, Decoder};
use s3torrent_metainfo::InfoHash;

use super::error::ClientError;
use super::url::TrackerUrl;
use crate::announce::{Event, PeerId};
use crate::error::shown;

/// The longest `tracker id` kept from an answer, in bytes.
pub const MAX_TRACKER_ID: usize = 256;

/// The most bytes of a tracker's text (`failure reason`, `warning
/// message`) kept, before escaping.
const MAX_TEXT: usize = 200;

/// The deepest nesting an answer needs: the answer, `peers`, a peer.
const MAX_DEPTH: usize = 3;

/// One announce this client makes (BEP 3's parameters; BEP 15's fields).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientAnnounce {
    /// The swarm.
    pub info_hash: InfoHash,
    /// This client's peer id.
    pub peer_id: PeerId,
    /// The port this client's peer listens on.
    pub port: u16,
    /// Bytes uploaded since `started` (the seed reports 0: it does not
    /// count per torrent).
    pub uploaded: u64,
    /// Bytes downloaded since `started`.
    pub downloaded: u64,
    /// Bytes still missing; 0 for a seed.
    pub left: u64,
    /// The event.
    pub event: Event,
    /// How many peers to ask for.
    pub numwant: u32,
    /// A number the tracker may use to know this client across address
    /// changes (the same for all of a process's announces).
    pub key: u32,
}

impl ClientAnnounce {
    /// A seed's announce (`left=0`, nothing up or down) with no event,
    /// asking for 50 peers.
    pub fn seed(info_hash: InfoHash, peer_id: PeerId, port: u16, key: u32) -> ClientAnnounce {
        ClientAnnounce {
            info_hash,
            peer_id,
            port,
            uploaded: 0,
            downloaded: 0,
            left: 0,
            event: Event::Regular,
            numwant: 50,
            key,
        }
    }
}

/// Appends `bytes` percent-encoded: every byte but the unreserved ones
/// (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
fn percent(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

impl TrackerUrl {
    /// The target of an HTTP GET announcing `announce` to this tracker:
    /// the URL's path and query, then `info_hash`, `peer_id`, `port`,
    /// `uploaded`, `downloaded`, `left`, `compact=1`, `numwant`, `key` (8
    /// hex digits), `event` unless regular, and `trackerid` when a previous
    /// answer gave one; binary values percent-encoded byte by byte.
    ///
    /// ```
    /// use s3torrent_metainfo::InfoHash;
    /// use s3torrent_tracker::{ClientAnnounce, Event, PeerId, TrackerUrl};
    ///
    /// let url = TrackerUrl::parse("http://t.example/announce?passkey=x")?;
    /// let mut announce = ClientAnnounce::seed(
    ///     InfoHash::from_bytes([0xab; 20]),
    ///     PeerId::from_bytes(*b"-S30100-abcdefghijkl"),
    ///     6881,
    ///     0x1234_abcd,
    /// );
    /// announce.event = Event::Started;
    /// assert_eq!(
    ///     url.announce_target(&announce, None),
    ///     format!(
    ///         "/announce?passkey=x&info_hash={}&peer_id=-S30100-abcdefghijkl&port=6881\
    ///          &uploaded=0&downloaded=0&left=0&compact=1&numwant=50&key=1234abcd&event=started",
    ///         "%AB".repeat(20)
    ///     )
    /// );
    /// # Ok::<(), s3torrent_tracker::ClientError>(())
    /// ```
    pub fn announce_target(&self, announce: &ClientAnnounce, tracker_id: Option<&[u8]>) -> String {
        let mut out = String::with_capacity(self.target().len() + 256);
        out.push_str(self.target());
        out.push(if self.target().contains('?') {
            '&'
        } else {
            '?'
        });
        out.push_str("info_hash=");
        percent(announce.info_hash.as_bytes(), &mut out);
        out.push_str("&peer_id=");
        percent(announce.peer_id.as_bytes(), &mut out);
        let _ = write!(
            out,
            "&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}&key={:08x}",
            announce.port,
            announce.uploaded,
            announce.downloaded,
            announce.left,
            announce.numwant,
            announce.key
        );
        match announce.event {
            Event::Regular => {}
            Event::Started => out.push_str("&event=started"),
            Event::Completed => out.push_str("&event=completed"),
            Event::Stopped => out.push_str("&event=stopped"),
        }
        if let Some(id) = tracker_id {
            out.push_str("&trackerid=");
            percent(id, &mut out);
        }
        out
    }
}

/// Limits on what an answer may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnswerLimits {
    /// The longest answer read, in bytes (default 64 KiB: 200 peers in the
    /// dictionary form take about 14 KiB).
    pub max_len: usize,
    /// The most peers an answer may list (default 1000), both families
    /// together.
    pub max_peers: usize,
}

impl Default for AnswerLimits {
    fn default() -> Self {
        AnswerLimits {
            max_len: 64 * 1024,
            max_peers: 1000,
        }
    }
}

/// A tracker's answer to an announce.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnounceAnswer {
    /// How long to wait before the next regular announce.
    pub interval: Duration,
    /// The shortest wait the tracker allows between announces, if it says.
    pub min_interval: Option<Duration>,
    /// Seeders in the swarm (`complete`), if it says.
    pub seeders: Option<u64>,
    /// Leechers in the swarm (`incomplete`), if it says.
    pub leechers: Option<u64>,
    /// The peers, IPv4 and IPv6, in the order given; peers with port 0 or
    /// an unspecified address, and dictionary-form peers named by a host
    /// name rather than an address, are left out (none can be dialed).
    pub peers: Vec<SocketAddr>,
    /// A `tracker id` to send back with the next announces.
    pub tracker_id: Option<Vec<u8>>,
    /// A `warning message` (escaped, shortened).
    pub warning: Option<String>,
}

impl AnnounceAnswer {
    /// An answer with this interval and nothing else.
    pub fn new(interval: Duration) -> AnnounceAnswer {
        AnnounceAnswer {
            interval,
            min_interval: None,
            seeders: None,
            leechers: None,
            peers: Vec::new(),
            tracker_id: None,
            warning: None,
        }
    }
}

/// Where `v` stands in `body` (it was decoded from it).
fn offset(body: &[u8], v: &BorrowedValue<'_>) -> Option<usize> {
    let raw = v.raw()?;
    (raw.as_ptr() as usize).checked_sub(body.as_ptr() as usize)
}

/// A usable peer: a port, and an address one can dial.
fn usable(addr: SocketAddr) -> Option<SocketAddr> {
    (addr.port() != 0 && !addr.ip().is_unspecified()).then_some(addr)
}

/// Appends the peers of a compact string: `size`-byte entries (6: IPv4,
/// 18: IPv6), each the address then the port, big-endian.
pub(crate) fn compact_peers(
    bytes: &[u8],
    size: usize,
    field: &str,
    at: Option<usize>,
    limits: &AnswerLimits,
    out: &mut Vec<SocketAddr>,
) -> Result<(), ClientError> {
    if !bytes.len().is_multiple_of(size) {
        return Err(ClientError::Field {
            field: field.to_owned(),
            expected: if size == 6 {
                "a whole number of 6-byte peers"
            } else {
                "a whole number of 18-byte peers"
            },
            at,
        });
    }
    if out.len() + bytes.len() / size > limits.max_peers {
        return Err(ClientError::TooManyPeers {
            max: limits.max_peers,
        });
    }
    for entry in bytes.chunks_exact(size) {
        let (ip, port) = entry.split_at(size - 2);
        let ip = match <[u8; 4]>::try_from(ip) {
            Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
            Err(_) => match <[u8; 16]>::try_from(ip) {
                Ok(v6) => IpAddr::V6(Ipv6Addr::from(v6)),
                Err(_) => continue,
            },
        };
        let port = u16::from_be_bytes([port[0], port[1]]);
        out.extend(usable(SocketAddr::new(ip, port)));
    }
    Ok(())
}

/// A non-negative integer field, in 32 bits (`interval`, …).
fn seconds(body: &[u8], v: &BorrowedValue<'_>, field: &str) -> Result<Duration, ClientError> {
    v.as_int()
        .and_then(|n| u32::try_from(n).ok())
        .map(|n| Duration::from_secs(u64::from(n)))
        .ok_or_else(|| ClientError::Field {
            field: field.to_owned(),
            expected: "an integer from 0 to 4294967295",
            at: offset(body, v),
        })
}

fn count(body: &[u8], v: &BorrowedValue<'_>, field: &str) -> Result<u64, ClientError> {
    v.as_int()
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| ClientError::Field {
            field: field.to_owned(),
            expected: "a non-negative integer",
            at: offset(body, v),
        })
}

fn text<'v>(body: &[u8], v: &'v BorrowedValue<'_>, field: &str) -> Result<&'v [u8], ClientError> {
    v.as_bytes().ok_or_else(|| ClientError::Field {
        field: field.to_owned(),
        expected: "a string",
        at: offset(body, v),
    })
}

/// One peer of the dictionary form: `ip` (an address; a host name is
/// skipped), `port`, and `peer id` if given (20 bytes).
fn dict_peer(
    body: &[u8],
    v: &BorrowedValue<'_>,
    index: usize,
) -> Result<Option<SocketAddr>, ClientError> {
    let field = |name: &str| format!("peers[{index}]{name}");
    let Some(d) = v.as_dict() else {
        return Err(ClientError::Field {
            field: field(""),
            expected: "a dictionary",
            at: offset(body, v),
        });
    };
    let ip = d.get("ip").ok_or_else(|| ClientError::Missing {
        field: field(".ip"),
    })?;
    let ip_text = text(body, ip, &field(".ip"))?;
    let port = d.get("port").ok_or_else(|| ClientError::Missing {
        field: field(".port"),
    })?;
    let port_number = port
        .as_int()
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| ClientError::Field {
            field: field(".port"),
            expected: "an integer from 0 to 65535",
            at: offset(body, port),
        })?;
    if let Some(id) = d.get("peer id")
        && text(body, id, &field(".peer id"))?.len() != 20
    {
        return Err(ClientError::Field {
            field: field(".peer id"),
            expected: "20 bytes",
            at: offset(body, id),
        });
    }
    // A host name cannot be dialed without a lookup: left out.
    let parsed = std::str::from_utf8(ip_text)
        .ok()
        .and_then(|t| t.parse::<IpAddr>().ok());
    Ok(parsed.and_then(|ip| usable(SocketAddr::new(ip, port_number))))
}

/// Reads a tracker's bencoded answer to an HTTP announce.
///
/// - A `failure reason` is [`ClientError::Failure`], whatever else the
///   answer holds.
/// - Otherwise `interval` is required; `min interval`, `complete`,
///   `incomplete`, `tracker id` (at most [`MAX_TRACKER_ID`] bytes),
///   `warning message`, `peers` (compact, BEP 23, or the list of
///   dictionaries, BEP 3) and `peers6` (BEP 7) are read when present, and
///   must have their types; other keys are ignored.
/// - The answer is one bencoded dictionary (keys in any order, as some
///   trackers write them, but no key twice) with nothing after it, at most
///   [`AnswerLimits::max_len`] bytes and [`AnswerLimits::max_peers`] peers,
///   nested at most three deep.
///
/// Never panics; linear in the answer's length.
///
/// ```
/// use std::time::Duration;
/// use s3torrent_tracker::{AnswerLimits, ClientError, parse_announce_answer};
///
/// let answer = parse_announce_answer(
///     b"d8:completei1e10:incompletei0e8:intervali1800e12:min intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1e",
///     &AnswerLimits::default(),
/// )?;
/// assert_eq!(answer.interval, Duration::from_secs(1800));
/// assert_eq!(answer.min_interval, Some(Duration::from_secs(900)));
/// assert_eq!(answer.peers, vec!["127.0.0.1:6881".parse().unwrap()]);
///
/// let refused = parse_announce_answer(b"d14:failure reason8:not heree", &AnswerLimits::default());
/// assert!(refused.is_err());
/// # Ok::<(), ClientError>(())
/// ```
pub fn parse_announce_answer(
    body: &[u8],
    limits: &AnswerLimits,
) -> Result<AnnounceAnswer, ClientError> {
    if body.len() > limits.max_len {
        return Err(ClientError::TooLong {
            what: "HTTP answer",
            len: body.len(),
            max: limits.max_len,
        });
    }
    let decoder = Decoder::lenient()
        .with_max_depth(MAX_DEPTH)
        .with_max_tokens(limits.max_peers.saturating_mul(8).saturating_add(64));
    let (value, end) = decoder.decode_prefix(body)?;
    if end != body.len() {
        return Err(ClientError::Field {
            field: "answer".to_owned(),
            expected: "one bencoded value with nothing after it",
            at: Some(end),
        });
    }
    let Some(d) = value.as_dict() else {
        return Err(ClientError::NotDictionary);
    };
    if let Some(reason) = d.get("failure reason") {
        let reason = text(body, reason, "failure reason")?;
        return Err(ClientError::Failure {
            reason: shown(reason, MAX_TEXT),
        });
    }
    let interval = d.get("interval").ok_or_else(|| ClientError::Missing {
        field: "interval".to_owned(),
    })?;
    let mut answer = AnnounceAnswer::new(seconds(body, interval, "interval")?);
    if let Some(v) = d.get("min interval") {
        answer.min_interval = Some(seconds(body, v, "min interval")?);
    }
    if let Some(v) = d.get("complete") {
        answer.seeders = Some(count(body, v, "complete")?);
    }
    if let Some(v) = d.get("incomplete") {
        answer.leechers = Some(count(body, v, "incomplete")?);
    }
    if let Some(v) = d.get("tracker id") {
        let id = text(body, v, "tracker id")?;
        if id.len() > MAX_TRACKER_ID {
            return Err(ClientError::Field {
                field: "tracker id".to_owned(),
                expected: "at most 256 bytes",
                at: offset(body, v),
            });
        }
        answer.tracker_id = Some(id.to_vec());
    }
    if let Some(v) = d.get("warning message") {
        answer.warning = Some(shown(text(body, v, "warning message")?, MAX_TEXT));
    }
    if let Some(v) = d.get("peers") {
        match (v.as_bytes(), v.as_list()) {
            (Some(bytes), _) => {
                compact_peers(
                    bytes,
                    6,
                    "peers",
                    offset(body, v),
                    limits,
                    &mut answer.peers,
                )?;
            }
            (None, Some(list)) => {
                if list.len() > limits.max_peers {
                    return Err(ClientError::TooManyPeers {
                        max: limits.max_peers,
                    });
                }
                for (i, p) in list.iter().enumerate() {
                    answer.peers.extend(dict_peer(body, p, i)?);
                }
            }
            (None, None) => {
                return Err(ClientError::Field {
                    field: "peers".to_owned(),
                    expected: "a string (compact) or a list of dictionaries",
                    at: offset(body, v),
                });
            }
        }
    }
    if let Some(v) = d.get("peers6") {
        let bytes = v.as_bytes().ok_or_else(|| ClientError::Field {
            field: "peers6".to_owned(),
            expected: "a string of 18-byte peers",
            at: offset(body, v),
        })?;
        compact_peers(
            bytes,
            18,
            "peers6",
            offset(body, v),
            limits,
            &mut answer.peers,
        )?;
    }
    Ok(answer)
}
