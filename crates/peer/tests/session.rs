//! A scripted peer against the seed: handshakes, announcements, metadata,
//! downloads, request bookkeeping.

use crate::common;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use common::*;
use s3torrent_bencode::Decoder;
use s3torrent_metainfo::{
    InfoHash, PieceLength, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion,
};
use s3torrent_peer::{
    BlockRequest, Config, Connection, Event, Extension, Extensions, HashRequest, Message, Seed,
    SeedOptions, SeedTorrent,
};
use sha1::{Digest, Sha1};

const BLOCK: u32 = 16384;

fn block(index: u32, begin: u32, length: u32) -> BlockRequest {
    BlockRequest {
        index,
        begin,
        length,
    }
}

#[test]
fn fast_peer_gets_have_all_and_extended_handshake_exact_bytes() {
    let f = Fixture::new(10 * 16384 - 5, 16384);
    let mut conn = Connection::incoming(Config::default(), Instant::now());
    let now = Instant::now();
    conn.handle_input(now, &handshake_bytes(f.torrent.info_hash(), fast_ext()))
        .unwrap();
    let Some(Event::Handshake(h)) = conn.poll_event() else {
        panic!()
    };
    assert!(h.extensions.supports(Extension::Fast));
    assert_eq!(h.peer_id, PEER_ID);
    conn.accept(f.seed.clone(), now).unwrap();
    let mut wire = Vec::new();
    conn.poll_transmit(now, 1 << 20, &mut wire).unwrap();

    // Our handshake, by hand: BEP 10 bit reserved[5] & 0x10, BEP 6 bit reserved[7] & 0x04.
    let mut expected = vec![19];
    expected.extend_from_slice(b"BitTorrent protocol");
    expected.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    expected.extend_from_slice(f.torrent.info_hash().as_bytes());
    expected.extend_from_slice(&SEED_ID);
    // have all.
    expected.extend_from_slice(&[0, 0, 0, 1, 14]);
    assert_eq!(&wire[..73], &expected[..]);

    let ms = messages(&wire[73..]);
    assert_eq!(ms.len(), 1);
    let Message::Extended { id: 0, payload } = &ms[0] else {
        panic!("{ms:?}")
    };
    let info_len = f.torrent.info_bytes().len() as i64;
    let mut ext =
        format!("d1:md11:ut_metadatai1ee13:metadata_sizei{info_len}e4:reqqi500e1:v").into_bytes();
    let v = concat!("s3torrent ", env!("CARGO_PKG_VERSION"));
    ext.extend(format!("{}:{v}e", v.len()).bytes());
    assert_eq!(&payload[..], &ext[..]);
    let d = s3torrent_bencode::decode(payload).unwrap();
    assert_eq!(d.get("metadata_size").unwrap().as_int(), Some(info_len));
}

#[test]
fn plain_peer_gets_a_bitfield_with_spare_bits_zero() {
    // 10 pieces: 0xff 0xc0.
    let f = Fixture::new(10 * 16384 - 5, 16384);
    let mut p = Peer::connect(&f.seed, Extensions::NONE);
    let wire = {
        let mut w = Vec::new();
        p.conn.poll_transmit(p.now, 1 << 20, &mut w).unwrap();
        w
    };
    // Our handshake always carries our extension bits.
    assert_eq!(&wire[20..28], &[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
    // Then only the bitfield: the peer supports neither BEP 6 nor BEP 10.
    assert_eq!(&wire[68..], &[0, 0, 0, 3, 5, 0xff, 0xc0]);

    for (pieces, bits) in [(8usize, vec![0xff]), (9, vec![0xff, 0x80]), (1, vec![0x80])] {
        let f = Fixture::new(pieces * 16384, 16384);
        assert_eq!(f.seed.torrent().full_bitfield(), bits, "{pieces} pieces");
    }
}

#[test]
fn ut_metadata_pieces_concatenate_to_the_info_dictionary() {
    // A long `source` makes the info dictionary span three metadata pieces.
    let data = data(3 * 16384);
    let torrent = torrent_of(
        &data,
        16384,
        TorrentBuilder::plain("object.bin").source("s".repeat(40_000)),
    );
    assert!(torrent.info_bytes().len() > 2 * 16384);
    let seed = Arc::new(Seed::new(
        SeedTorrent::from_torrent(&torrent, SEED_ID).unwrap(),
        SeedOptions::default(),
    ));
    let mut p = Peer::connect(&seed, fast_ext());
    p.recv(&data).unwrap();
    // Our extended handshake: ut_metadata is our id 3.
    p.send(&Message::Extended {
        id: 0,
        payload: Bytes::from_static(b"d1:md11:ut_metadatai3eee"),
    })
    .unwrap();
    let mut info = Vec::new();
    let decoder = Decoder::lenient();
    for piece in 0..4 {
        p.send(&Message::Extended {
            id: 1,
            payload: format!("d8:msg_typei0e5:piecei{piece}ee")
                .into_bytes()
                .into(),
        })
        .unwrap();
        let ms = p.recv_messages(&data).unwrap();
        assert_eq!(ms.len(), 1);
        let Message::Extended { id: 3, payload } = &ms[0] else {
            panic!("{ms:?}")
        };
        let (d, end) = decoder.decode_prefix(payload).unwrap();
        if piece == 3 {
            assert_eq!(d.get("msg_type").unwrap().as_int(), Some(2), "reject");
            assert_eq!(end, payload.len());
            continue;
        }
        assert_eq!(d.get("msg_type").unwrap().as_int(), Some(1));
        assert_eq!(d.get("piece").unwrap().as_int(), Some(piece));
        assert_eq!(
            d.get("total_size").unwrap().as_int(),
            Some(torrent.info_bytes().len() as i64)
        );
        info.extend_from_slice(&payload[end..]);
    }
    let hash: [u8; 20] = Sha1::digest(&info).into();
    assert_eq!(InfoHash::from_bytes(hash), torrent.info_hash());
    assert_eq!(p.conn.stats().metadata_pieces_sent, 3);
}

#[test]
fn interested_unchoke_request_everything() {
    // 3 pieces of 32 KiB, the last short: blocks of 16 KiB and a tail.
    let len = 2 * 32768 + 20000;
    let f = Fixture::new(len, 32768);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&f.data).unwrap();
    p.interested_unchoked(&f.data);
    let mut requests = Vec::new();
    for index in 0..3u32 {
        let size = f.seed.torrent().piece_size(index);
        let mut begin = 0;
        while begin < size {
            let length = BLOCK.min(size - begin);
            requests.push(block(index, begin, length));
            begin += length;
        }
    }
    assert_eq!(requests.len(), 6);
    for r in &requests {
        p.send(&Message::Request(*r)).unwrap();
    }
    let ms = p.recv_messages(&f.data).unwrap();
    let mut got = vec![0u8; len];
    for m in &ms {
        let (index, begin, data) = piece_data(m).expect("only pieces");
        let at = index as usize * 32768 + begin as usize;
        got[at..at + data.len()].copy_from_slice(&data);
    }
    assert_eq!(ms.len(), 6);
    assert_eq!(got, f.data);
    let stats = p.conn.stats();
    assert_eq!(stats.payload_sent, len as u64);
    assert_eq!(stats.blocks_sent, 6);
    assert_eq!(stats.pieces_sent, 3);
}

#[test]
fn budget_limits_piece_messages() {
    let f = Fixture::new(4 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&f.data).unwrap();
    p.interested_unchoked(&f.data);
    for i in 0..4 {
        p.send(&Message::Request(block(i, 0, BLOCK))).unwrap();
    }
    // The requests ask for their pieces (three at most in hand), and
    // nothing is sent before a piece is loaded.
    let mut wire = Vec::new();
    assert_eq!(p.conn.poll_transmit(p.now, 1 << 20, &mut wire).unwrap(), 0);
    let mut asked = Vec::new();
    while let Some(e) = p.conn.poll_event() {
        asked.push(e);
    }
    assert_eq!(asked, (0..3).map(Event::NeedPiece).collect::<Vec<_>>());
    for i in 0..3 {
        let piece = f.seed.read_piece(i, &f.data[..]).unwrap();
        p.conn.piece_loaded(piece).unwrap();
    }
    let n = p
        .conn
        .poll_transmit(p.now, 2 * (16384 + 13) + 100, &mut wire)
        .unwrap();
    assert_eq!(n, 2 * (16384 + 13));
    assert_eq!(p.conn.pending_requests(), 2);
    wire.clear();
    assert_eq!(p.conn.poll_transmit(p.now, 100, &mut wire).unwrap(), 0);
    let ms = p.recv_messages(&f.data).unwrap();
    assert_eq!(ms.len(), 2);
    assert_eq!(piece_data(&ms[0]).unwrap().0, 2);
    assert_eq!(piece_data(&ms[1]).unwrap().0, 3);
}

#[test]
fn duplicates_cancel_and_choked_requests() {
    let f = Fixture::new(4 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&f.data).unwrap();
    // Choked: a BEP 6 peer's request is rejected.
    p.send(&Message::Request(block(0, 0, BLOCK))).unwrap();
    assert_eq!(
        p.recv_messages(&f.data).unwrap(),
        vec![Message::Reject(block(0, 0, BLOCK))]
    );
    p.interested_unchoked(&f.data);
    // A duplicate is served once; a cancelled request is rejected (BEP 6).
    p.send(&Message::Request(block(1, 0, BLOCK))).unwrap();
    p.send(&Message::Request(block(1, 0, BLOCK))).unwrap();
    p.send(&Message::Request(block(2, 0, BLOCK))).unwrap();
    p.send(&Message::Cancel(block(2, 0, BLOCK))).unwrap();
    // A block shorter than 16 KiB is fine.
    p.send(&Message::Request(block(3, 0, 8192))).unwrap();
    let ms = p.recv_messages(&f.data).unwrap();
    assert_eq!(ms[0], Message::Reject(block(2, 0, BLOCK)));
    assert_eq!(
        ms.len(),
        3,
        "{:?}",
        ms.iter().map(Message::name).collect::<Vec<_>>()
    );
    assert_eq!(piece_data(&ms[1]).unwrap().0, 1);
    assert_eq!(
        piece_data(&ms[2]).unwrap(),
        (
            3,
            0,
            Bytes::copy_from_slice(&f.data[3 * 16384..3 * 16384 + 8192])
        )
    );
}

#[test]
fn blocks_above_the_served_size_are_refused() {
    let f = Fixture::new(2 * 65536, 65536);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&f.data).unwrap();
    p.interested_unchoked(&f.data);
    p.send(&Message::Request(block(0, 0, 32768))).unwrap();
    assert_eq!(
        p.recv_messages(&f.data).unwrap(),
        vec![Message::Reject(block(0, 0, 32768))]
    );
    assert_eq!(p.conn.stats().requests_refused, 1);
}

#[test]
fn too_many_requests() {
    let f = Fixture::new(300 * 16384, 16384);
    let mut config = Config::default();
    config.limits.max_outstanding_requests = 4;
    // A BEP 6 peer gets rejects beyond the limit.
    let mut p = Peer::connect_with(&f.seed, fast_ext(), config.clone(), Instant::now());
    p.recv(&f.data).unwrap();
    p.interested_unchoked(&f.data);
    for i in 0..5 {
        p.send(&Message::Request(block(i, 0, BLOCK))).unwrap();
    }
    assert_eq!(p.conn.pending_requests(), 4);
    let ms = p.recv_messages(&f.data).unwrap();
    assert_eq!(ms[0], Message::Reject(block(4, 0, BLOCK)));
    // Another is closed.
    let mut p = Peer::connect_with(&f.seed, Extensions::NONE, config, Instant::now());
    p.recv(&f.data).unwrap();
    p.interested_unchoked(&f.data);
    for i in 0..4 {
        p.send(&Message::Request(block(i, 0, BLOCK))).unwrap();
    }
    let err = p.send(&Message::Request(block(4, 0, BLOCK))).unwrap_err();
    assert_eq!(err.to_string(), "more than 4 outstanding requests");
    assert!(p.conn.is_closed());
}

#[test]
fn hash_request_gets_hash_reject_and_unknown_ids_are_ignored() {
    let f = Fixture::new(2 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.recv(&f.data).unwrap();
    let h = HashRequest {
        pieces_root: [7; 32],
        base_layer: 0,
        index: 0,
        length: 2,
        proof_layers: 0,
    };
    p.send(&Message::HashRequest(h)).unwrap();
    // Unknown id 99 with a payload, port, suggest, allowed fast, keep-alive:
    // all ignored.
    p.send_raw(&[0, 0, 0, 4, 99, 1, 2, 3]).unwrap();
    p.send(&Message::Port(6881)).unwrap();
    p.send(&Message::KeepAlive).unwrap();
    p.send(&Message::Suggest(1)).unwrap();
    p.send(&Message::AllowedFast(0)).unwrap();
    p.send(&Message::Choke).unwrap();
    assert_eq!(
        p.recv_messages(&f.data).unwrap(),
        vec![Message::HashReject(h)]
    );
}

#[test]
fn hybrid_torrent_accepts_the_truncated_v2_hash() {
    let data = data(3 * 16384);
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
    h.update(&data);
    let torrent: Torrent = TorrentBuilder::plain("object.bin")
        .version(TorrentVersion::Hybrid)
        .build(&h.finish())
        .unwrap();
    let seed = Arc::new(Seed::new(
        SeedTorrent::from_torrent(&torrent, SEED_ID).unwrap(),
        SeedOptions::default(),
    ));
    let v2 = torrent.info_hash_v2().unwrap().truncated();
    assert!(seed.torrent().matches(&v2));
    let now = Instant::now();
    let mut conn = Connection::incoming(Config::default(), now);
    conn.handle_input(now, &handshake_bytes(v2, fast_ext()))
        .unwrap();
    let Some(Event::Handshake(hs)) = conn.poll_event() else {
        panic!()
    };
    assert_eq!(hs.info_hash, v2);
    conn.accept(seed.clone(), now).unwrap();
    let mut wire = Vec::new();
    conn.poll_transmit(now, 1 << 20, &mut wire).unwrap();
    // We answer with the hash the peer used, and BEP 52's v2 bit.
    assert_eq!(&wire[28..48], v2.as_bytes());
    assert_eq!(wire[27] & 0x10, 0x10);

    // Under the v1 info-hash, no v2 bit (it would invite an upgrade).
    let mut conn = Connection::incoming(Config::default(), now);
    conn.handle_input(now, &handshake_bytes(torrent.info_hash(), fast_ext()))
        .unwrap();
    assert!(matches!(conn.poll_event(), Some(Event::Handshake(_))));
    conn.accept(seed.clone(), now).unwrap();
    let mut wire = Vec::new();
    conn.poll_transmit(now, 1 << 20, &mut wire).unwrap();
    assert_eq!(&wire[28..48], torrent.info_hash().as_bytes());
    assert_eq!(wire[27] & 0x10, 0);

    // A v2-only torrent is seeded under its truncated v2 info-hash only.
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V2);
    h.update(&data);
    let v2only = TorrentBuilder::plain("object.bin")
        .version(TorrentVersion::V2)
        .build(&h.finish())
        .unwrap();
    let seed = SeedTorrent::from_torrent(&v2only, SEED_ID).unwrap();
    let truncated = v2only.info_hash_v2().unwrap().truncated();
    assert_eq!(seed.info_hash(), truncated);
    assert!(seed.matches(&truncated));
    assert!(!seed.matches(&InfoHash::of_info_bytes(v2only.info_bytes())));
}

#[test]
fn outgoing_connection_sends_its_handshake_first() {
    let f = Fixture::new(2 * 16384, 16384);
    let now = Instant::now();
    let mut conn = Connection::outgoing(Config::default(), f.seed.clone(), now);
    let mut wire = Vec::new();
    conn.poll_transmit(now, 1 << 20, &mut wire).unwrap();
    assert_eq!(wire.len(), 68);
    conn.handle_input(
        now,
        &handshake_bytes(f.torrent.info_hash(), Extensions::NONE),
    )
    .unwrap();
    assert_eq!(conn.poll_event(), None);
    wire.clear();
    conn.poll_transmit(now, 1 << 20, &mut wire).unwrap();
    assert_eq!(
        messages(&wire),
        vec![Message::Bitfield(Bytes::from_static(&[0xc0]))]
    );

    let mut conn = Connection::outgoing(Config::default(), f.seed.clone(), now);
    let err = conn
        .handle_input(
            now,
            &handshake_bytes(InfoHash::from_bytes([1; 20]), Extensions::NONE),
        )
        .unwrap_err();
    assert!(
        err.to_string().starts_with("handshake for info-hash 0101"),
        "{err}"
    );
}

#[test]
fn peer_complete_event() {
    let f = Fixture::new(2 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.send(&Message::Have(0)).unwrap();
    assert_eq!(p.conn.poll_event(), None);
    p.send(&Message::Have(1)).unwrap();
    assert_eq!(p.conn.poll_event(), Some(Event::PeerComplete));
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.send(&Message::HaveAll).unwrap();
    assert_eq!(p.conn.poll_event(), Some(Event::PeerComplete));
    p.send(&Message::Interested).unwrap();
    assert_eq!(
        p.conn.poll_event(),
        Some(Event::Interest(s3torrent_peer::Interest::Interested))
    );
}
