//! Parsing: a table of malformed torrents, each refused with the field (or
//! the byte offset) named, and what lenient parsing keeps.

use s3torrent_metainfo::{Error, Files, Torrent};

/// A single-file info dict with 1 piece of 16 KiB, as bytes, with `extra`
/// spliced in before the closing `e` (keys stay sorted only if you mind it).
fn pieces(n: usize) -> String {
    format!("6:pieces{}:{}", n * 20, "x".repeat(n * 20))
}

fn refused(input: &[u8]) -> Error {
    match Torrent::from_bytes(input.to_vec()) {
        Ok(t) => panic!("accepted {:?}: {t:?}", String::from_utf8_lossy(input)),
        Err(e) => e,
    }
}

#[test]
fn malformed_fields_are_named() {
    let p1 = pieces(1);
    let rows: Vec<(String, &str)> = vec![
        ("le".into(), "`(top level)`: not a dictionary"),
        ("de".into(), "`info`: missing"),
        ("d4:infoi1ee".into(), "`info`: not a dictionary"),
        (
            format!("d4:infod6:lengthi5e12:piece lengthi16384e{p1}ee"),
            "`info.name`: missing",
        ),
        (
            format!("d4:infod6:lengthi5e4:name0:12:piece lengthi16384e{p1}ee"),
            "`info.name`: empty",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:.12:piece lengthi16384e{p1}ee"),
            "`info.name`",
        ),
        (
            format!("d4:infod6:lengthi5e4:name2:..12:piece lengthi16384e{p1}ee"),
            "`info.name`",
        ),
        (
            // `/` alone is dropped (with a warning), leaving nothing.
            format!("d4:infod6:lengthi5e4:name2://12:piece lengthi16384e{p1}ee"),
            "`info.name`: empty",
        ),
        (
            format!("d4:infod6:lengthi5e4:name3:a\0b12:piece lengthi16384e{p1}ee"),
            "`info.name`: contains NUL",
        ),
        (
            format!("d4:infod6:lengthi5e4:namei1e12:piece lengthi16384e{p1}ee"),
            "`info.name`: not a string",
        ),
        (
            format!("d4:infod6:lengthi-5e4:name1:a12:piece lengthi16384e{p1}ee"),
            "`info.length`: -5 is negative",
        ),
        (
            "d4:infod6:lengthi0e4:name1:a12:piece lengthi16384e6:pieces0:ee".into(),
            "`info.length`: 0 bytes",
        ),
        (
            format!("d4:infod4:name1:a12:piece lengthi16384e{p1}ee"),
            "`info.length`: missing",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:a{p1}ee"),
            "`info.piece length`: missing",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:a12:piece lengthi0e{p1}ee"),
            "`info.piece length`: 0 is not",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:a12:piece lengthi-16384e{p1}ee"),
            "`info.piece length`",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:a12:piece length1:x{p1}ee"),
            "`info.piece length`: not an integer",
        ),
        (
            "d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces19:xxxxxxxxxxxxxxxxxxxee"
                .into(),
            "`info.pieces`: 19 bytes is not a multiple of 20",
        ),
        (
            format!(
                "d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{}ee",
                pieces(2)
            ),
            "`info.pieces`: 2 piece hashes, but 5 bytes in pieces of 16384 make 1",
        ),
        (
            format!("d4:infod6:lengthi16385e4:name1:a12:piece lengthi16384e{p1}ee"),
            "`info.pieces`: 1 piece hashes",
        ),
        (
            "d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e6:piecesi1eee".into(),
            "`info.pieces`: not a byte string",
        ),
        (
            format!("d13:announce-listi1e4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p1}ee"),
            "`announce-list`: not a list of tiers",
        ),
        (
            format!(
                "d13:announce-listl3:abce4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p1}ee"
            ),
            "`announce-list[0]`: not a list of trackers",
        ),
        (
            format!(
                "d13:announce-listll1:aeli1eee4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p1}ee"
            ),
            "`announce-list[1][0]`: not a string",
        ),
        (
            format!("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p1}e8:url-listi3ee"),
            "`url-list`: neither a string nor a list",
        ),
        (
            format!("d4:infod5:filesle4:name1:a12:piece lengthi16384e{p1}ee"),
            "`info.files`: empty",
        ),
        (
            format!(
                "d4:infod5:filesld6:lengthi5e4:pathl0:eee4:name1:a12:piece lengthi16384e{p1}ee"
            ),
            "`info.files[0].path[0]`: empty",
        ),
        (
            format!(
                "d4:infod5:filesld6:lengthi5e4:pathl2:..eee4:name1:a12:piece lengthi16384e{p1}ee"
            ),
            "`info.files[0].path[0]`",
        ),
        (
            format!("d4:infod5:filesld4:pathl1:aeee4:name1:a12:piece lengthi16384e{p1}ee"),
            "`info.files[0].length`: missing",
        ),
        (
            format!(
                "d4:infod5:filesld6:lengthi5e4:pathl1:aeee6:lengthi5e4:name1:a12:piece lengthi16384e{p1}ee"
            ),
            "`info.files`: present together with info.length",
        ),
    ];
    for (input, expected) in rows {
        let err = refused(input.as_bytes());
        assert!(
            err.to_string().contains(expected),
            "{input:?}: expected {expected:?}, got {err}"
        );
    }
}

#[test]
fn malformed_bencode_names_the_offset() {
    let good = format!(
        "d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{}ee",
        pieces(1)
    );
    // (cut, where the error is): the end of input, or the start of a
    // string whose declared length runs past the cut.
    let pieces_at = good.find("6:pieces").unwrap() + 8;
    for (cut, at) in [
        (1, 1),
        (10, 8),
        (pieces_at + 5, pieces_at),
        (good.len() - 1, good.len() - 1),
    ] {
        let err = refused(&good.as_bytes()[..cut]);
        match &err {
            Error::Bencode(e) => assert_eq!(e.offset(), Some(at), "cut {cut}: {err}"),
            other => panic!("cut {cut}: {other}"),
        }
        assert!(
            err.to_string().contains(&format!("at byte {at}")),
            "cut {cut}: {err}"
        );
    }
    // A claimed length far past the end is refused without allocating it.
    let err = refused(b"d4:info4000000000:x");
    assert!(err.to_string().contains("runs past the end"), "{err}");
    // Duplicate keys are refused even though parsing is lenient.
    let err = refused(
        format!(
            "d4:infod6:lengthi5e6:lengthi5e4:name1:a12:piece lengthi16384e{}ee",
            pieces(1)
        )
        .as_bytes(),
    );
    assert!(err.to_string().contains("duplicate"), "{err}");
}

#[test]
fn lenient_parsing_keeps_unknown_keys_and_hashes_raw_bytes() {
    // Unsorted keys inside info, an unknown key inside and outside it.
    let info = format!(
        "d4:name1:a6:lengthi5e12:piece lengthi16384e{}7:unknowni42ee",
        pieces(1)
    );
    let file = format!("d4:info{info}3:zzz3:yes8:announce3:abce");
    let t = Torrent::from_bytes(file.clone().into_bytes()).unwrap();
    assert_eq!(t.info_bytes(), info.as_bytes());
    // The oracle: SHA-1 of the info bytes as written, via the sha1 crate directly.
    use sha1::Digest;
    let expected: [u8; 20] = sha1::Sha1::digest(info.as_bytes()).into();
    assert_eq!(t.info_hash().as_bytes(), &expected);
    assert_eq!(t.value().get("zzz").and_then(|v| v.as_str()), Some("yes"));
    assert_eq!(
        t.value()
            .get("info")
            .and_then(|i| i.get("unknown"))
            .and_then(|v| v.as_int()),
        Some(42)
    );
    assert_eq!(t.trackers(), vec!["abc"]);
}

#[test]
fn url_list_as_string_or_list_and_multi_file() {
    let p = pieces(1);
    let one =
        format!("d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p}e8:url-list8:http://ae");
    assert_eq!(
        Torrent::from_bytes(one.into_bytes()).unwrap().web_seeds(),
        ["http://a"]
    );
    let many = format!(
        "d4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p}e8:url-listl8:http://a0:8:http://bee"
    );
    assert_eq!(
        Torrent::from_bytes(many.into_bytes()).unwrap().web_seeds(),
        ["http://a", "http://b"]
    );
    let multi = format!(
        "d4:infod5:filesld6:lengthi3e4:pathl1:x1:yeed6:lengthi4e4:pathl1:zeee4:name3:dir12:piece lengthi16384e{p}ee"
    );
    let t = Torrent::from_bytes(multi.into_bytes()).unwrap();
    assert_eq!(t.info().length(), 7);
    match t.info().files() {
        Files::Multiple(files) => {
            assert_eq!(files.len(), 2);
            assert_eq!(files[0].path, ["x", "y"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn announce_list_takes_precedence_and_is_deduplicated() {
    let p = pieces(1);
    let file = format!(
        "d8:announce3:one13:announce-listll3:twoel3:one3:twoee4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p}ee"
    );
    let t = Torrent::from_bytes(file.into_bytes()).unwrap();
    assert_eq!(t.announce(), Some("one"));
    assert_eq!(t.trackers(), vec!["two", "one"]);
}

/// 200,000 tracker tiers, most of them repeats, in a torrent of about 2 MB:
/// every tracker once, in first-seen order, and in linear time (a quadratic
/// de-duplication takes minutes here; this takes milliseconds).
#[test]
fn many_trackers_are_deduplicated_in_order() {
    let p = pieces(1);
    let mut list = String::new();
    for i in 0..200_000u32 {
        let url = format!("http://t{}.example/announce", i % 1000);
        list.push_str(&format!("l{}:{url}e", url.len()));
    }
    let file =
        format!("d13:announce-listl{list}e4:infod6:lengthi5e4:name1:a12:piece lengthi16384e{p}ee");
    let t = Torrent::from_bytes(file.into_bytes()).unwrap();
    let trackers = t.trackers();
    assert_eq!(trackers.len(), 1000);
    assert_eq!(trackers[0], "http://t0.example/announce");
    assert_eq!(trackers[999], "http://t999.example/announce");
}

/// Ceph RGW 16.2 names a torrent after its object key, `/` included. The
/// name is read as libtorrent 2.1.1 reads it (checked with python-libtorrent:
/// `torrent_info(...).name()` is `dirmagic.gif`), with a warning.
#[test]
fn a_slash_in_the_name_is_dropped_with_a_warning() {
    let file: &[u8] = b"d4:infod6:lengthi3e4:name13:dir/magic.gif12:piece lengthi16384e\
                        6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
    let t = Torrent::from_bytes(file).unwrap();
    assert_eq!(t.info().name(), "dirmagic.gif");
    assert_eq!(
        t.warnings(),
        &[s3torrent_metainfo::Warning::NameWithSlash {
            original: "dir/magic.gif".into()
        }]
    );
    // The info-hash is still of the bytes as written.
    assert_eq!(t.info_bytes(), &file[7..file.len() - 1]);
    // Names that are nothing once the `/` go are still refused.
    for name in ["1:/", "3:/./", "4:/../"] {
        let bad = format!(
            "d4:infod6:lengthi3e4:name{name}12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"
        );
        let err = Torrent::from_bytes(bad.into_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("info.name"), "{name}: {err}");
    }
    // A path component of a multi-file torrent with `/` still is an error.
    let multi: &[u8] = b"d4:infod5:filesld6:lengthi3e4:pathl4:../xeee4:name1:d\
                         12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee";
    assert!(Torrent::from_bytes(multi).is_err());
}

/// Bytes after the top-level dictionary: a warning here, an error for the
/// strict decoder.
#[test]
fn trailing_bytes_are_a_warning_and_a_strict_error() {
    let file: &[u8] = b"d4:infod6:lengthi3e4:name1:a12:piece lengthi16384e\
                        6:pieces20:aaaaaaaaaaaaaaaaaaaaee\r\nJUNK";
    let t = Torrent::from_bytes(file).unwrap();
    assert_eq!(
        t.warnings(),
        &[s3torrent_metainfo::Warning::TrailingBytes {
            offset: file.len() - 6,
            count: 6
        }]
    );
    assert!(t.warnings()[0].to_string().contains("6 bytes"));
    let err = s3torrent_bencode::Decoder::strict()
        .decode(file)
        .unwrap_err();
    assert_eq!(err.kind(), &s3torrent_bencode::ErrorKind::TrailingBytes);
    assert_eq!(err.offset(), Some(file.len() - 6));
    // A clean torrent has no warnings.
    let clean = Torrent::from_bytes(&file[..file.len() - 6]).unwrap();
    assert!(clean.warnings().is_empty());
}
