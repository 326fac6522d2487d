//! Properties: the decoder agrees with itself whatever the chunking, encode
//! and decode are inverse, and a connection never panics on any input.

use crate::common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use s3torrent_peer::{BlockRequest, Frame, FrameDecoder, HashRequest, Message};

fn block() -> impl Strategy<Value = BlockRequest> {
    (
        0u32..12,
        prop_oneof![Just(0u32), 0u32..40000],
        prop_oneof![Just(16384u32), 0u32..140000],
    )
        .prop_map(|(index, begin, length)| BlockRequest {
            index,
            begin,
            length,
        })
}

fn hash_request() -> impl Strategy<Value = HashRequest> {
    (
        any::<[u8; 32]>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(pieces_root, base_layer, index, length, proof_layers)| HashRequest {
                pieces_root,
                base_layer,
                index,
                length,
                proof_layers,
            },
        )
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        (0u32..12).prop_map(Message::Have),
        (0u32..12).prop_map(Message::Suggest),
        (0u32..12).prop_map(Message::AllowedFast),
        bytes(4).prop_map(Message::Bitfield),
        block().prop_map(Message::Request),
        block().prop_map(Message::Cancel),
        block().prop_map(Message::Reject),
        (0u32..12, any::<u32>(), bytes(64)).prop_map(|(index, begin, data)| Message::Piece {
            index,
            begin,
            data
        }),
        any::<u16>().prop_map(Message::Port),
        (0u8..4, bytes(64)).prop_map(|(id, payload)| Message::Extended { id, payload }),
        (
            0u8..4,
            prop_oneof![
                Just(Bytes::from_static(b"d1:md11:ut_metadatai2eee")),
                Just(Bytes::from_static(b"d8:msg_typei0e5:piecei0ee")),
                Just(Bytes::from_static(b"d8:msg_typei0e5:piecei7ee")),
            ]
        )
            .prop_map(|(id, payload)| Message::Extended { id, payload }),
        hash_request().prop_map(Message::HashRequest),
        hash_request().prop_map(Message::HashReject),
        (hash_request(), 0usize..3).prop_map(|(request, n)| Message::Hashes {
            request,
            hashes: vec![9; 32 * n].into()
        }),
        (24u8..=255, 0u32..16).prop_map(|(id, length)| Message::Unknown { id, length }),
    ]
}

/// Frames until the first error, and the error's text.
fn decode_chunked(data: &[u8], cuts: &[usize], handshake: bool) -> (Vec<Frame>, Option<String>) {
    let mut d = if handshake {
        FrameDecoder::new(1000)
    } else {
        FrameDecoder::messages(1000)
    };
    let mut frames = Vec::new();
    let mut start = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort();
    points.push(data.len());
    for end in points {
        d.push(&data[start..end]);
        start = end;
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

/// Garbage mixed with well-formed messages.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            message().prop_map(|m| m.to_bytes()),
            proptest::collection::vec(any::<u8>(), 0..12),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode(ms in proptest::collection::vec(message(), 0..10)) {
        let wire: Vec<u8> = ms.iter().flat_map(|m| m.to_bytes()).collect();
        let (frames, err) = decode_chunked(&wire, &[], false);
        prop_assert_eq!(err, None);
        let got: Vec<Message> = frames.into_iter().map(|f| match f {
            Frame::Message(m) => m,
            Frame::Handshake(_) => unreachable!(),
        }).collect();
        prop_assert_eq!(got, ms);
    }

    #[test]
    fn chunking_does_not_matter(
        data in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        handshake in any::<bool>(),
    ) {
        let whole = decode_chunked(&data, &[], handshake);
        let chunked = decode_chunked(&data, &cuts, handshake);
        prop_assert_eq!(&whole, &chunked);
        let bytewise: Vec<usize> = (0..data.len()).collect();
        prop_assert_eq!(&whole, &decode_chunked(&data, &bytewise, handshake));
    }

    #[test]
    fn a_connection_never_panics_and_sends_only_true_bytes(
        data in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ext in prop_oneof![Just(s3torrent_peer::Extensions::NONE), Just(fast_ext())],
        budget in prop_oneof![Just(usize::MAX), 0usize..40000],
    ) {
        let f = Fixture::new(5 * 16384 + 77, 16384);
        let t0 = Instant::now();
        let mut p = Peer::connect_with(&f.seed, ext, s3torrent_peer::Config::default(), t0);
        let mut sent = Vec::new();
        let mut start = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        points.sort();
        points.push(data.len());
        let mut closed = false;
        for (k, end) in points.into_iter().enumerate() {
            let now = t0 + Duration::from_millis(700 * k as u64);
            let chunk = &data[start..end];
            start = end;
            if p.conn.handle_input(now, chunk).is_err()
                || p.conn.handle_timeout(now).is_err()
                || transmit_all(&mut p.conn, &f.seed, &f.data[..], now, budget, &mut sent).is_err()
            {
                closed = true;
                break;
            }
            prop_assert!(p.conn.poll_timeout().is_some());
        }
        prop_assert_eq!(closed, p.conn.is_closed());
        // Everything sent decodes, and every block is the source's bytes.
        let mut d = FrameDecoder::new(u32::MAX);
        d.push(&sent);
        let mut frames = 0;
        while let Some(frame) = d.next_frame().unwrap() {
            frames += 1;
            if let Frame::Message(Message::Piece { index, begin, data: block }) = frame {
                let at = index as usize * 16384 + begin as usize;
                prop_assert_eq!(&block[..], &f.data[at..at + block.len()]);
                prop_assert!(block.len() <= 16384);
            }
        }
        prop_assert!(closed || frames >= 1, "at least our handshake");
        prop_assert_eq!(d.buffered(), 0);
    }
}
