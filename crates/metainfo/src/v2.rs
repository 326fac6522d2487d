//! BitTorrent v2 (BEP 52) and hybrid hashing: one pass over the data gives
//! the v1 SHA-1 pieces and the v2 SHA-256 merkle tree together.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::hash::{HashOptions, PieceHasher, Pieces, for_each_piece, hash_source_with_length};
use crate::merkle::{self, BLOCK, Hash32, MerkleHasher, MerkleOut};
use crate::piece_length::PieceLength;
use crate::source::{ReadAt, read_exact_at};

/// Which BitTorrent version a torrent is for.
///
/// ```
/// use s3torrent_metainfo::TorrentVersion;
///
/// let v: TorrentVersion = "hybrid".parse()?;
/// assert_eq!(v, TorrentVersion::Hybrid);
/// assert!(v.has_v1() && v.has_v2());
/// assert_eq!(TorrentVersion::V2.to_string(), "v2");
/// assert_eq!(TorrentVersion::default(), TorrentVersion::V1);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TorrentVersion {
    /// BEP 3: SHA-1 `pieces`. What Amazon S3 serves, and what every client reads.
    #[default]
    V1,
    /// BEP 52: `meta version` 2, a `file tree` of SHA-256 merkle roots and
    /// `piece layers`; identified by a SHA-256 info-hash.
    V2,
    /// The v1 and v2 keys in one `info` dictionary, so v1 and v2 clients can
    /// share the data (each in its own swarm, under its own info-hash).
    Hybrid,
}

impl TorrentVersion {
    /// Whether torrents of this version hold v1 `pieces`.
    pub fn has_v1(self) -> bool {
        matches!(self, TorrentVersion::V1 | TorrentVersion::Hybrid)
    }

    /// Whether torrents of this version hold a v2 `file tree`.
    pub fn has_v2(self) -> bool {
        matches!(self, TorrentVersion::V2 | TorrentVersion::Hybrid)
    }
}

impl fmt::Display for TorrentVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TorrentVersion::V1 => "v1",
            TorrentVersion::V2 => "v2",
            TorrentVersion::Hybrid => "hybrid",
        })
    }
}

impl FromStr for TorrentVersion {
    type Err = Error;

    /// `v1`, `v2` or `hybrid` (also `1` and `2`; any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(TorrentVersion::V1),
            "v2" | "2" => Ok(TorrentVersion::V2),
            "hybrid" => Ok(TorrentVersion::Hybrid),
            _ => Err(Error::field(
                "torrent version",
                format!("{s:?} is not v1, v2 or hybrid"),
            )),
        }
    }
}

/// The v2 (BEP 52) hashes of one file: its `pieces root` and piece layer.
///
/// The file's 16 KiB blocks are the leaves of a SHA-256 merkle tree (the
/// last block may be short and is hashed as it is). The leaf row is padded
/// with zero hashes to a power of two, so:
///
/// - the piece layer holds, for each piece, the root of the piece's subtree
///   of `piece length / 16 KiB` leaves, the last piece's padded with zero
///   leaves;
/// - for a file of more than one piece, the `pieces root` is the root over
///   the piece layer padded, to a power of two, with the root of a piece of
///   zero leaves;
/// - for a file of at most one piece, the `pieces root` is the root over its
///   leaves padded only to the next power of two: for at most 16 KiB, the
///   SHA-256 of the data itself. Such a file has no piece layer (BEP 52
///   writes `piece layers` only for files larger than a piece);
/// - a 0-byte file has no `pieces root`.
#[derive(Clone, PartialEq, Eq)]
pub struct PiecesV2 {
    piece_length: u64,
    length: u64,
    pieces_root: Option<[u8; 32]>,
    layer: Vec<u8>,
}

impl PiecesV2 {
    pub(crate) fn from_merkle(piece_length: u64, out: &MerkleOut) -> Self {
        let pieces_root = out.pieces_root(piece_length);
        let layer = if out.layer.len() > 1 {
            out.layer.concat()
        } else {
            Vec::new()
        };
        PiecesV2 {
            piece_length,
            length: out.length,
            pieces_root,
            layer,
        }
    }

    /// v2 hashes computed elsewhere: the `pieces root` (`None` for 0 bytes)
    /// and the piece layer (concatenated 32-byte hashes, one per piece, for a
    /// file of more than one piece; empty otherwise). The layer is checked:
    /// it must hash up to the root.
    pub fn from_parts(
        piece_length: PieceLength,
        length: u64,
        pieces_root: Option<[u8; 32]>,
        piece_layer: Vec<u8>,
    ) -> Result<Self> {
        let piece_length = piece_length.get();
        match (length, pieces_root) {
            (0, Some(_)) => {
                return Err(Error::field(
                    "pieces root",
                    "a 0-byte file has no pieces root",
                ));
            }
            (1.., None) => return Err(Error::field("pieces root", "missing")),
            _ => {}
        }
        if let Some(root) = pieces_root.filter(|_| length > piece_length) {
            check_layer(piece_length, length, &root, &piece_layer)
                .map_err(|problem| Error::field("piece layers", problem))?;
        } else if !piece_layer.is_empty() {
            return Err(Error::field(
                "piece layers",
                format!(
                    "a file of {length} bytes, at most one piece of {piece_length}, has no piece layer"
                ),
            ));
        }
        Ok(PiecesV2 {
            piece_length,
            length,
            pieces_root,
            layer: piece_layer,
        })
    }

    /// The piece length in bytes.
    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// The length of the file.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The file's `pieces root`; `None` for a 0-byte file.
    pub fn pieces_root(&self) -> Option<[u8; 32]> {
        self.pieces_root
    }

    /// The piece layer, as it goes in `piece layers`: 32 bytes per piece for
    /// a file larger than one piece, else empty.
    pub fn piece_layer(&self) -> &[u8] {
        &self.layer
    }

    /// The number of pieces.
    pub fn count(&self) -> u64 {
        self.length.div_ceil(self.piece_length)
    }
}

impl fmt::Debug for PiecesV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiecesV2")
            .field("piece_length", &self.piece_length)
            .field("length", &self.length)
            .field(
                "pieces_root",
                &self.pieces_root.map(|r| crate::text::to_hex(&r)),
            )
            .field("count", &self.count())
            .finish()
    }
}

/// Checks that `layer` holds one hash per piece and hashes up to `root`.
pub(crate) fn check_layer(
    piece_length: u64,
    length: u64,
    root: &[u8; 32],
    layer: &[u8],
) -> std::result::Result<(), String> {
    let count = length.div_ceil(piece_length);
    if layer.len() as u64 != count.saturating_mul(32) {
        return Err(format!(
            "{} bytes of hashes, but {length} bytes in pieces of {piece_length} need {count} hashes of 32 bytes",
            layer.len()
        ));
    }
    let hashes: Vec<Hash32> = layer
        .chunks_exact(32)
        .map(|c| <Hash32>::try_from(c).unwrap_or_default())
        .collect();
    if merkle::layer_root(&hashes, piece_length, count) != *root {
        return Err("the layer does not hash up to its pieces root".into());
    }
    Ok(())
}

/// The hashes a torrent is built from: v1 SHA-1 pieces, v2 SHA-256 merkle
/// hashes, or both, as [`TorrentHasher`] and [`hash_source`] give them for a
/// [`TorrentVersion`].
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentHasher, TorrentHashes, TorrentVersion};
///
/// let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
/// h.update(&[1u8; 40_000]);
/// let hashes = h.finish();
/// assert_eq!(hashes.version(), TorrentVersion::Hybrid);
/// assert_eq!(hashes.piece_count(), 3);
/// let TorrentHashes::Hybrid(v1, v2) = &hashes else { panic!("hybrid") };
/// assert_eq!(v1.count(), 3);
/// assert_eq!(v2.piece_layer().len(), 3 * 32);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TorrentHashes {
    /// SHA-1 pieces only: builds v1 torrents.
    V1(Pieces),
    /// SHA-256 merkle hashes only: builds v2 torrents.
    V2(PiecesV2),
    /// Both, of the same data in the same piece length: builds any version.
    /// [`TorrentHashes::hybrid`] checks that they agree; the builder checks
    /// again.
    Hybrid(Pieces, PiecesV2),
}

impl TorrentHashes {
    /// Both kinds, for a hybrid torrent. They must describe the same length
    /// in the same piece length.
    pub fn hybrid(v1: Pieces, v2: PiecesV2) -> Result<Self> {
        check_same_data(&v1, &v2)?;
        Ok(TorrentHashes::Hybrid(v1, v2))
    }

    /// Which torrents these hashes can build: [`TorrentVersion::Hybrid`]
    /// builds any version.
    pub fn version(&self) -> TorrentVersion {
        match self {
            TorrentHashes::V1(_) => TorrentVersion::V1,
            TorrentHashes::V2(_) => TorrentVersion::V2,
            TorrentHashes::Hybrid(..) => TorrentVersion::Hybrid,
        }
    }

    /// The v1 SHA-1 pieces, if computed.
    pub fn v1(&self) -> Option<&Pieces> {
        match self {
            TorrentHashes::V1(p) | TorrentHashes::Hybrid(p, _) => Some(p),
            TorrentHashes::V2(_) => None,
        }
    }

    /// The v2 merkle hashes, if computed.
    pub fn v2(&self) -> Option<&PiecesV2> {
        match self {
            TorrentHashes::V2(p) | TorrentHashes::Hybrid(_, p) => Some(p),
            TorrentHashes::V1(_) => None,
        }
    }

    /// The length of the data hashed.
    pub fn length(&self) -> u64 {
        match self {
            TorrentHashes::V1(p) | TorrentHashes::Hybrid(p, _) => p.length(),
            TorrentHashes::V2(p) => p.length(),
        }
    }

    /// The piece length in bytes.
    pub fn piece_length(&self) -> u64 {
        match self {
            TorrentHashes::V1(p) | TorrentHashes::Hybrid(p, _) => p.piece_length(),
            TorrentHashes::V2(p) => p.piece_length(),
        }
    }

    /// The number of pieces.
    pub fn piece_count(&self) -> u64 {
        self.length().div_ceil(self.piece_length())
    }

    /// The hashes a torrent of `version` is built from: these, or the half
    /// of hybrid hashes that `version` needs. `None` when a kind is missing.
    pub fn for_version(&self, version: TorrentVersion) -> Option<TorrentHashes> {
        match (version, self) {
            (TorrentVersion::V1, h) => h.v1().cloned().map(TorrentHashes::V1),
            (TorrentVersion::V2, h) => h.v2().cloned().map(TorrentHashes::V2),
            (TorrentVersion::Hybrid, TorrentHashes::Hybrid(..)) => Some(self.clone()),
            (TorrentVersion::Hybrid, _) => None,
        }
    }
}

/// Hybrid halves must describe the same length in the same piece length.
pub(crate) fn check_same_data(v1: &Pieces, v2: &PiecesV2) -> Result<()> {
    if v1.length() != v2.length() || v1.piece_length() != v2.piece_length() {
        return Err(Error::Build(format!(
            "the v1 pieces ({} bytes in pieces of {}) and the v2 hashes ({} bytes in pieces of {}) are not of the same data",
            v1.length(),
            v1.piece_length(),
            v2.length(),
            v2.piece_length()
        )));
    }
    Ok(())
}

impl From<Pieces> for TorrentHashes {
    fn from(pieces: Pieces) -> Self {
        TorrentHashes::V1(pieces)
    }
}

impl From<PiecesV2> for TorrentHashes {
    fn from(pieces: PiecesV2) -> Self {
        TorrentHashes::V2(pieces)
    }
}

/// Hashes a stream of chunks for a torrent of any version, on one thread:
/// v1 SHA-1 pieces, v2 merkle hashes, or for a hybrid torrent both in one
/// pass.
///
/// Chunks may have any size; the result is the same however the data is cut,
/// and the same as [`hash_source`] over the same bytes. No bytes are copied.
/// Memory use is one piece's leaf hashes plus the piece layer. A 0-byte
/// stream gives 0 pieces (and [`TorrentBuilder`](crate::TorrentBuilder)
/// then refuses to build, as BitTorrent clients refuse torrents of length 0).
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentHasher, TorrentVersion};
///
/// let data = vec![0u8; 100_000];
/// let mut a = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V2);
/// a.update(&data);
/// let mut b = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V2);
/// for chunk in data.chunks(777) {
///     b.update(chunk);
/// }
/// assert_eq!(a.bytes_hashed(), 100_000);
/// assert_eq!(a.finish(), b.finish());
/// ```
#[derive(Clone, Debug)]
pub struct TorrentHasher {
    piece_length: u64,
    state: HasherState,
}

#[derive(Clone, Debug)]
enum HasherState {
    V1(PieceHasher),
    V2(MerkleHasher),
    Hybrid(PieceHasher, MerkleHasher),
}

impl TorrentHasher {
    /// A hasher for a torrent of `version` in pieces of `piece_length`.
    pub fn new(piece_length: PieceLength, version: TorrentVersion) -> Self {
        let bytes = piece_length.get();
        let state = match version {
            TorrentVersion::V1 => HasherState::V1(PieceHasher::with_piece_bytes(bytes)),
            TorrentVersion::V2 => HasherState::V2(MerkleHasher::new(bytes)),
            TorrentVersion::Hybrid => HasherState::Hybrid(
                PieceHasher::with_piece_bytes(bytes),
                MerkleHasher::new(bytes),
            ),
        };
        TorrentHasher {
            piece_length: bytes,
            state,
        }
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            HasherState::V1(v1) => v1.update(data),
            HasherState::V2(v2) => v2.update(data),
            HasherState::Hybrid(v1, v2) => {
                // Both hashes over each block while it is in the cache.
                for chunk in data.chunks(BLOCK) {
                    v1.update(chunk);
                    v2.update(chunk);
                }
            }
        }
    }

    /// How many bytes have been fed.
    pub fn bytes_hashed(&self) -> u64 {
        match &self.state {
            HasherState::V1(v1) | HasherState::Hybrid(v1, _) => v1.bytes_hashed(),
            HasherState::V2(v2) => v2.bytes_hashed(),
        }
    }

    /// Hashes the last, short piece (if any) and returns all the hashes.
    pub fn finish(self) -> TorrentHashes {
        let v2 = |m: MerkleHasher| PiecesV2::from_merkle(self.piece_length, &m.finish());
        match self.state {
            HasherState::V1(v1) => TorrentHashes::V1(v1.finish()),
            HasherState::V2(m) => TorrentHashes::V2(v2(m)),
            HasherState::Hybrid(v1, m) => TorrentHashes::Hybrid(v1.finish(), v2(m)),
        }
    }
}

/// Hashes `length` bytes of a positional source for a torrent of `version`,
/// on several threads, reading the data once: the one multi-core entry
/// point, as [`TorrentHasher`] is the streaming one.
///
/// Threads take batches of whole pieces (about 4 MiB at a time) from a
/// shared counter, so a slow thread never holds the others back; each reads
/// its pieces through its own buffer and computes, per piece, the SHA-1
/// (v1, hybrid) and the SHA-256 of each 16 KiB block and the piece's
/// subtree root (v2, hybrid). Memory use is about threads × buffer size,
/// plus 52 bytes per piece. The result is byte-identical to
/// [`TorrentHasher`] over the same bytes. `progress` is called with the
/// bytes hashed so far, about every 4 MiB, from the worker threads, one
/// call at a time and with increasing totals. If reads fail, the error
/// returned is the one earliest in the data.
///
/// This call is CPU-bound and blocks until done: an async host runs it on a
/// blocking thread (for tokio, `spawn_blocking`).
///
/// ```
/// use s3torrent_metainfo::{HashOptions, PieceLength, TorrentHasher, TorrentVersion, hash_source};
///
/// let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
/// let hashes = hash_source(&data, data.len() as u64, PieceLength::MIN,
///                          TorrentVersion::Hybrid, &HashOptions::new().threads(2), &|_| {})?;
/// let mut one = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
/// one.update(&data);
/// assert_eq!(hashes, one.finish());
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
pub fn hash_source<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: u64,
    piece_length: PieceLength,
    version: TorrentVersion,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TorrentHashes> {
    let bytes = piece_length.get();
    if version == TorrentVersion::V1 {
        return hash_source_with_length(source, length, bytes, options, progress)
            .map(TorrentHashes::V1);
    }
    let (v1, out) = hash_source_merkle(source, length, bytes, version, options, progress)?;
    let v2 = PiecesV2::from_merkle(bytes, &out);
    Ok(match v1 {
        Some(hashes) => {
            TorrentHashes::Hybrid(Pieces::from_parts(piece_length, length, hashes)?, v2)
        }
        None => TorrentHashes::V2(v2),
    })
}

/// One piece's hashes.
struct PieceOut {
    sha1: Option<[u8; 20]>,
    root: Hash32,
    single_root: Option<Hash32>,
}

/// Per-thread scratch: the read buffer (a multiple of 16 KiB, so blocks
/// never straddle two reads) and the current piece's leaves.
struct Scratch {
    buf: Vec<u8>,
    leaves: Vec<Hash32>,
}

/// The multi-core v2 pass over `length` bytes of one file: the merkle
/// tree's piece layer and, for [`TorrentVersion::Hybrid`], the concatenated
/// SHA-1 piece hashes.
pub(crate) fn hash_source_merkle<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: u64,
    piece_length: u64,
    version: TorrentVersion,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Option<Vec<u8>>, MerkleOut)> {
    let with_v1 = version.has_v1();
    let blocks = merkle::blocks_per_piece(piece_length);
    let buffer_size = (options.buffer_bytes() / BLOCK * BLOCK)
        .clamp(BLOCK, usize::try_from(piece_length).unwrap_or(usize::MAX));
    let single = length <= piece_length;
    let pieces = for_each_piece(
        length,
        piece_length,
        options.thread_count(),
        progress,
        || Scratch {
            buf: vec![0u8; buffer_size],
            leaves: Vec::with_capacity(usize::try_from(blocks).unwrap_or(0)),
        },
        |scratch, _, start, end| {
            let mut sha1 = with_v1.then(Sha1::new);
            scratch.leaves.clear();
            let mut at = start;
            while at < end {
                let n = scratch
                    .buf
                    .len()
                    .min(usize::try_from(end - at).unwrap_or(usize::MAX));
                let buf = &mut scratch.buf[..n];
                read_exact_at(source, buf, at, length)?;
                for block in buf.chunks(BLOCK) {
                    if let Some(sha1) = &mut sha1 {
                        sha1.update(block);
                    }
                    scratch.leaves.push(merkle::leaf(block));
                }
                at += n as u64;
            }
            let single_root = single.then(|| {
                let width = (scratch.leaves.len() as u64).next_power_of_two();
                merkle::root(&scratch.leaves, 0, width)
            });
            Ok(PieceOut {
                sha1: sha1.map(|s| s.finalize().into()),
                root: merkle::root_in_place(&mut scratch.leaves, 0, blocks),
                single_root,
            })
        },
    )?;
    let v1 = with_v1.then(|| {
        pieces
            .iter()
            .flat_map(|p| p.sha1.unwrap_or_default())
            .collect()
    });
    let out = MerkleOut {
        length,
        single_root: pieces.first().and_then(|p| p.single_root),
        layer: pieces.into_iter().map(|p| p.root).collect(),
    };
    Ok((v1, out))
}
