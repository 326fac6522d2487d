//! BEP 16 super-seeding with several simulated peers.

use crate::common;

use std::time::Duration;

use common::*;
use s3torrent_peer::{BlockRequest, Extensions, Message, SeedMode, SeedOptions, UploadSlots};

const S: Duration = Duration::from_secs(1);

fn options() -> SeedOptions {
    let mut o = SeedOptions::default();
    o.mode = SeedMode::SuperSeed;
    o.choker.slots = UploadSlots::Unlimited;
    // BEP 16 as written: one piece at a time.
    o.offers = 1;
    o
}

#[test]
fn each_peer_is_offered_a_distinct_piece() {
    let f = Fixture::with(8 * 16384, 16384, options());
    let mut peers: Vec<Peer> = (0..4).map(|_| Peer::connect(&f.seed, fast_ext())).collect();
    let mut offered = Vec::new();
    for p in &mut peers {
        let ms = p.recv_messages(&f.data).unwrap();
        // have none (BEP 6) instead of have all; no bitfield.
        assert_eq!(ms[0], Message::HaveNone);
        assert!(!ms.contains(&Message::HaveAll));
        assert!(!ms.iter().any(|m| matches!(m, Message::Bitfield(_))));
        let h = haves(&ms);
        assert_eq!(h.len(), 1, "one piece at a time: {ms:?}");
        offered.push(h[0]);
    }
    let mut distinct = offered.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{offered:?}");

    // Nothing more until the condition of BEP 16 holds.
    for p in &mut peers {
        assert_eq!(haves(&p.recv_messages(&f.data).unwrap()), Vec::<u32>::new());
    }

    // Peer 1 announces the piece peer 0 was offered: peer 0 passed it on,
    // so peer 0 gets a new piece, one nobody was offered yet.
    peers[1].send(&Message::Have(offered[0])).unwrap();
    let next = haves(&peers[0].recv_messages(&f.data).unwrap());
    assert_eq!(next.len(), 1);
    assert!(!offered.contains(&next[0]), "{next:?} in {offered:?}");
    offered.push(next[0]);

    // Peer 2 downloads its piece fully from us: it gets the next one.
    let p2 = offered[2];
    peers[2].interested_unchoked(&f.data);
    peers[2]
        .send(&Message::Request(BlockRequest {
            index: p2,
            begin: 0,
            length: 16384,
        }))
        .unwrap();
    let ms = peers[2].recv_messages(&f.data).unwrap();
    assert_eq!(ms.iter().filter_map(piece_data).count(), 1);
    // The next offer leaves right behind the block that finished the piece.
    let next = haves(&ms);
    assert_eq!(next.len(), 1, "{ms:?}");
    assert!(!offered.contains(&next[0]));
    offered.push(next[0]);

    // A request for a piece never offered is refused.
    let unoffered = (0..8).find(|i| !offered.contains(i)).unwrap();
    peers[3].interested_unchoked(&f.data);
    let r = BlockRequest {
        index: unoffered,
        begin: 0,
        length: 16384,
    };
    peers[3].send(&Message::Request(r)).unwrap();
    assert_eq!(
        peers[3].recv_messages(&f.data).unwrap(),
        vec![Message::Reject(r)]
    );

    // Every piece goes out once before any goes out twice.
    let mut late: Vec<Peer> = (0..2)
        .map(|_| Peer::connect(&f.seed, Extensions::NONE))
        .collect();
    for p in &mut late {
        let h = haves(&p.recv_messages(&f.data).unwrap());
        assert_eq!(h.len(), 1);
        assert!(!offered.contains(&h[0]), "{h:?} in {offered:?}");
        offered.push(h[0]);
    }
    assert_eq!(offered.len(), 8);

    // A peer that leaves gives its unfinished offer back.
    let gone = offered[3];
    drop(peers.remove(3));
    let mut newcomer = Peer::connect(&f.seed, fast_ext());
    assert_eq!(haves(&newcomer.recv_messages(&f.data).unwrap()), vec![gone]);
}

#[test]
fn eight_peers_download_with_little_more_than_one_copy() {
    // 8 peers, 64 pieces; each downloads only from us what we offer it and
    // shares pieces among themselves (simulated: a piece a peer downloads is
    // handed to every other peer through `have`s after a while).
    let pieces = 64u32;
    let f = Fixture::with(pieces as usize * 16384, 16384, options());
    let mut peers: Vec<Peer> = (0..8).map(|_| Peer::connect(&f.seed, fast_ext())).collect();
    let mut have: Vec<Vec<bool>> = vec![vec![false; pieces as usize]; 8];
    let mut offers: Vec<Vec<u32>> = vec![Vec::new(); 8];
    for p in &mut peers {
        p.send(&Message::Interested).unwrap();
    }
    let mut rounds = 0;
    while have.iter().any(|h| h.iter().any(|x| !x)) && rounds < 1000 {
        rounds += 1;
        let mut downloaded = Vec::new();
        for (k, p) in peers.iter_mut().enumerate() {
            let now = p.now;
            p.conn
                .handle_timeout(now + std::time::Duration::from_secs(2))
                .ok();
            let ms = p.recv_messages(&f.data).unwrap();
            offers[k].extend(haves(&ms));
            for i in offers[k].drain(..) {
                assert!(!have[k][i as usize], "offered a piece it has");
                p.send(&Message::Request(BlockRequest {
                    index: i,
                    begin: 0,
                    length: 16384,
                }))
                .unwrap();
            }
            let ms = p.recv_messages(&f.data).unwrap();
            offers[k].extend(haves(&ms));
            for (i, _, _) in ms.iter().filter_map(piece_data) {
                have[k][i as usize] = true;
                downloaded.push((k, i));
            }
        }
        // Swarm exchange: the peer after k gets k's piece, then says so.
        for (k, i) in downloaded {
            peers[k].send(&Message::Have(i)).unwrap();
            for j in 1..8 {
                let q = (k + j) % 8;
                if !have[q][i as usize] {
                    have[q][i as usize] = true;
                    peers[q].send(&Message::Have(i)).unwrap();
                }
            }
        }
    }
    let uploaded: u64 = peers.iter().map(|p| p.conn.stats().payload_sent).sum();
    let object = u64::from(pieces) * 16384;
    assert!(
        have.iter().all(|h| h.iter().all(|x| *x)),
        "not done after {rounds} rounds"
    );
    assert_eq!(uploaded, object, "each piece uploaded exactly once");
}

/// Downloads offered piece `index` whole (one 16 KiB block) from the seed;
/// returns what else the seed sent meanwhile.
fn download(p: &mut Peer, data: &[u8], index: u32) -> Vec<Message> {
    p.send(&Message::Request(BlockRequest {
        index,
        begin: 0,
        length: 16384,
    }))
    .unwrap();
    let ms = p.recv_messages(data).unwrap();
    assert_eq!(
        ms.iter()
            .filter_map(piece_data)
            .map(|(i, _, _)| i)
            .collect::<Vec<_>>(),
        vec![index],
        "{ms:?}"
    );
    ms
}

#[test]
fn each_piece_goes_out_once_and_a_starving_peer_is_fed_after_five_seconds() {
    let f = Fixture::with(4 * 16384, 16384, options());
    let t0 = std::time::Instant::now();
    let cfg = s3torrent_peer::Config::default();
    let mut a = Peer::connect_with(&f.seed, fast_ext(), cfg.clone(), t0);
    let mut b = Peer::connect_with(&f.seed, fast_ext(), cfg, t0);
    a.interested_unchoked(&f.data);
    b.interested_unchoked(&f.data);
    let offered = |p: &Peer| -> Vec<u32> {
        p.received
            .iter()
            .filter_map(|f| match f {
                s3torrent_peer::Frame::Message(Message::Have(i)) => Some(*i),
                _ => None,
            })
            .collect()
    };
    // Each downloads its offer and gets the next: all four pieces are out.
    let a0 = offered(&a)[0];
    download(&mut a, &f.data, a0);
    let b0 = offered(&b)[0];
    download(&mut b, &f.data, b0);
    let (a1, b1) = (offered(&a)[1], offered(&b)[1]);
    let mut all = vec![a0, a1, b0, b1];
    all.sort();
    assert_eq!(all, vec![0, 1, 2, 3]);

    // A takes its second piece: nothing new is offered, though it lacks
    // B's two; they are in the swarm, and B passes them on.
    let ms = download(&mut a, &f.data, a1);
    assert!(!ms.iter().any(|m| matches!(m, Message::Have(_))), "{ms:?}");
    a.conn.handle_timeout(t0 + 4 * S).unwrap();
    a.now = t0 + 4 * S;
    assert_eq!(offered(&a).len(), 2);
    a.recv(&f.data).unwrap();
    assert_eq!(offered(&a).len(), 2, "offered again before it starved");

    // A gets b0 from B (its `have`): fed, so no offer for another five seconds.
    a.send(&Message::Have(b0)).unwrap();
    a.conn.handle_timeout(t0 + 6 * S).unwrap();
    a.now = t0 + 6 * S;
    a.recv(&f.data).unwrap();
    assert_eq!(offered(&a).len(), 2);

    // Five seconds without a new piece from anyone: starving, it is offered
    // the piece it still lacks, a second copy of b1.
    a.conn.handle_input(t0 + 11 * S, &[0, 0, 0, 0]).unwrap();
    a.conn.handle_timeout(t0 + 12 * S).unwrap();
    a.now = t0 + 12 * S;
    a.recv(&f.data).unwrap();
    assert_eq!(offered(&a)[2..], [b1]);
}
