//! BitTorrent metainfo for S3 objects.
//!
//! One path for every version: [`TorrentHasher`] (streaming) or
//! [`hash_source`] (several threads) compute the [`TorrentHashes`] of a
//! [`TorrentVersion`] (v1 SHA-1 pieces, v2 SHA-256 merkle hashes, or both
//! for hybrid torrents) in one pass over the data, and [`TorrentBuilder`]
//! builds the torrent from them. Built torrents hold a single file; parsing
//! reads multi-file v1, v2 and hybrid torrents too.

#![deny(missing_docs)]

mod build;
mod error;
mod hash;
mod infohash;
mod magnet;
mod merkle;
mod piece_length;
mod source;
mod text;
mod torrent;
mod tree;
mod v2;
mod verify;

pub use build::{Profile, TorrentBuilder, torrent_name};
pub use error::{Error, Result};
pub use hash::{HashOptions, Pieces};
pub use infohash::{InfoHash, InfoHashV2};
pub use magnet::{magnet_uri, magnet_uri_v2};
pub use piece_length::PieceLength;
pub use source::ReadAt;
pub use text::{percent_encode_into, to_hex};
pub use torrent::{FileEntry, Files, Info, Torrent, V2File, Warning, torrent_decoder};
pub use tree::{MAX_HASHES, PieceTree};
pub use v2::{PiecesV2, TorrentHasher, TorrentHashes, TorrentVersion, hash_source};
pub use verify::{Verification, Verifier, verify_source};
