//! A scripted peer and small torrents for the tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use s3torrent_metainfo::{
    PieceLength, ReadAt, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion,
};
use s3torrent_peer::{
    Config, Connection, Error, Event, Extension, Extensions, Frame, FrameDecoder, Handshake,
    Message, Seed, SeedOptions, SeedTorrent,
};

pub(crate) const SEED_ID: [u8; 20] = *b"-S30100-seedseedseed";
pub(crate) const PEER_ID: [u8; 20] = *b"-XX0001-peerpeerpeer";

/// Deterministic, non-repeating-looking bytes.
pub(crate) fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub(crate) fn torrent_of(data: &[u8], piece_length: u64, builder: TorrentBuilder) -> Torrent {
    let mut h = TorrentHasher::new(PieceLength::new(piece_length).unwrap(), TorrentVersion::V1);
    h.update(data);
    builder.build(&h.finish()).unwrap()
}

pub(crate) struct Fixture {
    pub(crate) data: Vec<u8>,
    pub(crate) torrent: Torrent,
    pub(crate) seed: Arc<Seed>,
}

impl Fixture {
    pub(crate) fn new(len: usize, piece_length: u64) -> Self {
        Fixture::with(len, piece_length, SeedOptions::default())
    }

    pub(crate) fn with(len: usize, piece_length: u64, options: SeedOptions) -> Self {
        let data = data(len);
        let torrent = torrent_of(&data, piece_length, TorrentBuilder::plain("object.bin"));
        let seed = Arc::new(Seed::new(
            SeedTorrent::from_torrent(&torrent, SEED_ID).unwrap(),
            options,
        ));
        Fixture {
            data,
            torrent,
            seed,
        }
    }
}

pub(crate) fn fast_ext() -> Extensions {
    Extensions::NONE
        .with(Extension::Fast)
        .with(Extension::Extended)
}

pub(crate) fn handshake_bytes(info_hash: s3torrent_metainfo::InfoHash, ext: Extensions) -> Vec<u8> {
    Handshake {
        extensions: ext,
        info_hash,
        peer_id: PEER_ID,
    }
    .to_bytes()
}

/// Decodes a whole stream of messages (no handshake).
pub(crate) fn messages(bytes: &[u8]) -> Vec<Message> {
    let mut d = FrameDecoder::messages(u32::MAX);
    d.push(bytes);
    let mut out = Vec::new();
    while let Some(Frame::Message(m)) = d.next_frame().unwrap() {
        out.push(m);
    }
    assert_eq!(d.buffered(), 0, "a partial message at the end");
    out
}

/// Loads every piece `conn` asks for from `reader`, as a host would: read
/// whole and verified by `seed`. Events other than [`Event::NeedPiece`]
/// go to `events`. Whether any piece was loaded.
pub(crate) fn load_pieces<R: ReadAt + ?Sized>(
    conn: &mut Connection,
    seed: &Seed,
    reader: &R,
    events: &mut Vec<Event>,
) -> Result<bool, Error> {
    let mut loaded = false;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::NeedPiece(index) => {
                conn.piece_loaded(seed.read_piece(index, reader)?)?;
                loaded = true;
            }
            other => events.push(other),
        }
    }
    Ok(loaded)
}

/// Transmits from `conn` until it has nothing more to send, loading the
/// pieces it asks for from `reader` ([`load_pieces`]), within `budget`
/// bytes a round; appends to `wire`. A failed load or transmit is returned
/// (what was sent before it stays in `wire`).
pub(crate) fn transmit_all<R: ReadAt + ?Sized>(
    conn: &mut Connection,
    seed: &Seed,
    reader: &R,
    now: Instant,
    budget: usize,
    wire: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut events = Vec::new();
    for _ in 0..10_000 {
        let n = conn.poll_transmit(now, budget, wire)?;
        let loaded = load_pieces(conn, seed, reader, &mut events)?;
        if n == 0 && !loaded {
            return Ok(());
        }
    }
    panic!("transmit_all did not settle")
}

/// A scripted remote peer driving one connection of the seed.
pub(crate) struct Peer {
    pub(crate) conn: Connection,
    pub(crate) seed: Arc<Seed>,
    pub(crate) now: Instant,
    from_seed: FrameDecoder,
    pub(crate) received: Vec<Frame>,
}

impl Peer {
    /// An incoming connection, accepted for `seed` after `ext`'s handshake.
    pub(crate) fn connect(seed: &Arc<Seed>, ext: Extensions) -> Peer {
        Peer::connect_with(seed, ext, Config::default(), Instant::now())
    }

    pub(crate) fn connect_with(
        seed: &Arc<Seed>,
        ext: Extensions,
        config: Config,
        now: Instant,
    ) -> Peer {
        let mut conn = Connection::incoming(config, now);
        conn.handle_input(now, &handshake_bytes(seed.torrent().info_hash(), ext))
            .unwrap();
        let Some(Event::Handshake(h)) = conn.poll_event() else {
            panic!("no handshake event")
        };
        assert!(seed.torrent().matches(&h.info_hash));
        conn.accept(seed.clone(), now).unwrap();
        Peer {
            conn,
            seed: seed.clone(),
            now,
            from_seed: FrameDecoder::new(u32::MAX),
            received: Vec::new(),
        }
    }

    pub(crate) fn send(&mut self, m: &Message) -> Result<(), Error> {
        self.send_raw(&m.to_bytes())
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.conn.handle_input(self.now, bytes)
    }

    /// What the seed sends now (big budget), decoded, the pieces it asks
    /// for loaded from `reader` ([`transmit_all`]). On an error, what was
    /// sent before it is in `received`.
    pub(crate) fn recv<R: ReadAt + ?Sized>(&mut self, reader: &R) -> Result<Vec<Frame>, Error> {
        self.recv_budget(reader, 1 << 30)
    }

    /// [`recv`](Self::recv) within `budget` bytes a round.
    pub(crate) fn recv_budget<R: ReadAt + ?Sized>(
        &mut self,
        reader: &R,
        budget: usize,
    ) -> Result<Vec<Frame>, Error> {
        let mut wire = Vec::new();
        let sent = transmit_all(
            &mut self.conn,
            &self.seed,
            reader,
            self.now,
            budget,
            &mut wire,
        );
        self.from_seed.push(&wire);
        let mut frames = Vec::new();
        while let Some(f) = self.from_seed.next_frame().unwrap() {
            frames.push(f.clone());
            self.received.push(f);
        }
        sent.map(|()| frames)
    }

    /// Messages only, from `recv`.
    pub(crate) fn recv_messages<R: ReadAt + ?Sized>(
        &mut self,
        reader: &R,
    ) -> Result<Vec<Message>, Error> {
        Ok(self
            .recv(reader)?
            .into_iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(m),
                Frame::Handshake(_) => None,
            })
            .collect())
    }

    /// Interested, then waits for the unchoke.
    pub(crate) fn interested_unchoked<R: ReadAt + ?Sized>(&mut self, reader: &R) {
        self.send(&Message::Interested).unwrap();
        let ms = self.recv_messages(reader).unwrap();
        assert!(ms.contains(&Message::Unchoke), "not unchoked: {ms:?}");
    }
}

/// The pieces announced with `have`, in order.
pub(crate) fn haves(ms: &[Message]) -> Vec<u32> {
    ms.iter()
        .filter_map(|m| match m {
            Message::Have(i) => Some(*i),
            _ => None,
        })
        .collect()
}

pub(crate) fn piece_data(m: &Message) -> Option<(u32, u32, Bytes)> {
    match m {
        Message::Piece { index, begin, data } => Some((*index, *begin, data.clone())),
        _ => None,
    }
}
