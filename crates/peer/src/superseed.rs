//! Rationed offers (BEP 16 super-seeding, with several pieces in flight):
//! torrent-wide state of which piece went to whom.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::id::ConnectionId;

/// How long a rationed peer waits with no open offer before it is offered
/// pieces that other peers have.
pub(crate) const STALL: Duration = Duration::from_secs(5);

#[derive(Debug)]
struct Peer {
    /// The pieces the peer has told us it has.
    has: Vec<bool>,
    /// The pieces ever offered to it.
    given: Vec<bool>,
    /// The pieces offered to it and not done yet, each with the bytes of it
    /// the peer downloaded from us.
    open: Vec<(u32, u64)>,
    /// When it last got an offer or announced a new piece (`None`: never
    /// asked yet).
    fed: Option<Instant>,
}

/// Which pieces each rationed peer of a torrent was offered, and which
/// pieces the peers have.
///
/// Each peer has up to `k` open offers (a `have` each): among the pieces it
/// lacks, those offered the fewest times, then seen at the fewest peers, so
/// every piece goes out once before any goes out twice. An offer is done,
/// and the peer is due another, once the peer has the piece (its own
/// `have`, or it downloaded all of it from us) or the piece was seen at
/// another peer (their `have`: it was passed on). With `k` = 1 and only the
/// last rule this is BEP 16's super-seeding; more open offers keep a fast
/// peer's link busy while it waits for the next.
///
/// A piece goes out once: the others get it from the swarm. It is offered
/// again when its taker left without it, or to a starving peer: one with
/// no open offer that got no new piece from anyone (no `have`) for
/// [`STALL`], which is offered the rarest of the rest.
#[derive(Debug)]
pub(crate) struct SuperSeed {
    pieces: u32,
    /// Peers known to have each piece.
    seen: Vec<u32>,
    /// Open offers of each piece plus completed ones.
    offered: Vec<u32>,
    peers: HashMap<ConnectionId, Peer>,
    /// Where the search for the next piece starts, so ties go round.
    cursor: u32,
}

impl SuperSeed {
    pub(crate) fn new(pieces: u32) -> Self {
        SuperSeed {
            pieces,
            seen: vec![0; pieces as usize],
            offered: vec![0; pieces as usize],
            peers: HashMap::new(),
            cursor: 0,
        }
    }

    /// Starts rationing to `id` (or only counting what it has, after
    /// [`offer_everything`](Self::offer_everything)); what it has is
    /// reported with [`peer_has`](Self::peer_has).
    pub(crate) fn register(&mut self, id: ConnectionId) {
        self.peers.entry(id).or_insert_with(|| Peer {
            has: vec![false; self.pieces as usize],
            given: vec![false; self.pieces as usize],
            open: Vec::new(),
            fed: None,
        });
    }

    /// Forgets `id` (it left, or it is offered everything now).
    pub(crate) fn unregister(&mut self, id: ConnectionId) {
        let Some(peer) = self.peers.remove(&id) else {
            return;
        };
        for (i, has) in peer.has.iter().enumerate() {
            if *has {
                self.seen[i] = self.seen[i].saturating_sub(1);
            }
        }
        for (p, _) in peer.open {
            // It left without the piece: the piece may go to someone else.
            self.offered[p as usize] = self.offered[p as usize].saturating_sub(1);
        }
    }

    /// Offers everything to `id` from now on: its open offers are withdrawn
    /// from the count (it may download any piece), and it gets no more.
    pub(crate) fn offer_everything(&mut self, id: ConnectionId) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        for (p, _) in peer.open.drain(..) {
            self.offered[p as usize] = self.offered[p as usize].saturating_sub(1);
        }
        peer.given.fill(true);
    }

    /// The peer `id` has piece `index` (a `have`, or part of a bitfield).
    pub(crate) fn peer_has(&mut self, id: ConnectionId, index: u32) {
        let i = index as usize;
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if i >= peer.has.len() || peer.has[i] {
            return;
        }
        peer.has[i] = true;
        peer.fed = None;
        self.seen[i] += 1;
        // Its own offer is done, and so is every other peer's offer of the
        // same piece: it was passed on.
        for p in self.peers.values_mut() {
            p.open.retain(|(o, _)| *o != index);
        }
    }

    /// The peer `id` downloaded `bytes` of piece `index` from us.
    pub(crate) fn served(&mut self, id: ConnectionId, index: u32, bytes: u64, piece_size: u64) {
        if let Some(peer) = self.peers.get_mut(&id)
            && let Some(pos) = peer.open.iter().position(|(o, _)| *o == index)
        {
            peer.open[pos].1 += bytes;
            if peer.open[pos].1 >= piece_size {
                peer.open.swap_remove(pos);
            }
        }
    }

    /// The pieces to announce to `id` now, to bring its open offers up to `k`.
    /// `now` tells how long it went without.
    pub(crate) fn next_offers(&mut self, id: ConnectionId, k: usize, now: Instant) -> Vec<u32> {
        let mut new = Vec::new();
        let stalled = match self.peers.get_mut(&id) {
            Some(peer) => {
                let fed = *peer.fed.get_or_insert(now);
                peer.open.is_empty() && now.saturating_duration_since(fed) >= STALL
            }
            None => return new,
        };
        while let Some(piece) = self.next_offer(id, k, stalled) {
            new.push(piece);
        }
        if let Some(peer) = self.peers.get_mut(&id)
            && !new.is_empty()
        {
            peer.fed = Some(now);
        }
        new
    }

    fn next_offer(&mut self, id: ConnectionId, k: usize, stalled: bool) -> Option<u32> {
        let n = self.pieces;
        let peer = self.peers.get(&id)?;
        if peer.open.len() >= k || n == 0 {
            return None;
        }
        let mut best: Option<(u32, u32, u32)> = None;
        for step in 0..n {
            let i = (self.cursor + step) % n;
            if peer.has[i as usize] || peer.given[i as usize] {
                continue;
            }
            // Out once: the peers pass it on.
            if !stalled && self.offered[i as usize] > 0 {
                continue;
            }
            let key = (self.offered[i as usize], self.seen[i as usize]);
            if best.is_none_or(|(o, s, _)| key < (o, s)) {
                best = Some((key.0, key.1, i));
            }
        }
        let (_, _, piece) = best?;
        let peer = self.peers.get_mut(&id)?;
        peer.open.push((piece, 0));
        peer.given[piece as usize] = true;
        self.offered[piece as usize] += 1;
        self.cursor = (piece + 1) % n;
        Some(piece)
    }
}
