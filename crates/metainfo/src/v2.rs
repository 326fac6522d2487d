//! BitTorrent v2 (BEP 52) and hybrid hashing: one pass over the data gives
//! the v1 SHA-1 pieces and the v2 SHA-256 merkle tree together.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::hash::{HashOptions, PieceHasher, Pieces, for_each_piece, hash_source};
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

    fn from_parts(v1: bool, v2: bool) -> Self {
        match (v1, v2) {
            (true, true) => TorrentVersion::Hybrid,
            (false, true) => TorrentVersion::V2,
            _ => TorrentVersion::V1,
        }
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
        if length > piece_length {
            let root = pieces_root.expect("checked above");
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
                &self.pieces_root.map(|r| crate::infohash::hex(&r)),
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
        .map(|c| c.try_into().expect("chunks of 32"))
        .collect();
    if merkle::layer_root(&hashes, piece_length, count) != *root {
        return Err("the layer does not hash up to its pieces root".into());
    }
    Ok(())
}

/// The hashes a torrent is built from: v1 pieces, v2 merkle hashes, or both.
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentHasher, TorrentVersion};
///
/// let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
/// h.update(&[1u8; 40_000]);
/// let hashes = h.finish();
/// assert_eq!(hashes.version(), TorrentVersion::Hybrid);
/// assert_eq!(hashes.v1().unwrap().count(), 3);
/// assert_eq!(hashes.v2().unwrap().piece_layer().len(), 3 * 32);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorrentHashes {
    v1: Option<Pieces>,
    v2: Option<PiecesV2>,
}

impl TorrentHashes {
    /// Both kinds, for a hybrid torrent. They must describe the same length
    /// in the same piece length.
    pub fn hybrid(v1: Pieces, v2: PiecesV2) -> Result<Self> {
        if v1.length() != v2.length() || v1.piece_length() != v2.piece_length() {
            return Err(Error::Build(format!(
                "the v1 pieces ({} bytes in pieces of {}) and the v2 hashes ({} bytes in pieces of {}) are not of the same data",
                v1.length(),
                v1.piece_length(),
                v2.length(),
                v2.piece_length()
            )));
        }
        Ok(TorrentHashes {
            v1: Some(v1),
            v2: Some(v2),
        })
    }

    /// Which torrents these hashes can build: [`TorrentVersion::Hybrid`]
    /// builds any version.
    pub fn version(&self) -> TorrentVersion {
        TorrentVersion::from_parts(self.v1.is_some(), self.v2.is_some())
    }

    /// The v1 SHA-1 pieces, if computed.
    pub fn v1(&self) -> Option<&Pieces> {
        self.v1.as_ref()
    }

    /// The v2 merkle hashes, if computed.
    pub fn v2(&self) -> Option<&PiecesV2> {
        self.v2.as_ref()
    }

    /// The length of the data hashed.
    pub fn length(&self) -> u64 {
        match (&self.v1, &self.v2) {
            (Some(p), _) => p.length(),
            (None, Some(p)) => p.length(),
            (None, None) => unreachable!("at least one kind of hashes"),
        }
    }

    /// The piece length in bytes.
    pub fn piece_length(&self) -> u64 {
        match (&self.v1, &self.v2) {
            (Some(p), _) => p.piece_length(),
            (None, Some(p)) => p.piece_length(),
            (None, None) => unreachable!("at least one kind of hashes"),
        }
    }
}

impl From<Pieces> for TorrentHashes {
    fn from(pieces: Pieces) -> Self {
        TorrentHashes {
            v1: Some(pieces),
            v2: None,
        }
    }
}

impl From<PiecesV2> for TorrentHashes {
    fn from(pieces: PiecesV2) -> Self {
        TorrentHashes {
            v1: None,
            v2: Some(pieces),
        }
    }
}

/// Hashes a stream of chunks for a torrent of any version, on one thread:
/// for a hybrid torrent, the SHA-1 pieces and the SHA-256 merkle tree in one
/// pass.
///
/// Chunks may have any size; the result is the same however the data is cut,
/// and the same as [`hash_source_versioned`] over the same bytes. Memory use
/// is one piece's leaf hashes plus the piece layer.
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
/// assert_eq!(a.finish(), b.finish());
/// ```
#[derive(Clone, Debug)]
pub struct TorrentHasher {
    piece_length: u64,
    v1: Option<PieceHasher>,
    v2: Option<MerkleHasher>,
}

impl TorrentHasher {
    /// A hasher for a torrent of `version` in pieces of `piece_length`.
    pub fn new(piece_length: PieceLength, version: TorrentVersion) -> Self {
        TorrentHasher {
            piece_length: piece_length.get(),
            v1: version.has_v1().then(|| PieceHasher::new(piece_length)),
            v2: version
                .has_v2()
                .then(|| MerkleHasher::new(piece_length.get())),
        }
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, data: &[u8]) {
        match (&mut self.v1, &mut self.v2) {
            (Some(v1), Some(v2)) => {
                // Both hashes over each block while it is in the cache.
                for chunk in data.chunks(BLOCK) {
                    v1.update(chunk);
                    v2.update(chunk);
                }
            }
            (Some(v1), None) => v1.update(data),
            (None, Some(v2)) => v2.update(data),
            (None, None) => unreachable!("at least one version"),
        }
    }

    /// How many bytes have been fed.
    pub fn bytes_hashed(&self) -> u64 {
        match (&self.v1, &self.v2) {
            (Some(v1), _) => v1.bytes_hashed(),
            (None, Some(v2)) => v2.bytes_hashed(),
            (None, None) => unreachable!("at least one version"),
        }
    }

    /// Hashes the last, short piece (if any) and returns all the hashes.
    pub fn finish(self) -> TorrentHashes {
        TorrentHashes {
            v1: self.v1.map(PieceHasher::finish),
            v2: self
                .v2
                .map(|v2| PiecesV2::from_merkle(self.piece_length, &v2.finish())),
        }
    }
}

/// Hashes `length` bytes of a positional source for a torrent of `version`,
/// on several threads, reading the data once.
///
/// For [`TorrentVersion::V1`] this is [`hash_source`]. For v2 and hybrid
/// torrents each thread takes whole pieces, as `hash_source` does, and per
/// piece computes the SHA-1 of the piece (hybrid) and the SHA-256 of each
/// 16 KiB block, then the piece's subtree root; the `pieces root` is taken
/// from the piece layer at the end. Memory use is about threads × buffer
/// size, plus 52 bytes per piece. The result is byte-identical to
/// [`TorrentHasher`] over the same bytes; progress and errors are reported
/// as by `hash_source`.
///
/// This call is CPU-bound and blocks until done: an async host runs it on a
/// blocking thread (for tokio, `spawn_blocking`).
///
/// ```
/// use s3torrent_metainfo::{
///     HashOptions, PieceLength, TorrentHasher, TorrentVersion, hash_source_versioned,
/// };
///
/// let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
/// let hashes = hash_source_versioned(&data, data.len() as u64, PieceLength::MIN,
///                                    TorrentVersion::Hybrid,
///                                    &HashOptions::new().threads(2), &|_| {})?;
/// let mut one = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
/// one.update(&data);
/// assert_eq!(hashes, one.finish());
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
pub fn hash_source_versioned<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: u64,
    piece_length: PieceLength,
    version: TorrentVersion,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TorrentHashes> {
    if version == TorrentVersion::V1 {
        return hash_source(source, length, piece_length, options, progress).map(Into::into);
    }
    let piece_length = piece_length.get();
    let (v1, out) = hash_source_merkle(
        source,
        length,
        piece_length,
        version.has_v1(),
        options,
        progress,
    )?;
    Ok(TorrentHashes {
        v1: v1.map(|hashes| {
            Pieces::from_parts(
                PieceLength::new(piece_length).expect("a PieceLength"),
                length,
                hashes,
            )
            .expect("one hash per piece")
        }),
        v2: Some(PiecesV2::from_merkle(piece_length, &out)),
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

/// The multi-core v2 pass over `length` bytes of one file: the concatenated
/// SHA-1 piece hashes when `with_v1`, and the merkle tree's piece layer.
pub(crate) fn hash_source_merkle<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: u64,
    piece_length: u64,
    with_v1: bool,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Option<Vec<u8>>, MerkleOut)> {
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
            .flat_map(|p| p.sha1.expect("hashed with SHA-1"))
            .collect()
    });
    let out = MerkleOut {
        length,
        single_root: pieces.first().and_then(|p| p.single_root),
        layer: pieces.into_iter().map(|p| p.root).collect(),
    };
    Ok((v1, out))
}
