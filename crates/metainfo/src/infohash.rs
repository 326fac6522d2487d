//! The v1 and v2 info-hashes and their text forms.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// A BitTorrent v1 info-hash: the SHA-1 of the `info` dictionary's bytes
/// exactly as they stand in the torrent file.
///
/// ```
/// use s3torrent_metainfo::InfoHash;
///
/// let h = InfoHash::of_info_bytes(b"d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces0:e");
/// let hex = h.to_hex();
/// assert_eq!(hex.len(), 40);
/// assert_eq!(h.to_base32().len(), 32);
/// assert_eq!(hex.parse::<InfoHash>()?, h);
/// assert_eq!(h.to_base32().parse::<InfoHash>()?, h);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InfoHash([u8; 20]);

impl InfoHash {
    /// Wraps a 20-byte digest.
    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        InfoHash(bytes)
    }

    /// Hashes the raw bytes of an `info` dictionary.
    pub fn of_info_bytes(info: &[u8]) -> Self {
        InfoHash(Sha1::digest(info).into())
    }

    /// The 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// 40 lowercase hexadecimal characters.
    pub fn to_hex(&self) -> String {
        crate::text::to_hex(&self.0)
    }

    /// 32 characters of RFC 4648 base32 (uppercase, no padding), the other
    /// form magnet links may carry.
    pub fn to_base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(32);
        // 20 bytes = 160 bits = 32 groups of 5 bits, exactly.
        for chunk in self.0.chunks(5) {
            let n = chunk.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
            for i in (0..8).rev() {
                out.push(ALPHABET[(n >> (i * 5) & 31) as usize] as char);
            }
        }
        out
    }
}

impl FromStr for InfoHash {
    type Err = Error;

    /// Parses 40 hex digits (either case) or 32 base32 characters (either case).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                "info-hash",
                format!("{s:?} is neither 40 hex digits nor 32 base32 characters"),
            )
        };
        let mut out = [0u8; 20];
        match s.len() {
            40 => {
                for (i, pair) in s.as_bytes().chunks(2).enumerate() {
                    let digit = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
                    out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
                }
            }
            32 => {
                for (i, group) in s.as_bytes().chunks(8).enumerate() {
                    let mut n = 0u64;
                    for c in group {
                        let v = match c.to_ascii_uppercase() {
                            c @ b'A'..=b'Z' => c - b'A',
                            c @ b'2'..=b'7' => c - b'2' + 26,
                            _ => return Err(bad()),
                        };
                        n = n << 5 | u64::from(v);
                    }
                    out[i * 5..i * 5 + 5].copy_from_slice(&n.to_be_bytes()[3..]);
                }
            }
            _ => return Err(bad()),
        }
        Ok(InfoHash(out))
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

/// A BitTorrent v2 info-hash (BEP 52): the SHA-256 of the `info`
/// dictionary's bytes exactly as they stand in the torrent file.
///
/// Magnet links carry it as a multihash, `urn:btmh:1220` and 64 hex digits;
/// trackers, the DHT and the peer handshake use its first 20 bytes
/// ([`InfoHashV2::truncated`]).
///
/// ```
/// use s3torrent_metainfo::InfoHashV2;
///
/// let h = InfoHashV2::of_info_bytes(b"d4:name1:ae");
/// assert_eq!(h.to_hex().len(), 64);
/// assert!(h.to_multihash_hex().starts_with("1220"));
/// assert_eq!(h.to_hex().parse::<InfoHashV2>()?, h);
/// assert_eq!(h.to_multihash_hex().parse::<InfoHashV2>()?, h);
/// assert_eq!(h.truncated().as_bytes(), &h.as_bytes()[..20]);
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InfoHashV2([u8; 32]);

impl InfoHashV2 {
    /// Wraps a 32-byte digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        InfoHashV2(bytes)
    }

    /// Hashes the raw bytes of an `info` dictionary.
    pub fn of_info_bytes(info: &[u8]) -> Self {
        InfoHashV2(sha2::Sha256::digest(info).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hexadecimal characters.
    pub fn to_hex(&self) -> String {
        crate::text::to_hex(&self.0)
    }

    /// The multihash form magnet links use: `1220` (SHA-256, 32 bytes) and
    /// the 64 hex digits.
    pub fn to_multihash_hex(&self) -> String {
        format!("1220{}", self.to_hex())
    }

    /// The first 20 bytes: the v2 swarm's identifier where 20 bytes are
    /// expected (tracker announces, the DHT, the peer handshake).
    pub fn truncated(&self) -> InfoHash {
        let mut first = [0u8; 20];
        first.copy_from_slice(&self.0[..20]);
        InfoHash(first)
    }
}

impl FromStr for InfoHashV2 {
    type Err = Error;

    /// Parses 64 hex digits (either case), or the multihash form: `1220`
    /// and 64 hex digits.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                "info-hash",
                format!("{s:?} is neither 64 hex digits nor 1220 and 64 hex digits"),
            )
        };
        let digits = match s.len() {
            64 => s,
            68 if s.starts_with("1220") => &s[4..],
            _ => return Err(bad()),
        };
        let mut out = [0u8; 32];
        for (i, pair) in digits.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| (c as char).to_digit(16).ok_or_else(bad);
            out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Ok(InfoHashV2(out))
    }
}

impl fmt::Display for InfoHashV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHashV2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHashV2({})", self.to_hex())
    }
}
