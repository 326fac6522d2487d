//! The two text encodings the layers share: lowercase hex and RFC 3986
//! percent-encoding. Defined once here (the lowest layer that needs them,
//! for info-hashes and magnet links) and used by `s3torrent-s3`,
//! `s3torrent-http` and the server.

use std::fmt::Write;

/// Lowercase hexadecimal, two digits a byte.
///
/// ```
/// assert_eq!(s3torrent_metainfo::to_hex(&[0x00, 0xab, 0x7f]), "00ab7f");
/// ```
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Appends `bytes` percent-encoded to `out`: every byte but RFC 3986's
/// unreserved characters (`A–Z a–z 0–9 - . _ ~`) becomes `%XX` (uppercase),
/// so `&`, `=`, `+`, `#`, `/`, `%`, spaces and UTF-8 survive any parser.
///
/// ```
/// let mut out = String::from("x=");
/// s3torrent_metainfo::percent_encode_into(&mut out, "a b/é~".as_bytes());
/// assert_eq!(out, "x=a%20b%2F%C3%A9~");
/// ```
pub fn percent_encode_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}
