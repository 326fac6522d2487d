//! The crate's one error type.

use std::fmt;
use std::io;
use std::time::Duration;

use s3torrent_metainfo::InfoHash;

use crate::id::BlockRequest;

/// Why a connection closes (or a torrent cannot be seeded).
///
/// Every error of a [`Connection`](crate::Connection) ends that one
/// connection and nothing else; its text names what went wrong and where
/// (the byte offset in the peer's stream for malformed input).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The handshake does not start with the length byte 19.
    #[error("handshake: protocol string length is {0}, expected 19")]
    ProtocolLength(u8),
    /// The handshake's protocol string is not `BitTorrent protocol`.
    #[error("handshake: protocol string is not \"BitTorrent protocol\" (byte {at} differs)")]
    Protocol {
        /// The first byte that differs.
        at: u64,
    },
    /// A length prefix above the limit (checked before anything is buffered).
    #[error("message at byte {at} claims {length} bytes, above the limit of {limit}")]
    MessageTooLong {
        /// Where the message starts in the peer's stream.
        at: u64,
        /// The length the prefix claims.
        length: u32,
        /// The limit in force.
        limit: u32,
    },
    /// A message whose length does not fit its kind.
    #[error("{name} message at byte {at} has length {length}, expected {expected}")]
    MessageLength {
        /// The message's name, such as `request`.
        name: &'static str,
        /// Where the message starts in the peer's stream.
        at: u64,
        /// Its length (the id byte included).
        length: u32,
        /// What its length should be.
        expected: &'static str,
    },
    /// A bitfield of the wrong length for the torrent.
    #[error("bitfield of {length} bytes: the torrent has {pieces} pieces, so {expected} bytes")]
    BitfieldLength {
        /// Bytes received.
        length: usize,
        /// The torrent's piece count.
        pieces: u32,
        /// The length it should have.
        expected: usize,
    },
    /// A bitfield with bits set past the last piece.
    #[error("bitfield has spare bits set past piece {pieces}")]
    BitfieldSpareBits {
        /// The torrent's piece count.
        pieces: u32,
    },
    /// A `have` (or similar) for a piece the torrent does not have.
    #[error("{name} for piece {index}: the torrent has {pieces} pieces")]
    PieceIndex {
        /// The message's name.
        name: &'static str,
        /// The index received.
        index: u32,
        /// The torrent's piece count.
        pieces: u32,
    },
    /// A request that can never be served.
    #[error(
        "request for piece {} at offset {} length {}: {problem}",
        request.index,
        request.begin,
        request.length
    )]
    Request {
        /// The request as received.
        request: BlockRequest,
        /// What is wrong with it.
        problem: RequestProblem,
    },
    /// More outstanding requests than we allow (and the peer cannot be sent
    /// rejects: it does not support BEP 6).
    #[error("more than {limit} outstanding requests")]
    TooManyRequests {
        /// The limit in force (`reqq` in our extended handshake).
        limit: usize,
    },
    /// A `piece` message sent to a seed, which requests nothing.
    #[error("piece message for piece {index} at offset {begin}: a seed requests nothing")]
    UnrequestedPiece {
        /// Its piece index.
        index: u32,
        /// Its offset.
        begin: u32,
    },
    /// A malformed BEP 10 extended message.
    #[error("extended message {name}: {problem}")]
    Extended {
        /// `handshake` or the extension's name.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The peer sent this much before the host accepted or rejected its
    /// handshake.
    #[error("{buffered} bytes received before the handshake was accepted (limit {limit})")]
    InputBeforeAccept {
        /// Bytes waiting.
        buffered: usize,
        /// The limit.
        limit: usize,
    },
    /// Control messages (rejects, metadata, hash rejects) pile up: the host
    /// reads the peer's input faster than it writes our output.
    #[error("{bytes} bytes of replies are waiting to be sent (limit {limit})")]
    OutputBacklog {
        /// Bytes waiting.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The host rejected the handshake: it does not seed this info-hash.
    #[error("handshake for info-hash {info_hash}, which is not seeded here")]
    UnknownTorrent {
        /// The info-hash the peer asked for.
        info_hash: InfoHash,
    },
    /// The peer of an outgoing connection answered with another info-hash,
    /// or the host accepted a handshake with a torrent of another info-hash.
    #[error("handshake for info-hash {got}, expected {expected}")]
    InfoHashMismatch {
        /// The torrent's info-hash.
        expected: InfoHash,
        /// The one in the handshake.
        got: InfoHash,
    },
    /// No complete handshake within the configured time.
    #[error("no handshake within {0:?}")]
    HandshakeTimeout(Duration),
    /// Nothing received within the configured time.
    #[error("nothing received for {0:?}")]
    IdleTimeout(Duration),
    /// A piece read from the source does not match its hash: the object
    /// changed. None of its bytes were sent.
    #[error("piece {index} does not match its hash (the data changed); nothing of it was sent")]
    PieceMismatch {
        /// The piece index.
        index: u32,
    },
    /// Another connection found a piece of this torrent that does not match.
    #[error("the torrent's data changed (piece {index} does not match); its connections close")]
    Stale {
        /// The first piece found not to match.
        index: u32,
    },
    /// The source ended inside a piece.
    #[error("piece {index}: the data ended at byte {at}, expected {expected} bytes")]
    ShortRead {
        /// The piece index.
        index: u32,
        /// Where the data ended (offset in the torrent's data).
        at: u64,
        /// The torrent's length.
        expected: u64,
    },
    /// Reading a piece failed.
    #[error("piece {index}: read failed at byte {offset}: {source}")]
    Io {
        /// The piece index.
        index: u32,
        /// Where the read was.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A torrent that cannot be seeded by this crate.
    #[error("cannot seed this torrent: {0}")]
    Torrent(String),
    /// A method called in a state where it makes no sense (a host bug).
    #[error("{operation} called while the connection {state}")]
    State {
        /// The method.
        operation: &'static str,
        /// The connection's state.
        state: &'static str,
    },
    /// A plain BitTorrent handshake where the policy requires encryption.
    #[error("plaintext handshake refused: encryption (MSE) is required")]
    EncryptionRequired,
    /// The peer's MSE Diffie-Hellman key is 0, 1, or not below the prime
    /// minus one.
    #[error("MSE: the Diffie-Hellman key at byte {at} is out of range")]
    MseKey {
        /// Where the key starts in the peer's stream.
        at: u64,
    },
    /// The MSE sync did not come within the bytes the spec allows.
    #[error("MSE: no {what} within {limit} bytes (searched from byte {at})")]
    MseNoSync {
        /// What was looked for.
        what: &'static str,
        /// The most bytes, the key included, before the sync ends.
        limit: usize,
        /// Where the search started in the peer's stream.
        at: u64,
    },
    /// The MSE verification constant did not decrypt to zeros: the peer's
    /// key or info-hash differs from ours.
    #[error("MSE: the verification constant at byte {at} is not zero")]
    MseVerification {
        /// Where it starts in the peer's stream.
        at: u64,
    },
    /// An MSE pad longer than 512 bytes.
    #[error("MSE: {name} of {length} bytes (at byte {at}), the limit is 512")]
    MsePadTooLong {
        /// `PadC` or `PadD`.
        name: &'static str,
        /// Its claimed length.
        length: usize,
        /// Where its length is in the peer's stream.
        at: u64,
    },
    /// An MSE initial payload longer than we accept.
    #[error("MSE: initial payload of {length} bytes (at byte {at}), the limit is {limit}")]
    MseInitialPayloadTooLong {
        /// Its claimed length.
        length: usize,
        /// The limit.
        limit: usize,
        /// Where its length is in the peer's stream.
        at: u64,
    },
    /// The MSE initiator's obfuscated info-hash matches no torrent seeded
    /// here.
    #[error("MSE: the peer asked for a torrent not seeded here")]
    MseUnknownTorrent,
    /// The MSE initiator offers no method the policy accepts.
    #[error("MSE: the peer offers crypto methods {provide:#x}, none allowed by policy {policy}")]
    MseProvide {
        /// Its `crypto_provide` bits (1 plaintext, 2 RC4).
        provide: u32,
        /// Our policy.
        policy: crate::policy::EncryptionPolicy,
    },
    /// The MSE receiver selected a method we did not offer, or several.
    #[error(
        "MSE: the peer selected crypto method {select:#x} at byte {at}, not allowed by policy {policy}"
    )]
    MseSelect {
        /// Its `crypto_select` bits.
        select: u32,
        /// Our policy.
        policy: crate::policy::EncryptionPolicy,
        /// Where it is in the peer's stream.
        at: u64,
    },
    /// The MSE handshake did not finish within the configured time.
    #[error("MSE: no encryption handshake within {0:?}")]
    MseTimeout(Duration),
    /// The connection closed earlier (after an error or a reject).
    #[error("the connection is closed")]
    Closed,
}

/// What is wrong with a request that closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestProblem {
    /// Length 0.
    ZeroLength,
    /// Longer than the largest block we accept.
    TooLong {
        /// The limit in force.
        limit: u32,
    },
    /// The piece index is past the last piece.
    NoSuchPiece {
        /// The torrent's piece count.
        pieces: u32,
    },
    /// `begin + length` is past the piece's end.
    PastPieceEnd {
        /// The piece's size.
        piece_size: u32,
    },
}

impl fmt::Display for RequestProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestProblem::ZeroLength => f.write_str("length 0"),
            RequestProblem::TooLong { limit } => {
                write!(f, "longer than the largest block accepted, {limit} bytes")
            }
            RequestProblem::NoSuchPiece { pieces } => write!(f, "torrent has {pieces} pieces"),
            RequestProblem::PastPieceEnd { piece_size } => {
                write!(f, "past the end of the piece, which has {piece_size} bytes")
            }
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
