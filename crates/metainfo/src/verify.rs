//! Checking data against a torrent's piece hashes: SHA-1 pieces for v1
//! torrents, the SHA-256 piece layers for v2-only torrents, and both for
//! single-file hybrid torrents.

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::hash::{HashOptions, PieceHasher, hash_source_with_length};
use crate::merkle::{
    BLOCK, Hash32, MerkleHasher, MerkleOut, blocks_per_piece, leaf, root_in_place,
};
use crate::source::ReadAt;
use crate::torrent::{Info, V2File};
use crate::v2::{TorrentVersion, hash_source_merkle};

/// The outcome of checking data against a torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    bad_pieces: Vec<u64>,
    data_length: u64,
    expected_length: u64,
}

impl Verification {
    fn compare_v1(info: &Info, actual: &[u8], data_length: u64) -> Self {
        let bad_pieces = (0..info.piece_count())
            .filter(|&i| {
                let at = i as usize * 20;
                actual.get(at..at + 20) != info.pieces().get(at..at + 20)
            })
            .collect();
        Verification {
            bad_pieces,
            data_length,
            expected_length: info.length(),
        }
    }

    /// Compares each v2 file's hashes (`None` or absent: no data reached it) with its
    /// piece layer, or for a file of one piece with its pieces root.
    fn compare_v2(info: &Info, actual: &[Option<MerkleOut>], data_length: u64) -> Self {
        let piece_length = info.piece_length();
        let mut bad_pieces = Vec::new();
        let mut first = 0u64;
        for (i, file) in info.v2_files().iter().enumerate() {
            let out = actual.get(i).and_then(Option::as_ref);
            let count = file.length().div_ceil(piece_length);
            if count == 1 {
                let root = out.and_then(|o| o.single_root);
                if root != file.pieces_root() {
                    bad_pieces.push(first);
                }
            } else {
                let layer = out.map_or(&[][..], |o| &o.layer[..]);
                for i in 0..count {
                    let at = i as usize * 32;
                    let expected = &file.piece_layer()[at..at + 32];
                    if layer.get(i as usize).map(Hash32::as_slice) != Some(expected) {
                        bad_pieces.push(first + i);
                    }
                }
            }
            first += count;
        }
        Verification {
            bad_pieces,
            data_length,
            expected_length: info.length(),
        }
    }

    /// A piece is bad if either view finds it bad. Only for hybrid
    /// torrents of one file, whose v1 and v2 pieces cover the same bytes.
    fn union(mut self, other: Self) -> Self {
        self.bad_pieces.extend(other.bad_pieces);
        self.bad_pieces.sort_unstable();
        self.bad_pieces.dedup();
        self
    }

    /// Whether every piece matched and the data has the expected length.
    pub fn is_ok(&self) -> bool {
        self.bad_pieces.is_empty() && self.data_length == self.expected_length
    }

    /// The indexes of the pieces whose hash did not match, or that the data
    /// was too short to fill, in ascending order. For a v2-only torrent the
    /// pieces are numbered file after file, each file starting a new piece
    /// (BEP 52), as [`Info::piece_count`] counts them.
    pub fn bad_pieces(&self) -> &[u64] {
        &self.bad_pieces
    }

    /// How many bytes of data there were.
    pub fn data_length(&self) -> u64 {
        self.data_length
    }

    /// How many bytes the torrent describes.
    pub fn expected_length(&self) -> u64 {
        self.expected_length
    }
}

/// Streams data against a torrent: feed chunks of any size, then ask which
/// pieces are bad.
///
/// v1 torrents are checked with their SHA-1 `pieces`; v2-only torrents with
/// their SHA-256 merkle trees: the data is the files one after the other,
/// each file's pieces checked against its piece layer (or, for a file of one
/// piece, its pieces root). A hybrid torrent of one file is checked both
/// ways, in one pass, so a torrent whose v1 and v2 hashes describe different
/// bytes fails; a hybrid torrent of several files (laid out with BEP 47 pad
/// files) is checked with its SHA-1 `pieces`, the pad files' zeros included
/// in the data.
///
/// ```
/// use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion, Verifier};
///
/// let data = vec![7u8; 40_000]; // three pieces of 16 KiB, the last short
/// let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
/// h.update(&data);
/// let torrent = TorrentBuilder::plain("sevens").build(&h.finish())?;
///
/// let mut damaged = data.clone();
/// damaged[20_000] ^= 1; // in piece 1
/// let mut v = Verifier::new(torrent.info());
/// for chunk in damaged.chunks(1000) {
///     v.update(chunk);
/// }
/// assert_eq!(v.finish().bad_pieces(), &[1]);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Debug)]
pub struct Verifier<'t> {
    info: &'t Info,
    mode: Mode,
    /// v1 and hybrid: bytes fed beyond the torrent's length (counted, not
    /// hashed, as [`verify_source`] does).
    beyond: u64,
}

#[derive(Debug)]
enum Mode {
    V1(PieceHasher),
    /// A single-file hybrid torrent: both views, over the same bytes.
    Hybrid {
        v1: PieceHasher,
        v2: MerkleHasher,
    },
    V2 {
        /// The finished files' hashes.
        done: Vec<Option<MerkleOut>>,
        /// The current file's hasher and the bytes it still takes.
        current: Option<(MerkleHasher, u64)>,
        fed: u64,
    },
}

impl<'t> Verifier<'t> {
    /// Starts checking data against `info`.
    pub fn new(info: &'t Info) -> Self {
        let mode = if single_file_hybrid(info) {
            Mode::Hybrid {
                v1: PieceHasher::with_piece_bytes(info.piece_length()),
                v2: MerkleHasher::new(info.piece_length()),
            }
        } else if info.version().has_v1() {
            Mode::V1(PieceHasher::with_piece_bytes(info.piece_length()))
        } else {
            Mode::V2 {
                done: Vec::new(),
                current: None,
                fed: 0,
            }
        };
        let mut v = Verifier {
            info,
            mode,
            beyond: 0,
        };
        v.next_file();
        v
    }

    /// In v2 mode, with no current file: finishes the 0-byte files ahead and
    /// starts the next file with data, if any.
    fn next_file(&mut self) {
        let Mode::V2 { done, current, .. } = &mut self.mode else {
            return;
        };
        let files = self.info.v2_files();
        while current.is_none() && done.len() < files.len() {
            let file = &files[done.len()];
            if file.length() == 0 {
                done.push(None);
            } else {
                *current = Some((MerkleHasher::new(self.info.piece_length()), file.length()));
            }
        }
    }

    /// Feeds the next chunk of data.
    pub fn update(&mut self, mut chunk: &[u8]) {
        match &mut self.mode {
            Mode::V1(hasher) => {
                let inside = inside(
                    chunk,
                    self.info.length(),
                    hasher.bytes_hashed(),
                    &mut self.beyond,
                );
                hasher.update(inside);
            }
            Mode::Hybrid { v1, v2 } => {
                let inside = inside(
                    chunk,
                    self.info.length(),
                    v1.bytes_hashed(),
                    &mut self.beyond,
                );
                v1.update(inside);
                v2.update(inside);
            }
            Mode::V2 { .. } => {
                while let Some(rest) = self.feed_v2(chunk) {
                    chunk = rest;
                }
            }
        }
    }

    /// v2 mode: feeds `chunk` to the current file; returns what is left of
    /// it when that file ended with bytes to spare for the next one.
    fn feed_v2<'c>(&mut self, chunk: &'c [u8]) -> Option<&'c [u8]> {
        let Mode::V2 { done, current, fed } = &mut self.mode else {
            return None;
        };
        let Some((hasher, left)) = current else {
            // Beyond the last file: counted, not hashed.
            *fed += chunk.len() as u64;
            return None;
        };
        let take = chunk
            .len()
            .min(usize::try_from(*left).unwrap_or(usize::MAX));
        hasher.update(&chunk[..take]);
        *fed += take as u64;
        *left -= take as u64;
        if *left > 0 {
            return None;
        }
        if let Some((hasher, _)) = current.take() {
            done.push(Some(hasher.finish()));
        }
        self.next_file();
        let rest = &chunk[take..];
        (!rest.is_empty()).then_some(rest)
    }

    /// Compares what was fed with the torrent's hashes.
    pub fn finish(self) -> Verification {
        match self.mode {
            Mode::V1(hasher) => {
                let data_length = hasher.bytes_hashed() + self.beyond;
                Verification::compare_v1(self.info, hasher.finish().as_bytes(), data_length)
            }
            Mode::Hybrid { v1, v2, .. } => {
                let data_length = v1.bytes_hashed() + self.beyond;
                let merkle = (v2.bytes_hashed() > 0).then(|| v2.finish());
                Verification::compare_v1(self.info, v1.finish().as_bytes(), data_length)
                    .union(Verification::compare_v2(self.info, &[merkle], data_length))
            }
            Mode::V2 {
                mut done,
                current,
                fed,
            } => {
                if let Some((hasher, _)) = current {
                    done.push(Some(hasher.finish()));
                }
                Verification::compare_v2(self.info, &done, fed)
            }
        }
    }
}

impl Info {
    /// Whether `data` is piece `index` of the torrent, whole and exact: it
    /// has the piece's size and every hash the torrent has of that piece
    /// matches. It lets a seed check one piece before it sends any byte of it.
    ///
    /// - v1: the SHA-1 of `data` is the piece's hash in `pieces`.
    /// - v2-only: the pieces are numbered file after file, each file starting
    ///   a new piece (as [`Info::piece_count`] counts them). The root of the
    ///   SHA-256 merkle tree over `data`'s 16 KiB blocks (the last one may be
    ///   short, hashed as it is), padded with zero hashes to a whole piece's
    ///   blocks, is the piece's hash in the file's piece layer. A file of one
    ///   piece has no layer: the root over its blocks, padded to the next
    ///   power of two, is its `pieces root`.
    /// - hybrid of one file: both. A hybrid torrent of several files (laid
    ///   out with pad files) is checked with its SHA-1 `pieces`, as
    ///   [`Verifier`] does.
    ///
    /// `false` for an index past the last piece. It hashes `data` once for
    /// each view, and allocates 32 bytes per 16 KiB block for the v2 view.
    ///
    /// ```
    /// use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion};
    ///
    /// let data = vec![7u8; 40_000]; // three pieces of 16 KiB, the last short
    /// let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V2);
    /// h.update(&data);
    /// let torrent = TorrentBuilder::plain("sevens").build(&h.finish())?;
    /// let info = torrent.info();
    ///
    /// assert!(info.piece_matches(2, &data[32_768..]));
    /// let mut damaged = data[16_384..32_768].to_vec();
    /// damaged[5] ^= 1;
    /// assert!(!info.piece_matches(1, &damaged));
    /// assert!(!info.piece_matches(1, &data[16_384..32_000])); // short
    /// assert!(!info.piece_matches(3, &[]));
    /// # Ok::<(), s3torrent_metainfo::Error>(())
    /// ```
    pub fn piece_matches(&self, index: u64, data: &[u8]) -> bool {
        if single_file_hybrid(self) {
            self.v1_piece_matches(index, data) && self.v2_piece_matches(index, data)
        } else if self.version().has_v1() {
            self.v1_piece_matches(index, data)
        } else {
            self.v2_piece_matches(index, data)
        }
    }

    fn v1_piece_matches(&self, index: u64, data: &[u8]) -> bool {
        let Some(expected) = self.piece_hash(index) else {
            return false;
        };
        let start = index.saturating_mul(self.piece_length());
        let size = self.length().saturating_sub(start).min(self.piece_length());
        data.len() as u64 == size && <[u8; 20]>::from(Sha1::digest(data)) == expected
    }

    fn v2_piece_matches(&self, index: u64, data: &[u8]) -> bool {
        let piece_length = self.piece_length();
        let mut first = 0u64;
        for file in self.v2_files() {
            let count = file.length().div_ceil(piece_length);
            if index >= first + count {
                first += count;
                continue;
            }
            let i = index - first;
            let size = (file.length() - i * piece_length).min(piece_length);
            if data.len() as u64 != size {
                return false;
            }
            let mut leaves: Vec<Hash32> = data.chunks(BLOCK).map(leaf).collect();
            if count == 1 {
                let width = (leaves.len() as u64).next_power_of_two();
                return Some(root_in_place(&mut leaves, 0, width)) == file.pieces_root();
            }
            let root = root_in_place(&mut leaves, 0, blocks_per_piece(piece_length));
            let Some(at) = usize::try_from(i).ok().and_then(|i| i.checked_mul(32)) else {
                return false;
            };
            return file.piece_layer().get(at..at + 32) == Some(&root[..]);
        }
        false
    }
}

/// Checks `data_length` bytes of a positional source against `info`, on
/// several threads. Data beyond the torrent's length is not hashed (the
/// result is then not ok); pieces that the data is too short to fill are bad.
/// v2-only torrents are checked with their merkle trees, and single-file
/// hybrid torrents both ways in one pass, as by [`Verifier`].
pub fn verify_source<R: ReadAt + Sync + ?Sized>(
    info: &Info,
    source: &R,
    data_length: u64,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verification> {
    let hashed = data_length.min(info.length());
    if single_file_hybrid(info) {
        if hashed == 0 {
            return Ok(Verification::compare_v1(info, &[], data_length)
                .union(Verification::compare_v2(info, &[None], data_length)));
        }
        let (sha1, merkle) = hash_source_merkle(
            source,
            hashed,
            info.piece_length(),
            TorrentVersion::Hybrid,
            options,
            progress,
        )?;
        let sha1 = sha1.unwrap_or_default();
        return Ok(Verification::compare_v1(info, &sha1, data_length)
            .union(Verification::compare_v2(info, &[Some(merkle)], data_length)));
    }
    if info.version().has_v1() {
        let pieces =
            hash_source_with_length(source, hashed, info.piece_length(), options, progress)?;
        return Ok(Verification::compare_v1(
            info,
            pieces.as_bytes(),
            data_length,
        ));
    }
    let mut outs = Vec::with_capacity(info.v2_files().len());
    let mut offset = 0u64;
    for file in info.v2_files() {
        let available = file.length().min(hashed.saturating_sub(offset));
        outs.push(if available == 0 {
            None
        } else {
            Some(verify_file(
                info, file, source, offset, available, hashed, options, progress,
            )?)
        });
        offset += file.length();
    }
    Ok(Verification::compare_v2(info, &outs, data_length))
}

/// v1 and hybrid: the part of `chunk` within `length` bytes when `hashed`
/// bytes came before it; the rest is counted in `beyond`.
fn inside<'c>(chunk: &'c [u8], length: u64, hashed: u64, beyond: &mut u64) -> &'c [u8] {
    let left = length.saturating_sub(hashed);
    let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
    *beyond += (chunk.len() - take) as u64;
    &chunk[..take]
}

/// Whether `info` is a hybrid torrent of one file and no pad file: its v1
/// pieces and its v2 pieces then cover the same bytes. (A folder of one file
/// may have a pad file after it in the v1 view; it is checked with SHA-1.)
fn single_file_hybrid(info: &Info) -> bool {
    info.version().has_v1()
        && info.version().has_v2()
        && matches!(info.v2_files(), [file] if file.length() == info.length())
}

/// Hashes the `available` bytes of `file` found at `offset` in `source`.
#[allow(clippy::too_many_arguments)]
fn verify_file<R: ReadAt + Sync + ?Sized>(
    info: &Info,
    file: &V2File,
    source: &R,
    offset: u64,
    available: u64,
    hashed: u64,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<MerkleOut> {
    debug_assert!(available <= file.length());
    let part = At { source, offset };
    let (_, out) = hash_source_merkle(
        &part,
        available,
        info.piece_length(),
        TorrentVersion::V2,
        options,
        &|done| progress(offset + done),
    )
    .map_err(|e| match e {
        Error::ShortRead { at, .. } => Error::ShortRead {
            at: offset + at,
            expected: hashed,
        },
        Error::Io { offset: at, source } => Error::Io {
            offset: offset + at,
            source,
        },
        other => other,
    })?;
    Ok(out)
}

/// A source seen from `offset` on.
struct At<'a, R: ?Sized> {
    source: &'a R,
    offset: u64,
}

impl<R: ReadAt + ?Sized> ReadAt for At<'_, R> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        self.source.read_at(buf, self.offset + offset)
    }
}
