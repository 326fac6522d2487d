//! Pieces the host loaded for a seed, checked before any of their bytes
//! may leave.

use std::io;

use bytes::Bytes;
use s3torrent_metainfo::{InfoHash, ReadAt};

use crate::error::{Error, Result};
use crate::seed::Seed;

/// A whole piece of a torrent whose bytes matched the torrent's hash
/// (SHA-1, or a v2-only torrent's merkle tree): the only thing
/// [`Connection::piece_loaded`](crate::Connection::piece_loaded) takes, and
/// made only by [`Seed::verify`] (or [`Seed::read_piece`]). Cloning it is
/// cheap; a host shares one between the connections that need it.
#[derive(Debug, Clone)]
pub struct VerifiedPiece {
    info_hash: InfoHash,
    index: u32,
    data: Bytes,
}

impl VerifiedPiece {
    /// The piece's index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Its bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// The info-hash of the torrent it belongs to.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }
}

impl Seed {
    /// Checks `data` as piece `index` of this torrent: its size, then its
    /// hash. A mismatch is [`Error::PieceMismatch`] and marks the seed stale
    /// (the data changed: every connection of this seed then fails with
    /// [`Error::Stale`]). Pure: it hashes the bytes it is given.
    pub fn verify(&self, index: u32, data: Bytes) -> Result<VerifiedPiece> {
        let t = self.torrent();
        if index >= t.piece_count() {
            return Err(Error::PieceIndex {
                name: "loaded piece",
                index,
                pieces: t.piece_count(),
            });
        }
        if data.len() != t.piece_size(index) as usize {
            return Err(Error::ShortRead {
                index,
                at: t.piece_offset(index) + data.len() as u64,
                expected: t.length(),
            });
        }
        if !t.piece_matches(index, &data) {
            self.mark_stale(index);
            return Err(Error::PieceMismatch { index });
        }
        Ok(VerifiedPiece {
            info_hash: t.info_hash(),
            index,
            data,
        })
    }

    /// Reads piece `index` whole through `reader` (the torrent's data from
    /// offset 0) and [`verify`](Self::verify)s it: for a host whose data is
    /// a positional reader it may block on (a file, on a blocking thread).
    pub fn read_piece<R: ReadAt + ?Sized>(&self, index: u32, reader: &R) -> Result<VerifiedPiece> {
        let t = self.torrent();
        let size = t.piece_size(index);
        let start = t.piece_offset(index);
        let mut buf = vec![0; size as usize];
        let mut filled = 0;
        while filled < buf.len() {
            let offset = start + filled as u64;
            match reader.read_at(&mut buf[filled..], offset) {
                Ok(0) => {
                    return Err(Error::ShortRead {
                        index,
                        at: offset,
                        expected: t.length(),
                    });
                }
                Ok(n) => filled += n.min(buf.len() - filled),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(Error::Io {
                        index,
                        offset,
                        source,
                    });
                }
            }
        }
        self.verify(index, Bytes::from(buf))
    }
}
