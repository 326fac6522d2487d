//! Super-seeding (BEP 16): torrent-wide state of which piece went to whom.

use std::collections::HashMap;

use crate::connection::ConnectionId;

#[derive(Debug)]
struct Peer {
    /// The pieces the peer has told us it has.
    has: Vec<bool>,
    /// The piece we announced to it last.
    offer: Option<u32>,
    /// Whether it may be offered the next piece.
    ready: bool,
    /// Bytes of `offer` it downloaded from us.
    served: u64,
}

/// Which piece each peer of a super-seeded torrent was offered, and which
/// pieces the peers have.
///
/// Each peer is offered (with a `have`) one piece at a time: among the
/// pieces it lacks, the one offered the fewest times, then seen at the
/// fewest peers, so every piece goes out once before any goes out twice.
/// The next piece is offered to a peer once its current one was seen at
/// another peer (their `have`: the peer passed it on), or it has the piece
/// itself (its own `have`, or it downloaded all of it from us).
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

    pub(crate) fn register(&mut self, id: ConnectionId) {
        self.peers.entry(id).or_insert_with(|| Peer {
            has: vec![false; self.pieces as usize],
            offer: None,
            ready: true,
            served: 0,
        });
    }

    pub(crate) fn unregister(&mut self, id: ConnectionId) {
        let Some(peer) = self.peers.remove(&id) else {
            return;
        };
        for (i, has) in peer.has.iter().enumerate() {
            if *has {
                self.seen[i] = self.seen[i].saturating_sub(1);
            }
        }
        if let Some(p) = peer.offer
            && !peer.has[p as usize]
        {
            // It left without the piece: the piece may go to someone else.
            self.offered[p as usize] = self.offered[p as usize].saturating_sub(1);
        }
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
        if peer.offer == Some(index) {
            peer.ready = true;
        }
        self.seen[i] += 1;
        for (other, p) in self.peers.iter_mut() {
            if *other != id && p.offer == Some(index) {
                p.ready = true;
            }
        }
    }

    /// The peer `id` downloaded `bytes` of piece `index` from us.
    pub(crate) fn served(&mut self, id: ConnectionId, index: u32, bytes: u64, piece_size: u64) {
        if let Some(peer) = self.peers.get_mut(&id)
            && peer.offer == Some(index)
        {
            peer.served += bytes;
            if peer.served >= piece_size {
                peer.ready = true;
            }
        }
    }

    /// The next piece to announce to `id`, if it is due one.
    pub(crate) fn next_offer(&mut self, id: ConnectionId) -> Option<u32> {
        let n = self.pieces;
        let peer = self.peers.get(&id)?;
        if !peer.ready || n == 0 {
            return None;
        }
        let mut best: Option<(u32, u32, u32)> = None;
        for k in 0..n {
            let i = (self.cursor + k) % n;
            if peer.has[i as usize] || peer.offer == Some(i) {
                continue;
            }
            let key = (self.offered[i as usize], self.seen[i as usize]);
            if best.is_none_or(|(o, s, _)| key < (o, s)) {
                best = Some((key.0, key.1, i));
            }
        }
        let (_, _, piece) = best?;
        let peer = self.peers.get_mut(&id)?;
        peer.offer = Some(piece);
        peer.ready = false;
        peer.served = 0;
        self.offered[piece as usize] += 1;
        self.cursor = (piece + 1) % n;
        Some(piece)
    }
}
