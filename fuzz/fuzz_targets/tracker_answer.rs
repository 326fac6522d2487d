//! Fuzzes the client side's readers of a tracker's answers: the bencoded
//! answer to an HTTP announce (`parse_announce_answer`) and BEP 15's
//! connect and announce answers (`parse_udp_connect_answer`,
//! `parse_udp_announce_answer`), with small limits so that they are hit.
//!
//! The input's first byte chooses the reader (0: HTTP, 1: UDP connect, 2:
//! UDP announce over IPv4, 3: over IPv6; the rest of it is the
//! transaction id's low byte); the rest is the answer.
//!
//! Nothing may panic, and what is read must hold together: at most the
//! limit's peers, each with a port and an address; a UDP answer only with
//! the transaction id sent, of its exact size, with whole peers; a refusal
//! text bounded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use s3torrent_tracker::{
    AnswerLimits, ClientError, PeerFamily, parse_announce_answer, parse_udp_announce_answer,
    parse_udp_connect_answer,
};

fn limits() -> AnswerLimits {
    let mut l = AnswerLimits::default();
    l.max_len = 4096;
    l.max_peers = 8;
    l
}

fn check_failure(e: &ClientError) {
    if let ClientError::Failure { reason } = e {
        // 200 bytes, each escaped to at most 4 characters, and the ellipsis.
        assert!(reason.len() <= 200 * 4 + 3, "{}", reason.len());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, answer)) = data.split_first() else {
        return;
    };
    let limits = limits();
    let tid = u32::from(choice >> 2) | 0x0102_0300;
    match choice & 3 {
        0 => match parse_announce_answer(answer, &limits) {
            Ok(a) => {
                assert!(answer.len() <= limits.max_len);
                assert!(a.peers.len() <= limits.max_peers);
                assert!(a.interval.as_secs() <= u64::from(u32::MAX));
                assert!(
                    a.peers
                        .iter()
                        .all(|p| p.port() != 0 && !p.ip().is_unspecified())
                );
                assert!(a.tracker_id.as_ref().is_none_or(|id| id.len() <= 256));
            }
            Err(e) => check_failure(&e),
        },
        1 => match parse_udp_connect_answer(answer, tid) {
            Ok(_) => {
                assert_eq!(answer.len(), 16);
                assert_eq!(&answer[..4], &[0, 0, 0, 0]);
                assert_eq!(&answer[4..8], &tid.to_be_bytes());
            }
            Err(e) => check_failure(&e),
        },
        family => {
            let (family, size) = if family == 2 {
                (PeerFamily::V4, 6)
            } else {
                (PeerFamily::V6, 18)
            };
            match parse_udp_announce_answer(answer, tid, family, &limits) {
                Ok(a) => {
                    assert!(answer.len() >= 20 && (answer.len() - 20) % size == 0);
                    assert_eq!(&answer[..4], &[0, 0, 0, 1]);
                    assert_eq!(&answer[4..8], &tid.to_be_bytes());
                    assert!(a.peers.len() <= (answer.len() - 20) / size);
                    assert!(a.peers.len() <= limits.max_peers);
                    assert!(a.peers.iter().all(|p| p.is_ipv4() == (size == 6)));
                }
                Err(e) => check_failure(&e),
            }
        }
    }
});
