//! The crate's one error type.

use std::io;

/// What went wrong while hashing, building, parsing or verifying a torrent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The torrent's bytes are not valid bencode.
    #[error("malformed bencode: {0}")]
    Bencode(#[from] s3torrent_bencode::Error),
    /// A metainfo field is missing, of the wrong type or has a bad value.
    /// `field` is its path, such as `info.piece length`.
    #[error("invalid field `{field}`: {problem}")]
    Field {
        /// The field's path, such as `info.pieces` or `announce-list[1]`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A piece length that is not a power of two from 16 KiB to 16 MiB.
    #[error("piece length {0} is not a power of two from 16384 to 16777216")]
    PieceLength(u64),
    /// The builder was asked for something its profile does not allow.
    #[error("{0}")]
    Build(String),
    /// The data source ended before the declared length (`at` bytes in).
    #[error("data ended at byte {at}, before the expected length {expected}")]
    ShortRead {
        /// Where the data ended.
        at: u64,
        /// The length that was expected.
        expected: u64,
    },
    /// Reading the data failed at `offset`.
    #[error("read failed at byte {offset}: {source}")]
    Io {
        /// Where the read was.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
