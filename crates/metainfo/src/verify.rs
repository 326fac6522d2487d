//! Checking data against a torrent's piece hashes.

use crate::error::Result;
use crate::hash::{HashOptions, PieceHasher, Pieces, hash_source_with_length};
use crate::source::ReadAt;
use crate::torrent::Info;

/// The outcome of checking data against a torrent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    bad_pieces: Vec<u64>,
    data_length: u64,
    expected_length: u64,
}

impl Verification {
    fn compare(info: &Info, actual: &Pieces, data_length: u64) -> Self {
        let bad_pieces = (0..info.piece_count())
            .filter(|&i| actual.get(i as usize) != info.piece_hash(i))
            .collect();
        Verification {
            bad_pieces,
            data_length,
            expected_length: info.length(),
        }
    }

    /// Whether every piece matched and the data has the expected length.
    pub fn is_ok(&self) -> bool {
        self.bad_pieces.is_empty() && self.data_length == self.expected_length
    }

    /// The indexes of the pieces whose hash did not match, or that the data
    /// was too short to fill, in ascending order.
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
/// ```
/// use s3torrent_metainfo::{PieceHasher, PieceLength, TorrentBuilder, Verifier};
///
/// let data = vec![7u8; 40_000]; // three pieces of 16 KiB, the last short
/// let mut h = PieceHasher::new(PieceLength::MIN);
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
    hasher: PieceHasher,
}

impl<'t> Verifier<'t> {
    /// Starts checking data against `info`.
    pub fn new(info: &'t Info) -> Self {
        Verifier {
            info,
            hasher: PieceHasher::with_piece_bytes(info.piece_length()),
        }
    }

    /// Feeds the next chunk of data.
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
    }

    /// Compares what was fed with the torrent's hashes.
    pub fn finish(self) -> Verification {
        let data_length = self.hasher.bytes_hashed();
        Verification::compare(self.info, &self.hasher.finish(), data_length)
    }
}

/// Checks `data_length` bytes of a positional source against `info`, on
/// several threads. Data beyond the torrent's length is not hashed (the
/// result is then not ok); pieces that the data is too short to fill are bad.
pub fn verify_source<R: ReadAt + Sync + ?Sized>(
    info: &Info,
    source: &R,
    data_length: u64,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Verification> {
    let hashed = data_length.min(info.length());
    let pieces = hash_source_with_length(source, hashed, info.piece_length(), options, progress)?;
    Ok(Verification::compare(info, &pieces, data_length))
}
