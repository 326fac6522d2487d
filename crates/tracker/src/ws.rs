//! The WebSocket tracker protocol of WebTorrent (the one `bittorrent-tracker`
//! and `aquatic_ws` speak): JSON text messages in, JSON text messages out,
//! per connection, with no WebRTC of its own.
//!
//! A browser announces an info-hash with WebRTC `offers`; the tracker hands
//! each offer to another peer of the same swarm, whose `answer` it hands
//! back to the offering peer. Info-hashes, peer ids and offer ids are JSON
//! strings of 20 characters, each U+0000 to U+00FF (one byte each, as
//! JavaScript's "binary strings").
//!
//! The host owns the sockets: it names each connection with a [`WsConn`],
//! passes each text message with the time and a decision per info-hash
//! ([`WsTracker::message`]), sends what [`WsOutcome`] says to whom, and
//! reports a closed connection ([`WsTracker::disconnect`]). Peers live as
//! long as their connection and no longer than an interval and a grace past
//! their last announce.
//!
//! ```
//! use std::time::Instant;
//! use s3torrent_tracker::{Decision, WsConfig, WsConn, WsTracker};
//!
//! let mut tracker = WsTracker::new(WsConfig::default());
//! let now = Instant::now();
//! let allow = |_: &_| Decision::Allow;
//! let hash = "H".repeat(20);
//! // A seeder announces on connection 1, with no offers.
//! let seeder = format!(
//!     r#"{{"action":"announce","info_hash":"{hash}","peer_id":"{}","left":0,"event":"started","offers":[]}}"#,
//!     "s".repeat(20)
//! );
//! let out = tracker.message(WsConn(1), &seeder, now, allow);
//! assert_eq!(out.sends.len(), 1);
//! assert!(out.sends[0].text.contains(r#""complete":1"#));
//! // A leecher on connection 2 offers: the offer goes to connection 1.
//! let leecher = format!(
//!     r#"{{"action":"announce","info_hash":"{hash}","peer_id":"{}","left":5,"numwant":5,
//!         "offers":[{{"offer":{{"type":"offer","sdp":"x"}},"offer_id":"{}"}}]}}"#,
//!     "l".repeat(20),
//!     "o".repeat(20)
//! );
//! let out = tracker.message(WsConn(2), &leecher, now, allow);
//! assert_eq!(out.sends.len(), 2);
//! assert_eq!(out.sends[1].to, WsConn(1));
//! assert!(out.sends[1].text.contains(r#""offer_id":"oooooooooooooooooooo""#));
//! ```

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use s3torrent_metainfo::InfoHash;
use serde_json::{Map, Value};

use crate::announce::PeerId;
use crate::error::{Error, shown};
use crate::tracker::Decision;

/// Every limit and timing of a [`WsTracker`]. The defaults suit a public
/// endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsConfig {
    /// The longest message read, in bytes (default 64 KiB: a few WebRTC
    /// offers); a longer one closes the connection.
    pub max_message: usize,
    /// The most messages a connection may send in one second (default 20);
    /// past it the connection is closed.
    pub messages_per_second: u32,
    /// The most offers relayed from one announce (default 10, what
    /// `bittorrent-tracker`'s client sends at most); further ones are
    /// dropped.
    pub max_offers: usize,
    /// The most peers in one swarm (default 1,000).
    pub max_peers_per_swarm: usize,
    /// The most swarms held at once (default 10,000).
    pub max_swarms: usize,
    /// The most info-hashes one connection announces (default 32).
    pub max_swarms_per_connection: usize,
    /// The most offers a peer holds unanswered (default 64); the oldest is
    /// forgotten for a newer one.
    pub max_pending_offers: usize,
    /// The most info-hashes one scrape names (default 64).
    pub max_scrape: usize,
    /// The answers' `interval` (default 120 s).
    pub interval: Duration,
    /// How long past `interval` a silent peer stays (default 120 s).
    pub peer_grace: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            max_message: 64 * 1024,
            messages_per_second: 20,
            max_offers: 10,
            max_peers_per_swarm: 1000,
            max_swarms: 10_000,
            max_swarms_per_connection: 32,
            max_pending_offers: 64,
            max_scrape: 64,
            interval: Duration::from_secs(120),
            peer_grace: Duration::from_secs(120),
        }
    }
}

/// A connection, as the host names it (unique while it is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WsConn(pub u64);

/// One message for the host to send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsSend {
    /// The connection to send it on.
    pub to: WsConn,
    /// The JSON text.
    pub text: String,
}

/// Whether the host keeps the connection after a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsVerdict {
    /// Keep it.
    Keep,
    /// Close it (too long a message, too many): the error says why. The
    /// tracker already forgot the connection's peers.
    Close(Error),
}

/// What one message made: the messages to send, in order, and whether the
/// connection stays.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsOutcome {
    /// What to send, to whom.
    pub sends: Vec<WsSend>,
    /// Keep or close the sender's connection.
    pub verdict: WsVerdict,
    /// The request as read, when it was read: `announce` or `scrape`,
    /// for the log.
    pub action: Option<&'static str>,
    /// The info-hash the message named (an announce's), for the log.
    pub info_hash: Option<InfoHash>,
    /// Why the message was refused (its answer carries this as `failure
    /// reason`), if it was.
    pub error: Option<Error>,
}

impl WsOutcome {
    fn new() -> Self {
        WsOutcome {
            sends: Vec::new(),
            verdict: WsVerdict::Keep,
            action: None,
            info_hash: None,
            error: None,
        }
    }
}

/// How many swarms and peers a [`WsTracker`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsCensus {
    /// Swarms with a peer.
    pub swarms: u64,
    /// Peers over all swarms.
    pub peers: u64,
    /// Open connections known.
    pub connections: u64,
}

/// An offer relayed to a peer and not yet answered: who made it.
#[derive(Debug, Clone, Copy)]
struct Pending {
    offer_id: [u8; 20],
    from: PeerId,
}

#[derive(Debug)]
struct WsPeer {
    conn: WsConn,
    seeder: bool,
    seen: Instant,
    pending: VecDeque<Pending>,
}

#[derive(Debug, Default)]
struct WsSwarm {
    peers: HashMap<PeerId, WsPeer>,
    /// Peer ids in arrival order, for rotating whom offers go to.
    order: Vec<PeerId>,
    cursor: usize,
    downloaded: u64,
}

impl WsSwarm {
    fn remove(&mut self, id: &PeerId) {
        if self.peers.remove(id).is_some() {
            self.order.retain(|p| p != id);
        }
    }

    fn counts(&self) -> (u64, u64) {
        let seeders = self.peers.values().filter(|p| p.seeder).count();
        let leechers = self.peers.len() - seeders;
        (count(seeders), count(leechers))
    }

    fn expire(&mut self, now: Instant, ttl: Duration) {
        let before = self.peers.len();
        self.peers
            .retain(|_, p| now.saturating_duration_since(p.seen) <= ttl);
        if self.peers.len() != before {
            let peers = &self.peers;
            self.order.retain(|id| peers.contains_key(id));
        }
    }
}

#[derive(Debug)]
struct ConnState {
    /// The (info-hash, peer id) pairs announced on this connection.
    announced: Vec<(InfoHash, PeerId)>,
    window: Instant,
    messages: u32,
}

/// A sans-IO WebSocket tracker: no sockets, no clock. See the module's
/// documentation.
#[derive(Debug)]
pub struct WsTracker {
    config: WsConfig,
    swarms: HashMap<InfoHash, WsSwarm>,
    conns: HashMap<WsConn, ConnState>,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A JSON string of exactly 20 characters each U+0000 to U+00FF, as bytes.
fn binary20(value: Option<&Value>, field: &'static str) -> Result<[u8; 20], Error> {
    let Some(value) = value else {
        return Err(Error::Missing { param: field });
    };
    let Some(text) = value.as_str() else {
        return Err(Error::Value {
            param: field,
            expected: "a string of 20 characters",
        });
    };
    let mut out = [0u8; 20];
    let mut n = 0;
    for c in text.chars() {
        let byte = u8::try_from(u32::from(c)).map_err(|_| Error::Value {
            param: field,
            expected: "a binary string (characters U+0000 to U+00FF)",
        })?;
        if let Some(slot) = out.get_mut(n) {
            *slot = byte;
        }
        n += 1;
    }
    if n != 20 {
        return Err(Error::Length {
            param: field,
            expected: 20,
            got: n,
        });
    }
    Ok(out)
}

/// The 20 bytes as a JSON binary string (one character per byte).
fn binary_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// A non-negative number, or `None` when absent or `null`.
fn number(object: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, Error> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            if let Some(n) = v.as_u64() {
                return Ok(Some(n));
            }
            match v.as_f64() {
                // JavaScript numbers: whole or not, never negative.
                Some(f) if f >= 0.0 && f.is_finite() => Ok(Some(f as u64)),
                _ => Err(Error::Number { param: field }),
            }
        }
    }
}

/// What one announce says.
struct WsAnnounce {
    info_hash: InfoHash,
    peer_id: PeerId,
    left: Option<u64>,
    numwant: Option<u64>,
    event: WsEvent,
    offers: Vec<(Value, [u8; 20])>,
    answer: Option<(Value, [u8; 20], PeerId)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WsEvent {
    None,
    Started,
    Completed,
    Stopped,
}

enum WsRequest {
    Announce(Box<WsAnnounce>),
    Scrape(Vec<InfoHash>),
}

/// The info-hash an announce message names, read with `max_message` as
/// the longest message: for a host that decides about it before it takes
/// the tracker's lock. `None` for anything else.
pub fn ws_announce_info_hash(text: &str, max_message: usize) -> Option<InfoHash> {
    if text.len() > max_message {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    if object.get("action")?.as_str()? != "announce" {
        return None;
    }
    binary20(object.get("info_hash"), "info_hash")
        .ok()
        .map(InfoHash::from_bytes)
}

fn parse(object: &Map<String, Value>, config: &WsConfig) -> Result<WsRequest, Error> {
    let action = match object.get("action") {
        None => return Err(Error::Missing { param: "action" }),
        Some(a) => a.as_str().unwrap_or_default(),
    };
    match action {
        "announce" => {
            let info_hash = InfoHash::from_bytes(binary20(object.get("info_hash"), "info_hash")?);
            let peer_id = PeerId::from_bytes(binary20(object.get("peer_id"), "peer_id")?);
            let event = match object.get("event") {
                None | Some(Value::Null) => WsEvent::None,
                Some(v) => match v.as_str() {
                    Some("started") => WsEvent::Started,
                    Some("completed") => WsEvent::Completed,
                    Some("stopped") => WsEvent::Stopped,
                    Some("update") | Some("") => WsEvent::None,
                    _ => {
                        return Err(Error::Value {
                            param: "event",
                            expected: "started, completed, stopped, update or absent",
                        });
                    }
                },
            };
            let mut offers = Vec::new();
            match object.get("offers") {
                None | Some(Value::Null) => {}
                Some(Value::Array(list)) => {
                    for offer in list.iter().take(config.max_offers) {
                        let Some(o) = offer.as_object() else {
                            return Err(Error::Value {
                                param: "offers",
                                expected: "a list of {offer, offer_id} objects",
                            });
                        };
                        let sdp = match o.get("offer") {
                            Some(v @ Value::Object(_)) => v.clone(),
                            _ => {
                                return Err(Error::Value {
                                    param: "offer",
                                    expected: "an object (a WebRTC session description)",
                                });
                            }
                        };
                        offers.push((sdp, binary20(o.get("offer_id"), "offer_id")?));
                    }
                }
                Some(_) => {
                    return Err(Error::Value {
                        param: "offers",
                        expected: "a list of {offer, offer_id} objects",
                    });
                }
            }
            let answer = match object.get("answer") {
                None | Some(Value::Null) => None,
                Some(v @ Value::Object(_)) => Some((
                    v.clone(),
                    binary20(object.get("offer_id"), "offer_id")?,
                    PeerId::from_bytes(binary20(object.get("to_peer_id"), "to_peer_id")?),
                )),
                Some(_) => {
                    return Err(Error::Value {
                        param: "answer",
                        expected: "an object (a WebRTC session description)",
                    });
                }
            };
            Ok(WsRequest::Announce(Box::new(WsAnnounce {
                info_hash,
                peer_id,
                left: number(object, "left")?,
                numwant: number(object, "numwant")?,
                event,
                offers,
                answer,
            })))
        }
        "scrape" => {
            let hashes = match object.get("info_hash") {
                None | Some(Value::Null) => return Err(Error::ScrapeEmpty),
                Some(Value::Array(list)) => {
                    if list.len() > config.max_scrape {
                        return Err(Error::ScrapeTooMany {
                            max: config.max_scrape,
                        });
                    }
                    list.iter()
                        .map(|v| binary20(Some(v), "info_hash").map(InfoHash::from_bytes))
                        .collect::<Result<Vec<_>, _>>()?
                }
                Some(v) => vec![InfoHash::from_bytes(binary20(Some(v), "info_hash")?)],
            };
            if hashes.is_empty() {
                return Err(Error::ScrapeEmpty);
            }
            Ok(WsRequest::Scrape(hashes))
        }
        _ => Err(Error::Value {
            param: "action",
            expected: "announce or scrape",
        }),
    }
}

fn json(value: Value) -> String {
    value.to_string()
}

impl Default for WsTracker {
    fn default() -> Self {
        WsTracker::new(WsConfig::default())
    }
}

impl WsTracker {
    /// A tracker with no swarms.
    pub fn new(config: WsConfig) -> Self {
        WsTracker {
            config,
            swarms: HashMap::new(),
            conns: HashMap::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &WsConfig {
        &self.config
    }

    /// How many swarms, peers and connections it holds.
    pub fn census(&self) -> WsCensus {
        WsCensus {
            swarms: count(self.swarms.len()),
            peers: self.swarms.values().map(|s| count(s.peers.len())).sum(),
            connections: count(self.conns.len()),
        }
    }

    /// Forgets connection `conn` and every peer announced on it.
    pub fn disconnect(&mut self, conn: WsConn) {
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        for (info_hash, peer_id) in state.announced {
            if let Some(swarm) = self.swarms.get_mut(&info_hash) {
                if swarm.peers.get(&peer_id).is_some_and(|p| p.conn == conn) {
                    swarm.remove(&peer_id);
                }
                if swarm.peers.is_empty() {
                    self.swarms.remove(&info_hash);
                }
            }
        }
    }

    /// Removes every peer silent for longer than the interval and the
    /// grace, and every swarm left empty. Linear in the peers held.
    pub fn expire(&mut self, now: Instant) {
        let ttl = self.config.interval.saturating_add(self.config.peer_grace);
        self.swarms.retain(|_, swarm| {
            swarm.expire(now, ttl);
            !swarm.peers.is_empty()
        });
    }

    /// Drops the swarm of `info_hash` (it stopped being served).
    pub fn remove_swarm(&mut self, info_hash: &InfoHash) -> bool {
        self.swarms.remove(info_hash).is_some()
    }

    /// Reads one text message from `conn` at `now`, asking `authorize`
    /// about each info-hash it names, and says what to send to whom.
    ///
    /// A message longer than [`WsConfig::max_message`], or one past
    /// [`WsConfig::messages_per_second`], closes the connection. A message
    /// that is not a JSON object with a known `action`, or whose fields are
    /// wrong (an info-hash that is not 20 binary characters, say), or whose
    /// info-hash `authorize` refuses, gets an answer with `failure reason`.
    /// Never panics; the work is linear in the message's length.
    pub fn message(
        &mut self,
        conn: WsConn,
        text: &str,
        now: Instant,
        mut authorize: impl FnMut(&InfoHash) -> Decision,
    ) -> WsOutcome {
        let mut out = WsOutcome::new();
        if text.len() > self.config.max_message {
            self.disconnect(conn);
            out.verdict = WsVerdict::Close(Error::MessageSize {
                len: text.len(),
                max: self.config.max_message,
            });
            return out;
        }
        let state = self.conns.entry(conn).or_insert(ConnState {
            announced: Vec::new(),
            window: now,
            messages: 0,
        });
        if now.saturating_duration_since(state.window) >= Duration::from_secs(1) {
            state.window = now;
            state.messages = 0;
        }
        state.messages = state.messages.saturating_add(1);
        if state.messages > self.config.messages_per_second {
            self.disconnect(conn);
            out.verdict = WsVerdict::Close(Error::TooManyMessages {
                max: self.config.messages_per_second,
            });
            return out;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let error = Error::Json {
                    reason: shown(e.to_string().as_bytes(), 120),
                };
                out.sends.push(WsSend {
                    to: conn,
                    text: failure(None, None, &error),
                });
                out.error = Some(error);
                return out;
            }
        };
        let Some(object) = value.as_object() else {
            let error = Error::Value {
                param: "message",
                expected: "a JSON object",
            };
            out.sends.push(WsSend {
                to: conn,
                text: failure(None, None, &error),
            });
            out.error = Some(error);
            return out;
        };
        let action = match object.get("action").and_then(Value::as_str) {
            Some("scrape") => "scrape",
            _ => "announce",
        };
        out.action = Some(action);
        let request = match parse(object, &self.config) {
            Ok(r) => r,
            Err(error) => {
                let hash = binary20(object.get("info_hash"), "info_hash").ok();
                out.sends.push(WsSend {
                    to: conn,
                    text: failure(Some(action), hash.as_ref().map(|h| &h[..]), &error),
                });
                out.error = Some(error);
                return out;
            }
        };
        match request {
            WsRequest::Scrape(hashes) => {
                let mut files = Map::new();
                for hash in hashes {
                    if authorize(&hash) != Decision::Allow {
                        continue;
                    }
                    let (complete, incomplete, downloaded) =
                        self.swarms.get(&hash).map_or((0, 0, 0), |s| {
                            let (c, i) = s.counts();
                            (c, i, s.downloaded)
                        });
                    files.insert(
                        binary_string(hash.as_bytes()),
                        serde_json::json!({
                            "complete": complete,
                            "incomplete": incomplete,
                            "downloaded": downloaded,
                        }),
                    );
                }
                out.sends.push(WsSend {
                    to: conn,
                    text: json(serde_json::json!({"action": "scrape", "files": files})),
                });
            }
            WsRequest::Announce(announce) => {
                out.info_hash = Some(announce.info_hash);
                if let Err(error) = self.announce(conn, &announce, now, &mut authorize, &mut out) {
                    out.sends.push(WsSend {
                        to: conn,
                        text: failure(
                            Some("announce"),
                            Some(announce.info_hash.as_bytes()),
                            &error,
                        ),
                    });
                    out.error = Some(error);
                }
            }
        }
        out
    }

    fn announce(
        &mut self,
        conn: WsConn,
        a: &WsAnnounce,
        now: Instant,
        authorize: &mut impl FnMut(&InfoHash) -> Decision,
        out: &mut WsOutcome,
    ) -> Result<(), Error> {
        if let Decision::Refuse(reason) = authorize(&a.info_hash) {
            self.remove_peer(&a.info_hash, &a.peer_id, conn);
            return Err(Error::Refused {
                info_hash: a.info_hash.to_hex(),
                reason,
            });
        }
        let ttl = self.config.interval.saturating_add(self.config.peer_grace);
        let hash_text = binary_string(a.info_hash.as_bytes());
        let peer_text = binary_string(a.peer_id.as_bytes());
        // The answer to a relayed offer: back to the peer that made it, if
        // it was made to this peer (announced on this connection) and is
        // still pending. No announce answer to an answer (as
        // bittorrent-tracker), and nothing else of the message is used.
        if let Some((answer, offer_id, to)) = &a.answer {
            let me = self
                .swarms
                .get_mut(&a.info_hash)
                .and_then(|s| s.peers.get_mut(&a.peer_id))
                .filter(|p| p.conn == conn)
                .ok_or(Error::UnknownOffer)?;
            let at = me
                .pending
                .iter()
                .position(|p| p.offer_id == *offer_id && p.from == *to)
                .ok_or(Error::UnknownOffer)?;
            me.pending.remove(at);
            me.seen = now;
            if let Some(target) = self.swarms.get(&a.info_hash).and_then(|s| s.peers.get(to)) {
                out.sends.push(WsSend {
                    to: target.conn,
                    text: json(serde_json::json!({
                        "action": "announce",
                        "answer": answer,
                        "offer_id": binary_string(offer_id),
                        "peer_id": peer_text,
                        "info_hash": hash_text,
                    })),
                });
            }
            return Ok(());
        }
        if a.event == WsEvent::Stopped {
            self.remove_peer(&a.info_hash, &a.peer_id, conn);
            let (complete, incomplete) = self
                .swarms
                .get(&a.info_hash)
                .map_or((0, 0), WsSwarm::counts);
            out.sends.push(WsSend {
                to: conn,
                text: json(serde_json::json!({
                    "action": "announce",
                    "interval": self.config.interval.as_secs(),
                    "info_hash": hash_text,
                    "complete": complete,
                    "incomplete": incomplete,
                })),
            });
            return Ok(());
        }
        // Room: for the swarm, for the peer, for the connection's swarms.
        if !self.swarms.contains_key(&a.info_hash) {
            if self.swarms.len() >= self.config.max_swarms {
                self.expire(now);
            }
            if self.swarms.len() >= self.config.max_swarms {
                return Err(Error::TooManySwarms {
                    max: self.config.max_swarms,
                });
            }
        }
        let state = self.conns.get_mut(&conn).ok_or(Error::TooManyMessages {
            max: self.config.messages_per_second,
        })?;
        let known = state
            .announced
            .iter()
            .any(|(h, p)| *h == a.info_hash && *p == a.peer_id);
        if !known && state.announced.len() >= self.config.max_swarms_per_connection {
            return Err(Error::TooManyTorrents {
                max: self.config.max_swarms_per_connection,
            });
        }
        let swarm = self.swarms.entry(a.info_hash).or_default();
        match swarm.peers.get(&a.peer_id) {
            Some(p) if p.conn != conn && self.conns.contains_key(&p.conn) => {
                return Err(Error::PeerElsewhere);
            }
            Some(_) => {}
            None => {
                if swarm.peers.len() >= self.config.max_peers_per_swarm {
                    swarm.expire(now, ttl);
                }
                if swarm.peers.len() >= self.config.max_peers_per_swarm {
                    return Err(Error::SwarmFull {
                        max: self.config.max_peers_per_swarm,
                    });
                }
                swarm.order.push(a.peer_id);
            }
        }
        let peer = swarm.peers.entry(a.peer_id).or_insert(WsPeer {
            conn,
            seeder: false,
            seen: now,
            pending: VecDeque::new(),
        });
        peer.conn = conn;
        peer.seen = now;
        if let Some(left) = a.left {
            peer.seeder = left == 0;
        }
        if a.event == WsEvent::Completed {
            peer.seeder = true;
            swarm.downloaded = swarm.downloaded.saturating_add(1);
        }
        let seeder = peer.seeder;
        if !known && let Some(state) = self.conns.get_mut(&conn) {
            state.announced.push((a.info_hash, a.peer_id));
        }
        let (complete, incomplete) = swarm.counts();
        out.sends.push(WsSend {
            to: conn,
            text: json(serde_json::json!({
                "action": "announce",
                "interval": self.config.interval.as_secs(),
                "info_hash": hash_text,
                "complete": complete,
                "incomplete": incomplete,
            })),
        });
        // The offers: each to another live peer, in rotating order, never
        // seeder to seeder.
        let want = a
            .numwant
            .map_or(a.offers.len(), |n| usize::try_from(n).unwrap_or(usize::MAX))
            .min(a.offers.len());
        let mut offers = a.offers.iter().take(want);
        let n = swarm.order.len();
        let start = swarm.cursor;
        let mut sent = 0;
        for step in 0..n {
            let Some(id) = swarm.order.get((start + step) % n).copied() else {
                break;
            };
            if id == a.peer_id {
                continue;
            }
            let Some(target) = swarm.peers.get_mut(&id) else {
                continue;
            };
            if (seeder && target.seeder) || now.saturating_duration_since(target.seen) > ttl {
                continue;
            }
            let Some((sdp, offer_id)) = offers.next() else {
                break;
            };
            if target.pending.len() >= self.config.max_pending_offers {
                target.pending.pop_front();
            }
            target.pending.push_back(Pending {
                offer_id: *offer_id,
                from: a.peer_id,
            });
            out.sends.push(WsSend {
                to: target.conn,
                text: json(serde_json::json!({
                    "action": "announce",
                    "offer": sdp,
                    "offer_id": binary_string(offer_id),
                    "peer_id": peer_text,
                    "info_hash": hash_text,
                })),
            });
            sent += 1;
        }
        swarm.cursor = if n == 0 { 0 } else { (start + sent) % n };
        Ok(())
    }

    fn remove_peer(&mut self, info_hash: &InfoHash, peer_id: &PeerId, conn: WsConn) {
        if let Some(swarm) = self.swarms.get_mut(info_hash) {
            if swarm.peers.get(peer_id).is_some_and(|p| p.conn == conn) {
                swarm.remove(peer_id);
            }
            if swarm.peers.is_empty() {
                self.swarms.remove(info_hash);
            }
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            state
                .announced
                .retain(|(h, p)| !(h == info_hash && p == peer_id));
        }
    }
}

/// `{"action": …, "failure reason": …, "info_hash": …}`.
fn failure(action: Option<&str>, info_hash: Option<&[u8]>, error: &Error) -> String {
    let mut m = Map::new();
    if let Some(a) = action {
        m.insert("action".into(), Value::from(a));
    }
    m.insert("failure reason".into(), Value::from(error.to_string()));
    if let Some(h) = info_hash {
        m.insert("info_hash".into(), Value::from(binary_string(h)));
    }
    json(Value::Object(m))
}
