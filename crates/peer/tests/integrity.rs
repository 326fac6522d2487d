//! Never a byte that does not belong to the info-hash: a source whose bytes
//! changed, or that ends early, fails the connection before the piece goes out.

use crate::common;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use common::*;
use s3torrent_metainfo::ReadAt;
use s3torrent_peer::{BlockRequest, Error, Frame, Message, SeedOptions, UploadSlots};

/// The original bytes, except one flipped byte in piece 2.
struct Changed(Vec<u8>);

impl ReadAt for Changed {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.0.read_at(buf, offset)?;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            if offset + i as u64 == 2 * 16384 + 100 {
                *b ^= 1;
            }
        }
        Ok(n)
    }
}

/// Counts reads, to show one hash serves many connections.
struct Counting<'a>(&'a [u8], &'a AtomicUsize);

impl ReadAt for Counting<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.read_at(buf, offset)
    }
}

fn request(index: u32) -> Message {
    Message::Request(BlockRequest {
        index,
        begin: 0,
        length: 16384,
    })
}

#[test]
fn changed_bytes_fail_the_connection_and_mark_the_seed_stale() {
    let f = Fixture::new(4 * 16384, 16384);
    let changed = Changed(f.data.clone());
    let mut p = Peer::connect(&f.seed, fast_ext());
    let mut other = Peer::connect(&f.seed, fast_ext());
    p.recv(&changed).unwrap();
    other.recv(&changed).unwrap();
    p.interested_unchoked(&changed);
    other.interested_unchoked(&changed);

    // Piece 1 is fine, piece 2 changed: its check fails, the seed is
    // stale, and nothing of piece 2 (nor of what follows) is sent.
    p.send(&request(1)).unwrap();
    p.send(&request(2)).unwrap();
    p.send(&request(3)).unwrap();
    let before = p.received.len();
    let err = p.recv(&changed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "piece 2 does not match its hash (the data changed); nothing of it was sent"
    );
    assert!(
        !p.received[before..]
            .iter()
            .any(|f| matches!(f, Frame::Message(Message::Piece { index: 2 | 3, .. }))),
        "{:?}",
        &p.received[before..]
    );
    assert_eq!(f.seed.stale_piece(), Some(2));
    // Its next transmit fails and closes it, though piece 1 was loaded.
    let mut wire = Vec::new();
    let err = p.conn.poll_transmit(p.now, 1 << 20, &mut wire).unwrap_err();
    assert!(matches!(err, Error::Stale { index: 2 }), "{err}");
    assert!(wire.is_empty());
    assert!(p.conn.is_closed());

    // The other connection of the torrent fails too, whatever it asks for.
    other.send(&request(0)).unwrap();
    let before = other.received.len();
    let err = other.recv(&f.data).unwrap_err();
    assert!(matches!(err, Error::Stale { index: 2 }), "{err}");
    assert!(other.received[before..].is_empty());
    assert!(other.conn.is_closed());
}

#[test]
fn a_short_source_fails_the_connection() {
    let f = Fixture::new(4 * 16384, 16384);
    let short = f.data[..3 * 16384 + 10].to_vec();
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&short).unwrap();
    p.interested_unchoked(&short);
    p.send(&request(3)).unwrap();
    let before = p.received.len();
    let err = p.recv(&short).unwrap_err();
    assert_eq!(
        err.to_string(),
        "piece 3: the data ended at byte 49162, expected 65536 bytes"
    );
    assert!(p.received[before..].is_empty());
    // A short read is not a changed object: the seed is not stale.
    assert_eq!(f.seed.stale_piece(), None);
}

#[test]
fn a_failing_source_fails_the_connection() {
    struct Failing;
    impl ReadAt for Failing {
        fn read_at(&self, _: &mut [u8], _: u64) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let f = Fixture::new(2 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.interested_unchoked(&f.data);
    p.send(&request(0)).unwrap();
    let err = p.recv(&Failing).unwrap_err();
    assert_eq!(
        err.to_string(),
        "piece 0: read failed at byte 0: disk on fire"
    );
}

#[test]
fn eight_peers_on_threads_get_true_blocks() {
    let mut options = SeedOptions::default();
    options.choker.slots = UploadSlots::Unlimited;
    let f = Fixture::with(4 * 16384, 16384, options);
    let reads = AtomicUsize::new(0);
    let data = &f.data;
    let reads_ref = &reads;
    let seed = Arc::clone(&f.seed);
    thread::scope(|s| {
        for _ in 0..8 {
            let seed = Arc::clone(&seed);
            s.spawn(move || {
                let source = Counting(data, reads_ref);
                let mut p = Peer::connect(&seed, fast_ext());
                p.interested_unchoked(&source);
                for i in 0..4 {
                    p.send(&request(i)).unwrap();
                }
                let ms = p.recv_messages(&source).unwrap();
                let pieces: Vec<_> = ms.iter().filter_map(piece_data).collect();
                assert_eq!(pieces.len(), 4);
                for (index, _, bytes) in pieces {
                    let at = index as usize * 16384;
                    assert_eq!(&bytes[..], &data[at..at + 16384]);
                }
            });
        }
    });
    // Without a shared cache each connection loads what it serves: the
    // host (the server's edge) shares loads between connections.
    assert_eq!(reads.load(Ordering::Relaxed), 8 * 4);
}
