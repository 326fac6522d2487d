//! The seeding side of the BitTorrent peer wire protocol, sans-IO.
//!
//! A [`Connection`] is one TCP connection's state machine, in the style of
//! quinn-proto: no sockets, no threads, no clock. The host feeds what it
//! reads ([`Connection::handle_input`]), answers the peer's handshake
//! ([`Event::Handshake`]: [`Connection::accept`] with the [`Seed`] of that
//! info-hash, or [`Connection::reject`]), loads the pieces it asks for
//! ([`Event::NeedPiece`]: read them however it likes, check them with
//! [`Seed::verify`], hand them over with [`Connection::piece_loaded`]),
//! writes what [`Connection::poll_transmit`] gives (with a byte budget for
//! rate limiting), and calls [`Connection::handle_timeout`] at
//! [`Connection::poll_timeout`]. Time is an argument everywhere; nothing
//! here reads a file, waits or locks for longer than a table update.
//!
//! What it speaks:
//!
//! - BEP 3: handshake, keep-alive, choke, unchoke, interested, not
//!   interested, have, bitfield, request, piece, cancel, port (ignored);
//!   unknown ids are ignored.
//! - BEP 6 (fast): `have all` instead of a full bitfield, `reject request`
//!   for every request not served; suggest and allowed fast are read.
//! - BEP 10 + BEP 9: an extended handshake with `ut_metadata`,
//!   `metadata_size`, `v` and `reqq`; metadata pieces are served (and
//!   out-of-range ones rejected), so a magnet link and a tracker suffice.
//! - BEP 16 super-seeding, rationed offers: each peer is offered a few
//!   pieces at a time, different ones for each peer
//!   ([`SeedMode::SuperSeed`]), or only while the seed's upload is the
//!   bottleneck ([`SeedMode::Adaptive`]: a plain seed otherwise).
//! - BEP 52: a hybrid torrent is seeded under its v1 and its truncated v2
//!   info-hash (the host maps both to one [`Seed`]), a v2-only torrent of
//!   one file under its truncated v2 info-hash, its pieces checked against
//!   the file's SHA-256 merkle tree; under a truncated v2 info-hash our
//!   handshake sets the v2 bit. A `hash request` for the piece layer or
//!   above of a v2-only torrent is answered with `hashes` from its `piece
//!   layers` (so a v2 magnet link suffices); any other gets `hash reject`.
//! - Message stream encryption (MSE/PE, RC4 or plaintext after a 768-bit
//!   Diffie-Hellman handshake), both sides, before the BitTorrent
//!   handshake: an [`MseHandshake`] (which also tells a plain handshake
//!   apart), then an [`Encryption`] the host applies to the stream.
//!
//! **No byte that does not belong to the info-hash is ever sent**: a block
//! is served only from a [`VerifiedPiece`], a whole piece checked against
//! the torrent's hash (SHA-1, or for a v2-only torrent the merkle tree) by
//! [`Seed::verify`], the one way to make one. A piece that does not match
//! (the object changed) is [`Error::PieceMismatch`] and marks the seed
//! stale, so its connections fail with [`Error::Stale`]. Any malformed or
//! out-of-range input closes that one connection with an [`Error`] naming
//! what and where.
//!
//! The codec is our own (about twenty fixed-layout messages): the crate
//! librqbit-peer-protocol was considered, but it comes with librqbit's core
//! crates, which bring a runtime and a client's view of the protocol,
//! where we need a small, bounded, seed-only decoder.
//!
//! # Example
//!
//! A scripted peer downloads one block from a seed, both in memory.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion};
//! use s3torrent_peer::{
//!     BlockRequest, Config, Connection, Event, Extensions, Frame, FrameDecoder, Handshake,
//!     Interest, Message, Seed, SeedOptions, SeedTorrent,
//! };
//!
//! // The object and its torrent.
//! let data: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
//! let mut hasher = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
//! hasher.update(&data);
//! let torrent = TorrentBuilder::plain("object.bin").build(&hasher.finish())?;
//! let seed = Arc::new(Seed::new(
//!     SeedTorrent::from_torrent(&torrent, *b"-S30100-seedseedseed")?,
//!     SeedOptions::default(),
//! ));
//!
//! let now = Instant::now();
//! let mut conn = Connection::incoming(Config::default(), now);
//!
//! // The peer says hello (no extensions), is interested, asks for a block.
//! let mut to_seed = Handshake {
//!     extensions: Extensions::NONE,
//!     info_hash: torrent.info_hash(),
//!     peer_id: *b"-XX0001-peerpeerpeer",
//! }
//! .to_bytes();
//! Message::Interested.encode(&mut to_seed);
//! let block = BlockRequest { index: 1, begin: 0, length: 16384 };
//! Message::Request(block).encode(&mut to_seed);
//! conn.handle_input(now, &to_seed)?;
//!
//! // The host looks the info-hash up and accepts.
//! let Some(Event::Handshake(h)) = conn.poll_event() else { panic!("no handshake") };
//! assert!(seed.torrent().matches(&h.info_hash));
//! conn.accept(seed.clone(), now)?;
//!
//! // The request needs piece 1: the host reads it, the seed checks it.
//! let mut wire = Vec::new();
//! conn.poll_transmit(now, 1 << 20, &mut wire)?;
//! assert_eq!(conn.poll_event(), Some(Event::Interest(Interest::Interested)));
//! assert_eq!(conn.poll_event(), Some(Event::NeedPiece(1)));
//! let piece = seed.verify(1, Bytes::copy_from_slice(&data[16384..32768]))?;
//! conn.piece_loaded(piece)?;
//!
//! // What the seed sends: its handshake, a bitfield of 3 pieces, unchoke, the block.
//! conn.poll_transmit(now, 1 << 20, &mut wire)?;
//! let mut from_seed = FrameDecoder::new(1 << 20);
//! from_seed.push(&wire);
//! let mut frames = Vec::new();
//! while let Some(frame) = from_seed.next_frame()? {
//!     frames.push(frame);
//! }
//! assert!(matches!(&frames[0], Frame::Handshake(h) if h.info_hash == torrent.info_hash()));
//! assert_eq!(frames[1], Frame::Message(Message::Bitfield(Bytes::from_static(&[0xe0]))));
//! assert_eq!(frames[2], Frame::Message(Message::Unchoke));
//! assert_eq!(
//!     frames[3],
//!     Frame::Message(Message::Piece {
//!         index: 1,
//!         begin: 0,
//!         data: Bytes::copy_from_slice(&data[16384..32768]),
//!     })
//! );
//! assert_eq!(conn.stats().payload_sent, 16384);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod choke;
mod connection;
mod error;
mod extension;
mod id;
mod mse;
mod peer_id;
mod piece;
mod policy;
mod seed;
mod superseed;
mod torrent;
mod wire;

pub use choke::{ChokeCandidate, ChokeState, Choker, ChokerConfig, Choking, Interest, UploadSlots};
pub use connection::{Config, Connection, ConnectionStats, Event, Limits};
pub use error::{Error, RequestProblem, Result};
pub use id::{BlockRequest, ConnectionId};
pub use mse::{Encryption, MAX_INITIAL_PAYLOAD, MAX_PAD, MseEvent, MseHandshake, skey_hash};
pub use peer_id::{PEER_ID_PREFIX, random_peer_id};
pub use piece::VerifiedPiece;
pub use policy::{Crypto, EncryptionPolicy};
pub use seed::{Adaptive, Offering, Seed, SeedMode, SeedOptions};
pub use torrent::SeedTorrent;
pub use wire::{
    Extension, Extensions, Frame, FrameDecoder, HANDSHAKE_LEN, Handshake, HashRequest, Message,
    PROTOCOL,
};
