//! BitTorrent metainfo for S3 objects.

#![deny(missing_docs)]

mod build;
mod error;
mod hash;
mod infohash;
mod magnet;
mod piece_length;
mod source;
mod torrent;
mod verify;

pub use build::{Profile, TorrentBuilder};
pub use error::{Error, Result};
pub use hash::{HashOptions, PieceHasher, Pieces, hash_source};
pub use infohash::InfoHash;
pub use magnet::magnet_uri;
pub use piece_length::PieceLength;
pub use source::ReadAt;
pub use torrent::{FileEntry, Files, Info, Torrent, torrent_decoder};
pub use verify::{Verification, Verifier, verify_source};
