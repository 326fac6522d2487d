//! Message stream encryption (MSE, also called protocol encryption, PE):
//! the RC4 obfuscation handshake of libtorrent, Transmission, aria2 and
//! others, sans-IO.
//!
//! An [`MseHandshake`] runs before the BitTorrent handshake, on either side
//! of a connection:
//!
//! ```text
//! 1 A->B: Ya, PadA
//! 2 B->A: Yb, PadB
//! 3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
//!         ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
//! 4 B->A: ENCRYPT(VC, crypto_select, len(PadD), PadD), ENCRYPT2(payload)
//! 5 A->B: ENCRYPT2(payload)
//! ```
//!
//! Y is a 768-bit Diffie-Hellman public key (generator 2, the spec's
//! prime), S the shared secret, SKEY the torrent's info-hash, VC eight zero
//! bytes, HASH SHA-1, ENCRYPT RC4 keyed by `HASH('keyA', S, SKEY)` (A to B)
//! or `HASH('keyB', S, SKEY)` (B to A) with its first 1024 bytes discarded,
//! and ENCRYPT2 that RC4 stream or plaintext, as `crypto_select` says.
//!
//! The receiving side ([`MseHandshake::incoming`]) also tells a plain
//! BitTorrent handshake from an MSE one by its first bytes, so one
//! listener serves both (as [`EncryptionPolicy`] allows). It cannot know
//! the info-hash before the peer names it obfuscated: it emits
//! [`MseEvent::Skey`] with `HASH('req2', SKEY)`, and the host answers with
//! [`MseHandshake::provide_skey`], matching it against [`skey_hash`] of the
//! info-hashes it seeds. When the handshake is done ([`MseEvent::Done`]),
//! [`MseHandshake::finish`] gives the [`Encryption`] the host applies to
//! every byte it writes and reads afterwards, and the plaintext bytes
//! already received after the handshake (the initial payload, the peer's
//! BitTorrent handshake as a rule), for the [`Connection`](crate::Connection).
//!
//! Everything is bounded: pads of at most 512 bytes, the sync found within
//! 628 bytes (receiver) or 616 bytes (initiator), the initial payload at
//! most [`MAX_INITIAL_PAYLOAD`] bytes, the whole handshake within a
//! deadline. Randomness is the host's: it passes the private key and the
//! pad.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use num_bigint::BigUint;
use rc4::{KeyInit, Rc4, StreamCipher};
use s3torrent_metainfo::InfoHash;
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::policy::{Crypto, EncryptionPolicy};
use crate::wire::PROTOCOL;

/// The Diffie-Hellman prime of MSE (768 bits), big-endian.
const PRIME: [u8; KEY_LEN] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, 0x21, 0x68, 0xC2, 0x34,
    0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC, 0x1C, 0xD1, 0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74,
    0x02, 0x0B, 0xBE, 0xA6, 0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79, 0x8E, 0x34, 0x04, 0xDD,
    0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, 0xF2, 0x5F, 0x14, 0x37,
    0x4F, 0xE1, 0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, 0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6,
    0xF4, 0x4C, 0x42, 0xE9, 0xA6, 0x3A, 0x36, 0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x05, 0x63,
];

/// A public key's length on the wire (768 bits).
const KEY_LEN: usize = 96;

/// The longest pad (PadA, PadB, PadC, PadD).
pub const MAX_PAD: usize = 512;

/// The longest initial payload (IA) accepted from an initiator: a
/// BitTorrent handshake is 68 bytes; clients that send more send their
/// first messages with it.
pub const MAX_INITIAL_PAYLOAD: usize = 2048;

/// How much input is held while the host looks an SKEY up, or before it
/// takes the result.
const MAX_BUFFERED: usize = 16 * 1024;

/// The verification constant: eight zero bytes.
const VC: [u8; 8] = [0; 8];

/// `crypto_provide` / `crypto_select` bit: plaintext after the handshake.
const CRYPTO_PLAINTEXT: u32 = 0x01;
/// `crypto_provide` / `crypto_select` bit: RC4 after the handshake.
const CRYPTO_RC4: u32 = 0x02;

/// Bytes of RC4 keystream discarded before use.
const DISCARD: usize = 1024;

/// Which side of the connection a handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// B: the peer connected to us.
    Incoming,
    /// A: we connected to the peer.
    Outgoing,
}

/// `HASH('req2', SKEY)`: what an MSE initiator's obfuscated info-hash
/// stands for. A host answering [`MseEvent::Skey`] compares it with this
/// of each info-hash it seeds.
pub fn skey_hash(info_hash: &InfoHash) -> [u8; 20] {
    hash(&[b"req2", info_hash.as_bytes()])
}

fn hash(parts: &[&[u8]]) -> [u8; 20] {
    let mut h = Sha1::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RC4 keyed with `HASH(name, S, SKEY)`, its first 1024 bytes discarded.
fn keystream(name: &[u8], secret: &[u8; KEY_LEN], skey: &InfoHash) -> Rc4 {
    let key = hash(&[name, secret, skey.as_bytes()]);
    let mut rc4 = Rc4::new_from_slice(&key).unwrap_or_else(|_| unreachable!("20-byte key"));
    let mut discard = [0u8; DISCARD];
    rc4.apply_keystream(&mut discard);
    rc4
}

/// `base^exp mod PRIME`, big-endian, zero-padded to 96 bytes.
fn modpow(base: &BigUint, exp: &BigUint) -> [u8; KEY_LEN] {
    let prime = BigUint::from_bytes_be(&PRIME);
    let v = base.modpow(exp, &prime).to_bytes_be();
    let mut out = [0u8; KEY_LEN];
    out[KEY_LEN - v.len()..].copy_from_slice(&v);
    out
}

/// The stream's encryption after the handshake: the host encrypts every
/// byte it writes and decrypts every byte it reads, in order.
pub struct Encryption {
    rc4: Option<Box<(Rc4, Rc4)>>,
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryption")
            .field("crypto", &self.crypto())
            .finish()
    }
}

impl Encryption {
    /// No encryption: a plain connection.
    pub fn plaintext() -> Encryption {
        Encryption { rc4: None }
    }

    /// What carries the stream.
    pub fn crypto(&self) -> Crypto {
        match self.rc4 {
            Some(_) => Crypto::Rc4,
            None => Crypto::Plaintext,
        }
    }

    /// Encrypts bytes about to be written, in place.
    pub fn encrypt(&mut self, bytes: &mut [u8]) {
        if let Some(r) = &mut self.rc4 {
            r.0.apply_keystream(bytes);
        }
    }

    /// Decrypts bytes just read, in place.
    pub fn decrypt(&mut self, bytes: &mut [u8]) {
        if let Some(r) = &mut self.rc4 {
            r.1.apply_keystream(bytes);
        }
    }
}

/// What an [`MseHandshake`] asks of its host.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MseEvent {
    /// The initiator named its torrent: `HASH('req2', SKEY)`. Answer with
    /// [`MseHandshake::provide_skey`]: the info-hash whose [`skey_hash`]
    /// this is, or `None`.
    Skey([u8; 20]),
    /// The handshake is done: call [`MseHandshake::finish`].
    Done(Crypto),
}

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Incoming: plain BitTorrent handshake or MSE?
    Detect,
    /// Incoming: waiting for Ya.
    ReadYa,
    /// Incoming: looking for `HASH('req1', S)`.
    SyncReq1,
    /// Incoming: waiting for `HASH('req2', SKEY) xor HASH('req3', S)`.
    ReadReq2,
    /// Incoming: the host looks the SKEY up.
    AwaitSkey,
    /// Incoming: VC, crypto_provide, len(PadC).
    ReadProvide,
    /// Incoming: PadC and len(IA).
    ReadPadC { provide: u32, len: usize },
    /// Incoming: IA.
    ReadIa { select: u32, len: usize },
    /// Outgoing: waiting for Yb.
    ReadYb,
    /// Outgoing: looking for ENCRYPT(VC).
    SyncVc,
    /// Outgoing: crypto_select and len(PadD).
    ReadSelect,
    /// Outgoing: PadD.
    ReadPadD { select: u32, len: usize },
    /// Done; [`MseHandshake::finish`] gives the result.
    Done(Crypto),
    /// Failed, or finished.
    Closed,
}

/// One connection's MSE handshake (or its detection of a plain one), sans-IO.
///
/// Feed it what is read ([`handle_input`](Self::handle_input)), write what
/// [`poll_transmit`](Self::poll_transmit) gives, answer its
/// [`poll_event`](Self::poll_event)s, and call
/// [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout).
pub struct MseHandshake {
    role: Role,
    policy: EncryptionPolicy,
    state: State,
    private: BigUint,
    /// Our PadA or PadB, sent after our key.
    pad: Vec<u8>,
    /// The info-hash: known from the start when outgoing.
    skey: Option<InfoHash>,
    /// S, once the peer's key is in.
    secret: [u8; KEY_LEN],
    /// Input not yet parsed.
    buf: Vec<u8>,
    /// The peer's stream offset of `buf[0]`, for errors.
    at: u64,
    /// Where the search for the sync started.
    sync_from: u64,
    out: Vec<u8>,
    events: VecDeque<MseEvent>,
    /// Our RC4 (to the peer), the peer's (to us).
    enc: Option<Rc4>,
    dec: Option<Rc4>,
    /// What the sync looks for: `HASH('req1', S)` or ENCRYPT(VC).
    sync: Vec<u8>,
    /// Plaintext payload received after the handshake.
    payload: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
}

impl fmt::Debug for MseHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MseHandshake")
            .field("role", &self.role)
            .field("policy", &self.policy)
            .field("state", &self.state)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

impl MseHandshake {
    /// The receiving side: a peer connected to us. A plain BitTorrent
    /// handshake is recognised too (unless the policy requires
    /// encryption), and then [`finish`](Self::finish) gives every byte
    /// received, untouched. `private_key` is 160 random bits and `pad` up
    /// to 512 random bytes (more are cut), both from the host; `timeout`
    /// bounds the whole handshake.
    pub fn incoming(
        policy: EncryptionPolicy,
        private_key: [u8; 20],
        pad: &[u8],
        now: Instant,
        timeout: Duration,
    ) -> MseHandshake {
        MseHandshake::new(Role::Incoming, policy, None, private_key, pad, now, timeout)
    }

    /// The initiating side: we connected to a peer for `info_hash`. Offers
    /// RC4 only under [`EncryptionPolicy::Require`], plaintext only under
    /// [`EncryptionPolicy::Off`], both otherwise. Sends our key and pad at
    /// once (see [`poll_transmit`](Self::poll_transmit)).
    pub fn outgoing(
        policy: EncryptionPolicy,
        info_hash: InfoHash,
        private_key: [u8; 20],
        pad: &[u8],
        now: Instant,
        timeout: Duration,
    ) -> MseHandshake {
        let mut hs = MseHandshake::new(
            Role::Outgoing,
            policy,
            Some(info_hash),
            private_key,
            pad,
            now,
            timeout,
        );
        hs.send_key();
        hs
    }

    fn new(
        role: Role,
        policy: EncryptionPolicy,
        skey: Option<InfoHash>,
        private_key: [u8; 20],
        pad: &[u8],
        now: Instant,
        timeout: Duration,
    ) -> MseHandshake {
        MseHandshake {
            role,
            policy,
            state: match role {
                Role::Incoming => State::Detect,
                Role::Outgoing => State::ReadYb,
            },
            private: BigUint::from_bytes_be(&private_key),
            pad: pad[..pad.len().min(MAX_PAD)].to_vec(),
            skey,
            secret: [0; KEY_LEN],
            buf: Vec::new(),
            at: 0,
            sync_from: 0,
            out: Vec::new(),
            events: VecDeque::new(),
            enc: None,
            dec: None,
            sync: Vec::new(),
            payload: Vec::new(),
            deadline: now + timeout,
            timeout,
        }
    }

    /// Our public key and pad.
    fn send_key(&mut self) {
        let public = modpow(&BigUint::from(2u32), &self.private);
        self.out.extend_from_slice(&public);
        self.out.extend_from_slice(&self.pad);
    }

    /// Bytes read from the peer.
    pub fn handle_input(&mut self, _now: Instant, input: &[u8]) -> Result<()> {
        if self.state == State::Closed {
            return Err(Error::Closed);
        }
        if self.buf.len() + input.len() > MAX_BUFFERED {
            self.state = State::Closed;
            return Err(Error::InputBeforeAccept {
                buffered: self.buf.len() + input.len(),
                limit: MAX_BUFFERED,
            });
        }
        self.buf.extend_from_slice(input);
        self.advance().inspect_err(|_| self.state = State::Closed)
    }

    /// Appends to `out` what should be written to the peer now.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.out);
    }

    /// The next thing the host must do, if any.
    pub fn poll_event(&mut self) -> Option<MseEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due (the deadline),
    /// while the handshake runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Done(_) | State::Closed => None,
            _ => Some(self.deadline),
        }
    }

    /// Fails the handshake once its deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        if self.poll_timeout().is_some_and(|d| now >= d) {
            self.state = State::Closed;
            return Err(Error::MseTimeout(self.timeout));
        }
        Ok(())
    }

    /// The answer to [`MseEvent::Skey`]: the info-hash whose [`skey_hash`]
    /// the peer sent, or `None` (the handshake fails with
    /// [`Error::MseUnknownTorrent`]). A wrong info-hash fails too.
    pub fn provide_skey(&mut self, info_hash: Option<InfoHash>) -> Result<()> {
        if self.state != State::AwaitSkey {
            return Err(Error::State {
                operation: "provide_skey",
                state: "is not waiting for an SKEY",
            });
        }
        let Some(skey) = info_hash else {
            self.state = State::Closed;
            return Err(Error::MseUnknownTorrent);
        };
        self.skey = Some(skey);
        self.dec = Some(keystream(b"keyA", &self.secret, &skey));
        self.enc = Some(keystream(b"keyB", &self.secret, &skey));
        self.state = State::ReadProvide;
        self.advance().inspect_err(|_| self.state = State::Closed)
    }

    /// The info-hash the handshake is for: given when outgoing, provided
    /// when incoming (`None` for a plain connection).
    pub fn info_hash(&self) -> Option<InfoHash> {
        self.skey
    }

    /// Once [`MseEvent::Done`]: the stream's [`Encryption`] and the
    /// plaintext already received after the handshake, to be handed to the
    /// [`Connection`](crate::Connection) first.
    pub fn finish(&mut self) -> Result<(Encryption, Vec<u8>)> {
        let State::Done(crypto) = self.state else {
            return Err(Error::State {
                operation: "finish",
                state: "has not finished its encryption handshake",
            });
        };
        self.state = State::Closed;
        let mut payload = std::mem::take(&mut self.payload);
        let mut rest = std::mem::take(&mut self.buf);
        let mut encryption = match (crypto, self.enc.take(), self.dec.take()) {
            (Crypto::Rc4, Some(enc), Some(dec)) => Encryption {
                rc4: Some(Box::new((enc, dec))),
            },
            _ => Encryption::plaintext(),
        };
        encryption.decrypt(&mut rest);
        payload.append(&mut rest);
        Ok((encryption, payload))
    }

    /// Takes `n` bytes of input (decrypted by the peer's stream when one
    /// is set), if there are that many.
    fn take(&mut self, n: usize, decrypt: bool) -> Option<Vec<u8>> {
        if self.buf.len() < n {
            return None;
        }
        let mut v: Vec<u8> = self.buf.drain(..n).collect();
        self.at += n as u64;
        if decrypt && let Some(dec) = &mut self.dec {
            dec.apply_keystream(&mut v);
        }
        Some(v)
    }

    /// The peer's public key: S, or an error if it is out of range.
    fn agree(&mut self, key: &[u8]) -> Result<()> {
        let y = BigUint::from_bytes_be(key);
        let prime = BigUint::from_bytes_be(&PRIME);
        let one = BigUint::from(1u32);
        if y <= one || y >= &prime - &one {
            return Err(Error::MseKey {
                at: self.at - KEY_LEN as u64,
            });
        }
        self.secret = modpow(&y, &self.private);
        Ok(())
    }

    fn done(&mut self, crypto: Crypto) {
        self.state = State::Done(crypto);
        self.events.push_back(MseEvent::Done(crypto));
    }

    /// Parses as far as the input goes.
    fn advance(&mut self) -> Result<()> {
        loop {
            match self.state {
                State::Detect => {
                    let Some(&first) = self.buf.first() else {
                        return Ok(());
                    };
                    let n = self.buf.len().min(PROTOCOL.len() + 1);
                    let plain = first == 19 && self.buf[1..n] == PROTOCOL[..n - 1];
                    if plain && n < PROTOCOL.len() + 1 {
                        // Could still be either.
                        return Ok(());
                    }
                    if plain || self.policy == EncryptionPolicy::Off {
                        if self.policy == EncryptionPolicy::Require {
                            return Err(Error::EncryptionRequired);
                        }
                        self.done(Crypto::Plaintext);
                        return Ok(());
                    }
                    self.state = State::ReadYa;
                }
                State::ReadYa => {
                    let Some(ya) = self.take(KEY_LEN, false) else {
                        return Ok(());
                    };
                    self.agree(&ya)?;
                    self.send_key();
                    self.sync = hash(&[b"req1", &self.secret]).to_vec();
                    self.sync_from = self.at;
                    self.state = State::SyncReq1;
                }
                State::SyncReq1 | State::SyncVc => {
                    let (what, limit) = match self.state {
                        State::SyncReq1 => ("HASH('req1', S)", 628),
                        _ => ("ENCRYPT(VC)", 616),
                    };
                    // How far past the key the sync may start.
                    let window = MAX_PAD + self.sync.len();
                    let seen = usize::try_from(self.at - self.sync_from).unwrap_or(usize::MAX);
                    let found = self
                        .buf
                        .windows(self.sync.len())
                        .position(|w| w == self.sync.as_slice());
                    match found {
                        Some(i) if seen + i <= MAX_PAD => {
                            self.take(i, false);
                            if self.state == State::SyncReq1 {
                                self.take(self.sync.len(), false);
                                self.state = State::ReadReq2;
                            } else {
                                // Through the peer's stream: it must give VC.
                                let vc = self.take(VC.len(), true);
                                debug_assert_eq!(vc.as_deref(), Some(&VC[..]));
                                self.state = State::ReadSelect;
                            }
                        }
                        _ if seen + self.buf.len() >= window => {
                            return Err(Error::MseNoSync {
                                what,
                                limit,
                                at: self.sync_from,
                            });
                        }
                        _ => {
                            // Keep what may begin the sync; the rest is pad.
                            let keep = self.buf.len().min(self.sync.len() - 1);
                            let drop = self.buf.len() - keep;
                            self.take(drop, false);
                            return Ok(());
                        }
                    }
                }
                State::ReadReq2 => {
                    let Some(x) = self.take(20, false) else {
                        return Ok(());
                    };
                    let req3 = hash(&[b"req3", &self.secret]);
                    let mut req2 = [0u8; 20];
                    for (k, b) in req2.iter_mut().enumerate() {
                        *b = x[k] ^ req3[k];
                    }
                    self.state = State::AwaitSkey;
                    self.events.push_back(MseEvent::Skey(req2));
                    return Ok(());
                }
                State::AwaitSkey | State::Done(_) | State::Closed => return Ok(()),
                State::ReadProvide => {
                    let at = self.at;
                    let Some(v) = self.take(14, true) else {
                        return Ok(());
                    };
                    if v[..8] != VC {
                        return Err(Error::MseVerification { at });
                    }
                    let provide = u32::from_be_bytes([v[8], v[9], v[10], v[11]]);
                    let len = usize::from(u16::from_be_bytes([v[12], v[13]]));
                    if len > MAX_PAD {
                        return Err(Error::MsePadTooLong {
                            name: "PadC",
                            length: len,
                            at: at + 12,
                        });
                    }
                    self.state = State::ReadPadC { provide, len };
                }
                State::ReadPadC { provide, len } => {
                    let at = self.at + len as u64;
                    let Some(v) = self.take(len + 2, true) else {
                        return Ok(());
                    };
                    let ia = usize::from(u16::from_be_bytes([v[len], v[len + 1]]));
                    if ia > MAX_INITIAL_PAYLOAD {
                        return Err(Error::MseInitialPayloadTooLong {
                            length: ia,
                            limit: MAX_INITIAL_PAYLOAD,
                            at,
                        });
                    }
                    let select = self.choose(provide)?;
                    let mut reply = Vec::with_capacity(14);
                    reply.extend_from_slice(&VC);
                    reply.extend_from_slice(&select.to_be_bytes());
                    reply.extend_from_slice(&0u16.to_be_bytes());
                    if let Some(enc) = &mut self.enc {
                        enc.apply_keystream(&mut reply);
                    }
                    self.out.extend_from_slice(&reply);
                    self.state = State::ReadIa { select, len: ia };
                }
                State::ReadIa { select, len } => {
                    let Some(ia) = self.take(len, true) else {
                        return Ok(());
                    };
                    self.payload = ia;
                    self.done(crypto_of(select));
                }
                State::ReadYb => {
                    let Some(yb) = self.take(KEY_LEN, false) else {
                        return Ok(());
                    };
                    self.agree(&yb)?;
                    let skey = self.skey.unwrap_or_else(|| unreachable!("outgoing"));
                    let req3 = hash(&[b"req3", &self.secret]);
                    let req2 = skey_hash(&skey);
                    self.out.extend_from_slice(&hash(&[b"req1", &self.secret]));
                    self.out.extend(req2.iter().zip(req3).map(|(a, b)| a ^ b));
                    let provide = match self.policy {
                        EncryptionPolicy::Require => CRYPTO_RC4,
                        EncryptionPolicy::Off => CRYPTO_PLAINTEXT,
                        EncryptionPolicy::Prefer => CRYPTO_RC4 | CRYPTO_PLAINTEXT,
                    };
                    let mut step3 = Vec::with_capacity(16);
                    step3.extend_from_slice(&VC);
                    step3.extend_from_slice(&provide.to_be_bytes());
                    step3.extend_from_slice(&0u16.to_be_bytes()); // len(PadC)
                    step3.extend_from_slice(&0u16.to_be_bytes()); // len(IA)
                    let mut enc = keystream(b"keyA", &self.secret, &skey);
                    enc.apply_keystream(&mut step3);
                    self.out.extend_from_slice(&step3);
                    self.enc = Some(enc);
                    let mut vc = VC;
                    keystream(b"keyB", &self.secret, &skey).apply_keystream(&mut vc);
                    self.sync = vc.to_vec();
                    self.dec = Some(keystream(b"keyB", &self.secret, &skey));
                    self.sync_from = self.at;
                    self.state = State::SyncVc;
                }
                State::ReadSelect => {
                    let at = self.at;
                    let Some(v) = self.take(6, true) else {
                        return Ok(());
                    };
                    let select = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                    let len = usize::from(u16::from_be_bytes([v[4], v[5]]));
                    let allowed = match self.policy {
                        EncryptionPolicy::Require => select == CRYPTO_RC4,
                        EncryptionPolicy::Off => select == CRYPTO_PLAINTEXT,
                        EncryptionPolicy::Prefer => {
                            select == CRYPTO_RC4 || select == CRYPTO_PLAINTEXT
                        }
                    };
                    if !allowed {
                        return Err(Error::MseSelect {
                            select,
                            policy: self.policy,
                            at,
                        });
                    }
                    if len > MAX_PAD {
                        return Err(Error::MsePadTooLong {
                            name: "PadD",
                            length: len,
                            at: at + 4,
                        });
                    }
                    self.state = State::ReadPadD { select, len };
                }
                State::ReadPadD { select, len } => {
                    if self.take(len, true).is_none() {
                        return Ok(());
                    }
                    self.done(crypto_of(select));
                }
            }
        }
    }

    /// `crypto_select` for an initiator's `crypto_provide`, as the policy
    /// allows.
    fn choose(&self, provide: u32) -> Result<u32> {
        let rc4 = provide & CRYPTO_RC4 != 0;
        let plain = provide & CRYPTO_PLAINTEXT != 0;
        match self.policy {
            EncryptionPolicy::Require | EncryptionPolicy::Prefer if rc4 => Ok(CRYPTO_RC4),
            EncryptionPolicy::Prefer | EncryptionPolicy::Off if plain => Ok(CRYPTO_PLAINTEXT),
            policy => Err(Error::MseProvide { provide, policy }),
        }
    }
}

fn crypto_of(select: u32) -> Crypto {
    if select == CRYPTO_RC4 {
        Crypto::Rc4
    } else {
        Crypto::Plaintext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XA: [u8; 20] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];
    const XB: [u8; 20] = [
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
        0x30, 0x31, 0x32, 0x33, 0x34,
    ];
    const TIMEOUT: Duration = Duration::from_secs(10);

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn ih() -> InfoHash {
        InfoHash::from_bytes([0xaa; 20])
    }

    fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
        a.iter().zip(b).map(|(x, y)| x ^ y).collect()
    }

    fn transmit(hs: &mut MseHandshake) -> Vec<u8> {
        let mut out = Vec::new();
        hs.poll_transmit(&mut out);
        out
    }

    /// Values computed independently, with Python's `pow` and `hashlib`
    /// and a ten-line RC4, for private keys XA and XB and the info-hash
    /// 0xaa * 20 (see the commit that added this test).
    #[test]
    fn known_answers() {
        let now = Instant::now();
        let mut a = MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[], now, TIMEOUT);
        let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
        let ya = transmit(&mut a);
        assert_eq!(
            ya,
            hex(concat!(
                "96e112dab29e8c5272accb9b17b26887ce54a144a4e3b697c7d159b7a817e556b0918db2b4c658e0",
                "2a87f7e5fb14b18a553e084cbf3dad2d30f16596ccb982d406258c61b30c5c1dae2ddc60bdbd48d7",
                "9896312aad63238c39e1a633821eb693"
            ))
        );
        b.handle_input(now, &ya).unwrap();
        let yb = transmit(&mut b);
        assert_eq!(
            yb,
            hex(concat!(
                "8f9c9f400fe9b3258f3e48598a95c7805cc90c995cd770283322679d132ebdae09b75eeadc01de69",
                "8ef86945cf38314a95fad08c2ad5641802bd5f658eb3ea0db2712c04aa5efed03deecc5104f75d86",
                "9d2d197e4336c61f0d71d763bee99416"
            ))
        );
        a.handle_input(now, &yb).unwrap();
        let step3 = transmit(&mut a);
        assert_eq!(step3.len(), 56);
        assert_eq!(step3[..20], hex("361e3668027ecec9d1086d5f839d191781e8de17"));
        assert_eq!(
            step3[20..40],
            hex("ff86a5c7383cb12b4912f17768e0688bd072e568")
        );
        let ka = hex("cb54a65b377d988493cbbe05d20b9705");
        // VC, crypto_provide 3, len(PadC) 0, len(IA) 0.
        let plain3 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0];
        assert_eq!(step3[40..], xor(&ka, &plain3));
        b.handle_input(now, &step3).unwrap();
        let req2 = hex("c9b0599dfa950cfbde978efc6aa0588f510fa315");
        assert_eq!(
            b.poll_event(),
            Some(MseEvent::Skey(req2.clone().try_into().unwrap()))
        );
        assert_eq!(skey_hash(&ih()).to_vec(), req2);
        b.provide_skey(Some(ih())).unwrap();
        let step4 = transmit(&mut b);
        let kb = hex("5c8a3690b2051725a0ae37c065d5ac41");
        // VC, crypto_select 2, len(PadD) 0.
        let plain4 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0];
        assert_eq!(step4, xor(&kb[..14], &plain4));
        // The receiver is done once the (empty) IA is in.
        assert_eq!(b.poll_event(), Some(MseEvent::Done(Crypto::Rc4)));
        a.handle_input(now, &step4).unwrap();
        assert_eq!(a.poll_event(), Some(MseEvent::Done(Crypto::Rc4)));
        let (mut ea, rest_a) = a.finish().unwrap();
        let (mut eb, rest_b) = b.finish().unwrap();
        assert!(rest_a.is_empty() && rest_b.is_empty());
        let mut msg = *b"\x13BitTorrent protocol";
        ea.encrypt(&mut msg);
        assert_ne!(&msg, b"\x13BitTorrent protocol");
        eb.decrypt(&mut msg);
        assert_eq!(&msg, b"\x13BitTorrent protocol");
        let mut back = *b"hello";
        eb.encrypt(&mut back);
        ea.decrypt(&mut back);
        assert_eq!(&back, b"hello");
        assert_eq!(a.info_hash(), Some(ih()));
        assert_eq!(b.info_hash(), Some(ih()));
    }

    /// Runs a whole handshake between our two sides, passing bytes in
    /// chunks of `chunk`; the receiver knows `known`.
    fn round_trip(
        pa: EncryptionPolicy,
        pb: EncryptionPolicy,
        pad_a: &[u8],
        pad_b: &[u8],
        chunk: usize,
        known: Option<InfoHash>,
    ) -> Result<(Encryption, Encryption)> {
        let now = Instant::now();
        let mut a = MseHandshake::outgoing(pa, ih(), XA, pad_a, now, TIMEOUT);
        let mut b = MseHandshake::incoming(pb, XB, pad_b, now, TIMEOUT);
        let (mut done_a, mut done_b) = (None, None);
        for _ in 0..10_000 {
            for c in transmit(&mut a).chunks(chunk) {
                b.handle_input(now, c)?;
            }
            while let Some(e) = b.poll_event() {
                match e {
                    MseEvent::Skey(h) => {
                        let found = known.filter(|k| skey_hash(k) == h);
                        b.provide_skey(found)?;
                    }
                    MseEvent::Done(c) => done_b = Some(c),
                }
            }
            for c in transmit(&mut b).chunks(chunk) {
                a.handle_input(now, c)?;
            }
            while let Some(e) = a.poll_event() {
                if let MseEvent::Done(c) = e {
                    done_a = Some(c);
                }
            }
            if done_a.is_some() && done_b.is_some() {
                break;
            }
        }
        assert_eq!(done_a, done_b);
        let (ea, ra) = a.finish()?;
        let (eb, rb) = b.finish()?;
        assert!(ra.is_empty() && rb.is_empty());
        Ok((ea, eb))
    }

    #[test]
    fn round_trips() {
        use EncryptionPolicy::{Off, Prefer, Require};
        let pad: Vec<u8> = (0..600u32).map(|i| (i * 7) as u8).collect();
        for (pa, pb, want) in [
            (Prefer, Prefer, Crypto::Rc4),
            (Require, Prefer, Crypto::Rc4),
            (Prefer, Require, Crypto::Rc4),
            (Require, Require, Crypto::Rc4),
            (Off, Prefer, Crypto::Plaintext),
        ] {
            for (pad_a, pad_b) in [
                (&[][..], &[][..]),
                (&pad[..], &pad[..100]),
                (&pad[..7], &pad[..]),
            ] {
                for chunk in [1, 3, 1000] {
                    let (mut ea, mut eb) =
                        round_trip(pa, pb, pad_a, pad_b, chunk, Some(ih())).unwrap();
                    assert_eq!(ea.crypto(), want);
                    assert_eq!(eb.crypto(), want);
                    let mut m = b"some payload".to_vec();
                    ea.encrypt(&mut m);
                    eb.decrypt(&mut m);
                    assert_eq!(m, b"some payload");
                }
            }
        }
        // No common method.
        let err = round_trip(Off, Require, &[], &[], 1000, Some(ih())).unwrap_err();
        assert!(matches!(err, Error::MseProvide { provide: 1, .. }), "{err}");
        // The receiver does not seed it.
        let err = round_trip(Prefer, Prefer, &[], &[], 1000, None).unwrap_err();
        assert!(matches!(err, Error::MseUnknownTorrent), "{err}");
        let other = InfoHash::from_bytes([0xbb; 20]);
        let err = round_trip(Prefer, Prefer, &[], &[], 1000, Some(other)).unwrap_err();
        assert!(matches!(err, Error::MseUnknownTorrent), "{err}");
    }

    /// A plain BitTorrent handshake is told apart, whole or in pieces, and
    /// handed over untouched; refused when encryption is required.
    #[test]
    fn plain_handshakes_are_detected() {
        let now = Instant::now();
        let mut hello = b"\x13BitTorrent protocol".to_vec();
        hello.extend_from_slice(&[0; 48]);
        for chunk in [1, 5, 68] {
            let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
            for c in hello.chunks(chunk) {
                b.handle_input(now, c).unwrap();
            }
            assert_eq!(b.poll_event(), Some(MseEvent::Done(Crypto::Plaintext)));
            assert!(transmit(&mut b).is_empty());
            let (e, rest) = b.finish().unwrap();
            assert_eq!(e.crypto(), Crypto::Plaintext);
            assert_eq!(rest, hello);
            let mut b = MseHandshake::incoming(EncryptionPolicy::Require, XB, &[], now, TIMEOUT);
            let err = hello
                .chunks(chunk)
                .try_for_each(|c| b.handle_input(now, c))
                .unwrap_err();
            assert!(matches!(err, Error::EncryptionRequired), "{err}");
        }
        // Off: everything is plain, MSE or not (the Connection refuses it).
        let mut b = MseHandshake::incoming(EncryptionPolicy::Off, XB, &[], now, TIMEOUT);
        b.handle_input(now, &[7; 96]).unwrap();
        assert_eq!(b.poll_event(), Some(MseEvent::Done(Crypto::Plaintext)));
        // 19 then something else: MSE.
        let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
        b.handle_input(now, b"\x13BitTorrent").unwrap();
        b.handle_input(now, b"X").unwrap();
        assert_eq!(b.poll_event(), None);
    }

    /// What a hostile initiator may send after Ya.
    struct Step3 {
        skey: InfoHash,
        /// The SKEY the payload is encrypted with.
        key_skey: InfoHash,
        pad_a: usize,
        vc: [u8; 8],
        provide: u32,
        pad_c: u16,
        ia: Vec<u8>,
        ia_len: u16,
        /// Payload after IA: RC4 (continuing) if RC4 is provided, else plain.
        after: Vec<u8>,
    }

    impl Default for Step3 {
        fn default() -> Self {
            Step3 {
                skey: ih(),
                key_skey: ih(),
                pad_a: 0,
                vc: VC,
                provide: 3,
                pad_c: 0,
                ia: Vec::new(),
                ia_len: 0,
                after: Vec::new(),
            }
        }
    }

    /// Feeds a receiver (policy `policy`, seeding `ih()`) Ya and what
    /// `s` says; the result of the last call.
    fn hostile(policy: EncryptionPolicy, s: &Step3) -> Result<MseHandshake> {
        let now = Instant::now();
        let mut b = MseHandshake::incoming(policy, XB, &[], now, TIMEOUT);
        let ya = modpow(&BigUint::from(2u32), &BigUint::from_bytes_be(&XA));
        b.handle_input(now, &ya)?;
        let yb = transmit(&mut b);
        let secret = modpow(
            &BigUint::from_bytes_be(&yb[..KEY_LEN]),
            &BigUint::from_bytes_be(&XA),
        );
        let mut wire = vec![0x5a; s.pad_a];
        wire.extend_from_slice(&hash(&[b"req1", &secret]));
        wire.extend(xor(&skey_hash(&s.skey), &hash(&[b"req3", &secret])));
        let mut enc = Vec::new();
        enc.extend_from_slice(&s.vc);
        enc.extend_from_slice(&s.provide.to_be_bytes());
        enc.extend_from_slice(&s.pad_c.to_be_bytes());
        enc.extend(std::iter::repeat_n(0, usize::from(s.pad_c)));
        enc.extend_from_slice(&s.ia_len.to_be_bytes());
        enc.extend_from_slice(&s.ia);
        let mut rc4 = keystream(b"keyA", &secret, &s.key_skey);
        rc4.apply_keystream(&mut enc);
        wire.extend_from_slice(&enc);
        let mut after = s.after.clone();
        if s.provide & CRYPTO_RC4 != 0 {
            rc4.apply_keystream(&mut after);
        }
        wire.extend_from_slice(&after);
        b.handle_input(now, &wire)?;
        while let Some(e) = b.poll_event() {
            if let MseEvent::Skey(h) = e {
                let found = (h == skey_hash(&ih())).then(ih);
                b.provide_skey(found)?;
            }
        }
        Ok(b)
    }

    /// A name, the receiver's policy, what the initiator sends, the error
    /// expected.
    type Case = (&'static str, EncryptionPolicy, Step3, fn(&Error) -> bool);

    #[test]
    fn hostile_initiators_fail_naming_what() {
        use EncryptionPolicy::{Prefer, Require};
        let other = InfoHash::from_bytes([0xbb; 20]);
        let hello = {
            let mut h = b"\x13BitTorrent protocol".to_vec();
            h.extend_from_slice(&[0; 48]);
            h
        };
        let cases: Vec<Case> = vec![
            (
                "unknown SKEY",
                Prefer,
                Step3 {
                    skey: other,
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseUnknownTorrent),
            ),
            (
                "wrong VC",
                Prefer,
                Step3 {
                    vc: [0, 0, 0, 0, 0, 0, 0, 1],
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseVerification { at: 136 }),
            ),
            (
                "keys of another torrent",
                Prefer,
                Step3 {
                    key_skey: other,
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseVerification { .. }),
            ),
            (
                "PadC too long",
                Prefer,
                Step3 {
                    pad_c: 513,
                    ..Step3::default()
                },
                |e| {
                    matches!(
                        e,
                        Error::MsePadTooLong {
                            name: "PadC",
                            length: 513,
                            at: 148
                        }
                    )
                },
            ),
            (
                "crypto_provide of nothing",
                Prefer,
                Step3 {
                    provide: 0,
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseProvide { provide: 0, .. }),
            ),
            (
                "crypto_provide of unknown bits",
                Prefer,
                Step3 {
                    provide: 0xf0,
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseProvide { .. }),
            ),
            (
                "plaintext only, RC4 required",
                Require,
                Step3 {
                    provide: 1,
                    ..Step3::default()
                },
                |e| {
                    matches!(
                        e,
                        Error::MseProvide {
                            provide: 1,
                            policy: EncryptionPolicy::Require
                        }
                    )
                },
            ),
            (
                "IA too long",
                Prefer,
                Step3 {
                    ia_len: 2049,
                    ..Step3::default()
                },
                |e| matches!(e, Error::MseInitialPayloadTooLong { length: 2049, .. }),
            ),
            (
                "no sync within 628 bytes",
                Prefer,
                Step3 {
                    pad_a: 513,
                    ..Step3::default()
                },
                |e| {
                    matches!(
                        e,
                        Error::MseNoSync {
                            limit: 628,
                            at: 96,
                            ..
                        }
                    )
                },
            ),
        ];
        for (name, policy, step3, want) in cases {
            let err = hostile(policy, &step3).map(|_| ()).unwrap_err();
            assert!(want(&err), "{name}: {err}");
        }
        // The largest pads and initial payload pass.
        let mut b = hostile(
            Prefer,
            &Step3 {
                pad_a: 512,
                pad_c: 512,
                ia: hello.clone(),
                ia_len: 68,
                after: b"interested".to_vec(),
                ..Step3::default()
            },
        )
        .unwrap();
        assert_eq!(b.poll_event(), None);
        let (e, rest) = b.finish().unwrap();
        assert_eq!(e.crypto(), Crypto::Rc4);
        assert_eq!(rest, [&hello[..], b"interested"].concat());
        // Plaintext selected: the initial payload is still decrypted.
        let mut b = hostile(
            Prefer,
            &Step3 {
                provide: 1,
                ia: hello.clone(),
                ia_len: 68,
                after: b"interested".to_vec(),
                ..Step3::default()
            },
        )
        .unwrap();
        let (e, rest) = b.finish().unwrap();
        assert_eq!(e.crypto(), Crypto::Plaintext);
        assert_eq!(rest, [&hello[..], b"interested"].concat());
    }

    #[test]
    fn bad_keys_are_refused() {
        let now = Instant::now();
        let mut p_minus_1 = PRIME;
        p_minus_1[KEY_LEN - 1] -= 1;
        let mut one = [0u8; KEY_LEN];
        one[KEY_LEN - 1] = 1;
        for key in [[0u8; KEY_LEN], one, p_minus_1, PRIME, [0xff; KEY_LEN]] {
            let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
            let err = b.handle_input(now, &key).unwrap_err();
            assert!(matches!(err, Error::MseKey { at: 0 }), "{err}");
            assert!(matches!(b.handle_input(now, &[1]), Err(Error::Closed)));
            let mut a =
                MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[], now, TIMEOUT);
            let err = a.handle_input(now, &key).unwrap_err();
            assert!(matches!(err, Error::MseKey { at: 0 }), "{err}");
        }
    }

    /// A short Ya, then silence: the deadline ends it.
    #[test]
    fn deadline() {
        let now = Instant::now();
        let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
        b.handle_input(now, &[7; 50]).unwrap();
        assert_eq!(b.poll_timeout(), Some(now + TIMEOUT));
        b.handle_timeout(now + TIMEOUT / 2).unwrap();
        let err = b.handle_timeout(now + TIMEOUT).unwrap_err();
        assert!(matches!(err, Error::MseTimeout(_)), "{err}");
        assert!(matches!(b.finish(), Err(Error::State { .. })));
    }

    /// A receiver fed a valid stream cut at every byte waits (no error, no
    /// event past what it has); so does an initiator.
    #[test]
    fn truncated_at_every_byte() {
        let now = Instant::now();
        let mut a =
            MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[9; 30], now, TIMEOUT);
        let mut whole_b =
            MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[8; 40], now, TIMEOUT);
        let mut a_wire = transmit(&mut a);
        whole_b.handle_input(now, &a_wire).unwrap();
        let mut b_wire = transmit(&mut whole_b);
        a.handle_input(now, &b_wire[..KEY_LEN]).unwrap();
        a_wire.extend(transmit(&mut a));
        whole_b.handle_input(now, &a_wire[KEY_LEN + 30..]).unwrap();
        assert!(matches!(whole_b.poll_event(), Some(MseEvent::Skey(_))));
        whole_b.provide_skey(Some(ih())).unwrap();
        b_wire.extend(transmit(&mut whole_b));
        for cut in 0..a_wire.len() {
            let mut b =
                MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[8; 40], now, TIMEOUT);
            b.handle_input(now, &a_wire[..cut]).unwrap();
            let events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
            assert!(events.len() <= 1, "cut {cut}: {events:?}");
            if cut < a_wire.len() - 16 {
                assert!(events.is_empty(), "cut {cut}: {events:?}");
            } else {
                assert!(matches!(events[..], [MseEvent::Skey(_)]), "cut {cut}");
                b.provide_skey(Some(ih())).unwrap();
                assert_eq!(b.poll_event(), None, "cut {cut}");
            }
        }
        for cut in 0..b_wire.len() {
            let mut a2 =
                MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[9; 30], now, TIMEOUT);
            a2.handle_input(now, &b_wire[..cut]).unwrap();
            assert_eq!(a2.poll_event(), None, "cut {cut}");
        }
        let mut a2 =
            MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[9; 30], now, TIMEOUT);
        a2.handle_input(now, &b_wire).unwrap();
        assert_eq!(a2.poll_event(), Some(MseEvent::Done(Crypto::Rc4)));
    }

    /// A receiver selecting what the initiator did not offer, or a long
    /// PadD, fails the initiator.
    #[test]
    fn hostile_receivers() {
        let now = Instant::now();
        for (select, pad_d, policy) in [
            (3u32, 0u16, EncryptionPolicy::Prefer),
            (0, 0, EncryptionPolicy::Prefer),
            (1, 0, EncryptionPolicy::Require),
            (2, 513, EncryptionPolicy::Prefer),
        ] {
            let mut a = MseHandshake::outgoing(policy, ih(), XA, &[], now, TIMEOUT);
            let yb = modpow(&BigUint::from(2u32), &BigUint::from_bytes_be(&XB));
            let mut wire = yb.to_vec();
            let ya = transmit(&mut a);
            let secret = modpow(&BigUint::from_bytes_be(&ya), &BigUint::from_bytes_be(&XB));
            wire.extend_from_slice(&[1; 100]); // PadB
            let mut enc = VC.to_vec();
            enc.extend_from_slice(&select.to_be_bytes());
            enc.extend_from_slice(&pad_d.to_be_bytes());
            keystream(b"keyB", &secret, &ih()).apply_keystream(&mut enc);
            wire.extend_from_slice(&enc);
            let err = a.handle_input(now, &wire).unwrap_err();
            if pad_d > 512 {
                assert!(
                    matches!(
                        err,
                        Error::MsePadTooLong {
                            name: "PadD",
                            at: 208,
                            ..
                        }
                    ),
                    "{err}"
                );
            } else {
                assert!(matches!(err, Error::MseSelect { at: 204, .. }), "{err}");
            }
        }
        // No ENCRYPT(VC) within 616 bytes.
        let mut a = MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[], now, TIMEOUT);
        let mut wire = modpow(&BigUint::from(2u32), &BigUint::from_bytes_be(&XB)).to_vec();
        wire.extend_from_slice(&[0; 520]);
        let err = a.handle_input(now, &wire).unwrap_err();
        assert!(
            matches!(
                err,
                Error::MseNoSync {
                    limit: 616,
                    at: 96,
                    ..
                }
            ),
            "{err}"
        );
    }

    /// Garbage of every length never panics, and is refused or waited on
    /// within the bounds.
    #[test]
    fn garbage_never_panics() {
        let now = Instant::now();
        let mut x = 0x1234_5678_u32;
        for len in (0..1200).step_by(7).chain([627, 628, 629, 615, 616, 617]) {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let mut b = MseHandshake::incoming(EncryptionPolicy::Prefer, XB, &[], now, TIMEOUT);
            let r = b.handle_input(now, &bytes);
            if len >= KEY_LEN + 532 {
                assert!(r.is_err(), "{len} bytes of garbage accepted");
            }
            let mut a =
                MseHandshake::outgoing(EncryptionPolicy::Prefer, ih(), XA, &[], now, TIMEOUT);
            let r = a.handle_input(now, &bytes);
            if len >= KEY_LEN + 520 {
                assert!(r.is_err(), "{len} bytes of garbage accepted");
            }
        }
    }
}
