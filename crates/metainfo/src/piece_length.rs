//! Piece lengths: explicit, the AWS profile's, or chosen from the data's size.

use std::fmt;

use crate::error::{Error, Result};

/// A piece length: a power of two from 16 KiB to 16 MiB.
///
/// ```
/// use s3torrent_metainfo::PieceLength;
///
/// assert_eq!(PieceLength::new(262_144)?, PieceLength::AWS);
/// assert!(PieceLength::new(100_000).is_err()); // not a power of two
/// assert!(PieceLength::new(8192).is_err()); // below 16 KiB
///
/// // `auto`: the smallest power of two that keeps the count at or below 2000 pieces.
/// assert_eq!(PieceLength::auto(1 << 30).get(), 1 << 20); // 1 GiB: 1 MiB pieces, 1024 of them
/// assert_eq!(PieceLength::auto(0), PieceLength::MIN);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PieceLength(u32);

impl PieceLength {
    /// 16 KiB, the smallest piece length (and BEP 52's block size).
    pub const MIN: PieceLength = PieceLength(16 * 1024);
    /// 16 MiB, the largest piece length.
    pub const MAX: PieceLength = PieceLength(16 * 1024 * 1024);
    /// 256 KiB, the piece length of Amazon S3's torrents.
    pub const AWS: PieceLength = PieceLength(256 * 1024);
    /// The most pieces [`PieceLength::auto`] aims for.
    pub const AUTO_MAX_PIECES: u64 = 2000;

    /// Checks an explicit piece length.
    pub fn new(bytes: u64) -> Result<Self> {
        if bytes.is_power_of_two()
            && (u64::from(Self::MIN.0)..=u64::from(Self::MAX.0)).contains(&bytes)
        {
            Ok(PieceLength(bytes as u32))
        } else {
            Err(Error::PieceLength(bytes))
        }
    }

    /// The rule for `auto`: the smallest power of two from 16 KiB to 16 MiB
    /// that gives at most [`AUTO_MAX_PIECES`](Self::AUTO_MAX_PIECES) pieces,
    /// so large objects get 1001 to 2000 pieces; objects over 31.25 GiB get
    /// 16 MiB pieces and more than 2000 of them.
    pub fn auto(total_length: u64) -> Self {
        let wanted = total_length.div_ceil(Self::AUTO_MAX_PIECES);
        let bytes = wanted
            .checked_next_power_of_two()
            .unwrap_or(u64::MAX)
            .clamp(u64::from(Self::MIN.0), u64::from(Self::MAX.0));
        PieceLength(bytes as u32)
    }

    /// The length in bytes.
    pub fn get(self) -> u64 {
        u64::from(self.0)
    }

    /// How many pieces `total_length` bytes make (the last may be short).
    pub fn piece_count(self, total_length: u64) -> u64 {
        total_length.div_ceil(self.get())
    }
}

impl fmt::Display for PieceLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
