//! v2 (BEP 52) and hybrid torrents against python libtorrent: it reads ours
//! with the same v1 and v2 info-hashes; its own `create_torrent` gives the
//! same `pieces root`, piece layers and info-hashes as ours for the same
//! file and piece size; we read, and verify data against, its torrents
//! (multi-file hybrid ones with pad files too); and magnets agree. The
//! command lines too: `torrent create --v2` and `--hybrid` write libtorrent's
//! info bytes, `torrent show` reports the v2 info-hash libtorrent sees, and
//! `verify` finds a flipped byte in its piece.

use crate::support;

use std::ffi::OsStr;
use std::path::Path;

use s3torrent_metainfo::{
    Files, HashOptions, PieceLength, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion,
    hash_source, verify_source,
};
use support::{have_python_module, python, random_bytes, run_torrent, write};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// libtorrent's `create_torrent` over one file: prints, per file size, the
/// v2-only and hybrid torrents' hashes as JSON (or the error it raises).
const LT_CREATE: &str = include_str!("clients/libtorrent_create_v2.py");

/// libtorrent reading torrent files: info-hashes, sizes and the magnet it
/// makes. Its view of a v2 torrent ends with a tail pad file up to the piece
/// boundary (which `total_size` counts), so lengths and files are counted
/// without pad files.
const LT_READ: &str = include_str!("clients/libtorrent_read_v2.py");

/// libtorrent parsing magnet links: the info-hashes it finds.
const LT_MAGNET: &str = include_str!("clients/libtorrent_parse_magnets.py");

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).expect("python prints JSON")
}

/// Sizes around the block and piece boundaries of `piece`, and a few MiB.
fn sizes(piece: usize) -> Vec<usize> {
    let mut s = vec![
        1,
        16383,
        16384,
        16385,
        piece - 1,
        piece,
        piece + 1,
        3 * 1024 * 1024 + 7,
    ];
    s.sort_unstable();
    s.dedup();
    s
}

#[test]
fn pieces_roots_and_layers_equal_libtorrents() {
    if !have_python_module("pieces_roots_and_layers_equal_libtorrents", "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (exp, piece) in [(0u64, 16384usize), (1, 65536), (2, 1 << 20)] {
        let sizes = sizes(piece);
        let mut paths = Vec::new();
        let mut datas = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let sub = dir.path().join(format!("p{piece}-{size}"));
            std::fs::create_dir(&sub).unwrap();
            let data = random_bytes(*size, exp * 100 + i as u64);
            paths.push(write(&sub, "f.bin", &data).to_str().unwrap().to_owned());
            datas.push(data);
        }
        let mut args = vec![piece.to_string()];
        args.extend(paths.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let theirs = json(&python(LT_CREATE, &args));
        for ((data, size), lt) in datas.iter().zip(&sizes).zip(theirs.as_array().unwrap()) {
            let what = format!("{size} bytes in pieces of {piece}");
            let piece_length = PieceLength::new(piece as u64).unwrap();
            let hashes = hash_source(
                data,
                data.len() as u64,
                piece_length,
                TorrentVersion::Hybrid,
                &HashOptions::new().threads(2),
                &|_| {},
            )
            .unwrap();
            let mut one = TorrentHasher::new(piece_length, TorrentVersion::Hybrid);
            one.update(data);
            assert_eq!(one.finish(), hashes, "{what}");
            let v2 = hashes.v2().unwrap();
            let root = hex(&v2.pieces_root().unwrap());
            for kind in ["v2", "hybrid"] {
                let lt = &lt[kind];
                assert_eq!(lt["length"], *size as u64, "{what} {kind}");
                assert_eq!(lt["pieces_root"], root, "pieces root of {what} ({kind})");
                let layers = lt["piece_layers"].as_object().unwrap();
                if v2.piece_layer().is_empty() {
                    assert!(layers.is_empty(), "{what}: libtorrent wrote a layer");
                } else {
                    assert_eq!(layers.len(), 1, "{what}");
                    assert_eq!(
                        layers[&root],
                        hex(v2.piece_layer()),
                        "piece layer of {what}"
                    );
                }
                // Same info dictionary, so the same info-hashes.
                let version = if kind == "v2" {
                    TorrentVersion::V2
                } else {
                    TorrentVersion::Hybrid
                };
                let ours = TorrentBuilder::plain("f.bin")
                    .version(version)
                    .build(&hashes)
                    .unwrap();
                assert_eq!(
                    lt["v2"],
                    ours.info_hash_v2().unwrap().to_hex(),
                    "{what} {kind}"
                );
                let v1 = ours.info_hash_v1().map(|h| h.to_hex());
                assert_eq!(lt["v1"].as_str(), v1.as_deref(), "{what} {kind}");

                // And we read libtorrent's torrent the same way, and verify
                // the data against it.
                let bytes = (0..lt["bytes"].as_str().unwrap().len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&lt["bytes"].as_str().unwrap()[i..i + 2], 16))
                    .collect::<Result<Vec<u8>, _>>()
                    .unwrap();
                let read = Torrent::from_bytes(bytes).unwrap();
                assert_eq!(read.version(), version, "{what}");
                assert_eq!(read.info_hash_v2(), ours.info_hash_v2(), "{what}");
                assert_eq!(read.info_bytes(), ours.info_bytes(), "{what} {kind}");
                let check = verify_source(
                    read.info(),
                    data,
                    data.len() as u64,
                    &HashOptions::new(),
                    &|_| {},
                )
                .unwrap();
                assert!(check.is_ok(), "{what} {kind}: {check:?}");
            }
        }
    }
}

#[test]
fn zero_byte_files_have_no_torrent_in_libtorrent_either() {
    if !have_python_module(
        "zero_byte_files_have_no_torrent_in_libtorrent_either",
        "libtorrent",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty", b"");
    let theirs = json(&python(LT_CREATE, &["16384", path.to_str().unwrap()]));
    for kind in ["v2", "hybrid"] {
        let err = theirs[0][kind]["error"].as_str();
        assert!(
            err.is_some_and(|e| e.contains("invalid length")),
            "libtorrent made a {kind} torrent of 0 bytes: {}",
            theirs[0][kind]
        );
    }
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
    h.update(b"");
    let hashes = h.finish();
    assert_eq!(hashes.v2().unwrap().pieces_root(), None);
    for version in [TorrentVersion::V2, TorrentVersion::Hybrid] {
        let e = TorrentBuilder::plain("empty")
            .version(version)
            .build(&hashes)
            .unwrap_err();
        assert!(e.to_string().contains("0-byte"), "{e}");
    }
}

#[test]
fn libtorrent_reads_our_v2_and_hybrid_torrents() {
    if !have_python_module("libtorrent_reads_our_v2_and_hybrid_torrents", "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut ours = Vec::new();
    let mut paths = Vec::new();
    for (i, (size, piece)) in [(1usize, 16384u64), (40_000, 16384), (5 << 20, 262_144)]
        .into_iter()
        .enumerate()
    {
        let data = random_bytes(size, 700 + i as u64);
        let piece_length = PieceLength::new(piece).unwrap();
        let mut h = TorrentHasher::new(piece_length, TorrentVersion::Hybrid);
        for chunk in data.chunks(100_000) {
            h.update(chunk);
        }
        let hashes = h.finish();
        for version in [TorrentVersion::V2, TorrentVersion::Hybrid] {
            for aws in [false, true] {
                let builder = if aws {
                    TorrentBuilder::aws("bucket", format!("dir/object-{size}"))
                } else {
                    TorrentBuilder::plain(format!("object-{size}"))
                        .tracker("http://tracker.example/announce")
                        .web_seed("http://seed.example/")
                };
                let t = builder.version(version).build(&hashes).unwrap();
                let path = write(
                    dir.path(),
                    &format!("{size}-{version}-{aws}.torrent"),
                    t.as_bytes(),
                );
                paths.push(path.to_str().unwrap().to_owned());
                ours.push(t);
            }
        }
    }
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let theirs = json(&python(LT_READ, &args));
    for (t, lt) in ours.iter().zip(theirs.as_array().unwrap()) {
        let what = format!("{} ({})", t.info().name(), t.version());
        assert_eq!(lt["has_v1"], t.version().has_v1(), "{what}");
        assert_eq!(lt["has_v2"], true, "{what}");
        assert_eq!(lt["v2"], t.info_hash_v2().unwrap().to_hex(), "{what}");
        if let Some(v1) = t.info_hash_v1() {
            assert_eq!(lt["v1"], v1.to_hex(), "{what}");
        }
        // libtorrent's (deprecated) info_hash() is the best hash: the v2
        // one truncated. Ours is the v1 hash when there is one.
        let truncated = t.info_hash_v2().unwrap().truncated();
        assert_eq!(lt["best"], truncated.to_hex(), "{what}");
        let expected = t.info_hash_v1().unwrap_or(truncated);
        assert_eq!(t.info_hash(), expected, "{what}");
        assert_eq!(lt["name"], t.info().name(), "{what}");
        assert_eq!(lt["length"], t.info().length(), "{what}");
        assert_eq!(lt["piece_length"], t.info().piece_length(), "{what}");
        assert_eq!(lt["pieces"], t.info().piece_count(), "{what}");
        assert_eq!(lt["files"], 1, "{what}");
        // libtorrent's magnet holds the same xt parameters as ours, in order.
        let xts = |uri: &str| -> Vec<String> {
            uri.split(['?', '&'])
                .filter(|p| p.starts_with("xt="))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            xts(lt["magnet"].as_str().unwrap()),
            xts(&t.magnet()),
            "{what}"
        );
    }
}

#[test]
fn libtorrent_parses_our_magnets() {
    if !have_python_module("libtorrent_parses_our_magnets", "libtorrent") {
        return;
    }
    let data = random_bytes(100_000, 9);
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::Hybrid);
    h.update(&data);
    let hashes = h.finish();
    let torrents: Vec<Torrent> = [
        TorrentVersion::V1,
        TorrentVersion::V2,
        TorrentVersion::Hybrid,
    ]
    .into_iter()
    .map(|v| {
        TorrentBuilder::plain("a b&c.bin")
            .version(v)
            .tracker("http://t/announce?x=1")
            .build(&hashes)
            .unwrap()
    })
    .collect();
    let magnets: Vec<String> = torrents.iter().map(Torrent::magnet).collect();
    let args: Vec<&str> = magnets.iter().map(String::as_str).collect();
    let theirs = json(&python(LT_MAGNET, &args));
    for (t, lt) in torrents.iter().zip(theirs.as_array().unwrap()) {
        let what = t.version().to_string();
        assert_eq!(lt["name"], "a b&c.bin", "{what}");
        assert_eq!(lt["has_v1"], t.version().has_v1(), "{what}");
        assert_eq!(lt["has_v2"], t.version().has_v2(), "{what}");
        if let Some(v1) = t.info_hash_v1() {
            assert_eq!(lt["v1"], v1.to_hex(), "{what}");
        }
        if let Some(v2) = t.info_hash_v2() {
            assert_eq!(lt["v2"], v2.to_hex(), "{what}");
        }
    }
}

/// libtorrent's multi-file hybrid and v2 torrents (with pad files in the v1
/// view): read, checked for agreement, and verified against the data.
#[test]
fn we_read_and_verify_libtorrents_multi_file_torrents() {
    if !have_python_module(
        "we_read_and_verify_libtorrents_multi_file_torrents",
        "libtorrent",
    ) {
        return;
    }
    const LT_MULTI: &str = include_str!("clients/libtorrent_create_multi_file.py");
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().join("top");
    std::fs::create_dir_all(top.join("sub")).unwrap();
    // In the file tree's (sorted) order: a.bin, c.bin, sub/b.bin.
    let files = [
        ("a.bin", random_bytes(20_000, 1)),
        ("c.bin", random_bytes(5, 2)),
        ("sub/b.bin", random_bytes(70_000, 3)),
    ];
    for (name, data) in &files {
        std::fs::write(top.join(name), data).unwrap();
    }
    let all: Vec<u8> = files.iter().flat_map(|(_, d)| d.clone()).collect();
    let v2_only_flag = python(
        "import libtorrent as lt; print(int(lt.create_torrent.v2_only))",
        &[],
    )
    .trim()
    .to_owned();
    for (flag, version) in [
        (v2_only_flag.as_str(), TorrentVersion::V2),
        ("0", TorrentVersion::Hybrid),
    ] {
        let hexed = python(
            LT_MULTI,
            &[top.to_str().unwrap(), dir.path().to_str().unwrap(), flag],
        );
        let bytes: Vec<u8> = (0..hexed.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hexed[i..i + 2], 16).unwrap())
            .collect();
        let t = Torrent::from_bytes(bytes).unwrap();
        assert_eq!(t.version(), version);
        let paths: Vec<String> = t
            .info()
            .v2_files()
            .iter()
            .map(|f| f.path().join("/"))
            .collect();
        assert_eq!(paths, ["a.bin", "c.bin", "sub/b.bin"]);
        assert!(matches!(t.info().files(), Files::Multiple(_)));
        if version == TorrentVersion::V2 {
            // v2-only: the data is the files one after the other.
            let ok = verify_source(
                t.info(),
                &all,
                all.len() as u64,
                &HashOptions::new(),
                &|_| {},
            )
            .unwrap();
            assert!(ok.is_ok(), "{ok:?}");
            let mut bad = all.clone();
            bad[20_000 + 5 + 40_000] ^= 1; // sub/b.bin, its piece 1
            let v = verify_source(
                t.info(),
                &bad,
                bad.len() as u64,
                &HashOptions::new(),
                &|_| {},
            )
            .unwrap();
            // a.bin: piece 0; c.bin: piece 1; sub/b.bin: pieces 2, 3, 4.
            assert_eq!(v.bad_pieces(), [3]);
        }
    }
}

// The command lines: `torrent create --v2 / --hybrid`, `torrent show` and `torrent verify`.

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs `s3torrent torrent NAME` and returns its stdout, failing with its stderr if it fails.
fn run_ok(name: &str, args: &[&OsStr]) -> String {
    let out = run_torrent(name, args);
    assert!(
        out.status.success(),
        "{name} {args:?} exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `torrent create FILE --piece-length PIECE [flag]` into `out`.
fn make_torrent(file: &Path, piece: u64, flag: Option<&str>, out: &Path) {
    let piece = piece.to_string();
    let mut args = vec![
        file.as_os_str(),
        OsStr::new("--piece-length"),
        OsStr::new(&piece),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--threads"),
        OsStr::new("2"),
    ];
    args.extend(flag.map(OsStr::new));
    run_ok("create", &args);
}

fn inspect_json(torrent: &Path) -> serde_json::Value {
    json(&run_ok(
        "show",
        &[torrent.as_os_str(), OsStr::new("--json")],
    ))
}

/// `torrent create --v2` and `--hybrid` against libtorrent, for sizes around
/// the block and piece boundaries: libtorrent reads our torrents with the
/// info-hashes `torrent show --json` reports, and its own `create_torrent`, with
/// the same flags over the same file and piece length, writes the very same
/// `info` bytes (so the same info-hashes) and piece layers. Only the top
/// level differs: libtorrent adds `creation date` and `created by`, which
/// are outside `info`. `verify` accepts the data against libtorrent's
/// torrents too.
#[test]
fn make_torrent_v2_and_hybrid_equal_libtorrents() {
    if !have_python_module("make_torrent_v2_and_hybrid_equal_libtorrents", "libtorrent") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (exp, piece) in [(0u64, 16384u64), (1, 65536)] {
        let sizes = sizes(piece as usize);
        let mut files = Vec::new();
        for (i, size) in sizes.iter().enumerate() {
            let sub = dir.path().join(format!("cli-{piece}-{size}"));
            std::fs::create_dir(&sub).unwrap();
            let data = random_bytes(*size, 5000 + exp * 100 + i as u64);
            files.push(write(&sub, "f.bin", &data));
        }
        let mut args = vec![piece.to_string()];
        args.extend(files.iter().map(|p| p.to_str().unwrap().to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let created = json(&python(LT_CREATE, &args));

        let mut ours = Vec::new();
        for file in &files {
            for (kind, flag) in [("v2", "--v2"), ("hybrid", "--hybrid")] {
                let out = file.with_file_name(format!("ours-{kind}.torrent"));
                make_torrent(file, piece, Some(flag), &out);
                ours.push((file.clone(), kind, out));
            }
        }
        let paths: Vec<&str> = ours.iter().map(|(_, _, p)| p.to_str().unwrap()).collect();
        let read = json(&python(LT_READ, &paths));

        for (i, ((file, kind, path), lt)) in ours.iter().zip(read.as_array().unwrap()).enumerate() {
            let size = sizes[i / 2];
            let what = format!("{kind}, {size} bytes in pieces of {piece}");
            let t = Torrent::from_bytes(std::fs::read(path).unwrap()).unwrap();
            let version: TorrentVersion = kind.parse().unwrap();
            assert_eq!(t.version(), version, "{what}");
            assert_eq!(t.info().piece_length(), piece, "{what}");

            // libtorrent reads our torrent with the hashes torrent show reports.
            let j = inspect_json(path);
            assert_eq!(j["version"], *kind, "{what}");
            assert_eq!(lt["has_v1"], version.has_v1(), "{what}");
            assert_eq!(lt["has_v2"], true, "{what}");
            let v2 = j["info_hash_v2"].as_str().unwrap();
            assert_eq!(v2.len(), 64, "{what}");
            assert_eq!(lt["v2"], v2, "{what}");
            assert_eq!(v2, t.info_hash_v2().unwrap().to_hex(), "{what}");
            if version.has_v1() {
                assert_eq!(lt["v1"], j["info_hash"], "{what}");
            } else {
                // v2-only: `info_hash` is the v2 hash truncated to 20 bytes.
                assert_eq!(j["info_hash"], v2[..40], "{what}");
            }
            assert_eq!(lt["length"], size as u64, "{what}");
            assert_eq!(lt["pieces"], j["pieces"], "{what}");

            // libtorrent's create_torrent: the same info bytes and layers.
            let theirs = &created[i / 2][*kind];
            assert!(theirs.get("error").is_none(), "{what}: {theirs}");
            assert_eq!(theirs["v2"], v2, "{what}");
            let expected_v1 = t.info_hash_v1().map(|h| h.to_hex());
            assert_eq!(theirs["v1"].as_str(), expected_v1.as_deref(), "{what}");
            let bytes = unhex(theirs["bytes"].as_str().unwrap());
            let lt_path = file.with_file_name(format!("theirs-{kind}.torrent"));
            std::fs::write(&lt_path, &bytes).unwrap();
            let lt_torrent = Torrent::from_bytes(bytes).unwrap();
            assert_eq!(lt_torrent.info_bytes(), t.info_bytes(), "{what}");
            let (a, b) = (&t.info().v2_files()[0], &lt_torrent.info().v2_files()[0]);
            assert_eq!(a.pieces_root(), b.pieces_root(), "{what}");
            assert_eq!(a.piece_layer(), b.piece_layer(), "{what}");
            assert_eq!(
                theirs["pieces_root"],
                hex(&a.pieces_root().unwrap()),
                "{what}"
            );

            // verify accepts the file against both torrents.
            for torrent in [path, &lt_path] {
                run_ok("verify", &[torrent.as_os_str(), file.as_os_str()]);
            }
        }
    }

    // The AWS profile takes --v2 too; libtorrent reads it the same way.
    let file = write(dir.path(), "obj", &random_bytes(700_000, 77));
    let out = dir.path().join("aws-v2.torrent");
    run_ok(
        "create",
        &[
            file.as_os_str(),
            OsStr::new("--bucket"),
            OsStr::new("b"),
            OsStr::new("--key"),
            OsStr::new("dir/obj"),
            OsStr::new("--v2"),
            OsStr::new("-o"),
            out.as_os_str(),
        ],
    );
    let j = inspect_json(&out);
    let lt = &json(&python(LT_READ, &[out.to_str().unwrap()]))[0];
    assert_eq!(j["piece_length"], 262_144);
    assert_eq!(j["version"], "v2");
    assert_eq!(lt["has_v1"], false);
    assert_eq!(lt["v2"], j["info_hash_v2"]);
}

/// `torrent show` on torrents of each version: the version and v2 info-hash in
/// the JSON (`null` for v1) and in the human output, the v1 fields as before.
#[test]
fn inspect_shows_version_and_v2_info_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "data.bin", &random_bytes(100_000, 31));
    for (flag, version) in [
        (None, TorrentVersion::V1),
        (Some("--v2"), TorrentVersion::V2),
        (Some("--hybrid"), TorrentVersion::Hybrid),
    ] {
        let out = dir.path().join(format!("{version}.torrent"));
        make_torrent(&file, 16384, flag, &out);
        let t = Torrent::from_bytes(std::fs::read(&out).unwrap()).unwrap();
        let j = inspect_json(&out);
        assert_eq!(j["version"], version.to_string());
        assert_eq!(j["info_hash"], t.info_hash().to_hex());
        assert_eq!(j["name"], "data.bin");
        assert_eq!(j["length"], 100_000);
        assert_eq!(j["piece_length"], 16384);
        assert_eq!(j["pieces"], 7);
        assert_eq!(j["magnet"], t.magnet());
        let human = run_ok("show", &[out.as_os_str()]);
        assert!(
            human.contains(&format!("version:      {version}\n")),
            "{human}"
        );
        assert!(
            human.contains(&format!("info-hash:    {}\n", t.info_hash())),
            "{human}"
        );
        assert!(human.contains(&format!("magnet:       {}\n", t.magnet())));
        match t.info_hash_v2() {
            None => {
                assert_eq!(version, TorrentVersion::V1);
                assert!(j["info_hash_v2"].is_null(), "{j}");
                assert!(!human.contains("info-hash v2"), "{human}");
                assert!(!t.magnet().contains("btmh"));
            }
            Some(v2) => {
                assert_eq!(j["info_hash_v2"], v2.to_hex());
                assert_eq!(v2.to_hex().len(), 64);
                assert!(human.contains(&format!("info-hash v2: {}\n", v2.to_hex())));
                assert!(
                    t.magnet()
                        .contains(&format!("xt=urn:btmh:1220{}", v2.to_hex()))
                );
                assert_eq!(t.magnet().contains("xt=urn:btih:"), version.has_v1());
            }
        }
    }
}

/// `verify` against `--v2` torrents (SHA-256 merkle layers; one-piece files
/// against their pieces root) and `--hybrid` ones: a flipped byte is
/// reported in its piece, data cut short fails in the pieces it cannot fill.
#[test]
fn verify_finds_a_flipped_byte_in_v2_and_hybrid_torrents() {
    let dir = tempfile::tempdir().unwrap();
    let piece = 32 * 1024;
    for flag in ["--v2", "--hybrid"] {
        // Ten full pieces and a short one; then a file of one short piece.
        for (size, flips) in [
            (
                10 * piece + 100,
                vec![
                    (7 * piece + 5, 7usize),
                    (3 * piece + 16384, 3), // the second 16 KiB block of piece 3
                    (10 * piece + 99, 10),
                    (0, 0),
                    (piece - 1, 0),
                ],
            ),
            (20_000, vec![(0, 0), (19_999, 0), (16_384, 0)]),
        ] {
            let mut data = random_bytes(size, size as u64);
            let file = write(dir.path(), "data.bin", &data);
            let torrent = dir.path().join(format!("data{flag}-{size}.torrent"));
            make_torrent(&file, piece as u64, Some(flag), &torrent);
            let what = format!("{flag}, {size} bytes");
            let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{what}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            for (at, bad) in flips {
                data[at] ^= 0x10;
                std::fs::write(&file, &data).unwrap();
                let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
                assert_eq!(out.status.code(), Some(1), "{what}, byte {at}");
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout).trim(),
                    format!("bad pieces: {bad}"),
                    "{what}, byte {at}"
                );
                data[at] ^= 0x10;
            }
            if size > 8 * piece {
                std::fs::write(&file, &data[..8 * piece]).unwrap();
                let out = run_torrent("verify", &[torrent.as_os_str(), file.as_os_str()]);
                assert_eq!(out.status.code(), Some(1), "{what}, cut short");
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(stdout.contains("bad pieces: 8 9 10"), "{what}: {stdout}");
            }
        }
    }
}

/// v2 and hybrid torrents need a power-of-two piece length of at least
/// 16 KiB; `--v2` and `--hybrid` exclude each other. Usage errors exit 2
/// and write nothing.
#[test]
fn make_torrent_refuses_bad_v2_piece_lengths_and_both_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "data.bin", &random_bytes(50_000, 3));
    let out = dir.path().join("out.torrent");
    for args in [
        vec!["--v2", "--piece-length", "100000"],
        vec!["--hybrid", "--piece-length", "49152"],
        vec!["--v2", "--piece-length", "8192"],
        vec!["--v2", "--hybrid"],
        vec!["--hybrid", "--v2"],
    ] {
        let mut argv = vec![file.as_os_str(), OsStr::new("-o"), out.as_os_str()];
        argv.extend(args.iter().map(OsStr::new));
        let result = run_torrent("create", &argv);
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&result.stderr);
        let expected = if args.contains(&"--piece-length") {
            "needs a power of two of at least 16384"
        } else {
            "cannot be used with"
        };
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote a torrent");
    }
    // A power of two is fine, and so is `auto`.
    for piece in ["65536", "auto"] {
        run_ok(
            "create",
            &[
                file.as_os_str(),
                OsStr::new("-o"),
                out.as_os_str(),
                OsStr::new("--v2"),
                OsStr::new("--piece-length"),
                OsStr::new(piece),
            ],
        );
        let t = Torrent::from_bytes(std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(t.version(), TorrentVersion::V2);
    }
}
