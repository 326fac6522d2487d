//! Announce and scrape requests: their types and their strict parsers.

use std::fmt;

use s3torrent_metainfo::InfoHash;

use crate::error::{Error, Result};
use crate::query::{
    Name, check_bytes, check_unknown, decode_fixed, decode_u64, decode_vec, decode_word, params,
};

/// A peer's 20-byte id, as it announced it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId([u8; 20]);

impl PeerId {
    /// Wraps 20 bytes.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        PeerId(bytes)
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId(\"{}\")", self.0.escape_ascii())
    }
}

/// The `event` of an announce (BEP 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `event` absent or empty: one of the announces made every interval.
    Regular,
    /// `event=started`: the first announce of a download.
    Started,
    /// `event=completed`: the download finished.
    Completed,
    /// `event=stopped`: the peer leaves the swarm.
    Stopped,
}

/// How the answer lists peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerListForm {
    /// `compact=1`: `peers` is a string of 6 bytes per IPv4 peer (BEP 23),
    /// `peers6` one of 18 bytes per IPv6 peer (BEP 7).
    Compact,
    /// `compact=0` or absent: `peers` is a list of dictionaries with
    /// `peer id`, `ip` and `port` (BEP 3), both address families in it.
    Dict,
}

/// One parsed announce (BEP 3).
///
/// The `ip` parameter is read for strictness but not kept: the tracker uses
/// the address the announce came from. Unknown parameters (`supportcrypto`,
/// `no_peer_id`, `corrupt`, …) are ignored, but still percent-decoded
/// strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Announce {
    /// `info_hash`: the swarm (a v1 info-hash, or a v2 one truncated to 20 bytes).
    pub info_hash: InfoHash,
    /// `peer_id`.
    pub peer_id: PeerId,
    /// `port`: where the peer listens, 1..=65535.
    pub port: u16,
    /// `uploaded`: bytes uploaded since `started`.
    pub uploaded: u64,
    /// `downloaded`: bytes downloaded since `started`.
    pub downloaded: u64,
    /// `left`: bytes still missing; 0 makes the peer a seeder.
    pub left: u64,
    /// `event`.
    pub event: Event,
    /// `numwant` as asked (the tracker clamps it); `None` when absent.
    pub numwant: Option<u64>,
    /// `compact`.
    pub form: PeerListForm,
    /// `key`: the client's private identification, if given.
    pub key: Option<Vec<u8>>,
    /// `trackerid`: what a previous answer's `tracker id` said, if given.
    pub tracker_id: Option<Vec<u8>>,
}

impl Announce {
    /// An announce with the given identity and `left`, no event, no
    /// `numwant`, compact form, zero `uploaded` and `downloaded`; set the
    /// other fields as needed.
    pub fn new(info_hash: InfoHash, peer_id: PeerId, port: u16, left: u64) -> Self {
        Announce {
            info_hash,
            peer_id,
            port,
            uploaded: 0,
            downloaded: 0,
            left,
            event: Event::Regular,
            numwant: None,
            form: PeerListForm::Compact,
            key: None,
            tracker_id: None,
        }
    }
}

/// Limits on what a query may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryLimits {
    /// The longest query string accepted, in bytes (default 4096; a real
    /// announce is about 300).
    pub max_query_len: usize,
    /// The most `info_hash` values one scrape may name (default 64).
    pub max_scrape_hashes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            max_query_len: 4096,
            max_scrape_hashes: 64,
        }
    }
}

impl QueryLimits {
    /// Limits with the given query length and scrape count.
    pub fn new(max_query_len: usize, max_scrape_hashes: usize) -> Self {
        QueryLimits {
            max_query_len,
            max_scrape_hashes,
        }
    }
}

fn set<T>(slot: &mut Option<T>, value: T, param: &'static str) -> Result<()> {
    if slot.is_some() {
        return Err(Error::Repeated { param });
    }
    *slot = Some(value);
    Ok(())
}

fn start(query: &[u8], limits: &QueryLimits) -> Result<()> {
    if query.len() > limits.max_query_len {
        return Err(Error::QueryTooLong {
            len: query.len(),
            max: limits.max_query_len,
        });
    }
    check_bytes(query)
}

/// Parses an announce's raw query string (everything after `?`, still
/// percent-encoded).
///
/// Refused, with an [`Error`] naming the parameter: a query over
/// [`QueryLimits::max_query_len`]; bytes that must be percent-encoded;
/// invalid percent-encoding anywhere (`%zz`, a truncated `%4`); any known
/// parameter given twice; a missing `info_hash`, `peer_id`, `port`,
/// `uploaded`, `downloaded` or `left`; an `info_hash` or `peer_id` that does
/// not decode to 20 bytes; `port` 0 or over 65535; numbers that are not
/// decimal or do not fit in 64 bits; an `event` other than `started`,
/// `completed`, `stopped` or empty; `compact` other than 0 or 1.
///
/// Linear in the query's length; allocates only for `key` and `trackerid`,
/// never more than their encoded length.
pub fn parse_announce(query: impl AsRef<[u8]>, limits: &QueryLimits) -> Result<Announce> {
    let query = query.as_ref();
    start(query, limits)?;
    let mut info_hash = None;
    let mut peer_id = None;
    let mut port = None;
    let mut uploaded = None;
    let mut downloaded = None;
    let mut left = None;
    let mut event = None;
    let mut numwant = None;
    let mut form = None;
    let mut key = None;
    let mut tracker_id = None;
    let mut ip = None;
    for p in params(query) {
        let name = Name::decode(&p)?;
        match name.known().unwrap_or_default() {
            b"info_hash" => set(
                &mut info_hash,
                decode_fixed::<20>(&p, "info_hash")?,
                "info_hash",
            )?,
            b"peer_id" => set(&mut peer_id, decode_fixed::<20>(&p, "peer_id")?, "peer_id")?,
            b"port" => {
                let got = decode_u64(&p, "port")?;
                let port_value = u16::try_from(got)
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or(Error::Port { got })?;
                set(&mut port, port_value, "port")?
            }
            b"uploaded" => set(&mut uploaded, decode_u64(&p, "uploaded")?, "uploaded")?,
            b"downloaded" => set(&mut downloaded, decode_u64(&p, "downloaded")?, "downloaded")?,
            b"left" => set(&mut left, decode_u64(&p, "left")?, "left")?,
            b"event" => {
                let word = decode_word::<9>(&p, "event")?;
                let value = match word.as_ref().map(|(w, len)| w.get(..*len)) {
                    Some(Some(b"")) => Event::Regular,
                    Some(Some(b"started")) => Event::Started,
                    Some(Some(b"completed")) => Event::Completed,
                    Some(Some(b"stopped")) => Event::Stopped,
                    _ => {
                        return Err(Error::Value {
                            param: "event",
                            expected: "started, completed, stopped or empty",
                        });
                    }
                };
                set(&mut event, value, "event")?
            }
            b"numwant" => set(&mut numwant, decode_u64(&p, "numwant")?, "numwant")?,
            b"compact" => {
                let value = match decode_u64(&p, "compact") {
                    Ok(0) => PeerListForm::Dict,
                    Ok(1) => PeerListForm::Compact,
                    _ => {
                        return Err(Error::Value {
                            param: "compact",
                            expected: "0 or 1",
                        });
                    }
                };
                set(&mut form, value, "compact")?
            }
            b"key" => set(&mut key, decode_vec(&p, "key")?, "key")?,
            b"trackerid" => set(&mut tracker_id, decode_vec(&p, "trackerid")?, "trackerid")?,
            b"ip" => {
                // Read to check it, never trusted.
                check_unknown(&p)?;
                set(&mut ip, (), "ip")?
            }
            _ => check_unknown(&p)?,
        }
    }
    Ok(Announce {
        info_hash: InfoHash::from_bytes(info_hash.ok_or(Error::Missing { param: "info_hash" })?),
        peer_id: PeerId(peer_id.ok_or(Error::Missing { param: "peer_id" })?),
        port: port.ok_or(Error::Missing { param: "port" })?,
        uploaded: uploaded.ok_or(Error::Missing { param: "uploaded" })?,
        downloaded: downloaded.ok_or(Error::Missing {
            param: "downloaded",
        })?,
        left: left.ok_or(Error::Missing { param: "left" })?,
        event: event.unwrap_or(Event::Regular),
        numwant,
        form: form.unwrap_or(PeerListForm::Dict),
        key,
        tracker_id,
    })
}

/// One parsed scrape (BEP 48): the info-hashes asked about, without
/// duplicates, in the order first given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scrape {
    /// The info-hashes.
    pub info_hashes: Vec<InfoHash>,
}

/// Parses a scrape's raw query string: one or more `info_hash` parameters
/// (at most [`QueryLimits::max_scrape_hashes`]), each 20 bytes; other
/// parameters are ignored (but percent-decoded strictly). A scrape with no
/// `info_hash` (a full scrape) is refused.
pub fn parse_scrape(query: impl AsRef<[u8]>, limits: &QueryLimits) -> Result<Scrape> {
    let query = query.as_ref();
    start(query, limits)?;
    let mut info_hashes: Vec<InfoHash> = Vec::new();
    for p in params(query) {
        let name = Name::decode(&p)?;
        if name.known() == Some(b"info_hash") {
            let hash = InfoHash::from_bytes(decode_fixed::<20>(&p, "info_hash")?);
            if !info_hashes.contains(&hash) {
                if info_hashes.len() >= limits.max_scrape_hashes {
                    return Err(Error::ScrapeTooMany {
                        max: limits.max_scrape_hashes,
                    });
                }
                info_hashes.push(hash);
            }
        } else {
            check_unknown(&p)?;
        }
    }
    if info_hashes.is_empty() {
        return Err(Error::ScrapeEmpty);
    }
    Ok(Scrape { info_hashes })
}
