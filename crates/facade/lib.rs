//! `s3torrent`: GetObjectTorrent for any S3-style object store.
//!
//! This facade re-exports the layers so that one dependency brings them all.
//! Each layer is also a crate of its own:
//!
//! - [`bencode`] (`s3torrent-bencode`): strict, canonical, zero-copy bencode and serde.
//!
//! ```
//! let v = s3torrent::bencode::decode(b"i42e")?;
//! assert_eq!(v.as_int(), Some(42));
//! # Ok::<(), s3torrent::bencode::Error>(())
//! ```

#![deny(missing_docs)]

pub use s3torrent_bencode as bencode;
