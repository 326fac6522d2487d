//! The crate's one error type.
//!
//! Every variant's text is what a client reads as the `failure reason` of a
//! refused announce or scrape, so each names the parameter (or limit) at
//! fault and stays short.

use std::fmt;

use bytes::Bytes;
use s3torrent_bencode::{Dict, Value};

/// Why an announce or scrape was refused.
///
/// [`Error::to_bencode`] gives the answer a tracker sends for it: a
/// dictionary whose `failure reason` is this error's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The query string is longer than [`QueryLimits::max_query_len`](crate::QueryLimits::max_query_len).
    #[error("query is {len} bytes, over the limit of {max}")]
    QueryTooLong {
        /// The query's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte that may not stand unencoded in a query (a control byte, a
    /// space, a non-ASCII byte) at byte `offset` of the query.
    #[error("byte {} at byte {offset} of the query must be percent-encoded", Hex(*.byte))]
    UnencodedByte {
        /// The byte.
        byte: u8,
        /// Its offset in the query.
        offset: usize,
    },
    /// A `%` not followed by two hexadecimal digits (`%zz`, a trailing
    /// `%4`), in parameter `param`, at byte `offset` of the query.
    #[error("invalid percent-encoding in {param} at byte {offset} of the query")]
    PercentEncoding {
        /// The parameter (or "a parameter name" when the name itself is bad).
        param: String,
        /// The offset of the `%` in the query.
        offset: usize,
    },
    /// A parameter given twice (`info_hash` in an announce, `port`, …).
    #[error("{param} is given more than once")]
    Repeated {
        /// The parameter.
        param: &'static str,
    },
    /// A required parameter is absent.
    #[error("{param} is missing")]
    Missing {
        /// The parameter.
        param: &'static str,
    },
    /// A parameter whose decoded value has the wrong length (`info_hash`,
    /// `peer_id`: 20 bytes).
    #[error("{param} must be {expected} bytes, got {got}")]
    Length {
        /// The parameter.
        param: &'static str,
        /// The required length.
        expected: usize,
        /// The decoded length.
        got: usize,
    },
    /// A numeric parameter that is not a decimal number fitting in 64 bits
    /// (`uploaded=abc`, `numwant=99999999999999999999`, `left=-1`).
    #[error("{param} must be a decimal number from 0 to 18446744073709551615")]
    Number {
        /// The parameter.
        param: &'static str,
    },
    /// `port` outside 1..=65535.
    #[error("port must be from 1 to 65535, got {got}")]
    Port {
        /// The port given.
        got: u64,
    },
    /// A parameter with a value outside its fixed set (`event`, `compact`).
    #[error("{param} must be {expected}")]
    Value {
        /// The parameter.
        param: &'static str,
        /// The values it may take.
        expected: &'static str,
    },
    /// A scrape naming no `info_hash`: full scrapes are not served.
    #[error("scrape needs at least one info_hash (full scrapes are not served)")]
    ScrapeEmpty,
    /// A scrape naming more info-hashes than
    /// [`QueryLimits::max_scrape_hashes`](crate::QueryLimits::max_scrape_hashes).
    #[error("scrape names more than {max} info_hash values")]
    ScrapeTooMany {
        /// The limit.
        max: usize,
    },
    /// The address announced (or scraped), over all its clients, more
    /// often than [`RateLimit::per_address`](crate::RateLimit::per_address)
    /// allows.
    #[error("too many announces from this address; retry later")]
    TooManyAnnounces,
    /// The client (the address and peer id; an address's scrapes) announced
    /// more often than [`RateLimit::announces`](crate::RateLimit::announces)
    /// allows.
    #[error("too many announces from this client; retry later")]
    TooManyClientAnnounces,
    /// The host refused the info-hash (see [`Decision::Refuse`](crate::Decision::Refuse)).
    #[error("info_hash {info_hash} refused: {reason}")]
    Refused {
        /// The info-hash, in hex.
        info_hash: String,
        /// The host's reason.
        reason: String,
    },
    /// The swarm table is full and no swarm in it has expired.
    #[error("tracker is full ({max} torrents); retry later")]
    TooManySwarms {
        /// The limit.
        max: usize,
    },
    /// The torrent's swarm is full and none of its peers has expired.
    #[error("swarm is full ({max} peers); retry later")]
    SwarmFull {
        /// The limit.
        max: usize,
    },
    /// A request for a path the tracker does not serve (the HTTP adapter
    /// answers `404 Not Found`).
    #[error("no tracker at {path}")]
    NotFound {
        /// The path asked for (escaped, shortened).
        path: String,
    },
    /// A UDP tracker packet (BEP 15) whose size does not fit its action:
    /// shorter than its fixed fields, or longer than the limit.
    #[error("udp {action} packet must be {min} to {max} bytes, got {len}")]
    PacketSize {
        /// The action the packet names (`connect`, `announce`, `scrape`),
        /// or `request` when it is too short to name one.
        action: &'static str,
        /// The packet's length.
        len: usize,
        /// The shortest it may be.
        min: usize,
        /// The longest it may be.
        max: usize,
    },
    /// A UDP tracker packet (BEP 15) with a field holding a value it may
    /// not: `field` at byte `offset` of the packet, and what it must be.
    #[error("udp {field} at byte {offset} must be {expected}, got {got}")]
    PacketField {
        /// The field (`protocol_id`, `action`, `event`, `port`).
        field: &'static str,
        /// Its offset in the packet.
        offset: usize,
        /// What it may be.
        expected: &'static str,
        /// What it was (in hex for `protocol_id`).
        got: String,
    },
    /// A UDP announce or scrape whose `connection_id` is not one this
    /// tracker gave the sender's address lately (forged, or expired: it
    /// lasts one to two minutes).
    #[error("udp connection_id at byte 0 is unknown or expired; connect again")]
    ConnectionId,
    /// A trusted proxy block that is neither an IP address nor
    /// `ADDRESS/PREFIX`.
    #[error(
        "trusted proxy \"{given}\" must be an IP address or ADDRESS/PREFIX \
         (a prefix up to 32 for IPv4, 128 for IPv6)"
    )]
    Cidr {
        /// What was given (escaped, shortened).
        given: String,
    },
    /// A WebSocket tracker message longer than
    /// [`WsConfig::max_message`](crate::WsConfig::max_message) (the
    /// connection is closed).
    #[error("message is {len} bytes, over the limit of {max}")]
    MessageSize {
        /// The message's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A WebSocket connection sent more messages in a second than
    /// [`WsConfig::messages_per_second`](crate::WsConfig::messages_per_second)
    /// (it is closed).
    #[error("more than {max} messages in a second on this connection")]
    TooManyMessages {
        /// The limit.
        max: u32,
    },
    /// A WebSocket tracker message that is not JSON: the parser's words,
    /// with the line and column.
    #[error("message is not JSON: {reason}")]
    Json {
        /// What the JSON parser said (shortened).
        reason: String,
    },
    /// A WebSocket connection announcing more info-hashes than
    /// [`WsConfig::max_swarms_per_connection`](crate::WsConfig::max_swarms_per_connection).
    #[error("this connection announces more than {max} torrents")]
    TooManyTorrents {
        /// The limit.
        max: usize,
    },
    /// A WebSocket announce with a `peer_id` another open connection
    /// announced in the same swarm.
    #[error("peer_id is announced in this swarm on another connection")]
    PeerElsewhere,
    /// A WebSocket `answer` to an offer that was not relayed to this peer
    /// from `to_peer_id` (or was answered, or forgotten).
    #[error("offer_id is no pending offer from to_peer_id to this peer")]
    UnknownOffer,
    /// A request with a method other than `GET` or `HEAD` (the HTTP adapter
    /// answers `405 Method Not Allowed`).
    #[error("method {method} not allowed; use GET")]
    Method {
        /// The method used (shortened).
        method: String,
    },
}

impl Error {
    /// The bencoded answer for this error: `d14:failure reason…e`.
    pub fn to_bencode(&self) -> bytes::Bytes {
        failure(&self.to_string())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

struct Hex(u8);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:02x}", self.0)
    }
}

/// Input bytes fit for a failure reason: escaped ASCII, at most `max` input
/// bytes, with `…` when shortened.
pub(crate) fn shown(bytes: &[u8], max: usize) -> String {
    let cut = bytes.get(..max).unwrap_or(bytes);
    let mut s = cut.escape_ascii().to_string();
    if cut.len() < bytes.len() {
        s.push('…');
    }
    s
}

/// `d14:failure reason<len>:<reason>e`.
fn failure(reason: &str) -> Bytes {
    let mut d = Dict::new();
    d.insert(
        Bytes::from_static(b"failure reason"),
        Value::bytes(Bytes::copy_from_slice(reason.as_bytes())),
    );
    Bytes::from(Value::dict(d).to_vec())
}
