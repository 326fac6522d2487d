//! One peer connection: the sans-IO state machine.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use s3torrent_metainfo::InfoHash;

use crate::choke::{ChokeCandidate, ChokeState, Choking, Interest};
use crate::error::{Error, RequestProblem, Result};
use crate::extension::{self, MetadataMessage, PeerExtensions, UT_METADATA};
use crate::id::ConnectionId;
use crate::piece::VerifiedPiece;
use crate::seed::{Offering, Seed, SeedMode};
use crate::torrent::SeedTorrent;
use crate::wire::{
    BlockRequest, Extension, Extensions, Frame, FrameDecoder, Handshake, Message, put_piece_header,
};

/// Limits on what a peer may make us hold or do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest block served (default 16 KiB, what every client asks
    /// for). A longer request, up to [`max_block_len`](Self::max_block_len),
    /// is refused: `reject request` to a BEP 6 peer, ignored otherwise.
    pub max_block_served: u32,
    /// Above this (default 128 KiB) a request closes the connection.
    pub max_block_len: u32,
    /// Outstanding requests per peer (default 500; `reqq` in our extended
    /// handshake, so that a peer keeps 8 MiB in flight: a fast link stays
    /// full). Beyond it a BEP 6 peer gets rejects, another is closed.
    pub max_outstanding_requests: usize,
    /// Pieces a connection holds or waits for at once (default 3, at least
    /// 1): the one it serves from, and the next ones its queued requests
    /// need, asked for ahead ([`Event::NeedPiece`]).
    pub max_pieces_in_hand: usize,
    /// The longest message accepted (the id byte included), checked on the
    /// length prefix before anything is buffered (default 128 KiB + 13).
    /// Raised for a torrent whose bitfield is longer.
    pub max_message_length: u32,
    /// Replies (rejects, metadata, hash rejects) waiting to be sent before
    /// the connection is closed (default 1 MiB).
    pub max_output_backlog: usize,
    /// Connections the host should allow at once (default 200); the host
    /// enforces it, this crate only carries it.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_block_served: 16 * 1024,
            max_block_len: 128 * 1024,
            max_outstanding_requests: 500,
            max_pieces_in_hand: 3,
            max_message_length: 128 * 1024 + 13,
            max_output_backlog: 1 << 20,
            max_connections: 200,
        }
    }
}

/// Timeouts and limits of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// From the connection's start until the peer's handshake is complete
    /// and accepted (default 10 s).
    pub handshake_timeout: Duration,
    /// Without any message from the peer, keep-alives included (default 120 s).
    pub idle_timeout: Duration,
    /// We send a keep-alive after this long without sending (default 60 s).
    pub keep_alive_interval: Duration,
    /// How often a connection looks at the shared choker and super-seeding
    /// state for decisions other connections made (default 1 s).
    pub sync_interval: Duration,
    /// `v` in our extended handshake.
    pub client_name: String,
    /// The limits.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            keep_alive_interval: Duration::from_secs(60),
            sync_interval: Duration::from_secs(1),
            client_name: concat!("s3torrent ", env!("CARGO_PKG_VERSION")).to_string(),
            limits: Limits::default(),
        }
    }
}

/// What the host is told.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The peer's handshake arrived on an incoming connection: look its
    /// info-hash up, then [`Connection::accept`] or [`Connection::reject`].
    Handshake(Handshake),
    /// The peer became interested or not interested.
    Interest(Interest),
    /// The peer has every piece (it is a seed too); the host may close.
    PeerComplete,
    /// Queued requests need piece `index`: load it, check it
    /// ([`Seed::verify`]) and give it to [`Connection::piece_loaded`]. The
    /// connection keeps answering meanwhile; it asks once per piece, and a
    /// piece no longer needed when it arrives is dropped. A host that cannot
    /// load it closes the connection.
    NeedPiece(u32),
}

/// A connection's counters, for the host's log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// Bytes fed in.
    pub bytes_received: u64,
    /// Bytes handed out by [`Connection::poll_transmit`].
    pub bytes_sent: u64,
    /// Block bytes sent (the payload of `piece` messages).
    pub payload_sent: u64,
    /// `piece` messages sent.
    pub blocks_sent: u64,
    /// Blocks sent that end a piece: about the whole pieces uploaded.
    pub pieces_sent: u64,
    /// ut_metadata pieces sent.
    pub metadata_pieces_sent: u64,
    /// Requests refused (`reject request`, or ignored for a non-BEP 6 peer).
    pub requests_refused: u64,
}

/// Whether our handshake went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    No,
    Yes,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the peer's handshake (`Some`: an outgoing connection).
    Handshake(Option<Arc<Seed>>),
    /// The handshake arrived; waiting for the host to accept or reject.
    Pending(Handshake),
    Active(Box<Active>),
    Closed,
}

/// What a connection writes and reports, apart from its phase.
#[derive(Debug, Default)]
struct Outbox {
    control: Vec<u8>,
    events: VecDeque<Event>,
    stats: ConnectionStats,
}

impl Outbox {
    fn send(&mut self, m: &Message) {
        m.encode(&mut self.control);
    }
}

/// A set of piece indexes.
#[derive(Debug)]
struct PieceSet {
    bits: Vec<u8>,
    count: u32,
}

impl PieceSet {
    fn new(pieces: u32) -> Self {
        PieceSet {
            bits: vec![0; pieces.div_ceil(8) as usize],
            count: 0,
        }
    }

    fn contains(&self, i: u32) -> bool {
        self.bits
            .get(i as usize / 8)
            .is_some_and(|b| b & (0x80 >> (i % 8)) != 0)
    }

    /// Adds `i`; whether it was new.
    fn insert(&mut self, i: u32) -> bool {
        match self.bits.get_mut(i as usize / 8) {
            Some(b) if *b & (0x80 >> (i % 8)) == 0 => {
                *b |= 0x80 >> (i % 8);
                self.count += 1;
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Active {
    seed: Arc<Seed>,
    peer: Handshake,
    ext: PeerExtensions,
    interest: Interest,
    choke: ChokeState,
    requests: VecDeque<BlockRequest>,
    /// Verified pieces at hand, to serve from.
    held: VecDeque<VerifiedPiece>,
    /// Pieces asked of the host ([`Event::NeedPiece`]), not loaded yet.
    wanted: Vec<u32>,
    /// What the peer told us it has.
    peer_has: PieceSet,
    /// Whether the peer was offered everything, or is rationed.
    offer: Offer,
    complete: bool,
}

/// What a connection's peer was offered.
#[derive(Debug)]
enum Offer {
    /// Every piece.
    All,
    /// The pieces in `announced`, a few at a time, since `since`.
    Rationed { since: Instant, announced: PieceSet },
}

/// One peer connection of a seed, sans-IO.
///
/// The host feeds what the socket reads to [`handle_input`](Self::handle_input),
/// answers [`Event::Handshake`] with [`accept`](Self::accept) or
/// [`reject`](Self::reject), writes what [`poll_transmit`](Self::poll_transmit)
/// gives, and calls [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout). Any error closes the connection
/// (every later call answers [`Error::Closed`]); the host drops the socket
/// and logs the error. Time is always an argument.
#[derive(Debug)]
pub struct Connection {
    id: ConnectionId,
    config: Config,
    phase: Phase,
    decoder: FrameDecoder,
    out: Outbox,
    our_handshake: Sent,
    started: Instant,
    last_received: Instant,
    last_sent: Instant,
    next_sync: Instant,
}

impl Connection {
    /// A connection a peer opened: it waits for the peer's handshake.
    pub fn incoming(config: Config, now: Instant) -> Self {
        Connection {
            id: ConnectionId::next(),
            decoder: FrameDecoder::new(config.limits.max_message_length),
            config,
            phase: Phase::Handshake(None),
            out: Outbox::default(),
            our_handshake: Sent::No,
            started: now,
            last_received: now,
            last_sent: now,
            next_sync: now,
        }
    }

    /// A connection we open to seed `seed` to a peer: our handshake goes
    /// out first; the peer must answer with the same info-hash.
    pub fn outgoing(config: Config, seed: Arc<Seed>, now: Instant) -> Self {
        let mut c = Connection::incoming(config, now);
        Handshake {
            extensions: our_extensions(seed.torrent(), &seed.torrent().info_hash()),
            info_hash: seed.torrent().info_hash(),
            peer_id: *seed.torrent().peer_id(),
        }
        .encode(&mut c.out.control);
        c.our_handshake = Sent::Yes;
        c.phase = Phase::Handshake(Some(seed));
        c
    }

    /// This connection's id.
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> ConnectionStats {
        self.out.stats
    }

    /// The peer's handshake, once received.
    pub fn peer(&self) -> Option<&Handshake> {
        match &self.phase {
            Phase::Pending(h) => Some(h),
            Phase::Active(a) => Some(&a.peer),
            _ => None,
        }
    }

    /// The seed, once accepted.
    pub fn seed(&self) -> Option<&Arc<Seed>> {
        match &self.phase {
            Phase::Handshake(seed) => seed.as_ref(),
            Phase::Active(a) => Some(&a.seed),
            _ => None,
        }
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Whether the peer is offered every piece or rationed, once accepted.
    pub fn offering(&self) -> Option<Offering> {
        match &self.phase {
            Phase::Active(a) => Some(match a.offer {
                Offer::All => Offering::All,
                Offer::Rationed { .. } => Offering::Rationed,
            }),
            _ => None,
        }
    }

    /// Requests queued to be served.
    pub fn pending_requests(&self) -> usize {
        match &self.phase {
            Phase::Active(a) => a.requests.len(),
            _ => 0,
        }
    }

    /// The peer's interest and our choke state, once accepted.
    pub fn choke_candidate(&self) -> Option<ChokeCandidate> {
        match &self.phase {
            Phase::Active(a) => Some(ChokeCandidate {
                id: self.id,
                interest: a.interest,
                choke: a.choke,
            }),
            _ => None,
        }
    }

    /// Chokes or unchokes the peer, for a host that decides
    /// ([`Choking::Host`]); with the seed's own choker the next decision
    /// overrides it. Choking a BEP 6 peer rejects its queued requests; the
    /// others' are dropped.
    pub fn set_choke(&mut self, state: ChokeState) -> Result<()> {
        match &mut self.phase {
            Phase::Active(a) => {
                a.apply_choke(state, &mut self.out);
                Ok(())
            }
            Phase::Closed => Err(Error::Closed),
            _ => Err(Error::State {
                operation: "set_choke",
                state: "is not accepted yet",
            }),
        }
    }

    /// The next event for the host.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// Feeds bytes read from the socket.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        self.out.stats.bytes_received += data.len() as u64;
        self.decoder.push(data);
        let r = self.process(now);
        self.guard(r)
    }

    /// Accepts the peer's handshake (after [`Event::Handshake`]) to seed
    /// `seed`, whose torrent must match the handshake's info-hash (its v1
    /// hash, or the truncated v2 hash of a hybrid torrent). Our handshake,
    /// bitfield (or `have all`) and extended handshake are queued, and the
    /// input received meanwhile is processed.
    pub fn accept(&mut self, seed: Arc<Seed>, now: Instant) -> Result<()> {
        let peer = match &self.phase {
            Phase::Pending(h) => *h,
            Phase::Closed => return Err(Error::Closed),
            _ => {
                return Err(Error::State {
                    operation: "accept",
                    state: "has no handshake to accept",
                });
            }
        };
        let r = self
            .activate(seed, peer, now)
            .and_then(|()| self.process(now));
        self.guard(r)
    }

    /// Refuses the peer's handshake: the connection closes, and the error
    /// to log is returned.
    pub fn reject(&mut self) -> Error {
        let err = match self.peer() {
            Some(h) => Error::UnknownTorrent {
                info_hash: h.info_hash,
            },
            None => Error::State {
                operation: "reject",
                state: "has no handshake to reject",
            },
        };
        self.close();
        err
    }

    /// Appends to `out` what is to be sent: control messages, then `piece`
    /// messages for queued requests whose pieces are at hand while they fit
    /// in `budget` bytes (the host's rate limit; a block goes out whole or
    /// not at all, so give at least [`Limits::max_block_served`] + 13).
    /// Blocks come only from [`VerifiedPiece`]s given to
    /// [`piece_loaded`](Self::piece_loaded); for the pieces queued requests
    /// still need, [`Event::NeedPiece`] is queued. Returns the number of
    /// bytes appended.
    pub fn poll_transmit(
        &mut self,
        now: Instant,
        budget: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let start = out.len();
        let r = self.transmit(now, budget, out);
        if r.is_err() {
            out.truncate(start);
        }
        self.guard(r)
    }

    /// Piece `piece.index()`, loaded and verified by the host after
    /// [`Event::NeedPiece`]: the requests waiting for it are served at the
    /// next [`poll_transmit`](Self::poll_transmit). A piece the connection no
    /// longer needs (its requests were cancelled) is dropped; a piece of
    /// another torrent is an error.
    pub fn piece_loaded(&mut self, piece: VerifiedPiece) -> Result<()> {
        let r = match &mut self.phase {
            Phase::Active(a) => {
                if piece.info_hash() != a.seed.torrent().info_hash() {
                    Err(Error::State {
                        operation: "piece_loaded",
                        state: "seeds another torrent",
                    })
                } else {
                    if let Some(pos) = a.wanted.iter().position(|&w| w == piece.index()) {
                        a.wanted.swap_remove(pos);
                        a.held.push_back(piece);
                    }
                    Ok(())
                }
            }
            Phase::Closed => return Err(Error::Closed),
            _ => Err(Error::State {
                operation: "piece_loaded",
                state: "is not accepted yet",
            }),
        };
        self.guard(r)
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Handshake(_) | Phase::Pending(_) => {
                Some(self.started + self.config.handshake_timeout)
            }
            Phase::Active(a) => {
                let idle = self.last_received + self.config.idle_timeout;
                let keep_alive = self.last_sent + self.config.keep_alive_interval;
                let t = idle.min(keep_alive);
                if a.interest == Interest::Interested || matches!(a.offer, Offer::Rationed { .. }) {
                    Some(t.min(self.next_sync))
                } else {
                    Some(t)
                }
            }
            Phase::Closed => None,
        }
    }

    /// Handles what is due at `now`: a handshake or idle timeout (an error:
    /// close), a keep-alive to send, a look at the shared state.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        let r = self.timeout(now);
        self.guard(r)
    }

    fn timeout(&mut self, now: Instant) -> Result<()> {
        match &mut self.phase {
            Phase::Closed => Err(Error::Closed),
            Phase::Handshake(_) | Phase::Pending(_) => {
                if now >= self.started + self.config.handshake_timeout {
                    Err(Error::HandshakeTimeout(self.config.handshake_timeout))
                } else {
                    Ok(())
                }
            }
            Phase::Active(a) => {
                if now >= self.last_received + self.config.idle_timeout {
                    return Err(Error::IdleTimeout(self.config.idle_timeout));
                }
                if now >= self.last_sent + self.config.keep_alive_interval {
                    self.out.send(&Message::KeepAlive);
                    self.last_sent = now;
                }
                if now >= self.next_sync {
                    a.sync(&mut self.out, self.id, now);
                    a.want(&self.config.limits, &mut self.out);
                    self.next_sync = now + self.config.sync_interval;
                }
                Ok(())
            }
        }
    }

    fn guard<T>(&mut self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.close();
        }
        r
    }

    fn close(&mut self) {
        if let Phase::Active(a) = &self.phase {
            a.seed.unregister(self.id);
        }
        self.phase = Phase::Closed;
        self.out.control = Vec::new();
        self.decoder = FrameDecoder::messages(0);
    }

    fn process(&mut self, now: Instant) -> Result<()> {
        loop {
            match &mut self.phase {
                Phase::Closed => return Err(Error::Closed),
                Phase::Pending(_) => {
                    let limit = self.config.limits.max_message_length as usize + 4;
                    let buffered = self.decoder.buffered();
                    if buffered > limit {
                        return Err(Error::InputBeforeAccept { buffered, limit });
                    }
                    return Ok(());
                }
                Phase::Handshake(outgoing) => {
                    let Some(frame) = self.decoder.next_frame()? else {
                        return Ok(());
                    };
                    let Frame::Handshake(h) = frame else {
                        return Err(Error::State {
                            operation: "decode",
                            state: "expects a handshake",
                        });
                    };
                    self.last_received = now;
                    match outgoing.take() {
                        Some(seed) => {
                            let expected = seed.torrent().info_hash();
                            if h.info_hash != expected {
                                return Err(Error::InfoHashMismatch {
                                    expected,
                                    got: h.info_hash,
                                });
                            }
                            self.activate(seed, h, now)?;
                        }
                        None => {
                            self.phase = Phase::Pending(h);
                            self.out.events.push_back(Event::Handshake(h));
                        }
                    }
                }
                Phase::Active(a) => {
                    let Some(frame) = self.decoder.next_frame()? else {
                        a.want(&self.config.limits, &mut self.out);
                        return Ok(());
                    };
                    self.last_received = now;
                    match frame {
                        Frame::Message(m) => {
                            a.on_message(m, &mut self.out, &self.config, self.id, now)?
                        }
                        Frame::Handshake(_) => {
                            return Err(Error::State {
                                operation: "decode",
                                state: "expects messages",
                            });
                        }
                    }
                    let backlog = self.out.control.len();
                    let limit = self.config.limits.max_output_backlog;
                    if backlog > limit {
                        return Err(Error::OutputBacklog {
                            bytes: backlog,
                            limit,
                        });
                    }
                }
            }
        }
    }

    fn activate(&mut self, seed: Arc<Seed>, peer: Handshake, now: Instant) -> Result<()> {
        let t = seed.torrent();
        if !t.matches(&peer.info_hash) {
            return Err(Error::InfoHashMismatch {
                expected: t.info_hash(),
                got: peer.info_hash,
            });
        }
        if self.our_handshake == Sent::No {
            Handshake {
                extensions: our_extensions(t, &peer.info_hash),
                info_hash: peer.info_hash,
                peer_id: *t.peer_id(),
            }
            .encode(&mut self.out.control);
            self.our_handshake = Sent::Yes;
        }
        let bitfield_message = t.piece_count().div_ceil(8) + 1;
        self.decoder
            .set_max_message_length(self.config.limits.max_message_length.max(bitfield_message));
        let fast = peer.extensions.supports(Extension::Fast);
        let pieces = t.piece_count();
        if seed.options().mode != SeedMode::Normal {
            seed.super_seed().register(self.id);
        }
        let offer =
            if seed.probation() == Some(Duration::ZERO) && seed.offering(now) == Offering::All {
                seed.super_seed().offer_everything(self.id);
                if fast {
                    self.out.send(&Message::HaveAll);
                } else {
                    self.out.send(&Message::Bitfield(t.full_bitfield().into()));
                }
                Offer::All
            } else {
                if fast {
                    self.out.send(&Message::HaveNone);
                }
                Offer::Rationed {
                    since: now,
                    announced: PieceSet::new(pieces),
                }
            };
        if peer.extensions.supports(Extension::Extended) {
            let payload = extension::our_handshake(
                t.info_bytes().len(),
                self.config.limits.max_outstanding_requests,
                &self.config.client_name,
            );
            self.out.send(&Message::Extended {
                id: 0,
                payload: payload.into(),
            });
        }
        let mut active = Box::new(Active {
            peer_has: PieceSet::new(pieces),
            offer,
            seed,
            peer,
            ext: PeerExtensions::default(),
            interest: Interest::NotInterested,
            choke: ChokeState::Choked,
            requests: VecDeque::new(),
            held: VecDeque::new(),
            wanted: Vec::new(),
            complete: false,
        });
        active.sync(&mut self.out, self.id, now);
        self.phase = Phase::Active(active);
        self.last_received = now;
        self.next_sync = now + self.config.sync_interval;
        Ok(())
    }

    fn transmit(&mut self, now: Instant, budget: usize, out: &mut Vec<u8>) -> Result<usize> {
        let start = out.len();
        match &mut self.phase {
            Phase::Closed => return Err(Error::Closed),
            Phase::Active(a) => {
                if let Some(index) = a.seed.stale_piece() {
                    return Err(Error::Stale { index });
                }
                a.sync(&mut self.out, self.id, now);
                out.append(&mut self.out.control);
                let served = a.serve(budget, out, &mut self.out.stats, self.id)?;
                if served {
                    // Offers may have been done by what went out: the
                    // next ones leave now, not at the next sync.
                    a.sync(&mut self.out, self.id, now);
                    out.append(&mut self.out.control);
                }
                a.want(&self.config.limits, &mut self.out);
            }
            Phase::Handshake(_) | Phase::Pending(_) => out.append(&mut self.out.control),
        }
        let n = out.len() - start;
        if n > 0 {
            self.last_sent = now;
            self.out.stats.bytes_sent += n as u64;
        }
        Ok(n)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Phase::Active(a) = &self.phase {
            a.seed.unregister(self.id);
        }
    }
}

impl Active {
    fn fast(&self) -> bool {
        self.peer.extensions.supports(Extension::Fast)
    }

    /// Whether the seed keeps the shared offer bookkeeping (not a plain seed).
    fn counts_pieces(&self) -> bool {
        self.seed.options().mode != SeedMode::Normal
    }

    /// Applies the shared choker's decision, and for a rationed peer the
    /// next offers, or everything once the seed stopped rationing and the
    /// peer's probation is over.
    fn sync(&mut self, out: &mut Outbox, id: ConnectionId, now: Instant) {
        if self.seed.options().choking == Choking::Seed {
            let desired = self.seed.decide_choke(id, self.interest, now);
            self.apply_choke(desired, out);
        }
        let Offer::Rationed { since, announced } = &mut self.offer else {
            return;
        };
        let probation_over = self
            .seed
            .probation()
            .is_some_and(|p| now.saturating_duration_since(*since) >= p);
        if probation_over && self.seed.offering(now) == Offering::All {
            self.seed.super_seed().offer_everything(id);
            for i in 0..self.seed.torrent().piece_count() {
                if !announced.contains(i) && !self.peer_has.contains(i) {
                    out.send(&Message::Have(i));
                }
            }
            self.offer = Offer::All;
            return;
        }
        let offers = self
            .seed
            .super_seed()
            .next_offers(id, self.seed.options().offers.max(1), now);
        for piece in offers {
            announced.insert(piece);
            out.send(&Message::Have(piece));
        }
    }

    /// Asks the host for the pieces queued requests need that are neither
    /// at hand nor asked for, in the requests' order, while fewer than
    /// [`Limits::max_pieces_in_hand`] are; a piece no request needs makes
    /// room.
    fn want(&mut self, limits: &Limits, out: &mut Outbox) {
        let max = limits.max_pieces_in_hand.max(1);
        let mut k = 0;
        while k < self.requests.len() {
            let index = self.requests[k].index;
            k += 1;
            if self.wanted.contains(&index) || self.held.iter().any(|p| p.index() == index) {
                continue;
            }
            if self.held.len() + self.wanted.len() >= max {
                let idle = self
                    .held
                    .iter()
                    .position(|p| !self.requests.iter().any(|r| r.index == p.index()));
                match idle {
                    Some(pos) => {
                        self.held.remove(pos);
                    }
                    None => break,
                }
            }
            self.wanted.push(index);
            out.events.push_back(Event::NeedPiece(index));
        }
    }

    fn apply_choke(&mut self, desired: ChokeState, out: &mut Outbox) {
        if desired != self.choke {
            self.choke = desired;
            match desired {
                ChokeState::Unchoked => out.send(&Message::Unchoke),
                ChokeState::Choked => {
                    out.send(&Message::Choke);
                    // BEP 6: a choke no longer drops requests implicitly.
                    let fast = self.fast();
                    for r in self.requests.drain(..) {
                        out.stats.requests_refused += 1;
                        if fast {
                            out.send(&Message::Reject(r));
                        }
                    }
                }
            }
        }
    }

    fn refuse(&self, r: BlockRequest, out: &mut Outbox) {
        out.stats.requests_refused += 1;
        if self.fast() {
            out.send(&Message::Reject(r));
        }
    }

    fn check_index(&self, name: &'static str, index: u32) -> Result<()> {
        let pieces = self.seed.torrent().piece_count();
        if index >= pieces {
            return Err(Error::PieceIndex {
                name,
                index,
                pieces,
            });
        }
        Ok(())
    }

    fn peer_has(&mut self, indexes: impl Iterator<Item = u32>, out: &mut Outbox, id: ConnectionId) {
        let counts = self.counts_pieces();
        let mut new = Vec::new();
        for i in indexes {
            if self.peer_has.insert(i) && counts {
                new.push(i);
            }
        }
        if !new.is_empty() {
            let mut ss = self.seed.super_seed();
            for i in new {
                ss.peer_has(id, i);
            }
        }
        if !self.complete && self.peer_has.count == self.seed.torrent().piece_count() {
            self.complete = true;
            out.events.push_back(Event::PeerComplete);
        }
    }

    fn on_message(
        &mut self,
        m: Message,
        out: &mut Outbox,
        config: &Config,
        id: ConnectionId,
        now: Instant,
    ) -> Result<()> {
        match m {
            Message::Interested | Message::NotInterested => {
                let interest = if m == Message::Interested {
                    Interest::Interested
                } else {
                    Interest::NotInterested
                };
                if interest != self.interest {
                    self.interest = interest;
                    out.events.push_back(Event::Interest(interest));
                    self.sync(out, id, now);
                }
            }
            Message::Have(index) => {
                self.check_index("have", index)?;
                self.peer_has(std::iter::once(index), out, id);
            }
            Message::Bitfield(bits) => {
                let pieces = self.seed.torrent().piece_count();
                let expected = pieces.div_ceil(8) as usize;
                if bits.len() != expected {
                    return Err(Error::BitfieldLength {
                        length: bits.len(),
                        pieces,
                        expected,
                    });
                }
                let spare = (8 - pieces % 8) % 8;
                if bits.last().is_some_and(|b| b & ((1u8 << spare) - 1) != 0) {
                    return Err(Error::BitfieldSpareBits { pieces });
                }
                let set = (0..pieces).filter(|&i| bits[i as usize / 8] & (0x80 >> (i % 8)) != 0);
                self.peer_has(set, out, id);
            }
            Message::HaveAll => {
                let pieces = self.seed.torrent().piece_count();
                self.peer_has(0..pieces, out, id);
            }
            Message::Request(r) => self.on_request(r, out, config)?,
            Message::Cancel(r) => {
                if let Some(pos) = self.requests.iter().position(|q| *q == r) {
                    self.requests.remove(pos);
                    if self.fast() {
                        out.send(&Message::Reject(r));
                    }
                }
            }
            Message::Piece { index, begin, .. } => {
                return Err(Error::UnrequestedPiece { index, begin });
            }
            Message::Extended { id: ext, payload } => self.on_extended(ext, &payload, out)?,
            Message::HashRequest(h) => match self.seed.torrent().hashes(&h) {
                Some(hashes) => out.send(&Message::Hashes {
                    request: h,
                    hashes: hashes.concat().into(),
                }),
                None => out.send(&Message::HashReject(h)),
            },
            Message::Suggest(index) | Message::AllowedFast(index) => {
                self.check_index(
                    if matches!(m, Message::Suggest(_)) {
                        "suggest"
                    } else {
                        "allowed fast"
                    },
                    index,
                )?;
            }
            // Nothing for a seed to do: the peer's choke state towards us,
            // DHT ports, rejects and hashes we never asked for, ids we do
            // not know (ignored, as BEP 3 says).
            _ => {}
        }
        Ok(())
    }

    fn on_request(&mut self, r: BlockRequest, out: &mut Outbox, config: &Config) -> Result<()> {
        let t = self.seed.torrent();
        let limits = &config.limits;
        let problem = if r.length == 0 {
            Some(RequestProblem::ZeroLength)
        } else if r.length > limits.max_block_len {
            Some(RequestProblem::TooLong {
                limit: limits.max_block_len,
            })
        } else if r.index >= t.piece_count() {
            Some(RequestProblem::NoSuchPiece {
                pieces: t.piece_count(),
            })
        } else if u64::from(r.begin) + u64::from(r.length) > u64::from(t.piece_size(r.index)) {
            Some(RequestProblem::PastPieceEnd {
                piece_size: t.piece_size(r.index),
            })
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::Request {
                request: r,
                problem,
            });
        }
        let not_offered = match &self.offer {
            Offer::All => false,
            Offer::Rationed { announced, .. } => !announced.contains(r.index),
        };
        if self.choke == ChokeState::Choked || not_offered || r.length > limits.max_block_served {
            self.refuse(r, out);
            return Ok(());
        }
        if self.requests.contains(&r) {
            return Ok(());
        }
        if self.requests.len() >= limits.max_outstanding_requests {
            if self.fast() {
                self.refuse(r, out);
                return Ok(());
            }
            return Err(Error::TooManyRequests {
                limit: limits.max_outstanding_requests,
            });
        }
        self.requests.push_back(r);
        Ok(())
    }

    fn on_extended(&mut self, ext: u8, payload: &[u8], out: &mut Outbox) -> Result<()> {
        match ext {
            0 => self.ext = extension::parse_handshake(payload)?,
            UT_METADATA => {
                let MetadataMessage::Request(piece) = extension::parse_metadata(payload)? else {
                    return Ok(());
                };
                let Some(their_id) = self.ext.ut_metadata else {
                    return Ok(());
                };
                let info = self.seed.torrent().info_bytes();
                let reply = usize::try_from(piece)
                    .ok()
                    .and_then(|p| extension::metadata_data(p, info));
                let payload = match reply {
                    Some(data) => {
                        out.stats.metadata_pieces_sent += 1;
                        data
                    }
                    None => extension::metadata_reject(piece),
                };
                out.send(&Message::Extended {
                    id: their_id,
                    payload: payload.into(),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Serves queued requests whose pieces are at hand, in queue order,
    /// while they fit in `budget`; the others wait for their pieces.
    /// Whether anything was served.
    fn serve(
        &mut self,
        budget: usize,
        out: &mut Vec<u8>,
        stats: &mut ConnectionStats,
        id: ConnectionId,
    ) -> Result<bool> {
        let mut spent = 0usize;
        let mut served = false;
        let mut k = 0;
        while k < self.requests.len() {
            let r = self.requests[k];
            let Some(piece) = self.held.iter().find(|p| p.index() == r.index) else {
                k += 1;
                continue;
            };
            let cost = 13 + r.length as usize;
            if spent + cost > budget {
                break;
            }
            let data = piece.data();
            let begin = r.begin as usize;
            let end = begin + r.length as usize;
            let Some(block) = data.get(begin..end) else {
                return Err(Error::ShortRead {
                    index: r.index,
                    at: self.seed.torrent().piece_offset(r.index) + data.len() as u64,
                    expected: self.seed.torrent().length(),
                });
            };
            put_piece_header(out, r.index, r.begin, r.length);
            out.extend_from_slice(block);
            let piece_len = data.len() as u64;
            self.requests.remove(k);
            spent += cost;
            served = true;
            stats.blocks_sent += 1;
            stats.payload_sent += u64::from(r.length);
            if end as u64 == piece_len {
                stats.pieces_sent += 1;
            }
            if let Offer::Rationed { .. } = self.offer {
                self.seed
                    .super_seed()
                    .served(id, r.index, u64::from(r.length), piece_len);
            }
        }
        Ok(served)
    }
}

/// Our reserved bytes on a connection under `info_hash`: BEP 10 and BEP 6,
/// and BEP 52's v2 bit when `info_hash` is the torrent's truncated v2
/// info-hash (always, for a v2-only torrent). A hybrid torrent's v1 swarm
/// does not get the bit, which would invite the peer to drop the
/// connection and come back under the v2 info-hash.
fn our_extensions(torrent: &SeedTorrent, info_hash: &InfoHash) -> Extensions {
    let ours = Extensions::ours();
    if torrent
        .info_hash_v2()
        .is_some_and(|v2| v2.truncated() == *info_hash)
    {
        ours.with(Extension::V2)
    } else {
        ours
    }
}
