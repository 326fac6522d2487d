//! BitTorrent metainfo for S3 objects.
//!
//! v1 torrents (BEP 3) are built from [`Pieces`]; v2 (BEP 52) and hybrid
//! torrents from [`TorrentHashes`], which [`TorrentHasher`] (streaming) or
//! [`hash_source_versioned`] (several threads) compute in one pass over the
//! data. Built v2 and hybrid torrents hold a single file; parsing reads
//! multi-file v2 and hybrid torrents too.

#![deny(missing_docs)]

mod build;
mod error;
mod hash;
mod infohash;
mod magnet;
mod merkle;
mod piece_length;
mod source;
mod torrent;
mod v2;
mod verify;

pub use build::{Profile, TorrentBuilder};
pub use error::{Error, Result};
pub use hash::{HashOptions, PieceHasher, Pieces, hash_source};
pub use infohash::{InfoHash, InfoHashV2};
pub use magnet::{magnet_uri, magnet_uri_v2};
pub use piece_length::PieceLength;
pub use source::ReadAt;
pub use torrent::{FileEntry, Files, Info, Torrent, V2File, torrent_decoder};
pub use v2::{PiecesV2, TorrentHasher, TorrentHashes, TorrentVersion, hash_source_versioned};
pub use verify::{Verification, Verifier, verify_source};
