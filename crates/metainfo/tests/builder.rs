//! The builder's output, byte for byte, against torrents written out by hand
//! from the specs (BEP 3, 12, 19, 27 and Amazon S3's profile).

use s3torrent_metainfo::{
    InfoHash, PieceLength, TorrentBuilder, TorrentHasher, TorrentHashes, TorrentVersion, magnet_uri,
};
use sha1::{Digest, Sha1};

fn hashed(data: &[u8], piece_length: PieceLength) -> TorrentHashes {
    let mut h = TorrentHasher::new(piece_length, TorrentVersion::V1);
    h.update(data);
    h.finish()
}

/// The `pieces` string, computed with the sha1 crate directly (the oracle).
fn oracle_pieces(data: &[u8], piece: usize) -> Vec<u8> {
    data.chunks(piece)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect()
}

fn bstr(s: &[u8]) -> Vec<u8> {
    let mut out = format!("{}:", s.len()).into_bytes();
    out.extend_from_slice(s);
    out
}

#[test]
fn plain_profile_bytes() {
    let data = vec![b'a'; 20_000];
    let t = TorrentBuilder::plain("a.txt")
        .build(&hashed(&data, PieceLength::MIN))
        .unwrap();
    let mut expected =
        b"d4:infod6:lengthi20000e4:name5:a.txt12:piece lengthi16384e6:pieces".to_vec();
    expected.extend(bstr(&oracle_pieces(&data, 16384)));
    expected.extend(b"ee");
    assert_eq!(t.as_bytes().as_ref(), expected.as_slice());
    // The info-hash is the SHA-1 of the info dictionary as written.
    let info = &expected[7..expected.len() - 1];
    assert_eq!(
        t.info_hash().as_bytes(),
        &<[u8; 20]>::from(Sha1::digest(info))
    );
}

#[test]
fn aws_profile_bytes() {
    let data = b"Nelson".to_vec();
    let tracker = "http://s3-tracker.us-east-1.amazonaws.com:6969/announce";
    let t = TorrentBuilder::aws("quotes", "a/Nelson")
        .tracker(tracker)
        .build(&hashed(&data, PieceLength::AWS))
        .unwrap();
    let mut expected = Vec::new();
    expected.extend(b"d8:announce");
    expected.extend(bstr(tracker.as_bytes()));
    expected.extend(b"13:announce-listll");
    expected.extend(bstr(tracker.as_bytes()));
    expected.extend(b"ee4:infod6:lengthi6e4:name8:a_Nelson12:piece lengthi262144e6:pieces");
    expected.extend(bstr(&oracle_pieces(&data, 262_144)));
    expected.extend(b"12:x-amz-bucket6:quotes9:x-amz-key8:a/Nelsonee");
    assert_eq!(t.as_bytes().as_ref(), expected.as_slice());
    // url-list appears only with a web seed.
    let with_seed = TorrentBuilder::aws("quotes", "a/Nelson")
        .tracker(tracker)
        .web_seed("http://127.0.0.1:9000/quotes/a/Nelson")
        .build(&hashed(&data, PieceLength::AWS))
        .unwrap();
    let keys: Vec<&[u8]> = with_seed
        .value()
        .as_dict()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_ref())
        .collect();
    assert_eq!(
        keys,
        [&b"announce"[..], b"announce-list", b"info", b"url-list"]
    );
    // Options outside the profile are refused rather than dropped.
    for b in [
        TorrentBuilder::aws("b", "k").comment("c"),
        TorrentBuilder::aws("b", "k").private(),
        TorrentBuilder::aws("b", "k").source("s"),
        TorrentBuilder::aws("b", "k").creation_date(1),
        TorrentBuilder::aws("b", "k").created_by("me"),
    ] {
        assert!(b.build(&hashed(&data, PieceLength::AWS)).is_err());
    }
}

#[test]
fn optional_keys_and_web_seed_forms() {
    let data = vec![1u8; 100];
    let p = hashed(&data, PieceLength::MIN);
    let t = TorrentBuilder::plain("x")
        .tracker("http://a/ann")
        .tracker_tier(vec!["http://b/ann".into(), "udp://c:1".into()])
        .web_seed("http://w/1")
        .private()
        .source("SRC")
        .comment("hi")
        .created_by("me")
        .creation_date(1_700_000_000)
        .build(&p)
        .unwrap();
    let mut expected = b"d8:announce12:http://a/ann13:announce-listll12:http://a/annel12:http://b/ann9:udp://c:1ee7:comment2:hi10:created by2:me13:creation datei1700000000e4:infod6:lengthi100e4:name1:x12:piece lengthi16384e6:pieces".to_vec();
    expected.extend(bstr(&oracle_pieces(&data, 16384)));
    expected.extend(b"7:privatei1e6:source3:SRCe8:url-list10:http://w/1e");
    assert_eq!(t.as_bytes().as_ref(), expected.as_slice());
    let two = TorrentBuilder::plain("x")
        .web_seed("http://w/1")
        .web_seed("http://w/2")
        .build(&p)
        .unwrap();
    assert!(
        two.as_bytes()
            .ends_with(b"8:url-listl10:http://w/110:http://w/2ee")
    );
    assert_eq!(two.web_seeds(), ["http://w/1", "http://w/2"]);
}

#[test]
fn same_input_same_bytes() {
    let data = vec![9u8; 50_000];
    let a = TorrentBuilder::plain("n")
        .tracker("http://t")
        .build(&hashed(&data, PieceLength::MIN))
        .unwrap();
    let b = TorrentBuilder::plain("n")
        .tracker("http://t")
        .build(&hashed(&data, PieceLength::MIN))
        .unwrap();
    assert_eq!(a.as_bytes(), b.as_bytes());
}

#[test]
fn bad_names_are_refused() {
    let p = hashed(b"abc", PieceLength::MIN);
    for name in ["", ".", "..", "a/b", "a\0b"] {
        assert!(TorrentBuilder::plain(name).build(&p).is_err(), "{name:?}");
    }
    // An AWS key of `..` gives the name `__` (the one rule, `torrent_name`,
    // which the s3 crate uses too), and NUL becomes `_`.
    let aws = |key: &str| TorrentBuilder::aws("b", key).build(&p).unwrap();
    assert_eq!(aws("..").info().name(), "__");
    assert_eq!(aws(".").info().name(), "_");
    assert_eq!(aws("a\0b").info().name(), "a_b");
    assert_eq!(aws("a\0b").info().aws_key(), Some("a\0b"));
    // Slashes become underscores, so nested keys are fine.
    assert_eq!(
        TorrentBuilder::aws("b", "/x/../y/")
            .build(&p)
            .unwrap()
            .info()
            .name(),
        "_x_.._y_"
    );
}

/// base32 by a different route: the bits as text, five at a time.
fn base32_oracle(bytes: &[u8]) -> String {
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    bits.as_bytes()
        .chunks(5)
        .map(|c| {
            let v = u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap();
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[v as usize] as char
        })
        .collect()
}

#[test]
fn info_hash_text_forms() {
    for seed in 0u8..20 {
        let bytes: [u8; 20] = std::array::from_fn(|i| {
            (i as u8)
                .wrapping_mul(37)
                .wrapping_add(seed.wrapping_mul(101))
        });
        let h = InfoHash::from_bytes(bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(h.to_base32(), base32_oracle(&bytes));
        assert_eq!(hex.to_uppercase().parse::<InfoHash>().unwrap(), h);
        assert_eq!(h.to_base32().to_lowercase().parse::<InfoHash>().unwrap(), h);
    }
    for bad in ["", "abc", &"g".repeat(40), &"1".repeat(32), &"a".repeat(41)] {
        assert!(bad.parse::<InfoHash>().is_err(), "{bad:?}");
    }
}

#[test]
fn magnet_is_percent_encoded() {
    let h = InfoHash::from_bytes([0xab; 20]);
    let m = magnet_uri(
        &h,
        Some("a b+c%d#e?f&g=h/é"),
        &["http://t/ann?x=1&y=2"],
        &["http://127.0.0.1:9000/b/a%20b"],
    );
    assert_eq!(
        m,
        format!(
            "magnet:?xt=urn:btih:{}&dn=a%20b%2Bc%25d%23e%3Ff%26g%3Dh%2F%C3%A9&tr=http%3A%2F%2Ft%2Fann%3Fx%3D1%26y%3D2&ws=http%3A%2F%2F127.0.0.1%3A9000%2Fb%2Fa%2520b",
            "ab".repeat(20)
        )
    );
}
