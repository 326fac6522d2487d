//! The metainfo crate and its examples against outside tools: mktorrent's
//! info-hashes, python libtorrent's reading of our torrents, and the
//! `s3torrent torrent create`, `show` and `verify` command lines.

use crate::support;

use std::ffi::OsStr;

use s3torrent_metainfo::{PieceLength, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion};
use support::{have_program, have_python_module, python, random_bytes, run_torrent, write};

/// Sizes around the piece boundaries of `piece`, and a few MiB.
fn sizes(piece: usize) -> Vec<usize> {
    vec![1, piece - 1, piece, piece + 1, 3 * 1024 * 1024 + 7]
}

fn our_plain_torrent(name: &str, data: &[u8], piece_length: PieceLength) -> Torrent {
    let mut h = TorrentHasher::new(piece_length, TorrentVersion::V1);
    h.update(data);
    TorrentBuilder::plain(name).build(&h.finish()).unwrap()
}

const LT_READ: &str = include_str!("clients/libtorrent_read_metainfo.py");

#[test]
fn plain_info_hash_equals_mktorrent() {
    if !have_program("plain_info_hash_equals_mktorrent", "mktorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // mktorrent 1.1 takes piece lengths from 2^15 to 2^28.
    for exp in [15u32, 18] {
        let piece = 1usize << exp;
        for (i, size) in sizes(piece).into_iter().enumerate() {
            let data = random_bytes(size, u64::from(exp) * 100 + i as u64);
            let name = format!("f-{exp}-{size}.bin");
            let file = write(dir.path(), &name, &data);
            let out = dir.path().join(format!("{name}.mk.torrent"));
            let status = std::process::Command::new("mktorrent")
                .args(["-l", &exp.to_string(), "-o"])
                .arg(&out)
                .arg(&file)
                .output()
                .unwrap();
            assert!(status.status.success(), "mktorrent failed on {name}");
            let theirs = Torrent::from_bytes(std::fs::read(&out).unwrap()).unwrap();
            let ours = our_plain_torrent(&name, &data, PieceLength::new(piece as u64).unwrap());
            assert_eq!(
                ours.info_hash(),
                theirs.info_hash(),
                "info-hash differs from mktorrent for {size} bytes, piece {piece}"
            );
            assert_eq!(ours.info_bytes(), theirs.info_bytes());
        }
    }
}

#[test]
fn zero_byte_objects_have_no_torrent_as_in_libtorrent() {
    // Our builder refuses a 0-byte object outright.
    let h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
    let err = TorrentBuilder::plain("empty")
        .build(&h.finish())
        .unwrap_err();
    assert!(err.to_string().contains("0-byte"), "{err}");
    // mktorrent writes one anyway; our parser refuses it, naming the field...
    let mk = b"d4:infod6:lengthi0e4:name5:empty12:piece lengthi32768e6:pieces0:ee";
    let err = Torrent::from_bytes(&mk[..]).unwrap_err();
    assert!(err.to_string().contains("info.length"), "{err}");
    // ...and so does libtorrent.
    if !have_python_module(
        "zero_byte_objects_have_no_torrent_as_in_libtorrent",
        "libtorrent",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.torrent", mk);
    let script = "import sys, libtorrent as lt\ntry:\n    lt.torrent_info(sys.argv[1]); print('accepted')\nexcept Exception as e:\n    print('refused', e)";
    let said = python(script, &[path.to_str().unwrap()]);
    assert!(said.starts_with("refused"), "libtorrent said: {said}");
}

#[test]
fn libtorrent_reads_every_kind_we_build() {
    if !have_python_module("libtorrent_reads_every_kind_we_build", "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(700_000, 7);
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
    h.update(&data);
    let pieces = h.finish();
    let mut aws_hasher = TorrentHasher::new(PieceLength::AWS, TorrentVersion::V1);
    aws_hasher.update(&data);
    let aws_pieces = aws_hasher.finish();
    let tracker = "http://tracker.example:6969/announce";
    let kinds: Vec<(&str, Torrent)> = vec![
        (
            "plain",
            TorrentBuilder::plain("data.bin").build(&pieces).unwrap(),
        ),
        (
            "trackers",
            TorrentBuilder::plain("data.bin")
                .tracker(tracker)
                .tracker_tier(vec![
                    "udp://a.example:1337".into(),
                    "http://b.example/ann".into(),
                ])
                .build(&pieces)
                .unwrap(),
        ),
        (
            "one-web-seed",
            TorrentBuilder::plain("data.bin")
                .web_seed("http://127.0.0.1:9000/b/data.bin")
                .build(&pieces)
                .unwrap(),
        ),
        (
            "web-seeds",
            TorrentBuilder::plain("data.bin")
                .web_seed("http://127.0.0.1:9000/b/data.bin")
                .web_seed("http://mirror.example/data%20file.bin")
                .build(&pieces)
                .unwrap(),
        ),
        (
            "private-source-comment",
            TorrentBuilder::plain("data.bin")
                .private()
                .source("s3torrent")
                .comment("a comment")
                .created_by("s3torrent test")
                .creation_date(1_700_000_000)
                .build(&pieces)
                .unwrap(),
        ),
        (
            "aws",
            TorrentBuilder::aws("quotes", "people/Nelson é.txt")
                .tracker("http://s3-tracker.us-east-1.amazonaws.com:6969/announce")
                .web_seed("http://127.0.0.1:9000/quotes/people/Nelson%20%C3%A9.txt")
                .build(&aws_pieces)
                .unwrap(),
        ),
    ];
    let paths: Vec<String> = kinds
        .iter()
        .map(|(kind, t)| {
            let p = write(dir.path(), &format!("{kind}.torrent"), t.as_bytes());
            p.to_str().unwrap().to_owned()
        })
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let seen: serde_json::Value = serde_json::from_str(&python(LT_READ, &args)).unwrap();
    for ((kind, ours), theirs) in kinds.iter().zip(seen.as_array().unwrap()) {
        assert_eq!(theirs["info_hash"], ours.info_hash().to_hex(), "{kind}");
        assert_eq!(theirs["name"], ours.info().name(), "{kind}");
        assert_eq!(theirs["length"], ours.info().length(), "{kind}");
        assert_eq!(theirs["length"], data.len() as u64, "{kind}");
        assert_eq!(theirs["piece_length"], ours.info().piece_length(), "{kind}");
        assert_eq!(theirs["pieces"], ours.info().piece_count(), "{kind}");
        assert_eq!(
            theirs["web_seeds"],
            serde_json::json!(ours.web_seeds()),
            "{kind}"
        );
        assert_eq!(
            theirs["trackers"],
            serde_json::json!(ours.trackers()),
            "{kind}"
        );
        assert_eq!(theirs["private"], ours.info().is_private(), "{kind}");
    }
    // The AWS profile's exact shape, read by libtorrent's own bdecode.
    let keys = python(
        "import sys, libtorrent as lt\nd = lt.bdecode(open(sys.argv[1],'rb').read())\nprint(sorted(k.decode() for k in d), sorted(k.decode() for k in d[b'info']), d[b'info'][b'name'].decode())",
        &[&paths[5]],
    );
    assert_eq!(
        keys.trim(),
        "['announce', 'announce-list', 'info', 'url-list'] ['length', 'name', 'piece length', 'pieces', 'x-amz-bucket', 'x-amz-key'] people_Nelson é.txt"
    );
}

#[test]
fn make_torrent_matches_mktorrent_and_libtorrent() {
    if !have_program("make_torrent_matches_mktorrent_and_libtorrent", "mktorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(5 * 1024 * 1024 + 3, 11);
    let file = write(dir.path(), "five.bin", &data);
    let ours = dir.path().join("ours.torrent");
    let out = run_torrent(
        "create",
        &[
            file.as_os_str(),
            OsStr::new("--piece-length"),
            OsStr::new("32768"),
            OsStr::new("-o"),
            ours.as_os_str(),
            OsStr::new("--threads"),
            OsStr::new("2"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = dir.path().join("theirs.torrent");
    let st = std::process::Command::new("mktorrent")
        .args(["-l", "15", "-o"])
        .arg(&theirs)
        .arg(&file)
        .output()
        .unwrap();
    assert!(st.status.success());
    let a = Torrent::from_bytes(std::fs::read(&ours).unwrap()).unwrap();
    let b = Torrent::from_bytes(std::fs::read(&theirs).unwrap()).unwrap();
    assert_eq!(a.info_hash(), b.info_hash());
    // `-o -` writes the same bytes to stdout.
    let out = run_torrent(
        "create",
        &[
            file.as_os_str(),
            OsStr::new("--piece-length"),
            OsStr::new("32768"),
            OsStr::new("-o"),
            OsStr::new("-"),
        ],
    );
    assert!(out.status.success());
    assert_eq!(out.stdout, std::fs::read(&ours).unwrap());
}

#[test]
fn make_torrent_aws_profile_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "obj", &random_bytes(600_000, 3));
    let out_path = dir.path().join("aws.torrent");
    let out = run_torrent(
        "create",
        &[
            file.as_os_str(),
            OsStr::new("--bucket"),
            OsStr::new("quotes"),
            OsStr::new("--key"),
            OsStr::new("a/b/Nelson"),
            OsStr::new("--tracker"),
            OsStr::new("http://t.example:6969/announce"),
            OsStr::new("-o"),
            out_path.as_os_str(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = Torrent::from_bytes(std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(t.info().piece_length(), 262_144);
    assert_eq!(t.info().name(), "a_b_Nelson");
    assert_eq!(t.info().aws_bucket(), Some("quotes"));
    assert_eq!(t.info().aws_key(), Some("a/b/Nelson"));
    // Without -o the file is <name>.torrent in the working directory.
    let st = support::s3torrent()
        .args(["torrent", "create"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(st.status.success());
    assert!(dir.path().join("obj.torrent").exists());
    // Half of --bucket/--key is a usage error.
    let out = run_torrent(
        "create",
        &[file.as_os_str(), OsStr::new("--bucket"), OsStr::new("b")],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_finds_a_flipped_byte_in_the_right_piece() {
    let dir = tempfile::tempdir().unwrap();
    let piece = 32 * 1024;
    let mut data = random_bytes(10 * piece + 100, 5);
    let file = write(dir.path(), "data.bin", &data);
    let torrent = dir.path().join("data.torrent");
    let out = run_torrent(
        "create",
        &[
            file.as_os_str(),
            OsStr::new("--piece-length"),
            OsStr::new(&piece.to_string()),
            OsStr::new("-o"),
            torrent.as_os_str(),
        ],
    );
    assert!(out.status.success());
    let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for (at, bad) in [(7 * piece + 5, 7usize), (10 * piece + 99, 10), (0, 0)] {
        data[at] ^= 0x40;
        std::fs::write(&file, &data).unwrap();
        let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("bad pieces: {bad}")
        );
        data[at] ^= 0x40;
    }
    // Truncated data: the pieces it cannot fill are bad.
    std::fs::write(&file, &data[..8 * piece]).unwrap();
    let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("bad pieces: 8 9 10"));
}

#[test]
fn inspect_prints_fields_and_refuses_malformed_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = random_bytes(100_000, 9);
    let t = TorrentBuilder::plain("x y.bin")
        .tracker("http://t.example/announce")
        .web_seed("http://127.0.0.1:9000/b/x%20y.bin")
        .build(&{
            let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
            h.update(&data);
            h.finish()
        })
        .unwrap();
    let path = write(dir.path(), "t.torrent", t.as_bytes());
    let out = run_torrent("show", &[path.as_os_str(), OsStr::new("--json")]);
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["name"], "x y.bin");
    assert_eq!(j["length"], 100_000);
    assert_eq!(j["piece_length"], 16384);
    assert_eq!(j["pieces"], 7);
    assert_eq!(
        j["trackers"],
        serde_json::json!(["http://t.example/announce"])
    );
    assert_eq!(
        j["web_seeds"],
        serde_json::json!(["http://127.0.0.1:9000/b/x%20y.bin"])
    );
    assert_eq!(j["info_hash"].as_str().unwrap().len(), 40);
    assert!(j["magnet"].as_str().unwrap().contains("&dn=x%20y.bin"));
    let out = run_torrent("show", &[path.as_os_str()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("pieces:       7"));

    // Truncated: exit 2, one line naming the byte offset.
    let bytes = t.as_bytes();
    let cut = write(dir.path(), "cut.torrent", &bytes[..bytes.len() / 2]);
    let out = run_torrent("show", &[cut.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("at byte"), "{err}");
    // A bad field: exit 2 naming the field.
    let bad = write(
        dir.path(),
        "bad.torrent",
        b"d4:infod6:lengthi-5e4:name1:a12:piece lengthi16384e6:pieces0:ee",
    );
    let out = run_torrent("show", &[bad.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("info.length"));
}

/// What real servers emit: Ceph RGW 16.2's torrent names the object with its
/// `/`, and some writers leave bytes after the dictionary. `show` reads both
/// with a warning on stderr (the name as libtorrent 2.1.1 reads it); `verify`
/// checks the data, and still refuses names that would leave the folder.
#[test]
fn show_and_verify_read_what_real_servers_emit_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    // SHA-1("abc"), the FIPS 180 test vector.
    let mut ceph =
        b"d4:infod6:lengthi3e4:name13:dir/magic.gif12:piece lengthi16384e6:pieces20:".to_vec();
    ceph.extend_from_slice(&[
        0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50, 0xc2,
        0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
    ]);
    ceph.extend_from_slice(b"ee\n");
    let path = write(dir.path(), "ceph.torrent", &ceph);
    let out = run_torrent("show", &[path.as_os_str(), OsStr::new("--json")]);
    assert!(out.status.success(), "{out:?}");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["name"], "dirmagic.gif");
    assert_eq!(j["warnings"].as_array().unwrap().len(), 2, "{j}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("contains `/`"), "{err}");
    assert!(
        err.contains("1 bytes after the top-level dictionary"),
        "{err}"
    );
    let data = write(dir.path(), "abc", b"abc");
    let out = run_torrent("verify", &[path.as_os_str(), data.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // `..` as a name, or in a file's path, is still refused (exit 2).
    for bad in [
        &b"d4:infod6:lengthi3e4:name2:..12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee"[..],
        b"d4:infod5:filesld6:lengthi3e4:pathl2:..1:xeee4:name1:d12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
    ] {
        let path = write(dir.path(), "bad.torrent", bad);
        let out = run_torrent("verify", &[path.as_os_str(), data.as_os_str()]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
}
