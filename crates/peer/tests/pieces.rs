//! Pieces through events (the host loads, the seed checks) and the
//! adaptive offering policy, with a fake clock.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use s3torrent_peer::{
    Adaptive, BlockRequest, Config, Error, Event, Message, Offering, SeedMode, SeedOptions,
    UploadSlots,
};

const S: Duration = Duration::from_secs(1);

fn block(index: u32) -> BlockRequest {
    BlockRequest {
        index,
        begin: 0,
        length: 16384,
    }
}

fn adaptive() -> SeedOptions {
    let mut o = SeedOptions::default();
    o.mode = SeedMode::Adaptive(Adaptive::default());
    o.choker.slots = UploadSlots::Unlimited;
    o
}

#[test]
fn a_connection_waiting_for_a_piece_answers_cancels_and_keep_alives() {
    let f = Fixture::new(4 * 16384, 16384);
    let t0 = Instant::now();
    let mut p = Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0);
    p.interested_unchoked(&f.data);
    p.send(&Message::Request(block(1))).unwrap();
    assert_eq!(p.conn.poll_event(), Some(Event::NeedPiece(1)));
    // Asked once, however often it transmits.
    let mut wire = Vec::new();
    assert_eq!(p.conn.poll_transmit(t0, 1 << 20, &mut wire).unwrap(), 0);
    assert_eq!(p.conn.poll_event(), None);

    // While the host loads, the peer cancels: a reject (BEP 6), at once.
    p.send(&Message::Cancel(block(1))).unwrap();
    p.conn.poll_transmit(t0, 1 << 20, &mut wire).unwrap();
    assert_eq!(messages(&wire), vec![Message::Reject(block(1))]);

    // A minute on, still waiting: a keep-alive goes out, the connection stays.
    wire.clear();
    p.conn.handle_input(t0 + 59 * S, &[0, 0, 0, 0]).unwrap();
    p.conn.handle_timeout(t0 + 60 * S).unwrap();
    p.conn
        .poll_transmit(t0 + 60 * S, 1 << 20, &mut wire)
        .unwrap();
    assert_eq!(messages(&wire), vec![Message::KeepAlive]);

    // The piece arrives after all: nobody needs it, nothing is sent.
    let piece = f.seed.read_piece(1, &f.data[..]).unwrap();
    p.conn.piece_loaded(piece).unwrap();
    wire.clear();
    assert_eq!(
        p.conn
            .poll_transmit(t0 + 60 * S, 1 << 20, &mut wire)
            .unwrap(),
        0
    );
    assert!(!p.conn.is_closed());
}

#[test]
fn only_a_verified_piece_of_the_same_torrent_is_taken() {
    let f = Fixture::new(4 * 16384, 16384);
    let other = Fixture::new(3 * 16384, 16384);
    let mut p = Peer::connect(&f.seed, fast_ext());
    p.interested_unchoked(&f.data);
    p.send(&Message::Request(block(0))).unwrap();
    assert_eq!(p.conn.poll_event(), Some(Event::NeedPiece(0)));
    let foreign = other.seed.read_piece(0, &other.data[..]).unwrap();
    let err = p.conn.piece_loaded(foreign).unwrap_err();
    assert_eq!(
        err.to_string(),
        "piece_loaded called while the connection seeds another torrent"
    );
    assert!(p.conn.is_closed());

    // verify checks size and hash, and never makes a piece of bad bytes.
    let mut bytes = f.data[16384..32768].to_vec();
    assert!(matches!(
        f.seed.verify(1, bytes[..100].to_vec().into()),
        Err(Error::ShortRead { index: 1, .. })
    ));
    assert!(matches!(
        f.seed.verify(9, bytes.clone().into()),
        Err(Error::PieceIndex { index: 9, .. })
    ));
    bytes[5] ^= 0x40;
    assert!(matches!(
        f.seed.verify(1, bytes.into()),
        Err(Error::PieceMismatch { index: 1 })
    ));
    assert_eq!(f.seed.stale_piece(), Some(1));
}

#[test]
fn a_rationed_peer_has_several_offers_in_flight() {
    let mut o = SeedOptions::default();
    o.mode = SeedMode::SuperSeed;
    o.offers = 3;
    let f = Fixture::with(8 * 16384, 16384, o);
    let mut a = Peer::connect(&f.seed, fast_ext());
    let mut b = Peer::connect(&f.seed, fast_ext());
    let ha = haves(&a.recv_messages(&f.data).unwrap());
    let hb = haves(&b.recv_messages(&f.data).unwrap());
    assert_eq!(ha.len(), 3, "{ha:?}");
    assert_eq!(hb.len(), 3, "{hb:?}");
    assert!(ha.iter().all(|i| !hb.contains(i)), "{ha:?} {hb:?}");
}

#[test]
fn an_adaptive_seed_offers_everything_to_a_lone_peer_after_its_probation() {
    let f = Fixture::with(8 * 16384, 16384, adaptive());
    let t0 = Instant::now();
    let mut p = Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0);
    let first = p.recv_messages(&f.data).unwrap();
    assert_eq!(first[0], Message::HaveNone);
    let offered = haves(&first);
    assert_eq!(offered.len(), 2, "{first:?}");
    assert_eq!(f.seed.offering(t0), Offering::All);

    // Probation over, nobody else here: every other piece, as `have`s.
    let t1 = t0 + S;
    assert!(p.conn.poll_timeout().is_some_and(|t| t <= t1));
    p.conn.handle_timeout(t1).unwrap();
    p.now = t1;
    let rest = haves(&p.recv_messages(&f.data).unwrap());
    let mut all: Vec<u32> = offered.iter().chain(&rest).copied().collect();
    all.sort();
    assert_eq!(all, (0..8).collect::<Vec<_>>());

    // Any piece is served now.
    p.interested_unchoked(&f.data);
    let never_offered_first = (0..8).find(|i| !offered.contains(i)).unwrap();
    p.send(&Message::Request(block(never_offered_first)))
        .unwrap();
    let ms = p.recv_messages(&f.data).unwrap();
    assert_eq!(ms.iter().filter_map(piece_data).count(), 1, "{ms:?}");
}

#[test]
fn an_adaptive_seed_rations_a_crowd_and_stops_when_it_thins() {
    let f = Fixture::with(64 * 16384, 16384, adaptive());
    let t0 = Instant::now();
    // Five interested peers: more than `ration_above` (4).
    let mut crowd: Vec<Peer> = (0..5)
        .map(|_| Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0))
        .collect();
    for p in &mut crowd {
        p.interested_unchoked(&f.data);
    }
    assert_eq!(f.seed.offering(t0), Offering::Rationed);

    // Past probation they stay rationed: two offers each, all different.
    let t1 = t0 + 2 * S;
    let mut seen = Vec::new();
    for p in &mut crowd {
        p.conn.handle_timeout(t1).unwrap();
        p.now = t1;
        p.recv(&f.data).unwrap();
        let all: Vec<Message> = p
            .received
            .iter()
            .filter_map(|f| match f {
                s3torrent_peer::Frame::Message(m) => Some(m.clone()),
                s3torrent_peer::Frame::Handshake(_) => None,
            })
            .collect();
        assert!(!all.contains(&Message::HaveAll));
        seen.extend(haves(&all));
    }
    assert_eq!(seen.len(), 10, "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10);

    // Four leave; once the crowd has been gone for `hold` (5 s), the last
    // one is offered everything.
    crowd.truncate(1);
    let p = &mut crowd[0];
    let t2 = t1 + 4 * S;
    p.conn.handle_timeout(t2).unwrap();
    assert_eq!(f.seed.offering(t2), Offering::Rationed);
    let t3 = t1 + 6 * S;
    assert_eq!(f.seed.offering(t3), Offering::All);
    p.conn.handle_input(t3, &[0, 0, 0, 0]).unwrap();
    p.conn.handle_timeout(t3).unwrap();
    p.now = t3;
    let rest = haves(&p.recv_messages(&f.data).unwrap());
    assert_eq!(rest.len(), 64 - 2, "{rest:?}");
}

#[test]
fn an_adaptive_seed_rations_while_its_upload_is_saturated() {
    let f = Fixture::with(8 * 16384, 16384, adaptive());
    let t0 = Instant::now();
    assert_eq!(f.seed.offering(t0), Offering::All);
    f.seed.saturated(t0);
    assert_eq!(f.seed.offering(t0 + 4 * S), Offering::Rationed);
    let mut p = Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0 + 4 * S);
    p.conn.handle_timeout(t0 + 4 * S).unwrap();
    p.now = t0 + 4 * S;
    assert_eq!(haves(&p.recv_messages(&f.data).unwrap()).len(), 2);
    assert_eq!(f.seed.offering(t0 + 5 * S), Offering::All);

    // A plain seed ignores it.
    let plain = Fixture::new(8 * 16384, 16384);
    plain.seed.saturated(t0);
    assert_eq!(plain.seed.offering(t0), Offering::All);
}
