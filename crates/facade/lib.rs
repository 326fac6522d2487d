//! `s3torrent`: GetObjectTorrent for any S3-style object store.
//!
//! This package is the `s3torrent` binary (`serve`, `torrent
//! create|show|verify`), and this library is its facade: it re-exports the
//! layers so that one dependency brings them all.
//! Each layer is also a crate of its own:
//!
//! - [`bencode`] (`s3torrent-bencode`): strict, canonical, zero-copy bencode and serde.
//! - [`metainfo`] (`s3torrent-metainfo`): piece hashing, torrent building and parsing.
//! - [`s3`] (`s3torrent-s3`): S3's GetObjectTorrent rules and the cached torrent service.
//! - [`http`] (`s3torrent-http`): the adapter from `http::Request` to `http::Response`.
//! - [`tracker`] (`s3torrent-tracker`): the sans-IO HTTP tracker.
//! - [`peer`] (`s3torrent-peer`): the sans-IO seeding peer.
//! - [`server`] (`s3torrent-server`): the S3 endpoint over a local folder, with its tokio edge.
//!
//! ```
//! let v = s3torrent::bencode::decode(b"i42e")?;
//! assert_eq!(v.as_int(), Some(42));
//! # Ok::<(), s3torrent::bencode::Error>(())
//! ```

#![deny(missing_docs)]

pub use s3torrent_bencode as bencode;
pub use s3torrent_http as http;
pub use s3torrent_metainfo as metainfo;
pub use s3torrent_peer as peer;
pub use s3torrent_s3 as s3;
pub use s3torrent_server as server;
pub use s3torrent_tracker as tracker;
