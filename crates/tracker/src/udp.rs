//! The UDP tracker protocol (BEP 15, with its IPv6 answer): packets in,
//! packets out, over the same [`Tracker`] as the HTTP one.
//!
//! Connection ids need no table: an id is a keyed hash (SHA-256, cut to 8
//! bytes) of the sender's IP and a one-minute time bucket, so the tracker
//! checks one by computing it again for the current and the previous
//! bucket. An id therefore lasts one to two minutes; BEP 15 lets a client
//! use one for a minute.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use s3torrent_metainfo::InfoHash;
use sha2::{Digest, Sha256};

use crate::announce::{Announce, Event, PeerId, PeerListForm, QueryLimits, Scrape};
use crate::error::Error;
use crate::tracker::{Decision, RequestContext, Tracker};

/// The magic constant that opens a connect request (BEP 15).
pub const UDP_PROTOCOL_ID: u64 = 0x0417_2710_1980;

/// The most info-hashes one UDP scrape may name: what fits in a packet
/// (BEP 15 says about 74), and never more than
/// [`QueryLimits::max_scrape_hashes`].
pub const UDP_MAX_SCRAPE: usize = 74;

/// The longest request packet read, in bytes: a scrape of
/// [`UDP_MAX_SCRAPE`] info-hashes. An announce's BEP 41 options, after
/// its 98 bytes, must fit in it too (they are skipped).
pub const UDP_MAX_PACKET: usize = 16 + 20 * UDP_MAX_SCRAPE;

const CONNECT: u32 = 0;
const ANNOUNCE: u32 = 1;
const SCRAPE: u32 = 2;
const ERROR: u32 = 3;

/// The length of a connect request and of an announce request's fixed part.
const CONNECT_LEN: usize = 16;
const ANNOUNCE_LEN: usize = 98;
const SCRAPE_MIN: usize = 16 + 20;

/// How long a time bucket of connection ids lasts.
const BUCKET: Duration = Duration::from_secs(60);

/// The host's secret for connection ids, and the instant time buckets count
/// from. Give every tracker process a fresh random secret (ids then die with
/// the process, which costs clients one connect).
#[derive(Clone)]
pub struct UdpKey {
    secret: [u8; 32],
    epoch: Instant,
}

impl fmt::Debug for UdpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpKey")
            .field("secret", &"<hidden>")
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl UdpKey {
    /// A key from 32 secret bytes; buckets count from `epoch`.
    pub fn new(secret: [u8; 32], epoch: Instant) -> Self {
        UdpKey { secret, epoch }
    }

    fn bucket(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_secs() / BUCKET.as_secs()
    }

    fn id(&self, ip: IpAddr, bucket: u64) -> u64 {
        let ip = match ip.to_canonical() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(bucket.to_be_bytes());
        h.update(ip.octets());
        let digest = h.finalize();
        let mut id = [0; 8];
        id.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(id)
    }

    /// The connection id for `ip` at `now`.
    pub fn connection_id(&self, ip: IpAddr, now: Instant) -> u64 {
        self.id(ip, self.bucket(now))
    }

    /// Whether `id` is one given to `ip` in this time bucket or the one
    /// before.
    pub fn verify(&self, id: u64, ip: IpAddr, now: Instant) -> bool {
        let bucket = self.bucket(now);
        self.id(ip, bucket) == id || (bucket > 0 && self.id(ip, bucket - 1) == id)
    }
}

/// One decoded UDP tracker request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UdpRequest {
    /// A connect request: it asks for a connection id.
    Connect {
        /// The client's transaction id, echoed in the answer.
        transaction_id: u32,
    },
    /// An announce.
    Announce {
        /// The connection id it carries.
        connection_id: u64,
        /// The client's transaction id.
        transaction_id: u32,
        /// The announce, as an HTTP one would say it (compact form; the
        /// `ip` field is ignored; `key` kept as its 4 bytes; a negative
        /// `num_want` is no `numwant`).
        announce: Announce,
    },
    /// A scrape: its info-hashes in the order given, repeats kept (the
    /// answer is positional).
    Scrape {
        /// The connection id it carries.
        connection_id: u64,
        /// The client's transaction id.
        transaction_id: u32,
        /// The info-hashes.
        info_hashes: Vec<InfoHash>,
    },
}

impl UdpRequest {
    /// `connect`, `announce` or `scrape`.
    pub fn action(&self) -> &'static str {
        match self {
            UdpRequest::Connect { .. } => "connect",
            UdpRequest::Announce { .. } => "announce",
            UdpRequest::Scrape { .. } => "scrape",
        }
    }
}

fn u32_at(p: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(p.get(at..at + 4).unwrap_or(&[0; 4]));
    u32::from_be_bytes(b)
}

fn u64_at(p: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(p.get(at..at + 8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(b)
}

fn bytes20(p: &[u8], at: usize) -> [u8; 20] {
    let mut b = [0; 20];
    b.copy_from_slice(p.get(at..at + 20).unwrap_or(&[0; 20]));
    b
}

fn size(action: &'static str, len: usize, min: usize, max: usize) -> Result<(), Error> {
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(Error::PacketSize {
            action,
            len,
            min,
            max,
        })
    }
}

/// The transaction id of a packet long enough to have one (16 bytes).
fn transaction_id(packet: &[u8]) -> Option<u32> {
    (packet.len() >= CONNECT_LEN).then(|| u32_at(packet, 12))
}

/// Decodes one UDP tracker request (BEP 15).
///
/// Refused, with an [`Error`] naming the field and its byte offset: a
/// packet under 16 bytes or over [`UDP_MAX_PACKET`]; an action other than
/// connect (0), announce (1) or scrape (2); a connect that is not exactly
/// 16 bytes or lacks the protocol id; an announce under 98 bytes (bytes
/// after 98, BEP 41 options, are skipped), with an event over 3 or port 0;
/// a scrape with no info-hash, a partial one, or more than
/// `limits.max_scrape_hashes` (at most [`UDP_MAX_SCRAPE`]). Never panics.
pub fn parse_udp(packet: &[u8], limits: &QueryLimits) -> Result<UdpRequest, Error> {
    size("request", packet.len(), CONNECT_LEN, UDP_MAX_PACKET)?;
    let action = u32_at(packet, 8);
    let transaction_id = u32_at(packet, 12);
    match action {
        CONNECT => {
            size("connect", packet.len(), CONNECT_LEN, CONNECT_LEN)?;
            let magic = u64_at(packet, 0);
            if magic != UDP_PROTOCOL_ID {
                return Err(Error::PacketField {
                    field: "protocol_id",
                    offset: 0,
                    expected: "0x41727101980",
                    got: format!("{magic:#x}"),
                });
            }
            Ok(UdpRequest::Connect { transaction_id })
        }
        ANNOUNCE => {
            size("announce", packet.len(), ANNOUNCE_LEN, UDP_MAX_PACKET)?;
            let event = match u32_at(packet, 80) {
                0 => Event::Regular,
                1 => Event::Completed,
                2 => Event::Started,
                3 => Event::Stopped,
                got => {
                    return Err(Error::PacketField {
                        field: "event",
                        offset: 80,
                        expected: "0 (none), 1 (completed), 2 (started) or 3 (stopped)",
                        got: got.to_string(),
                    });
                }
            };
            let port = u16::from_be_bytes([
                packet.get(96).copied().unwrap_or(0),
                packet.get(97).copied().unwrap_or(0),
            ]);
            if port == 0 {
                return Err(Error::PacketField {
                    field: "port",
                    offset: 96,
                    expected: "1 to 65535",
                    got: "0".into(),
                });
            }
            let num_want = i32::from_be_bytes(u32_at(packet, 92).to_be_bytes());
            let mut announce = Announce::new(
                InfoHash::from_bytes(bytes20(packet, 16)),
                PeerId::from_bytes(bytes20(packet, 36)),
                port,
                u64_at(packet, 64),
            );
            announce.downloaded = u64_at(packet, 56);
            announce.uploaded = u64_at(packet, 72);
            announce.event = event;
            announce.numwant = u64::try_from(num_want).ok();
            announce.form = PeerListForm::Compact;
            announce.key = Some(u32_at(packet, 88).to_be_bytes().to_vec());
            Ok(UdpRequest::Announce {
                connection_id: u64_at(packet, 0),
                transaction_id,
                announce,
            })
        }
        SCRAPE => {
            let max = limits.max_scrape_hashes.min(UDP_MAX_SCRAPE);
            size("scrape", packet.len(), SCRAPE_MIN, UDP_MAX_PACKET)?;
            let hashes = packet.get(16..).unwrap_or_default();
            let whole = hashes.len() / 20;
            if hashes.len() % 20 != 0 {
                return Err(Error::PacketField {
                    field: "info_hash",
                    offset: 16 + whole * 20,
                    expected: "20 bytes",
                    got: format!("{} bytes", hashes.len() % 20),
                });
            }
            if whole > max {
                return Err(Error::ScrapeTooMany { max });
            }
            let info_hashes = hashes
                .chunks_exact(20)
                .map(|c| InfoHash::from_bytes(bytes20(c, 0)))
                .collect();
            Ok(UdpRequest::Scrape {
                connection_id: u64_at(packet, 0),
                transaction_id,
                info_hashes,
            })
        }
        got => Err(Error::PacketField {
            field: "action",
            offset: 8,
            expected: "0 (connect), 1 (announce) or 2 (scrape)",
            got: got.to_string(),
        }),
    }
}

/// What [`Tracker::udp`] made of one packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpExchange {
    /// The packet to send back to the sender, if any: none to a packet too
    /// short to carry a transaction id.
    pub reply: Option<Vec<u8>>,
    /// The request, when it decoded.
    pub request: Option<UdpRequest>,
    /// Why the request was refused (the reply is then an error packet),
    /// or `None` when it was served.
    pub error: Option<Error>,
}

impl UdpExchange {
    /// The announce this exchange served (decoded, connection id valid, no
    /// refusal), for a host that acts on announces.
    pub fn served_announce(&self) -> Option<&Announce> {
        match (&self.request, &self.error) {
            (Some(UdpRequest::Announce { announce, .. }), None) => Some(announce),
            _ => None,
        }
    }
}

/// One UDP tracker packet decoded and its connection id checked, before
/// the tracker answers it ([`Tracker::udp_parsed`]): a host may do both
/// outside the tracker's lock, and look at the request (to decide its
/// info-hash early) without decoding it twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpParsed {
    request: Result<UdpRequest, Error>,
    len: usize,
    transaction_id: Option<u32>,
    /// Whether the request's connection id is one given to the sender
    /// lately (always `false` for a connect, which carries none).
    verified: bool,
}

impl UdpParsed {
    /// Decodes `packet` as [`parse_udp`] does (with the tracker's own
    /// query limits, `limits`) and checks its connection id, if it carries
    /// one, against `key` for `remote` at `now`.
    pub fn parse(
        packet: &[u8],
        limits: &QueryLimits,
        key: &UdpKey,
        remote: IpAddr,
        now: Instant,
    ) -> Self {
        let request = parse_udp(packet, limits);
        let verified = match &request {
            Ok(
                UdpRequest::Announce { connection_id, .. }
                | UdpRequest::Scrape { connection_id, .. },
            ) => key.verify(*connection_id, remote, now),
            _ => false,
        };
        UdpParsed {
            request,
            len: packet.len(),
            transaction_id: transaction_id(packet),
            verified,
        }
    }

    /// The request, when it decoded.
    pub fn request(&self) -> Option<&UdpRequest> {
        self.request.as_ref().ok()
    }

    /// The announce, when the packet is one whose connection id checks out
    /// (the only kind the tracker may serve).
    pub fn verified_announce(&self) -> Option<&Announce> {
        match &self.request {
            Ok(UdpRequest::Announce { announce, .. }) if self.verified => Some(announce),
            _ => None,
        }
    }
}

fn header(action: u32, transaction_id: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&action.to_be_bytes());
    out.extend_from_slice(&transaction_id.to_be_bytes());
}

fn sat32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// An error packet: action 3, the transaction id, the message; cut (at a
/// character boundary) to at most `max` bytes in all when `max` is given.
fn error_packet(transaction_id: u32, error: &Error, max: Option<usize>) -> Vec<u8> {
    let text = error.to_string();
    let mut room = max.map_or(text.len(), |m| m.saturating_sub(8));
    while room < text.len() && !text.is_char_boundary(room) {
        room -= 1;
    }
    let mut out = Vec::with_capacity(8 + room.min(text.len()));
    header(ERROR, transaction_id, &mut out);
    out.extend_from_slice(text.as_bytes().get(..room).unwrap_or(text.as_bytes()));
    out
}

impl Tracker {
    /// Answers one UDP tracker packet (BEP 15) from `ctx.remote` at `now`,
    /// over the same swarms as [`Tracker::announce`] and
    /// [`Tracker::scrape`], asking `authorize` about each info-hash as they
    /// do.
    ///
    /// - A connect gets a connection id for the sender's IP ([`UdpKey`]).
    /// - An announce or scrape must carry one given to the same IP lately,
    ///   or it is refused ([`Error::ConnectionId`]).
    /// - An announce that came over IPv4 (IPv4-mapped IPv6 included) lists
    ///   IPv4 peers, 6 bytes each; one over IPv6 lists IPv6 peers, 18 bytes
    ///   each (BEP 15's IPv6 form); the endpoint seed first, as over HTTP.
    /// - A scrape answers each info-hash in the order asked; one that
    ///   `authorize` refuses counts zero everywhere.
    /// - A refusal is an error packet (action 3) with the [`Error`]'s text.
    ///   To a request whose connection id is not verified, no answer is
    ///   longer than the request (the text is cut), so a forged source
    ///   address gains an attacker nothing; a packet under 16 bytes gets no
    ///   answer.
    pub fn udp(
        &mut self,
        packet: &[u8],
        ctx: &RequestContext,
        key: &UdpKey,
        now: Instant,
        authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> UdpExchange {
        let parsed = UdpParsed::parse(packet, &self.config().query, key, ctx.remote.ip(), now);
        self.udp_parsed(parsed, ctx, key, now, authorize)
    }

    /// Answers one UDP tracker packet that [`UdpParsed::parse`] decoded
    /// and checked (for `ctx.remote`, with this tracker's query limits and
    /// `key`), exactly as [`Tracker::udp`] answers the packet itself.
    pub fn udp_parsed(
        &mut self,
        parsed: UdpParsed,
        ctx: &RequestContext,
        key: &UdpKey,
        now: Instant,
        authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> UdpExchange {
        let UdpParsed {
            request,
            len,
            transaction_id,
            verified,
        } = parsed;
        let refuse = |request: Option<UdpRequest>, error: Error| {
            let reply = transaction_id.map(|tid| error_packet(tid, &error, Some(len)));
            UdpExchange {
                reply,
                request,
                error: Some(error),
            }
        };
        let request = match request {
            Ok(r) => r,
            Err(e) => return refuse(None, e),
        };
        let ip = ctx.remote.ip();
        let transaction_id = match &request {
            UdpRequest::Connect { transaction_id } => {
                let mut out = Vec::with_capacity(16);
                header(CONNECT, *transaction_id, &mut out);
                out.extend_from_slice(&key.connection_id(ip, now).to_be_bytes());
                return UdpExchange {
                    reply: Some(out),
                    request: Some(request),
                    error: None,
                };
            }
            UdpRequest::Announce { transaction_id, .. }
            | UdpRequest::Scrape { transaction_id, .. } => *transaction_id,
        };
        if !verified {
            return refuse(Some(request), Error::ConnectionId);
        }
        let answer = match &request {
            UdpRequest::Announce { announce, .. } => {
                self.udp_announce(announce, ctx, transaction_id, now, authorize)
            }
            UdpRequest::Scrape { info_hashes, .. } => {
                self.udp_scrape(info_hashes, ctx, transaction_id, now, authorize)
            }
            // Answered above.
            UdpRequest::Connect { .. } => Ok(Vec::new()),
        };
        match answer {
            Ok(reply) => UdpExchange {
                reply: Some(reply),
                request: Some(request),
                error: None,
            },
            Err(error) => UdpExchange {
                reply: Some(error_packet(transaction_id, &error, None)),
                request: Some(request),
                error: Some(error),
            },
        }
    }

    fn udp_announce(
        &mut self,
        announce: &Announce,
        ctx: &RequestContext,
        transaction_id: u32,
        now: Instant,
        authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> Result<Vec<u8>, Error> {
        let response = self.announce(announce, ctx, now, authorize)?;
        let over_v6 = ctx.remote.ip().to_canonical().is_ipv6();
        let mut out = Vec::with_capacity(20 + response.peers.len() * 18);
        header(ANNOUNCE, transaction_id, &mut out);
        out.extend_from_slice(&sat32(response.interval.as_secs()).to_be_bytes());
        out.extend_from_slice(&sat32(response.incomplete).to_be_bytes());
        out.extend_from_slice(&sat32(response.complete).to_be_bytes());
        for peer in &response.peers {
            match (peer.addr, over_v6) {
                (SocketAddr::V4(a), false) => out.extend_from_slice(&a.ip().octets()),
                (SocketAddr::V6(a), true) => out.extend_from_slice(&a.ip().octets()),
                _ => continue,
            }
            out.extend_from_slice(&peer.addr.port().to_be_bytes());
        }
        Ok(out)
    }

    fn udp_scrape(
        &mut self,
        info_hashes: &[InfoHash],
        ctx: &RequestContext,
        transaction_id: u32,
        now: Instant,
        authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> Result<Vec<u8>, Error> {
        let scrape = Scrape {
            info_hashes: info_hashes.to_vec(),
        };
        let response = self.scrape(&scrape, ctx, now, authorize)?;
        let mut files = response.files.iter().peekable();
        let mut out = Vec::with_capacity(8 + 12 * info_hashes.len());
        header(SCRAPE, transaction_id, &mut out);
        for hash in info_hashes {
            let (seeders, completed, leechers) = match files.next_if(|(h, _)| h == hash) {
                Some((_, s)) => (s.complete, s.downloaded, s.incomplete),
                None => (0, 0, 0),
            };
            for n in [seeders, completed, leechers] {
                out.extend_from_slice(&sat32(n).to_be_bytes());
            }
        }
        Ok(out)
    }
}
