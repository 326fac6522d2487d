//! Strict, canonical, zero-copy [bencode] with serde support.
//!
//! Bencode is the encoding of BitTorrent metainfo. A torrent's identity, its
//! info-hash, is the SHA-1 of the `info` dictionary's bytes *exactly as they
//! stand in the file*, so a decoder that quietly accepts non-canonical input,
//! or an encoder that re-sorts keys, changes which torrent you are talking
//! about. This crate is exact:
//!
//! - **Strict by default.** [`decode`] (and [`Decoder::strict`]) accepts
//!   canonical bencode only: no `i03e`, `i-0e` or `03:abc`, dictionary keys
//!   sorted by raw bytes and unique, nothing after the value. Every error has
//!   its own [`ErrorKind`] and the byte offset where the input went wrong.
//! - **Lenient on request.** [`Decoder::lenient`] reads torrents written by
//!   other tools: keys in any order and trailing bytes are accepted; duplicate
//!   keys and malformed tokens are still errors.
//! - **Limits in the API.** Nesting depth (default 100, as libtorrent) and the
//!   number of values are bounded; a string's declared length is checked
//!   against the bytes actually present before anything is taken, so
//!   `4000000000:x` costs nothing. Decoding never panics and never recurses
//!   deeper than the depth limit.
//! - **Zero copy, raw spans.** A [`BorrowedValue`]'s strings are slices of the
//!   input, and every decoded value gives back its raw bytes with
//!   [`Value::raw`]. An [`OwnedValue`] holds [`bytes::Bytes`] that share the
//!   input buffer.
//! - **Canonical encoder.** [`Value::encode_into`] writes into any
//!   [`bytes::BufMut`] (a `Vec<u8>` too) with keys sorted; [`Value::to_vec`]
//!   is the shortcut.
//! - **serde.** [`to_vec`] and [`from_bytes`] go through the same strict codec.
//!
//! ```
//! use s3torrent_bencode::{decode, Decoder, ErrorKind};
//!
//! let torrent = b"d8:announce9:http://t/4:infod6:lengthi5e4:name1:aee";
//! let value = decode(torrent)?;
//!
//! // The info dictionary's bytes, exactly as in the input: what an info-hash hashes.
//! let info = value.get("info").unwrap();
//! assert_eq!(info.raw().copied(), Some(&b"d6:lengthi5e4:name1:ae"[..]));
//!
//! // Re-encoding canonical input gives back the same bytes.
//! assert_eq!(value.to_vec(), torrent);
//!
//! // Non-canonical input is refused, with what and where.
//! let err = decode(b"li03ee").unwrap_err();
//! assert_eq!(err.kind(), &ErrorKind::IntegerLeadingZero);
//! assert_eq!(err.offset(), Some(2));
//! assert_eq!(err.to_string(), "integer has a leading zero at byte 2");
//! # Ok::<(), s3torrent_bencode::Error>(())
//! ```
//!
//! [bencode]: https://www.bittorrent.org/beps/bep_0003.html

#![deny(missing_docs)]

mod de;
mod decode;
mod encode;
mod error;
mod ser;
mod value;
mod value_serde;

pub use de::{from_bytes, from_bytes_with, from_value};
pub use decode::{Decoder, Mode, decode};
pub use error::{Error, ErrorKind, Result};
pub use ser::to_vec;
pub use value::{BorrowedValue, Dict, Kind, OwnedValue, Value};

/// The README's examples, run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
