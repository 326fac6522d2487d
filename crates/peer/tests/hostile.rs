//! Hostile input: each case closes only its own connection, with an error
//! naming what went wrong; the other connections of the seed go on.

use crate::common;

use std::time::Instant;

use common::*;
use s3torrent_metainfo::InfoHash;
use s3torrent_peer::{BlockRequest, Config, Connection, Error, Event, Extensions, Message};

/// 8 pieces of 16 KiB, the last one 1000 bytes.
fn fixture() -> Fixture {
    Fixture::new(7 * 16384 + 1000, 16384)
}

fn request(index: u32, begin: u32, length: u32) -> Vec<u8> {
    Message::Request(BlockRequest {
        index,
        begin,
        length,
    })
    .to_bytes()
}

/// After the handshake, interested and unchoked.
fn hostile_after_accept(f: &Fixture, ext: Extensions, bytes: &[u8]) -> Result<(), Error> {
    let mut p = Peer::connect(&f.seed, ext);
    p.interested_unchoked(&f.data);
    let r = p.send_raw(bytes);
    if r.is_err() {
        assert!(p.conn.is_closed());
        // Closed for good: later calls say so, nothing more is sent.
        assert!(matches!(p.send_raw(&[0, 0, 0, 0]), Err(Error::Closed)));
        let mut out = Vec::new();
        assert!(matches!(
            p.conn.poll_transmit(p.now, 1 << 20, &mut out),
            Err(Error::Closed)
        ));
        assert!(out.is_empty());
        assert_eq!(p.conn.poll_timeout(), None);
    }
    r
}

#[test]
fn hostile_messages_close_their_connection() {
    let f = fixture();
    // A bystander downloading from the same seed.
    let mut bystander = Peer::connect(&f.seed, fast_ext());
    bystander.interested_unchoked(&f.data);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "length prefix 2^32-1",
            vec![0xff, 0xff, 0xff, 0xff],
            "message at byte 73 claims 4294967295 bytes, above the limit of 131085",
        ),
        (
            "request length 0",
            request(0, 0, 0),
            "request for piece 0 at offset 0 length 0: length 0",
        ),
        (
            "request of 128 KiB + 1",
            request(0, 0, 128 * 1024 + 1),
            "request for piece 0 at offset 0 length 131073: longer than the largest block accepted, 131072 bytes",
        ),
        (
            "piece index out of range",
            request(9, 0, 16384),
            "request for piece 9 at offset 0 length 16384: torrent has 8 pieces",
        ),
        (
            "begin + length past the piece end",
            request(7, 0, 16384),
            "request for piece 7 at offset 0 length 16384: past the end of the piece, which has 1000 bytes",
        ),
        (
            "begin past the piece end, overflowing u32",
            request(0, u32::MAX, 16384),
            "request for piece 0 at offset 4294967295 length 16384: past the end of the piece, which has 16384 bytes",
        ),
        (
            "piece message to a seed",
            Message::Piece {
                index: 0,
                begin: 0,
                data: vec![0; 16].into(),
            }
            .to_bytes(),
            "piece message for piece 0 at offset 0: a seed requests nothing",
        ),
        (
            "bitfield of the wrong length",
            vec![0, 0, 0, 3, 5, 0xff, 0xff],
            "bitfield of 2 bytes: the torrent has 8 pieces, so 1 bytes",
        ),
        (
            "have out of range",
            Message::Have(8).to_bytes(),
            "have for piece 8: the torrent has 8 pieces",
        ),
        (
            "choke with a payload",
            vec![0, 0, 0, 2, 0, 0],
            "choke message at byte 73 has length 2, expected 1",
        ),
        (
            "short request",
            vec![0, 0, 0, 5, 6, 0, 0, 0, 0],
            "request message at byte 73 has length 5, expected 13",
        ),
        (
            "extended handshake that is not bencode",
            vec![0, 0, 0, 4, 20, 0, b'x', b'y'],
            "extended message handshake: ",
        ),
        (
            "ut_metadata without msg_type",
            [vec![0, 0, 0, 4, 20, 1], b"de".to_vec()].concat(),
            "extended message ut_metadata: no integer `msg_type`",
        ),
    ];
    for (what, bytes, expected) in cases {
        // Fed whole, and byte by byte.
        let err = hostile_after_accept(&f, fast_ext(), &bytes).expect_err(what);
        assert!(
            err.to_string().starts_with(expected),
            "{what}: {err} (expected {expected})"
        );
        let mut p = Peer::connect(&f.seed, fast_ext());
        p.interested_unchoked(&f.data);
        let mut result = Ok(());
        for b in &bytes {
            result = p.send_raw(std::slice::from_ref(b));
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result.map_err(|e| e.to_string()),
            Err(err.to_string()),
            "{what}, byte by byte"
        );
    }
    // The bystander still downloads.
    bystander
        .send(&Message::Request(BlockRequest {
            index: 3,
            begin: 0,
            length: 16384,
        }))
        .unwrap();
    let ms = bystander.recv_messages(&f.data).unwrap();
    assert_eq!(
        &piece_data(&ms[0]).unwrap().2[..],
        &f.data[3 * 16384..4 * 16384]
    );
}

#[test]
fn ignored_messages_keep_the_connection() {
    let f = fixture();
    for (what, bytes) in [
        ("unknown id", vec![0, 0, 0, 3, 200, 1, 2]),
        ("unknown extended id", vec![0, 0, 0, 3, 20, 77, 0]),
        ("port", Message::Port(1).to_bytes()),
        (
            "reject we never asked for",
            Message::Reject(BlockRequest {
                index: 0,
                begin: 0,
                length: 1,
            })
            .to_bytes(),
        ),
        (
            "cancel of nothing",
            Message::Cancel(BlockRequest {
                index: 0,
                begin: 0,
                length: 1,
            })
            .to_bytes(),
        ),
        (
            "ut_metadata data",
            b"\0\0\0\x13\x14\x01d8:msg_typei1ee".to_vec(),
        ),
    ] {
        hostile_after_accept(&f, fast_ext(), &bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn bitfield_spare_bits() {
    // 10 pieces: two bytes, the last 6 bits spare.
    let f = Fixture::new(10 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.send_raw(&[0, 0, 0, 3, 5, 0xff, 0xc0]).unwrap();
    let mut p = Peer::connect(&f.seed, fast_ext());
    let err = p.send_raw(&[0, 0, 0, 3, 5, 0xff, 0xe0]).unwrap_err();
    assert_eq!(err.to_string(), "bitfield has spare bits set past piece 10");
}

#[test]
fn bad_handshakes() {
    let f = fixture();
    let now = Instant::now();
    let good = handshake_bytes(f.torrent.info_hash(), fast_ext());

    let mut bad = good.clone();
    bad[5] = b'X';
    let mut conn = Connection::incoming(Config::default(), now);
    // Refused at the first wrong byte, before the 68 bytes are in.
    let err = conn.handle_input(now, &bad[..6]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "handshake: protocol string is not \"BitTorrent protocol\" (byte 5 differs)"
    );
    assert!(conn.is_closed());

    let mut conn = Connection::incoming(Config::default(), now);
    let err = conn.handle_input(now, b"GET / HTTP/1.1\r\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "handshake: protocol string length is 71, expected 19"
    );

    // Unknown info-hash: the host rejects.
    let mut conn = Connection::incoming(Config::default(), now);
    conn.handle_input(
        now,
        &handshake_bytes(InfoHash::from_bytes([0xab; 20]), fast_ext()),
    )
    .unwrap();
    let Some(Event::Handshake(h)) = conn.poll_event() else {
        panic!()
    };
    assert!(!f.seed.torrent().matches(&h.info_hash));
    let err = conn.reject();
    assert_eq!(
        err.to_string(),
        format!(
            "handshake for info-hash {}, which is not seeded here",
            "ab".repeat(20)
        )
    );
    assert!(conn.is_closed());
    let mut out = Vec::new();
    assert!(conn.poll_transmit(now, 1 << 20, &mut out).is_err());
    assert!(out.is_empty(), "nothing is sent to a rejected peer");

    // Accepting with the wrong seed is refused too.
    let mut conn = Connection::incoming(Config::default(), now);
    conn.handle_input(
        now,
        &handshake_bytes(InfoHash::from_bytes([0xab; 20]), fast_ext()),
    )
    .unwrap();
    assert!(matches!(
        conn.accept(f.seed.clone(), now),
        Err(Error::InfoHashMismatch { .. })
    ));

    // Too much input before the host decides.
    let mut conn = Connection::incoming(Config::default(), now);
    conn.handle_input(now, &good).unwrap();
    let err = conn.handle_input(now, &vec![0; 200_000]).unwrap_err();
    assert!(matches!(err, Error::InputBeforeAccept { .. }), "{err}");
}

#[test]
fn output_backlog_is_bounded() {
    // A peer that floods hash requests while the host never writes.
    let f = fixture();
    let mut config = Config::default();
    config.limits.max_output_backlog = 10_000;
    let mut p = Peer::connect_with(&f.seed, fast_ext(), config, Instant::now());
    let one = Message::HashRequest(s3torrent_peer::HashRequest {
        pieces_root: [0; 32],
        base_layer: 0,
        index: 0,
        length: 1,
        proof_layers: 0,
    })
    .to_bytes();
    let flood: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
    let err = p.send_raw(&flood).unwrap_err();
    assert!(matches!(err, Error::OutputBacklog { .. }), "{err}");
}
