//! What a seed needs to know of a torrent: its info-hashes, its pieces'
//! layout and how each piece is checked.

use std::sync::Arc;

use bytes::Bytes;
use s3torrent_metainfo::{Info, InfoHash, InfoHashV2, PieceTree, Torrent, TorrentVersion};
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::wire::HashRequest;

/// What a seed needs to know of a torrent.
#[derive(Debug, Clone)]
pub struct SeedTorrent {
    info_hash: InfoHash,
    info_hash_v2: Option<InfoHashV2>,
    info_bytes: Bytes,
    piece_length: u32,
    length: u64,
    piece_count: u32,
    hashes: PieceHashes,
    peer_id: [u8; 20],
}

/// What a piece is checked with.
#[derive(Debug, Clone)]
enum PieceHashes {
    /// The concatenated SHA-1 hashes (v1 and hybrid torrents).
    Sha1(Bytes),
    /// A v2-only torrent's info, whose piece layer (or pieces root) checks
    /// each piece's merkle root, and its file's tree above the piece layer
    /// (none for a file of one piece), which answers hash requests.
    V2(Arc<(Info, Option<PieceTree>)>),
}

impl SeedTorrent {
    /// From a parsed torrent: v1, hybrid, or v2-only of a single file. `peer_id` is ours.
    ///
    /// The data is the torrent's v1 byte stream: its files one after the
    /// other (pad files included) from offset 0; for a v2-only torrent, its
    /// one file. v1 and hybrid pieces are checked with their SHA-1 hashes
    /// (a hybrid torrent's v2 hashes describe the same bytes); v2-only
    /// pieces with the file's SHA-256 merkle tree (BEP 52), through
    /// [`Info::piece_matches`]. A v2-only torrent is seeded under its v2
    /// info-hash truncated to 20 bytes, what v2 peers send in handshakes;
    /// one of several files is refused (its files each start a new piece,
    /// so its pieces are not slices of one byte stream).
    pub fn from_torrent(torrent: &Torrent, peer_id: [u8; 20]) -> Result<Self> {
        let info = torrent.info();
        match (torrent.info_hash_v1(), torrent.info_hash_v2()) {
            (Some(info_hash), v2) => {
                let mut seed = SeedTorrent::new(
                    Bytes::copy_from_slice(torrent.info_bytes()),
                    info.piece_length(),
                    info.length(),
                    Bytes::copy_from_slice(info.pieces()),
                    peer_id,
                )?;
                seed.info_hash = info_hash;
                seed.info_hash_v2 = v2;
                Ok(seed)
            }
            (None, Some(v2)) => {
                if info.v2_files().len() != 1 {
                    return Err(Error::Torrent(format!(
                        "a v2-only torrent of {} files (only one file is seeded)",
                        info.v2_files().len()
                    )));
                }
                let (piece_length, length, piece_count) =
                    layout(info.piece_length(), info.length())?;
                if u64::from(piece_count) != info.piece_count() {
                    return Err(Error::Torrent(format!(
                        "{} v2 pieces for {piece_count} pieces of the data",
                        info.piece_count()
                    )));
                }
                Ok(SeedTorrent {
                    info_hash: v2.truncated(),
                    info_hash_v2: Some(v2),
                    info_bytes: Bytes::copy_from_slice(torrent.info_bytes()),
                    piece_length,
                    length,
                    piece_count,
                    hashes: PieceHashes::V2(Arc::new((
                        info.clone(),
                        PieceTree::new(&info.v2_files()[0], info.piece_length()),
                    ))),
                    peer_id,
                })
            }
            (None, None) => Err(Error::Torrent("a torrent with no info-hash".into())),
        }
    }

    /// From the raw info dictionary, piece length, total length and the
    /// concatenated SHA-1 piece hashes; the info-hash is the SHA-1 of
    /// `info_bytes`. The numbers must agree (`pieces` holds one hash per
    /// piece) and fit the wire protocol's 32-bit piece indexes and offsets.
    pub fn new(
        info_bytes: Bytes,
        piece_length: u64,
        length: u64,
        pieces: Bytes,
        peer_id: [u8; 20],
    ) -> Result<Self> {
        let (piece_length, length, piece_count) = layout(piece_length, length)?;
        let count = u64::from(piece_count);
        if pieces.len() as u64 != count * 20 {
            return Err(Error::Torrent(format!(
                "{} bytes of piece hashes for {count} pieces",
                pieces.len()
            )));
        }
        Ok(SeedTorrent {
            info_hash: InfoHash::of_info_bytes(&info_bytes),
            info_hash_v2: None,
            info_bytes,
            piece_length,
            length,
            piece_count,
            hashes: PieceHashes::Sha1(pieces),
            peer_id,
        })
    }

    /// The info-hash we send when we dial: the v1 info-hash, or for a
    /// v2-only torrent the v2 info-hash truncated to 20 bytes.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The v2 info-hash of a hybrid or v2-only torrent.
    pub fn info_hash_v2(&self) -> Option<InfoHashV2> {
        self.info_hash_v2
    }

    /// Whether the torrent is v1, hybrid or v2-only.
    pub fn version(&self) -> TorrentVersion {
        match (&self.hashes, self.info_hash_v2) {
            (PieceHashes::V2(_), _) => TorrentVersion::V2,
            (PieceHashes::Sha1(_), Some(_)) => TorrentVersion::Hybrid,
            (PieceHashes::Sha1(_), None) => TorrentVersion::V1,
        }
    }

    /// Whether a handshake's info-hash names this torrent: the v1 hash, or
    /// the truncated v2 hash of a hybrid or v2-only torrent.
    pub fn matches(&self, info_hash: &InfoHash) -> bool {
        *info_hash == self.info_hash
            || self
                .info_hash_v2
                .is_some_and(|v2| v2.truncated() == *info_hash)
    }

    /// The raw info dictionary (served by ut_metadata).
    pub fn info_bytes(&self) -> &Bytes {
        &self.info_bytes
    }

    /// The piece length.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// The total length.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Our peer id.
    pub fn peer_id(&self) -> &[u8; 20] {
        &self.peer_id
    }

    /// The SHA-1 of piece `index`; `None` for a v2-only torrent.
    pub fn piece_hash(&self, index: u32) -> Option<[u8; 20]> {
        let PieceHashes::Sha1(hashes) = &self.hashes else {
            return None;
        };
        let start = index as usize * 20;
        hashes.get(start..start + 20)?.try_into().ok()
    }

    /// Whether `data` is piece `index`, whole: its size, and its SHA-1 (v1
    /// and hybrid) or its merkle root in the file's piece layer (v2-only).
    pub fn piece_matches(&self, index: u32, data: &[u8]) -> bool {
        if data.len() as u64 != u64::from(self.piece_size(index)) || index >= self.piece_count {
            return false;
        }
        match &self.hashes {
            PieceHashes::Sha1(_) => {
                let digest: [u8; 20] = Sha1::digest(data).into();
                Some(digest) == self.piece_hash(index)
            }
            PieceHashes::V2(v2) => v2.0.piece_matches(u64::from(index), data),
        }
    }

    /// The answer to a BEP 52 hash request, from a v2-only torrent's
    /// `piece layers` ([`PieceTree::hashes`]): the hashes of the `hashes`
    /// message, or `None` for a `hash reject` (another file's root, a file of
    /// one piece, block hashes, or a request outside the tree; v1 and hybrid
    /// torrents reject every request).
    pub fn hashes(&self, request: &HashRequest) -> Option<Vec<[u8; 32]>> {
        let PieceHashes::V2(v2) = &self.hashes else {
            return None;
        };
        let tree = v2.1.as_ref()?;
        if tree.root() != request.pieces_root {
            return None;
        }
        tree.hashes(
            request.base_layer,
            request.index,
            request.length,
            request.proof_layers,
        )
    }

    /// The size of piece `index` (the last may be short); 0 past the end.
    pub fn piece_size(&self, index: u32) -> u32 {
        if index >= self.piece_count {
            return 0;
        }
        let rest = self.length - self.piece_offset(index);
        u32::try_from(rest.min(u64::from(self.piece_length))).unwrap_or(0)
    }

    /// Where piece `index` starts in the data.
    pub fn piece_offset(&self, index: u32) -> u64 {
        u64::from(index) * u64::from(self.piece_length)
    }

    /// The bitfield of a complete torrent: every piece's bit set, spare
    /// bits zero.
    pub fn full_bitfield(&self) -> Vec<u8> {
        let mut bits = vec![0xff; self.piece_count.div_ceil(8) as usize];
        let spare = (8 - self.piece_count % 8) % 8;
        if let Some(last) = bits.last_mut() {
            *last = 0xffu8 << spare;
        }
        bits
    }
}

/// The piece length, total length and piece count, checked: they fit the
/// wire protocol's 32-bit piece indexes and offsets.
fn layout(piece_length: u64, length: u64) -> Result<(u32, u64, u32)> {
    let piece_length = u32::try_from(piece_length)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| Error::Torrent(format!("piece length {piece_length} out of range")))?;
    if length == 0 {
        return Err(Error::Torrent("total length is 0".into()));
    }
    let count = length.div_ceil(u64::from(piece_length));
    let piece_count = u32::try_from(count)
        .map_err(|_| Error::Torrent(format!("{count} pieces do not fit 32-bit indexes")))?;
    Ok((piece_length, length, piece_count))
}
