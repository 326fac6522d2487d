//! Fuzzes the torrent parser (v1, v2 and hybrid) with arbitrary bytes.
//!
//! `Torrent::from_bytes` may refuse anything but must never panic. What it
//! accepts must hold together:
//!
//! - the `info` bytes are a slice of the input, and the info-hashes are
//!   their SHA-1 and SHA-256 as they stand (never re-encoded);
//! - the version agrees with the hashes present; the magnet link names them;
//! - verification of the input itself as data (whatever the torrent claims)
//!   never panics, gives the same answer streamed and positional, and is
//!   not ok when the lengths differ;
//! - parsing the torrent's own bytes again gives the same torrent.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use s3torrent_metainfo::{
    HashOptions, InfoHash, InfoHashV2, Torrent, TorrentVersion, Verifier, verify_source,
};

fuzz_target!(|data: &[u8]| {
    let Ok(t) = Torrent::from_bytes(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert_eq!(&t.as_bytes()[..], data);
    let info = t.info_bytes();
    let start = info.as_ptr() as usize - t.as_bytes().as_ptr() as usize;
    assert_eq!(
        &data[start..start + info.len()],
        info,
        "info bytes as they stand"
    );

    let version = t.version();
    assert_eq!(version, t.info().version());
    let v1 = t.info_hash_v1();
    let v2 = t.info_hash_v2();
    assert_eq!(v1.is_some(), version.has_v1());
    assert_eq!(v2.is_some(), version.has_v2());
    if let Some(h) = v1 {
        assert_eq!(h, InfoHash::of_info_bytes(info));
        assert_eq!(t.info_hash(), h);
    }
    if let Some(h) = v2 {
        assert_eq!(h, InfoHashV2::of_info_bytes(info));
        if version == TorrentVersion::V2 {
            assert_eq!(t.info_hash(), h.truncated());
        }
        assert!(t.magnet().contains(&h.to_multihash_hex()));
    }
    if let Some(h) = v1 {
        assert!(t.magnet().contains(&h.to_hex()));
    }

    // The input as data: wrong for the torrent, almost always.
    let mut streamed = Verifier::new(t.info());
    for chunk in data.chunks(977) {
        streamed.update(chunk);
    }
    let streamed = streamed.finish();
    let positional = verify_source(
        t.info(),
        data,
        data.len() as u64,
        &HashOptions::new().threads(1),
        &|_| {},
    )
    .expect("a slice never fails to read");
    assert_eq!(streamed, positional);
    if data.len() as u64 != t.info().length() {
        assert!(!streamed.is_ok());
    }

    let again = Torrent::from_bytes(t.as_bytes().clone()).expect("parses again");
    assert_eq!(again.info_bytes(), info);
    assert_eq!(again.version(), version);
});
