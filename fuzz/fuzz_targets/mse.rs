//! Fuzzes the message stream encryption (MSE/PE) handshake.
//!
//! The first byte picks the setup: bit 6 a raw stream fed to a receiver
//! (bit 7: to an initiator instead), in chunks of the second byte's size;
//! otherwise our initiator and our receiver run against each other, bits
//! 0-1 the initiator's policy, bits 2-3 the receiver's, bit 4 whether the
//! receiver seeds the torrent, bit 5 which direction is tampered with; the
//! second and third bytes the pad lengths (times two), the rest triples
//! (offset high, offset low, xor) flipping bytes of the tampered direction.
//! Nothing may panic, and:
//!
//! - an error closes the handshake for good: later input says `Closed`;
//! - a receiver never writes more than its key, its pad and its reply, an
//!   initiator more than its key, pad and third message;
//! - untampered, with policies that agree and the torrent seeded, both
//!   sides finish with the same method and a message goes through.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use s3torrent_metainfo::InfoHash;
use s3torrent_peer::{Crypto, EncryptionPolicy, Error, MAX_PAD, MseEvent, MseHandshake, skey_hash};

const TIMEOUT: Duration = Duration::from_secs(10);

fn policy(bits: u8) -> EncryptionPolicy {
    match bits & 3 {
        1 => EncryptionPolicy::Require,
        2 => EncryptionPolicy::Off,
        _ => EncryptionPolicy::Prefer,
    }
}

fn ih() -> InfoHash {
    InfoHash::from_bytes([0x5a; 20])
}

/// Answers events; `Some(crypto)` once done.
fn events(hs: &mut MseHandshake, known: bool) -> Result<Option<Crypto>, Error> {
    let mut done = None;
    while let Some(e) = hs.poll_event() {
        match e {
            MseEvent::Skey(h) => {
                let found = (known && h == skey_hash(&ih())).then(ih);
                hs.provide_skey(found)?;
            }
            MseEvent::Done(c) => done = Some(c),
            _ => {}
        }
    }
    Ok(done)
}

fn raw(setup: u8, chunk: usize, stream: &[u8]) {
    let now = Instant::now();
    let mut hs = if setup & 0x80 == 0 {
        MseHandshake::incoming(policy(setup), [7; 20], &[1; 33], now, TIMEOUT)
    } else {
        MseHandshake::outgoing(policy(setup), ih(), [7; 20], &[1; 33], now, TIMEOUT)
    };
    let mut out = Vec::new();
    let mut failed = false;
    for c in stream.chunks(chunk) {
        let r = hs
            .handle_input(now, c)
            .and_then(|()| events(&mut hs, true).map(|_| ()));
        if failed {
            assert!(
                matches!(r, Err(Error::Closed)),
                "input after an error: {r:?}"
            );
        } else if r.is_err() {
            failed = true;
        }
        hs.poll_transmit(&mut out);
    }
    // Key, pad, and the reply (receiver) or third message (initiator).
    assert!(out.len() <= 96 + 33 + 56, "{} bytes written", out.len());
    let _ = hs.handle_timeout(now + TIMEOUT);
}

fn duel(setup: u8, pads: (usize, usize), tamper: &[u8]) {
    let now = Instant::now();
    let (pa, pb, known, a_to_b) = (
        policy(setup),
        policy(setup >> 2),
        setup & 0x10 != 0,
        setup & 0x20 == 0,
    );
    let pad_a = vec![0xa5; pads.0];
    let pad_b = vec![0x5a; pads.1];
    let mut a = MseHandshake::outgoing(pa, ih(), [3; 20], &pad_a, now, TIMEOUT);
    let mut b = MseHandshake::incoming(pb, [9; 20], &pad_b, now, TIMEOUT);
    let flips: Vec<(usize, u8)> = tamper
        .chunks_exact(3)
        .map(|t| (usize::from(u16::from_be_bytes([t[0], t[1]])), t[2]))
        .filter(|&(_, x)| x != 0)
        .collect();
    let (mut sent_ab, mut sent_ba) = (0usize, 0usize);
    let (mut done_a, mut done_b) = (None, None);
    let mut failed = false;
    for _ in 0..8 {
        let mut wire = Vec::new();
        a.poll_transmit(&mut wire);
        if a_to_b {
            for &(off, x) in &flips {
                if off >= sent_ab && off < sent_ab + wire.len() {
                    wire[off - sent_ab] ^= x;
                }
            }
        }
        sent_ab += wire.len();
        if !wire.is_empty() && done_b.is_none() {
            match b
                .handle_input(now, &wire)
                .and_then(|()| events(&mut b, known))
            {
                Ok(d) => done_b = done_b.or(d),
                Err(_) => failed = true,
            }
        }
        let mut wire = Vec::new();
        b.poll_transmit(&mut wire);
        if !a_to_b {
            for &(off, x) in &flips {
                if off >= sent_ba && off < sent_ba + wire.len() {
                    wire[off - sent_ba] ^= x;
                }
            }
        }
        sent_ba += wire.len();
        if !wire.is_empty() && done_a.is_none() {
            match a
                .handle_input(now, &wire)
                .and_then(|()| events(&mut a, known))
            {
                Ok(d) => done_a = done_a.or(d),
                Err(_) => failed = true,
            }
        }
        if failed || (done_a.is_some() && done_b.is_some()) {
            break;
        }
    }
    let agree = match (pa, pb) {
        (EncryptionPolicy::Off, EncryptionPolicy::Require) => false,
        // A receiver with encryption off takes everything as plain.
        (_, EncryptionPolicy::Off) => false,
        _ => true,
    };
    if flips.is_empty() && known && agree {
        assert!(!failed, "an honest handshake failed");
        assert!(
            done_a.is_some() && done_a == done_b,
            "{done_a:?} {done_b:?}"
        );
        let (mut ea, _) = a.finish().unwrap();
        let (mut eb, rest) = b.finish().unwrap();
        assert!(rest.is_empty());
        let mut m = *b"payload";
        ea.encrypt(&mut m);
        eb.decrypt(&mut m);
        assert_eq!(&m, b"payload");
    }
}

fuzz_target!(|data: &[u8]| {
    let [setup, x, y, rest @ ..] = data else {
        return;
    };
    if setup & 0x40 != 0 {
        raw(*setup, usize::from(*x).max(1), &data[2..]);
    } else {
        let pads = (
            (usize::from(*x) * 2).min(MAX_PAD),
            (usize::from(*y) * 2).min(MAX_PAD),
        );
        duel(*setup, pads, rest);
    }
});
