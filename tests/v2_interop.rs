//! v2 (BEP 52) and hybrid torrents against python libtorrent: it reads ours
//! with the same v1 and v2 info-hashes; its own `create_torrent` gives the
//! same `pieces root`, piece layers and info-hashes as ours for the same
//! file and piece size; we read, and verify data against, its torrents
//! (multi-file hybrid ones with pad files too); and magnets agree.

mod support;

use std::path::{Path, PathBuf};

use s3torrent_metainfo::{
    Files, HashOptions, PieceLength, Torrent, TorrentBuilder, TorrentHasher, TorrentVersion,
    hash_source_versioned, verify_source,
};
use support::{have_python_module, python, random_bytes};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// libtorrent's `create_torrent` over one file: prints, per file size, the
/// v2-only and hybrid torrents' hashes as JSON (or the error it raises).
const LT_CREATE: &str = r#"
import json, os, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
piece = int(sys.argv[1])
out = []
for path in sys.argv[2:]:
    row = {}
    for name, flags in (("v2", lt.create_torrent.v2_only), ("hybrid", 0)):
        try:
            fs = lt.file_storage()
            lt.add_files(fs, path)
            ct = lt.create_torrent(fs, piece, flags=flags)
            lt.set_piece_hashes(ct, os.path.dirname(path))
            e = ct.generate()
        except Exception as ex:
            row[name] = {"error": str(ex)}
            continue
        info = e[b"info"]
        (fname, node), = info[b"file tree"].items()
        f = node[b""]
        ti = lt.torrent_info(lt.bencode(e))
        row[name] = {
            "file": fname.decode(),
            "length": f[b"length"],
            "pieces_root": f.get(b"pieces root", b"").hex(),
            "piece_layers": {k.hex(): v.hex() for k, v in e[b"piece layers"].items()},
            "v1": str(ti.info_hashes().v1) if ti.info_hashes().has_v1() else None,
            "v2": str(ti.info_hashes().v2),
            "bytes": lt.bencode(e).hex(),
        }
    out.append(row)
print(json.dumps(out))
"#;

/// libtorrent reading torrent files: info-hashes, sizes and the magnet it
/// makes. Its view of a v2 torrent ends with a tail pad file up to the piece
/// boundary (which `total_size` counts), so lengths and files are counted
/// without pad files.
const LT_READ: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
out = []
for path in sys.argv[1:]:
    ti = lt.torrent_info(path)
    fs = ti.files()
    real = [i for i in range(fs.num_files()) if not fs.file_flags(i) & fs.flag_pad_file]
    ih = ti.info_hashes()
    out.append({
        "has_v1": ih.has_v1(),
        "has_v2": ih.has_v2(),
        "v1": str(ih.v1),
        "v2": str(ih.v2),
        "best": str(ti.info_hash()),
        "name": ti.name(),
        "length": sum(fs.file_size(i) for i in real),
        "piece_length": ti.piece_length(),
        "pieces": ti.num_pieces(),
        "files": len(real),
        "magnet": lt.make_magnet_uri(ti),
    })
print(json.dumps(out))
"#;

/// libtorrent parsing magnet links: the info-hashes it finds.
const LT_MAGNET: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
out = []
for uri in sys.argv[1:]:
    p = lt.parse_magnet_uri(uri)
    ih = p.info_hashes
    out.append({"has_v1": ih.has_v1(), "has_v2": ih.has_v2(), "v1": str(ih.v1),
                "v2": str(ih.v2), "name": p.name})
print(json.dumps(out))
"#;

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
            let hashes = hash_source_versioned(
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
                    .build_hashes(&hashes)
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
            .build_hashes(&hashes)
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
                let t = builder.version(version).build_hashes(&hashes).unwrap();
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
            .build_hashes(&hashes)
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
    const LT_MULTI: &str = r#"
import sys, warnings
warnings.simplefilter("ignore")
import libtorrent as lt
fs = lt.file_storage()
lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, 32768, flags=int(sys.argv[3]))
lt.set_piece_hashes(ct, sys.argv[2])
sys.stdout.write(lt.bencode(ct.generate()).hex())
"#;
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
