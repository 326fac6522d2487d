//! v2-only torrents (BEP 52): seeded under the truncated v2 info-hash, each
//! piece checked against the file's merkle tree before any byte of it goes
//! out. The torrents are written by hand here, their hashes computed with
//! SHA-256 directly from BEP 52's rule, not by the crates' merkle code.

use crate::common;

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use s3torrent_metainfo::{InfoHash, ReadAt, Torrent, TorrentVersion};
use s3torrent_peer::{
    BlockRequest, Error, Extension, Frame, HashRequest, Message, Seed, SeedOptions, SeedTorrent,
};
use sha2::{Digest, Sha256};

const KIB16: usize = 16384;

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A v2-only torrent of one file `name`, written by hand: its `pieces
/// root`, and its `piece layers` entry when it has more than one piece.
fn v2_torrent(
    name: &str,
    length: usize,
    piece_length: usize,
    root: [u8; 32],
    layer: &[u8],
) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(b"d9:file treed");
    info.extend_from_slice(format!("{}:{name}", name.len()).as_bytes());
    info.extend_from_slice(b"d0:d6:lengthi");
    info.extend_from_slice(length.to_string().as_bytes());
    info.extend_from_slice(b"e11:pieces root32:");
    info.extend_from_slice(&root);
    info.extend_from_slice(b"eee12:meta versioni2e4:name");
    info.extend_from_slice(format!("{}:{name}", name.len()).as_bytes());
    info.extend_from_slice(b"12:piece lengthi");
    info.extend_from_slice(piece_length.to_string().as_bytes());
    info.extend_from_slice(b"ee");
    let mut t = b"d4:info".to_vec();
    t.extend_from_slice(&info);
    t.extend_from_slice(b"12:piece layersd");
    if !layer.is_empty() {
        t.extend_from_slice(b"32:");
        t.extend_from_slice(&root);
        t.extend_from_slice(format!("{}:", layer.len()).as_bytes());
        t.extend_from_slice(layer);
    }
    t.extend_from_slice(b"ee");
    t
}

/// A file of 64 KiB pieces (4 leaves each): piece 0 whole, piece 1 of one
/// whole block and one short block of 3616 bytes, padded with two zero
/// leaves to the piece's four.
struct TwoPieces {
    data: Vec<u8>,
    torrent: Torrent,
    truncated: InfoHash,
}

fn two_pieces() -> TwoPieces {
    let data = data(65536 + KIB16 + 3616);
    let leaves: Vec<[u8; 32]> = data.chunks(KIB16).map(|b| sha256(&[b])).collect();
    assert_eq!(leaves.len(), 6);
    let zero = [0u8; 32];
    let r0 = sha256(&[
        &sha256(&[&leaves[0], &leaves[1]]),
        &sha256(&[&leaves[2], &leaves[3]]),
    ]);
    let r1 = sha256(&[&sha256(&[&leaves[4], &leaves[5]]), &sha256(&[&zero, &zero])]);
    let root = sha256(&[&r0, &r1]);
    let layer = [r0, r1].concat();
    let bytes = v2_torrent("two.bin", data.len(), 65536, root, &layer);
    let torrent = Torrent::from_bytes(bytes).expect("a v2 torrent");
    assert_eq!(torrent.version(), TorrentVersion::V2);
    let v2 = sha256(&[torrent.info_bytes()]);
    let truncated = InfoHash::from_bytes(v2[..20].try_into().unwrap());
    TwoPieces {
        data,
        torrent,
        truncated,
    }
}

fn seed_of(torrent: &Torrent) -> Arc<Seed> {
    Arc::new(Seed::new(
        SeedTorrent::from_torrent(torrent, SEED_ID).expect("a v2-only torrent is seeded"),
        SeedOptions::default(),
    ))
}

fn request(index: u32, begin: u32, length: u32) -> Message {
    Message::Request(BlockRequest {
        index,
        begin,
        length,
    })
}

#[test]
fn a_v2_only_torrent_is_seeded_under_its_truncated_v2_info_hash() {
    let t = two_pieces();
    let seed = seed_of(&t.torrent);
    assert_eq!(seed.torrent().info_hash(), t.truncated);
    assert_eq!(seed.torrent().version(), TorrentVersion::V2);
    assert_eq!(seed.torrent().piece_count(), 2);
    assert_eq!(seed.torrent().piece_size(1), 20000);
    // Peer::connect hands the seed the truncated v2 info-hash.
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    let frames = p.recv(&t.data).unwrap();
    let Frame::Handshake(h) = &frames[0] else {
        panic!("no handshake: {frames:?}")
    };
    assert_eq!(h.info_hash, t.truncated);
    assert!(h.extensions.supports(Extension::V2), "{:?}", h.extensions);
    assert!(h.extensions.supports(Extension::Fast));
    assert_eq!(frames[1], Frame::Message(Message::HaveAll));
}

#[test]
fn v2_pieces_are_served_after_their_merkle_root_matched() {
    let t = two_pieces();
    let seed = seed_of(&t.torrent);
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    p.recv(&t.data).unwrap();
    p.interested_unchoked(&t.data);
    for begin in [0, 16384, 32768, 49152] {
        p.send(&request(0, begin, 16384)).unwrap();
    }
    // The file's last piece: a whole block, then the short one.
    p.send(&request(1, 0, 16384)).unwrap();
    p.send(&request(1, 16384, 3616)).unwrap();
    let ms = p.recv_messages(&t.data).unwrap();
    let pieces: Vec<_> = ms.iter().filter_map(piece_data).collect();
    assert_eq!(pieces.len(), 6, "{ms:?}");
    for (index, begin, bytes) in pieces {
        let at = index as usize * 65536 + begin as usize;
        assert_eq!(&bytes[..], &t.data[at..at + bytes.len()]);
    }
    assert_eq!(seed.stale_piece(), None);
}

/// The original bytes, except one flipped byte at `at`.
struct Flipped<'a>(&'a [u8], u64);

impl ReadAt for Flipped<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let n = self.0.read_at(buf, offset)?;
        if let Some(i) = self.1.checked_sub(offset).filter(|&i| i < n as u64) {
            buf[i as usize] ^= 1;
        }
        Ok(n)
    }
}

#[test]
fn a_changed_byte_in_the_short_block_of_the_last_piece_sends_nothing_of_it() {
    let t = two_pieces();
    let seed = seed_of(&t.torrent);
    let changed = Flipped(&t.data, t.data.len() as u64 - 1);
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    p.recv(&changed).unwrap();
    p.interested_unchoked(&changed);
    // Its first block is intact, but the piece is checked whole.
    p.send(&request(1, 0, 16384)).unwrap();
    let before = p.received.len();
    let err = p.recv(&changed).unwrap_err();
    assert!(matches!(err, Error::PieceMismatch { index: 1 }), "{err}");
    assert!(p.received[before..].is_empty());
    assert_eq!(seed.stale_piece(), Some(1));
}

#[test]
fn a_changed_byte_in_a_whole_piece_is_refused_and_the_other_piece_served() {
    let t = two_pieces();
    let seed = seed_of(&t.torrent);
    let changed = Flipped(&t.data, 40_000);
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    p.recv(&changed).unwrap();
    p.interested_unchoked(&changed);
    p.send(&request(1, 16384, 3616)).unwrap();
    let ms = p.recv_messages(&changed).unwrap();
    assert_eq!(
        ms.iter().filter_map(piece_data).collect::<Vec<_>>(),
        [(1, 16384, Bytes::copy_from_slice(&t.data[81920..]))]
    );
    p.send(&request(0, 0, 16384)).unwrap();
    let before = p.received.len();
    let err = p.recv(&changed).unwrap_err();
    assert!(matches!(err, Error::PieceMismatch { index: 0 }), "{err}");
    assert!(p.received[before..].is_empty());
}

/// A file of one piece has no layer: its piece is checked against `pieces
/// root`, the tree over its two leaves padded to two (the next power of
/// two), not to the piece's four.
#[test]
fn a_file_of_one_piece_is_checked_against_its_pieces_root() {
    let data = data(KIB16 + 3616);
    let root = sha256(&[&sha256(&[&data[..KIB16]]), &sha256(&[&data[KIB16..]])]);
    let torrent = Torrent::from_bytes(v2_torrent("one.bin", data.len(), 65536, root, &[])).unwrap();
    let seed = seed_of(&torrent);
    assert_eq!(seed.torrent().piece_count(), 1);
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    p.recv(&data).unwrap();
    p.interested_unchoked(&data);
    p.send(&request(0, 16384, 3616)).unwrap();
    let ms = p.recv_messages(&data).unwrap();
    assert_eq!(
        ms.iter().filter_map(piece_data).collect::<Vec<_>>(),
        [(0, 16384, Bytes::copy_from_slice(&data[KIB16..]))]
    );

    // The same bytes under a root padded to the piece's four leaves (the
    // wrong rule for a file of one piece) are refused.
    let zero = [0u8; 32];
    let padded = sha256(&[&root, &sha256(&[&zero, &zero])]);
    let torrent =
        Torrent::from_bytes(v2_torrent("one.bin", data.len(), 65536, padded, &[])).unwrap();
    let seed = seed_of(&torrent);
    let mut p = Peer::connect(&seed, fast_ext());
    p.recv(&data).unwrap();
    p.interested_unchoked(&data);
    p.send(&request(0, 0, 16384)).unwrap();
    let before = p.received.len();
    let err = p.recv(&data).unwrap_err();
    assert!(matches!(err, Error::PieceMismatch { index: 0 }), "{err}");
    assert!(p.received[before..].is_empty());
}

/// BEP 52 hash requests are answered from the piece layers; what is not in
/// them (the block hashes, another root) gets `hash reject`, and the
/// connection stays.
#[test]
fn hash_requests_are_answered_from_the_piece_layer() {
    let t = two_pieces();
    let seed = seed_of(&t.torrent);
    let mut p = Peer::connect(&seed, fast_ext().with(Extension::V2));
    p.recv(&t.data).unwrap();
    let layer = t.torrent.info().v2_files()[0].piece_layer().to_vec();
    let root = t.torrent.info().v2_files()[0].pieces_root().unwrap();
    // The piece layer is layer 2 (four blocks a piece); two pieces.
    let asked = |base_layer, index, length, proof_layers| HashRequest {
        pieces_root: root,
        base_layer,
        index,
        length,
        proof_layers,
    };
    let layer_req = asked(2, 0, 2, 0);
    p.send(&Message::HashRequest(layer_req)).unwrap();
    // Piece 1's hash alone.
    let one = asked(2, 1, 1, 0);
    p.send(&Message::HashRequest(one)).unwrap();
    let blocks = asked(0, 0, 4, 0);
    p.send(&Message::HashRequest(blocks)).unwrap();
    let mut other = asked(2, 0, 2, 0);
    other.pieces_root[0] ^= 1;
    p.send(&Message::HashRequest(other)).unwrap();
    let ms = p.recv_messages(&t.data).unwrap();
    assert_eq!(
        ms,
        [
            Message::Hashes {
                request: layer_req,
                hashes: Bytes::from(layer.clone()),
            },
            Message::Hashes {
                request: one,
                hashes: Bytes::copy_from_slice(&layer[32..]),
            },
            Message::HashReject(blocks),
            Message::HashReject(other),
        ]
    );
    assert!(!p.conn.is_closed());

    // A file of one piece has no layer to answer from.
    let data = data(100);
    let root = sha256(&[&data]);
    let torrent = Torrent::from_bytes(v2_torrent("one.bin", 100, 65536, root, &[])).unwrap();
    let seed = seed_of(&torrent);
    let mut p = Peer::connect(&seed, fast_ext());
    p.recv(&data).unwrap();
    let req = HashRequest {
        pieces_root: root,
        base_layer: 0,
        index: 0,
        length: 1,
        proof_layers: 0,
    };
    p.send(&Message::HashRequest(req)).unwrap();
    assert_eq!(p.recv_messages(&data).unwrap(), [Message::HashReject(req)]);
}

#[test]
fn a_v2_only_torrent_of_two_files_is_refused() {
    // Two files of one 16 KiB block each, in a folder.
    let (a, b) = (vec![1u8; 100], vec![2u8; 200]);
    let (ra, rb) = (sha256(&[&a]), sha256(&[&b]));
    let mut info = b"d9:file treed1:ad0:d6:lengthi100e11:pieces root32:".to_vec();
    info.extend_from_slice(&ra);
    info.extend_from_slice(b"ee1:bd0:d6:lengthi200e11:pieces root32:");
    info.extend_from_slice(&rb);
    info.extend_from_slice(b"eee12:meta versioni2e4:name3:dir12:piece lengthi16384ee");
    let mut bytes = b"d4:info".to_vec();
    bytes.extend_from_slice(&info);
    bytes.extend_from_slice(b"12:piece layersdee");
    let torrent = Torrent::from_bytes(bytes).expect("a v2 torrent of two files");
    let err = SeedTorrent::from_torrent(&torrent, SEED_ID).unwrap_err();
    assert!(err.to_string().contains("2 files"), "{err}");
}
