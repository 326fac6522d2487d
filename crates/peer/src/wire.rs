//! The frame codec: the handshake and the length-prefixed messages (BEP 3,
//! 6, 10, 52), encoded into any [`BufMut`] and decoded incrementally.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use s3torrent_metainfo::InfoHash;

use crate::error::{Error, Result};
pub(crate) use crate::id::BlockRequest;

/// The protocol string of the handshake.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// The handshake's length in bytes.
pub const HANDSHAKE_LEN: usize = 68;

/// A protocol extension announced in the handshake's reserved bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Extension {
    /// BEP 10, the extension protocol (`reserved[5] & 0x10`).
    Extended,
    /// BEP 6, the fast extension (`reserved[7] & 0x04`).
    Fast,
    /// BEP 5, DHT (`reserved[7] & 0x01`); read, never set by us.
    Dht,
    /// BEP 52, v2 (`reserved[7] & 0x10`); we set it under a truncated v2
    /// info-hash.
    V2,
}

impl Extension {
    fn bit(self) -> (usize, u8) {
        match self {
            Extension::Extended => (5, 0x10),
            Extension::Fast => (7, 0x04),
            Extension::Dht => (7, 0x01),
            Extension::V2 => (7, 0x10),
        }
    }
}

/// The 8 reserved bytes of a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Extensions([u8; 8]);

impl Extensions {
    /// No extension.
    pub const NONE: Extensions = Extensions([0; 8]);

    /// The reserved bytes as received.
    pub fn from_bytes(bytes: [u8; 8]) -> Self {
        Extensions(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    /// What we announce: BEP 10 and BEP 6.
    pub fn ours() -> Self {
        Extensions::NONE
            .with(Extension::Extended)
            .with(Extension::Fast)
    }

    /// These plus `extension`.
    pub fn with(mut self, extension: Extension) -> Self {
        let (byte, mask) = extension.bit();
        self.0[byte] |= mask;
        self
    }

    /// Whether `extension`'s bit is set.
    pub fn supports(&self, extension: Extension) -> bool {
        let (byte, mask) = extension.bit();
        self.0[byte] & mask != 0
    }
}

/// A handshake: reserved bytes, info-hash and peer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// The reserved bytes.
    pub extensions: Extensions,
    /// The info-hash (for a v2 peer, possibly the truncated v2 info-hash).
    pub info_hash: InfoHash,
    /// The sender's peer id.
    pub peer_id: [u8; 20],
}

impl Handshake {
    /// Writes the 68 bytes.
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        out.put_u8(19);
        out.put_slice(PROTOCOL);
        out.put_slice(self.extensions.as_bytes());
        out.put_slice(self.info_hash.as_bytes());
        out.put_slice(&self.peer_id);
    }

    /// The 68 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HANDSHAKE_LEN);
        self.encode(&mut out);
        out
    }
}

/// The body of a BEP 52 `hash request`, `hashes` or `hash reject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashRequest {
    /// The file's merkle root.
    pub pieces_root: [u8; 32],
    /// The layer of the tree the hashes are from.
    pub base_layer: u32,
    /// The index of the first hash.
    pub index: u32,
    /// How many hashes.
    pub length: u32,
    /// How many uncle layers of proof.
    pub proof_layers: u32,
}

/// Message ids.
mod id {
    pub(super) const CHOKE: u8 = 0;
    pub(super) const UNCHOKE: u8 = 1;
    pub(super) const INTERESTED: u8 = 2;
    pub(super) const NOT_INTERESTED: u8 = 3;
    pub(super) const HAVE: u8 = 4;
    pub(super) const BITFIELD: u8 = 5;
    pub(super) const REQUEST: u8 = 6;
    pub(super) const PIECE: u8 = 7;
    pub(super) const CANCEL: u8 = 8;
    pub(super) const PORT: u8 = 9;
    pub(super) const SUGGEST: u8 = 13;
    pub(super) const HAVE_ALL: u8 = 14;
    pub(super) const HAVE_NONE: u8 = 15;
    pub(super) const REJECT: u8 = 16;
    pub(super) const ALLOWED_FAST: u8 = 17;
    pub(super) const EXTENDED: u8 = 20;
    pub(super) const HASH_REQUEST: u8 = 21;
    pub(super) const HASHES: u8 = 22;
    pub(super) const HASH_REJECT: u8 = 23;
}

/// One peer wire message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// Length 0.
    KeepAlive,
    /// 0
    Choke,
    /// 1
    Unchoke,
    /// 2
    Interested,
    /// 3
    NotInterested,
    /// 4: the sender has this piece.
    Have(u32),
    /// 5: one bit per piece, high bit first.
    Bitfield(Bytes),
    /// 6
    Request(BlockRequest),
    /// 7: a block of data.
    Piece {
        /// The piece index.
        index: u32,
        /// The offset in the piece.
        begin: u32,
        /// The block.
        data: Bytes,
    },
    /// 8
    Cancel(BlockRequest),
    /// 9: the sender's DHT port.
    Port(u16),
    /// 13 (BEP 6)
    Suggest(u32),
    /// 14 (BEP 6)
    HaveAll,
    /// 15 (BEP 6)
    HaveNone,
    /// 16 (BEP 6): reject request.
    Reject(BlockRequest),
    /// 17 (BEP 6)
    AllowedFast(u32),
    /// 20 (BEP 10): extended message `id` (0 is the extended handshake).
    Extended {
        /// The extended message id.
        id: u8,
        /// The payload after the id.
        payload: Bytes,
    },
    /// 21 (BEP 52)
    HashRequest(HashRequest),
    /// 22 (BEP 52)
    Hashes {
        /// What the hashes answer.
        request: HashRequest,
        /// The hashes, 32 bytes each.
        hashes: Bytes,
    },
    /// 23 (BEP 52)
    HashReject(HashRequest),
    /// An id this codec does not know; ignored, as BEP 3 says.
    Unknown {
        /// The id.
        id: u8,
        /// The payload's length after the id.
        length: u32,
    },
}

impl Message {
    /// The message's name as used in errors.
    pub fn name(&self) -> &'static str {
        match self {
            Message::KeepAlive => "keep-alive",
            Message::Choke => "choke",
            Message::Unchoke => "unchoke",
            Message::Interested => "interested",
            Message::NotInterested => "not interested",
            Message::Have(_) => "have",
            Message::Bitfield(_) => "bitfield",
            Message::Request(_) => "request",
            Message::Piece { .. } => "piece",
            Message::Cancel(_) => "cancel",
            Message::Port(_) => "port",
            Message::Suggest(_) => "suggest",
            Message::HaveAll => "have all",
            Message::HaveNone => "have none",
            Message::Reject(_) => "reject request",
            Message::AllowedFast(_) => "allowed fast",
            Message::Extended { .. } => "extended",
            Message::HashRequest(_) => "hash request",
            Message::Hashes { .. } => "hashes",
            Message::HashReject(_) => "hash reject",
            Message::Unknown { .. } => "unknown",
        }
    }

    /// The encoded length, the 4-byte prefix included.
    pub fn encoded_len(&self) -> usize {
        4 + match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have(_) | Message::Suggest(_) | Message::AllowedFast(_) => 5,
            Message::Bitfield(b) => 1 + b.len(),
            Message::Request(_) | Message::Cancel(_) | Message::Reject(_) => 13,
            Message::Piece { data, .. } => 9 + data.len(),
            Message::Port(_) => 3,
            Message::Extended { payload, .. } => 2 + payload.len(),
            Message::HashRequest(_) | Message::HashReject(_) => 49,
            Message::Hashes { hashes, .. } => 49 + hashes.len(),
            Message::Unknown { length, .. } => 1 + *length as usize,
        }
    }

    /// Writes the message with its length prefix. An [`Message::Unknown`]
    /// is written with a zeroed payload of its length.
    pub fn encode<B: BufMut + ?Sized>(&self, out: &mut B) {
        let len = u32::try_from(self.encoded_len() - 4).unwrap_or(u32::MAX);
        out.put_u32(len);
        match self {
            Message::KeepAlive => {}
            Message::Choke => out.put_u8(id::CHOKE),
            Message::Unchoke => out.put_u8(id::UNCHOKE),
            Message::Interested => out.put_u8(id::INTERESTED),
            Message::NotInterested => out.put_u8(id::NOT_INTERESTED),
            Message::Have(i) => put_index(out, id::HAVE, *i),
            Message::Bitfield(b) => {
                out.put_u8(id::BITFIELD);
                out.put_slice(b);
            }
            Message::Request(r) => put_block(out, id::REQUEST, r),
            Message::Piece { index, begin, data } => {
                out.put_u8(id::PIECE);
                out.put_u32(*index);
                out.put_u32(*begin);
                out.put_slice(data);
            }
            Message::Cancel(r) => put_block(out, id::CANCEL, r),
            Message::Port(p) => {
                out.put_u8(id::PORT);
                out.put_u16(*p);
            }
            Message::Suggest(i) => put_index(out, id::SUGGEST, *i),
            Message::HaveAll => out.put_u8(id::HAVE_ALL),
            Message::HaveNone => out.put_u8(id::HAVE_NONE),
            Message::Reject(r) => put_block(out, id::REJECT, r),
            Message::AllowedFast(i) => put_index(out, id::ALLOWED_FAST, *i),
            Message::Extended { id: ext, payload } => {
                out.put_u8(id::EXTENDED);
                out.put_u8(*ext);
                out.put_slice(payload);
            }
            Message::HashRequest(h) => put_hash(out, id::HASH_REQUEST, h),
            Message::Hashes { request, hashes } => {
                put_hash(out, id::HASHES, request);
                out.put_slice(hashes);
            }
            Message::HashReject(h) => put_hash(out, id::HASH_REJECT, h),
            Message::Unknown { id, length } => {
                out.put_u8(*id);
                out.put_bytes(0, *length as usize);
            }
        }
    }

    /// The encoded bytes, length prefix included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

fn put_index<B: BufMut + ?Sized>(out: &mut B, id: u8, index: u32) {
    out.put_u8(id);
    out.put_u32(index);
}

fn put_block<B: BufMut + ?Sized>(out: &mut B, id: u8, r: &BlockRequest) {
    out.put_u8(id);
    out.put_u32(r.index);
    out.put_u32(r.begin);
    out.put_u32(r.length);
}

fn put_hash<B: BufMut + ?Sized>(out: &mut B, id: u8, h: &HashRequest) {
    out.put_u8(id);
    out.put_slice(&h.pieces_root);
    out.put_u32(h.base_layer);
    out.put_u32(h.index);
    out.put_u32(h.length);
    out.put_u32(h.proof_layers);
}

/// Writes the header of a `piece` message whose block is `length` bytes;
/// the caller appends the block.
pub(crate) fn put_piece_header(out: &mut Vec<u8>, index: u32, begin: u32, length: u32) {
    out.put_u32(length.saturating_add(9));
    out.put_u8(id::PIECE);
    out.put_u32(index);
    out.put_u32(begin);
}

/// What a [`FrameDecoder`] gives back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The peer's handshake (always first, when the decoder expects one).
    Handshake(Handshake),
    /// A message.
    Message(Message),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Handshake,
    Messages,
    Failed,
}

/// The incremental decoder of a peer's byte stream.
///
/// Feed bytes in chunks of any size with [`push`](Self::push), take frames
/// with [`next_frame`](Self::next_frame). A length prefix above the limit is
/// an error as soon as its 4 bytes are there; nothing is ever allocated for
/// what a prefix merely claims (the buffer holds only bytes received), and
/// each byte is looked at a bounded number of times. After an error the
/// decoder answers [`Error::Closed`].
#[derive(Debug)]
pub struct FrameDecoder {
    buf: BytesMut,
    phase: Phase,
    max_length: u32,
    /// Stream offset of `buf[0]`.
    position: u64,
    /// How many handshake bytes were checked already.
    checked: usize,
}

impl FrameDecoder {
    /// A decoder that expects a handshake, then messages of at most
    /// `max_message_length` bytes (the id byte included).
    pub fn new(max_message_length: u32) -> Self {
        FrameDecoder {
            buf: BytesMut::new(),
            phase: Phase::Handshake,
            max_length: max_message_length,
            position: 0,
            checked: 0,
        }
    }

    /// A decoder of messages only (no handshake).
    pub fn messages(max_message_length: u32) -> Self {
        FrameDecoder {
            phase: Phase::Messages,
            ..FrameDecoder::new(max_message_length)
        }
    }

    /// Changes the message length limit.
    pub fn set_max_message_length(&mut self, max: u32) {
        self.max_length = max;
    }

    /// The message length limit.
    pub fn max_message_length(&self) -> u32 {
        self.max_length
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        if self.phase != Phase::Failed {
            self.buf.extend_from_slice(data);
        }
    }

    /// Bytes received but not decoded yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of the stream decoded so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The next complete frame, `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        let result = match self.phase {
            Phase::Failed => return Err(Error::Closed),
            Phase::Handshake => self.handshake(),
            Phase::Messages => self.message(),
        };
        if result.is_err() {
            self.phase = Phase::Failed;
            self.buf = BytesMut::new();
        }
        result
    }

    fn handshake(&mut self) -> Result<Option<Frame>> {
        let have = self.buf.len().min(20);
        while self.checked < have {
            let i = self.checked;
            if i == 0 {
                if self.buf[0] != 19 {
                    return Err(Error::ProtocolLength(self.buf[0]));
                }
            } else if self.buf[i] != PROTOCOL[i - 1] {
                return Err(Error::Protocol {
                    at: self.position + i as u64,
                });
            }
            self.checked += 1;
        }
        if self.buf.len() < HANDSHAKE_LEN {
            return Ok(None);
        }
        let mut b = self.buf.split_to(HANDSHAKE_LEN);
        self.position += HANDSHAKE_LEN as u64;
        b.advance(20);
        let mut reserved = [0; 8];
        b.copy_to_slice(&mut reserved);
        let mut info_hash = [0; 20];
        b.copy_to_slice(&mut info_hash);
        let mut peer_id = [0; 20];
        b.copy_to_slice(&mut peer_id);
        self.phase = Phase::Messages;
        Ok(Some(Frame::Handshake(Handshake {
            extensions: Extensions::from_bytes(reserved),
            info_hash: InfoHash::from_bytes(info_hash),
            peer_id,
        })))
    }

    fn message(&mut self) -> Result<Option<Frame>> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let at = self.position;
        let length = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        if length > self.max_length {
            return Err(Error::MessageTooLong {
                at,
                length,
                limit: self.max_length,
            });
        }
        let total = 4 + length as usize;
        if self.buf.len() < total {
            return Ok(None);
        }
        let mut frame = self.buf.split_to(total);
        self.position += total as u64;
        frame.advance(4);
        if length == 0 {
            return Ok(Some(Frame::Message(Message::KeepAlive)));
        }
        let msg_id = frame.get_u8();
        parse(msg_id, frame.freeze(), at, length).map(|m| Some(Frame::Message(m)))
    }
}

fn expect(
    name: &'static str,
    at: u64,
    length: u32,
    ok: bool,
    expected: &'static str,
) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::MessageLength {
            name,
            at,
            length,
            expected,
        })
    }
}

fn parse(msg_id: u8, mut body: Bytes, at: u64, length: u32) -> Result<Message> {
    let n = body.len();
    let fixed = |name, want: usize, expected| expect(name, at, length, n == want, expected);
    let message = match msg_id {
        id::CHOKE => fixed("choke", 0, "1").map(|()| Message::Choke)?,
        id::UNCHOKE => fixed("unchoke", 0, "1").map(|()| Message::Unchoke)?,
        id::INTERESTED => fixed("interested", 0, "1").map(|()| Message::Interested)?,
        id::NOT_INTERESTED => fixed("not interested", 0, "1").map(|()| Message::NotInterested)?,
        id::HAVE_ALL => fixed("have all", 0, "1").map(|()| Message::HaveAll)?,
        id::HAVE_NONE => fixed("have none", 0, "1").map(|()| Message::HaveNone)?,
        id::HAVE => {
            fixed("have", 4, "5")?;
            Message::Have(body.get_u32())
        }
        id::SUGGEST => {
            fixed("suggest", 4, "5")?;
            Message::Suggest(body.get_u32())
        }
        id::ALLOWED_FAST => {
            fixed("allowed fast", 4, "5")?;
            Message::AllowedFast(body.get_u32())
        }
        id::BITFIELD => Message::Bitfield(body),
        id::REQUEST | id::CANCEL | id::REJECT => {
            let name = match msg_id {
                id::REQUEST => "request",
                id::CANCEL => "cancel",
                _ => "reject request",
            };
            fixed(name, 12, "13")?;
            let r = BlockRequest {
                index: body.get_u32(),
                begin: body.get_u32(),
                length: body.get_u32(),
            };
            match msg_id {
                id::REQUEST => Message::Request(r),
                id::CANCEL => Message::Cancel(r),
                _ => Message::Reject(r),
            }
        }
        id::PIECE => {
            expect("piece", at, length, n >= 8, "at least 9")?;
            let index = body.get_u32();
            let begin = body.get_u32();
            Message::Piece {
                index,
                begin,
                data: body,
            }
        }
        id::PORT => {
            fixed("port", 2, "3")?;
            Message::Port(body.get_u16())
        }
        id::EXTENDED => {
            expect("extended", at, length, n >= 1, "at least 2")?;
            let ext = body.get_u8();
            Message::Extended {
                id: ext,
                payload: body,
            }
        }
        id::HASH_REQUEST | id::HASH_REJECT => {
            let name = if msg_id == id::HASH_REQUEST {
                "hash request"
            } else {
                "hash reject"
            };
            fixed(name, 48, "49")?;
            let h = get_hash(&mut body);
            if msg_id == id::HASH_REQUEST {
                Message::HashRequest(h)
            } else {
                Message::HashReject(h)
            }
        }
        id::HASHES => {
            expect(
                "hashes",
                at,
                length,
                n >= 48 && (n - 48).is_multiple_of(32),
                "49 plus a multiple of 32",
            )?;
            let request = get_hash(&mut body);
            Message::Hashes {
                request,
                hashes: body,
            }
        }
        other => Message::Unknown {
            id: other,
            length: length - 1,
        },
    };
    Ok(message)
}

fn get_hash(body: &mut Bytes) -> HashRequest {
    let mut pieces_root = [0; 32];
    body.copy_to_slice(&mut pieces_root);
    HashRequest {
        pieces_root,
        base_layer: body.get_u32(),
        index: body.get_u32(),
        length: body.get_u32(),
        proof_layers: body.get_u32(),
    }
}
