//! Magnet URIs (BEP 9, with BEP 19 web seeds as `ws`, and BEP 52's `btmh`).

use std::fmt::Write;

use crate::text::percent_encode_into;

use crate::infohash::{InfoHash, InfoHashV2};

/// Builds `magnet:?xt=urn:btih:HEX&dn=NAME&tr=TRACKER…&ws=WEBSEED…`.
///
/// Every value is percent-encoded: all bytes but RFC 3986's unreserved
/// characters (`A–Z a–z 0–9 - . _ ~`) become `%XX`, so `&`, `=`, `+`, `#`,
/// spaces and UTF-8 survive any parser.
///
/// ```
/// use s3torrent_metainfo::{magnet_uri, InfoHash};
///
/// let h: InfoHash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a".parse()?;
/// assert_eq!(
///     magnet_uri(&h, Some("a b&c.txt"), &["http://t/announce?x=1"], &[]),
///     "magnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a\
///      &dn=a%20b%26c.txt&tr=http%3A%2F%2Ft%2Fannounce%3Fx%3D1",
/// );
/// # Ok::<(), s3torrent_metainfo::Error>(())
/// ```
pub fn magnet_uri<S: AsRef<str>>(
    info_hash: &InfoHash,
    name: Option<&str>,
    trackers: &[S],
    web_seeds: &[S],
) -> String {
    let uri = format!("magnet:?xt=urn:btih:{}", info_hash.to_hex());
    with_params(uri, name, trackers, web_seeds)
}

/// Builds the magnet URI of a v2 torrent, `magnet:?xt=urn:btmh:1220HEX…`,
/// or of a hybrid torrent when `v1` is given: `xt=urn:btih:` first, then
/// `xt=urn:btmh:`, as libtorrent writes them. The other parameters are as in
/// [`magnet_uri`].
///
/// ```
/// use s3torrent_metainfo::{magnet_uri_v2, InfoHash, InfoHashV2};
///
/// let v2 = InfoHashV2::from_bytes([0xab; 32]);
/// let uri = magnet_uri_v2(None, &v2, Some("x"), &[] as &[&str], &[]);
/// assert_eq!(uri, format!("magnet:?xt=urn:btmh:1220{}&dn=x", "ab".repeat(32)));
///
/// let v1 = InfoHash::from_bytes([0xcd; 20]);
/// let uri = magnet_uri_v2(Some(&v1), &v2, None, &[] as &[&str], &[]);
/// assert_eq!(
///     uri,
///     format!("magnet:?xt=urn:btih:{}&xt=urn:btmh:1220{}", "cd".repeat(20), "ab".repeat(32)),
/// );
/// ```
pub fn magnet_uri_v2<S: AsRef<str>>(
    v1: Option<&InfoHash>,
    v2: &InfoHashV2,
    name: Option<&str>,
    trackers: &[S],
    web_seeds: &[S],
) -> String {
    let mut uri = String::from("magnet:?");
    if let Some(v1) = v1 {
        let _ = write!(uri, "xt=urn:btih:{}&", v1.to_hex());
    }
    let _ = write!(uri, "xt=urn:btmh:{}", v2.to_multihash_hex());
    with_params(uri, name, trackers, web_seeds)
}

fn with_params<S: AsRef<str>>(
    mut uri: String,
    name: Option<&str>,
    trackers: &[S],
    web_seeds: &[S],
) -> String {
    let mut param = |key: &str, value: &str| {
        uri.push('&');
        uri.push_str(key);
        uri.push('=');
        percent_encode_into(&mut uri, value.as_bytes());
    };
    if let Some(name) = name {
        param("dn", name);
    }
    for t in trackers {
        param("tr", t.as_ref());
    }
    for w in web_seeds {
        param("ws", w.as_ref());
    }
    uri
}
