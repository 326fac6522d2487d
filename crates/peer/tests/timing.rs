//! Timeouts with a fake clock, and the upload slots.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use s3torrent_peer::{
    BlockRequest, ChokeCandidate, ChokeState, Choker, ChokerConfig, Config, Connection, Error,
    Interest, Message, SeedOptions, UploadSlots,
};

const S: Duration = Duration::from_secs(1);

#[test]
fn handshake_timeout() {
    let t0 = Instant::now();
    let mut conn = Connection::incoming(Config::default(), t0);
    assert_eq!(conn.poll_timeout(), Some(t0 + 10 * S));
    conn.handle_timeout(t0 + 9 * S).unwrap();
    // Half a handshake does not help.
    let f = Fixture::new(16384, 16384);
    conn.handle_input(
        t0 + 9 * S,
        &handshake_bytes(f.torrent.info_hash(), fast_ext())[..30],
    )
    .unwrap();
    let err = conn.handle_timeout(t0 + 10 * S).unwrap_err();
    assert_eq!(err.to_string(), "no handshake within 10s");
    assert!(conn.is_closed());
    assert_eq!(conn.poll_timeout(), None);
}

#[test]
fn keep_alive_and_idle_timeout() {
    let f = Fixture::new(2 * 16384, 16384);
    let t0 = Instant::now();
    let mut p = Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0);
    p.recv(&f.data).unwrap();
    // Not interested: only the keep-alive (60 s) and the idle timeout (120 s).
    assert_eq!(p.conn.poll_timeout(), Some(t0 + 60 * S));
    p.now = t0 + 60 * S;
    p.conn.handle_timeout(p.now).unwrap();
    assert_eq!(p.recv_messages(&f.data).unwrap(), vec![Message::KeepAlive]);
    assert_eq!(p.conn.poll_timeout(), Some(t0 + 120 * S));
    // A keep-alive from the peer at 100 s moves the idle deadline to 220 s.
    p.now = t0 + 100 * S;
    p.send(&Message::KeepAlive).unwrap();
    assert_eq!(
        p.conn.poll_timeout(),
        Some(t0 + 120 * S),
        "our keep-alive first"
    );
    p.conn.handle_timeout(t0 + 120 * S).unwrap();
    p.now = t0 + 120 * S;
    assert_eq!(p.recv_messages(&f.data).unwrap(), vec![Message::KeepAlive]);
    assert_eq!(p.conn.poll_timeout(), Some(t0 + 180 * S));
    p.conn.handle_timeout(t0 + 180 * S).unwrap();
    let err = p.conn.handle_timeout(t0 + 220 * S).unwrap_err();
    assert_eq!(err.to_string(), "nothing received for 120s");
    assert!(matches!(err, Error::IdleTimeout(_)));
}

fn candidates(n: u64) -> Vec<ChokeCandidate> {
    // Ids from real connections, so they are distinct.
    (0..n)
        .map(|_| ChokeCandidate {
            id: Connection::incoming(Config::default(), Instant::now()).id(),
            interest: Interest::Interested,
            choke: ChokeState::Choked,
        })
        .collect()
}

fn unchoked(c: &[ChokeCandidate]) -> Vec<usize> {
    (0..c.len())
        .filter(|&i| c[i].choke == ChokeState::Unchoked)
        .collect()
}

#[test]
fn choker_slots_rotate_and_every_peer_gets_a_turn() {
    let mut choker = Choker::new(ChokerConfig::default());
    let mut c = candidates(10);
    c[9].interest = Interest::NotInterested;
    let t0 = Instant::now();
    choker.tick(t0, &mut c);
    let first = unchoked(&c);
    assert_eq!(first.len(), 4, "3 regular slots and 1 optimistic");
    assert!(!first.contains(&9), "not interested: choked");

    // Within the rotation time the same peers keep their slots.
    choker.tick(t0 + 10 * S, &mut c);
    choker.tick(t0 + 20 * S, &mut c);
    assert_eq!(unchoked(&c), first);

    // Over a few minutes every interested peer gets a turn.
    let mut seen = [false; 10];
    for k in 3..30 {
        choker.tick(t0 + k * 10 * S, &mut c);
        assert_eq!(unchoked(&c).len(), 4);
        for i in unchoked(&c) {
            seen[i] = true;
        }
    }
    assert_eq!(&seen[..9], &[true; 9]);
    assert!(!seen[9]);

    // A peer that loses interest loses its slot at once.
    let holder = unchoked(&c)[0];
    c[holder].interest = Interest::NotInterested;
    choker.tick(t0 + 301 * S, &mut c);
    assert_eq!(c[holder].choke, ChokeState::Choked);

    // Unlimited: every interested peer.
    let mut all = Choker::new({
        let mut cfg = ChokerConfig::default();
        cfg.slots = UploadSlots::Unlimited;
        cfg
    });
    all.tick(t0, &mut c);
    assert_eq!(unchoked(&c).len(), 8);
}

#[test]
fn connections_share_the_seeds_slots() {
    let mut options = SeedOptions::default();
    options.choker.slots = UploadSlots::Limited(2);
    let f = Fixture::with(4 * 16384, 16384, options);
    let t0 = Instant::now();
    let mut peers: Vec<Peer> = (0..3)
        .map(|_| Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0))
        .collect();
    for p in &mut peers {
        p.recv(&f.data).unwrap();
        p.send(&Message::Interested).unwrap();
    }
    let states: Vec<bool> = peers
        .iter_mut()
        .map(|p| {
            p.recv_messages(&f.data)
                .unwrap()
                .contains(&Message::Unchoke)
        })
        .collect();
    assert_eq!(states, vec![true, true, false], "two slots, first come");
    // Interested connections look at the shared state every second.
    assert_eq!(peers[2].conn.poll_timeout(), Some(t0 + S));

    // Peer 0 has a request queued when its turn ends: a BEP 6 peer gets a reject.
    let r = BlockRequest {
        index: 0,
        begin: 0,
        length: 16384,
    };
    peers[0].send(&Message::Request(r)).unwrap();
    let mut choked_at = None;
    for k in 1..=60 {
        let now = t0 + k * S;
        for p in &mut peers {
            p.now = now;
            if p.conn.poll_timeout().is_some_and(|t| t <= now) {
                p.conn.handle_timeout(now).unwrap();
            }
        }
        if peers[2]
            .recv_messages(&f.data)
            .unwrap()
            .contains(&Message::Unchoke)
        {
            choked_at = Some(k);
            break;
        }
    }
    let k = choked_at.expect("the third peer got a turn");
    assert!((30..=41).contains(&k), "after the 30 s rotation: {k}");
    // One of the first two lost its slot.
    let lost: Vec<Vec<Message>> = peers[..2]
        .iter_mut()
        .map(|p| p.recv_messages(&f.data).unwrap())
        .collect();
    let losers = lost.iter().filter(|m| m.contains(&Message::Choke)).count();
    assert_eq!(losers, 1, "{lost:?}");
    if lost[0].contains(&Message::Choke) {
        assert!(lost[0].contains(&Message::Reject(r)), "{:?}", lost[0]);
        assert_eq!(peers[0].conn.pending_requests(), 0);
    }

    // A peer that leaves frees its slot.
    let holder = if lost[0].contains(&Message::Choke) {
        1
    } else {
        0
    };
    drop(peers.remove(holder));
    let now = t0 + (k + 1) * S;
    let mut got = 0;
    for p in &mut peers {
        p.now = now;
        p.conn.handle_timeout(now).unwrap();
        if p.recv_messages(&f.data)
            .unwrap()
            .contains(&Message::Unchoke)
        {
            got += 1;
        }
    }
    assert_eq!(got, 1);
}

#[test]
fn a_host_that_chokes_itself() {
    let mut options = SeedOptions::default();
    options.choking = s3torrent_peer::Choking::Host;
    let f = Fixture::with(2 * 16384, 16384, options);
    let t0 = Instant::now();
    let mut peers: Vec<Peer> = (0..3)
        .map(|_| Peer::connect_with(&f.seed, fast_ext(), Config::default(), t0))
        .collect();
    for p in &mut peers {
        p.recv(&f.data).unwrap();
        p.send(&Message::Interested).unwrap();
        assert!(
            !p.recv_messages(&f.data)
                .unwrap()
                .contains(&Message::Unchoke)
        );
    }
    let mut choker = Choker::new({
        let mut c = ChokerConfig::default();
        c.slots = UploadSlots::Limited(1);
        c
    });
    let mut table: Vec<ChokeCandidate> = peers
        .iter()
        .map(|p| p.conn.choke_candidate().unwrap())
        .collect();
    choker.tick(t0, &mut table);
    for (p, c) in peers.iter_mut().zip(&table) {
        p.conn.set_choke(c.choke).unwrap();
    }
    let unchoked = peers
        .iter_mut()
        .map(|p| p.recv_messages(&f.data).unwrap())
        .filter(|ms| ms == &[Message::Unchoke])
        .count();
    assert_eq!(unchoked, 1);
    let err = Connection::incoming(Config::default(), t0)
        .set_choke(ChokeState::Unchoked)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "set_choke called while the connection is not accepted yet"
    );
}
