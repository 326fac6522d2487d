//! Fuzzes the peer wire codec and the seeding state machine.
//!
//! The first byte picks the setup: bit 0 a raw stream (the input is the
//! handshake too; a handshake for our torrent is accepted, any other
//! rejected) or an accepted handshake first, bit 1 a BEP 6 + BEP 10 peer, bit
//! 2 super-seeding (bit 4: adaptive instead), bit 3 a source whose piece 2
//! changed; the second byte the chunk size. The pieces the connection asks
//! for are read from the source and checked, as a host does; a failed load
//! ends the connection. Nothing may panic, and:
//!
//! - the decoder gives the same frames and the same error whether the input
//!   comes whole or in chunks;
//! - everything the connection sends decodes, with our handshake first;
//! - every block sent is the torrent's own bytes (never of a changed piece),
//!   no longer than the largest block served;
//! - an error closes the connection for good: later calls say `Closed`, and
//!   a failed transmit hands out nothing.

#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use s3torrent_metainfo::{
    PieceLength, ReadAt, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion,
};
use s3torrent_peer::{
    Adaptive, Config, Connection, Error, Event, Extension, Extensions, Frame, FrameDecoder,
    Handshake, Message, Seed, SeedMode, SeedOptions, SeedTorrent, UploadSlots,
};

const PIECE: usize = 16384;

struct Fixture {
    data: Vec<u8>,
    changed: Vec<u8>,
    torrent: Torrent,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let data: Vec<u8> = (0..5 * PIECE + 77).map(|i| (i * 7 % 253) as u8).collect();
        let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
        h.update(&data);
        let torrent = TorrentBuilder::plain("fuzz.bin")
            .build(&h.finish())
            .unwrap();
        let mut changed = data.clone();
        changed[2 * PIECE + 5] ^= 0x40;
        Fixture {
            data,
            changed,
            torrent,
        }
    })
}

fn decode_all(input: &[u8], chunk: usize) -> (Vec<Frame>, Option<String>) {
    let mut d = FrameDecoder::new(1 << 17);
    let mut frames = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        d.push(part);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, Some(e.to_string())),
            }
        }
    }
    (frames, None)
}

/// What a host does with the connection's events: a handshake is accepted
/// when it names our torrent, a needed piece is read from `source` and
/// checked (a failed load ends the connection: `failed_load`).
fn host_events(
    conn: &mut Connection,
    seed: &Arc<Seed>,
    source: &[u8],
    now: Instant,
    failed_load: &mut bool,
) -> Result<(), Error> {
    loop {
        match conn.poll_event() {
            Some(Event::Handshake(h)) => {
                if seed.torrent().matches(&h.info_hash) {
                    conn.accept(seed.clone(), now)?;
                } else {
                    return Err(conn.reject());
                }
            }
            Some(Event::NeedPiece(index)) => match seed.read_piece(index, source) {
                Ok(piece) => conn.piece_loaded(piece)?,
                Err(e) => {
                    *failed_load = true;
                    return Err(e);
                }
            },
            Some(_) => {}
            None => return Ok(()),
        }
    }
}

/// Appends what the connection sends within `budget`; a failed transmit
/// hands out nothing.
fn transmit(
    conn: &mut Connection,
    now: Instant,
    budget: usize,
    sent: &mut Vec<u8>,
) -> Result<(), Error> {
    let before = sent.len();
    let step = conn.poll_transmit(now, budget, sent).map(|_| ());
    if step.is_err() {
        assert_eq!(sent.len(), before, "a failed transmit hands out nothing");
    }
    step
}

fuzz_target!(|input: &[u8]| {
    let Some((&setup, rest)) = input.split_first() else {
        return;
    };
    let Some((&chunk, stream)) = rest.split_first() else {
        return;
    };
    let chunk = usize::from(chunk) + 1;

    // The decoder does not care how the bytes arrive.
    let whole = decode_all(stream, stream.len().max(1));
    assert_eq!(whole, decode_all(stream, chunk));
    assert_eq!(whole, decode_all(stream, 1));

    let f = fixture();
    let raw = setup & 1 != 0;
    let ext = if setup & 2 != 0 {
        Extensions::NONE
            .with(Extension::Fast)
            .with(Extension::Extended)
    } else {
        Extensions::NONE
    };
    let mut options = SeedOptions::default();
    options.choker.slots = UploadSlots::Unlimited;
    if setup & 4 != 0 {
        options.mode = SeedMode::SuperSeed;
    }
    if setup & 16 != 0 {
        options.mode = SeedMode::Adaptive(Adaptive::default());
    }
    let source: &[u8] = if setup & 8 != 0 { &f.changed } else { &f.data };
    let seed = Arc::new(Seed::new(
        SeedTorrent::from_torrent(&f.torrent, *b"-S30100-fuzzfuzzfuzz").unwrap(),
        options,
    ));

    let t0 = Instant::now();
    let mut conn = Connection::incoming(Config::default(), t0);
    let mut sent = Vec::new();
    if !raw {
        let hs = Handshake {
            extensions: ext,
            info_hash: f.torrent.info_hash(),
            peer_id: [b'p'; 20],
        };
        conn.handle_input(t0, &hs.to_bytes()).unwrap();
        assert!(matches!(conn.poll_event(), Some(Event::Handshake(_))));
        conn.accept(seed.clone(), t0).unwrap();
    }

    let mut closed = false;
    let mut failed_load = false;
    for (k, part) in stream.chunks(chunk).enumerate() {
        let now = t0 + Duration::from_millis(900 * k as u64);
        let mut step = conn
            .handle_input(now, part)
            .and_then(|()| host_events(&mut conn, &seed, source, now, &mut failed_load));
        if step.is_ok() && conn.poll_timeout().is_some_and(|t| t <= now) {
            step = conn.handle_timeout(now);
        }
        if step.is_ok() {
            let budget = if k % 3 == 0 { 20_000 } else { usize::MAX };
            // Send, load what the transmit asked for, then send from it.
            step = transmit(&mut conn, now, budget, &mut sent)
                .and_then(|()| host_events(&mut conn, &seed, source, now, &mut failed_load))
                .and_then(|()| transmit(&mut conn, now, budget, &mut sent));
        }
        if let Err(e) = step {
            if failed_load {
                // The host drops a connection whose piece it could not load.
                closed = true;
                break;
            }
            assert!(conn.is_closed(), "{e}");
            closed = true;
            break;
        }
    }
    if closed && !failed_load {
        assert!(matches!(conn.handle_input(t0, b"x"), Err(Error::Closed)));
        let mut out = Vec::new();
        assert!(matches!(
            conn.poll_transmit(t0, usize::MAX, &mut out),
            Err(Error::Closed)
        ));
        assert!(out.is_empty());
        assert_eq!(conn.poll_timeout(), None);
    } else if !closed {
        assert!(conn.poll_timeout().is_some());
    }

    // What was sent decodes, our handshake first, and every block is true.
    let mut d = FrameDecoder::new(u32::MAX);
    d.push(&sent);
    let mut first = true;
    while let Some(frame) = d.next_frame().expect("our output decodes") {
        match frame {
            Frame::Handshake(h) => {
                assert!(first);
                assert!(seed.torrent().matches(&h.info_hash));
            }
            Frame::Message(Message::Piece { index, begin, data }) => {
                assert!(data.len() <= PIECE);
                let at = index as usize * PIECE + begin as usize;
                assert_eq!(&data[..], &f.data[at..at + data.len()]);
                let mut check = vec![0; data.len()];
                source.read_at(&mut check, at as u64).unwrap();
                assert_eq!(check, &data[..], "a block of a changed piece went out");
            }
            Frame::Message(_) => assert!(!first, "handshake first"),
        }
        first = false;
    }
    assert_eq!(d.buffered(), 0, "whole messages only");
});
