//! BitTorrent v2 (BEP 52) and hybrid torrents against an oracle: a merkle
//! tree written plainly here, as the whole tree of the file (every layer
//! built from the zero-padded leaf row), never our own per-piece code.
//! Covers the streaming [`TorrentHasher`], the multi-core
//! [`hash_source`], the builder's bytes, parsing (with a table of
//! malformed v2 torrents), info-hashes, magnets and verification.

use bytes::Bytes;
use proptest::prelude::*;
use s3torrent_bencode::{Dict, OwnedValue, Value};
use s3torrent_metainfo::{
    Error, Files, HashOptions, InfoHash, InfoHashV2, MAX_HASHES, PieceLength, PieceTree, Pieces,
    PiecesV2, Torrent, TorrentBuilder, TorrentHasher, TorrentHashes, TorrentVersion, Verifier,
    hash_source, verify_source,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};

const KIB16: usize = 16 * 1024;

type H = [u8; 32];

/// The oracle: BEP 52 read literally. The leaves are the SHA-256 of each
/// 16 KiB block (the last as it is); the leaf row is padded with zero hashes
/// to a power of two, and to at least one piece when the file is larger than
/// a piece; each layer up hashes pairs. Returns the `pieces root` (`None`
/// for no data) and, for a file larger than one piece, the layer whose
/// hashes each cover one piece, cut to the pieces that hold data.
fn oracle(data: &[u8], piece: usize) -> (Option<H>, Vec<H>) {
    if data.is_empty() {
        return (None, Vec::new());
    }
    let mut row: Vec<H> = data
        .chunks(KIB16)
        .map(|b| Sha256::digest(b).into())
        .collect();
    let blocks_per_piece = piece / KIB16;
    let multi_piece = data.len() > piece;
    let mut width = row.len().next_power_of_two();
    if multi_piece {
        width = width.max(blocks_per_piece);
    }
    row.resize(width, [0u8; 32]);
    let mut layers = vec![row];
    while layers.last().unwrap().len() > 1 {
        let below = layers.last().unwrap();
        let above = below
            .chunks(2)
            .map(|p| {
                let mut h = Sha256::new();
                h.update(p[0]);
                h.update(p[1]);
                h.finalize().into()
            })
            .collect();
        layers.push(above);
    }
    let root = layers.last().unwrap()[0];
    if !multi_piece {
        return (Some(root), Vec::new());
    }
    let pieces = data.len().div_ceil(piece);
    let layer = layers[blocks_per_piece.trailing_zeros() as usize][..pieces].to_vec();
    (Some(root), layer)
}

fn sha1_pieces(data: &[u8], piece: usize) -> Vec<u8> {
    data.chunks(piece)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect()
}

fn data(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64 ^ len as u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

fn pl(bytes: usize) -> PieceLength {
    PieceLength::new(bytes as u64).unwrap()
}

fn assert_oracle(v2: &PiecesV2, data: &[u8], piece: usize) {
    let (root, layer) = oracle(data, piece);
    let what = format!("{} bytes in pieces of {piece}", data.len());
    assert_eq!(v2.length(), data.len() as u64, "{what}");
    assert_eq!(v2.piece_length(), piece as u64, "{what}");
    assert_eq!(v2.pieces_root(), root, "pieces root of {what}");
    assert_eq!(v2.piece_layer(), layer.concat(), "piece layer of {what}");
    assert_eq!(v2.count(), data.len().div_ceil(piece) as u64);
}

fn streamed(data: &[u8], piece: usize, version: TorrentVersion, chunk: usize) -> TorrentHashes {
    let mut h = TorrentHasher::new(pl(piece), version);
    for c in data.chunks(chunk.max(1)) {
        h.update(c);
    }
    assert_eq!(h.bytes_hashed(), data.len() as u64);
    h.finish()
}

fn multi(
    data: &[u8],
    piece: usize,
    version: TorrentVersion,
    threads: usize,
    buffer: usize,
) -> TorrentHashes {
    let options = HashOptions::new().threads(threads).buffer_size(buffer);
    hash_source(
        data,
        data.len() as u64,
        pl(piece),
        version,
        &options,
        &|_| {},
    )
    .unwrap()
}

/// Sizes around the block and piece boundaries of `piece`.
fn sizes(piece: usize) -> Vec<usize> {
    let mut s = vec![
        0,
        1,
        KIB16 - 1,
        KIB16,
        KIB16 + 1,
        piece - 1,
        piece,
        piece + 1,
        2 * piece,
        2 * piece + KIB16 + 1,
        5 * piece + 3 * KIB16 - 7,
    ];
    s.sort_unstable();
    s.dedup();
    s
}

#[test]
fn every_path_equals_the_oracle() {
    for piece in [KIB16, 2 * KIB16, 4 * KIB16, 16 * KIB16] {
        for len in sizes(piece) {
            let d = data(len);
            for chunk in [1000, KIB16, 3 * KIB16 + 5, usize::MAX] {
                let v2 = streamed(&d, piece, TorrentVersion::V2, chunk);
                assert_eq!(v2.version(), TorrentVersion::V2);
                assert!(v2.v1().is_none());
                assert_oracle(v2.v2().unwrap(), &d, piece);
                let hybrid = streamed(&d, piece, TorrentVersion::Hybrid, chunk);
                assert_eq!(hybrid.v2(), v2.v2());
                assert_eq!(hybrid.v1().unwrap().as_bytes(), sha1_pieces(&d, piece));
            }
            for (threads, buffer) in [(1, 4096), (2, KIB16), (3, 100_000), (2, 1 << 20)] {
                for version in [TorrentVersion::V2, TorrentVersion::Hybrid] {
                    let h = multi(&d, piece, version, threads, buffer);
                    assert_eq!(h, streamed(&d, piece, version, usize::MAX));
                    assert_oracle(h.v2().unwrap(), &d, piece);
                }
            }
            let v1 = multi(&d, piece, TorrentVersion::V1, 2, 1 << 20);
            assert_eq!(v1.version(), TorrentVersion::V1);
            assert_eq!(v1.v1().unwrap().as_bytes(), sha1_pieces(&d, piece));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_length_and_cut_equals_the_oracle(
        len in 0usize..300_000,
        exp in 14u32..17,
        cuts in proptest::collection::vec(1usize..40_000, 1..8),
        threads in 1usize..4,
    ) {
        let piece = 1usize << exp;
        let d = data(len);
        let mut h = TorrentHasher::new(pl(piece), TorrentVersion::Hybrid);
        let mut rest = &d[..];
        let mut i = 0;
        while !rest.is_empty() {
            let n = cuts[i % cuts.len()].min(rest.len());
            h.update(&rest[..n]);
            rest = &rest[n..];
            i += 1;
        }
        let h = h.finish();
        let (root, layer) = oracle(&d, piece);
        prop_assert_eq!(h.v2().unwrap().pieces_root(), root);
        prop_assert_eq!(h.v2().unwrap().piece_layer(), &layer.concat()[..]);
        prop_assert_eq!(h.v1().unwrap().as_bytes(), &sha1_pieces(&d, piece)[..]);
        prop_assert_eq!(&multi(&d, piece, TorrentVersion::Hybrid, threads, 20_000), &h);
    }
}

#[test]
fn a_file_of_one_block_has_the_data_hash_as_root() {
    for len in [1, 100, KIB16 - 1, KIB16] {
        let d = data(len);
        let h = streamed(&d, 4 * KIB16, TorrentVersion::V2, usize::MAX);
        let expected: H = Sha256::digest(&d).into();
        assert_eq!(h.v2().unwrap().pieces_root(), Some(expected), "{len} bytes");
        assert!(h.v2().unwrap().piece_layer().is_empty());
    }
}

#[test]
fn a_file_of_one_piece_pads_only_to_its_own_blocks() {
    // Three blocks in a 64 KiB piece: the root is over 4 leaves, not the
    // piece's subtree of 4 leaves padded further, and there is no layer.
    let d = data(3 * KIB16 - 10);
    let leaves: Vec<H> = d.chunks(KIB16).map(|b| Sha256::digest(b).into()).collect();
    let node = |a: &H, b: &H| -> H {
        Sha256::new()
            .chain_update(a)
            .chain_update(b)
            .finalize()
            .into()
    };
    let expected = node(&node(&leaves[0], &leaves[1]), &node(&leaves[2], &[0; 32]));
    let h = streamed(&d, 4 * KIB16, TorrentVersion::V2, usize::MAX);
    assert_eq!(h.v2().unwrap().pieces_root(), Some(expected));
    // In 256 KiB pieces the same file has the same root: padding stops at
    // the file's own power of two.
    let h = streamed(&d, 16 * KIB16, TorrentVersion::V2, usize::MAX);
    assert_eq!(h.v2().unwrap().pieces_root(), Some(expected));
}

#[test]
fn the_last_piece_is_padded_within_its_subtree() {
    // Two pieces of 32 KiB, the second holding one block: its layer hash is
    // over (leaf, zero), and the root over the two piece hashes.
    let d = data(2 * KIB16 + 1);
    let leaves: Vec<H> = d.chunks(KIB16).map(|b| Sha256::digest(b).into()).collect();
    let node = |a: &H, b: &H| -> H {
        Sha256::new()
            .chain_update(a)
            .chain_update(b)
            .finalize()
            .into()
    };
    let p0 = node(&leaves[0], &leaves[1]);
    let p1 = node(&leaves[2], &[0; 32]);
    let h = streamed(&d, 2 * KIB16, TorrentVersion::V2, usize::MAX);
    let v2 = h.v2().unwrap();
    assert_eq!(v2.piece_layer(), [p0, p1].concat());
    assert_eq!(v2.pieces_root(), Some(node(&p0, &p1)));
    // Three pieces: the layer row is padded with a whole zero piece's root.
    let d = data(4 * KIB16 + 1);
    let leaves: Vec<H> = d.chunks(KIB16).map(|b| Sha256::digest(b).into()).collect();
    let zero_piece = node(&[0; 32], &[0; 32]);
    let p = [
        node(&leaves[0], &leaves[1]),
        node(&leaves[2], &leaves[3]),
        node(&leaves[4], &[0; 32]),
    ];
    let h = streamed(&d, 2 * KIB16, TorrentVersion::V2, usize::MAX);
    let v2 = h.v2().unwrap();
    assert_eq!(v2.piece_layer(), p.concat());
    assert_eq!(
        v2.pieces_root(),
        Some(node(&node(&p[0], &p[1]), &node(&p[2], &zero_piece)))
    );
}

#[test]
fn from_parts_checks_the_layer() {
    let d = data(5 * KIB16 + 3);
    let h = streamed(&d, KIB16, TorrentVersion::V2, usize::MAX);
    let v2 = h.v2().unwrap();
    let again = PiecesV2::from_parts(
        PieceLength::MIN,
        v2.length(),
        v2.pieces_root(),
        v2.piece_layer().to_vec(),
    )
    .unwrap();
    assert_eq!(&again, v2);

    let mut bad = v2.piece_layer().to_vec();
    bad[40] ^= 1;
    let e = PiecesV2::from_parts(PieceLength::MIN, v2.length(), v2.pieces_root(), bad);
    assert!(e.unwrap_err().to_string().contains("`piece layers`"));
    let short = v2.piece_layer()[32..].to_vec();
    let e = PiecesV2::from_parts(PieceLength::MIN, v2.length(), v2.pieces_root(), short);
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("need 6 hashes of 32 bytes")
    );
    assert!(PiecesV2::from_parts(PieceLength::MIN, 5, None, vec![]).is_err());
    assert!(PiecesV2::from_parts(PieceLength::MIN, 0, Some([0; 32]), vec![]).is_err());
    assert!(PiecesV2::from_parts(PieceLength::MIN, 5, Some([0; 32]), vec![0; 32]).is_err());
    let empty = PiecesV2::from_parts(PieceLength::MIN, 0, None, vec![]).unwrap();
    assert_eq!(empty.count(), 0);
}

#[test]
fn hybrid_hashes_must_be_of_the_same_data() {
    let d = data(50_000);
    let mut v1 = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
    v1.update(&d);
    let v2 = streamed(&d, KIB16, TorrentVersion::V2, usize::MAX);
    let v1 = v1.finish().v1().unwrap().clone();
    let both = TorrentHashes::hybrid(v1.clone(), v2.v2().unwrap().clone()).unwrap();
    assert_eq!(
        both,
        streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX)
    );
    let other = streamed(&d[1..], KIB16, TorrentVersion::V2, usize::MAX);
    assert!(TorrentHashes::hybrid(v1.clone(), other.v2().unwrap().clone()).is_err());
    // Built by hand, mismatched halves are refused by the builder too.
    let bad = TorrentHashes::Hybrid(v1, other.v2().unwrap().clone());
    assert!(TorrentBuilder::plain("a").build(&bad).is_err());
}

/// The bytes of a v2 torrent of `data` named `a`, written by hand.
fn hand_written_v2(data: &[u8], piece: usize, hybrid: bool) -> Vec<u8> {
    let (root, layer) = oracle(data, piece);
    let root = root.unwrap();
    let mut out = b"d4:infod9:file treed1:ad0:d6:lengthi".to_vec();
    out.extend_from_slice(format!("{}e11:pieces root32:", data.len()).as_bytes());
    out.extend_from_slice(&root);
    out.extend_from_slice(b"eee");
    if hybrid {
        out.extend_from_slice(format!("6:lengthi{}e", data.len()).as_bytes());
    }
    out.extend_from_slice(
        format!("12:meta versioni2e4:name1:a12:piece lengthi{piece}e").as_bytes(),
    );
    if hybrid {
        let p = sha1_pieces(data, piece);
        out.extend_from_slice(format!("6:pieces{}:", p.len()).as_bytes());
        out.extend_from_slice(&p);
    }
    out.extend_from_slice(b"e12:piece layersd");
    if !layer.is_empty() {
        out.extend_from_slice(b"32:");
        out.extend_from_slice(&root);
        out.extend_from_slice(format!("{}:", layer.len() * 32).as_bytes());
        out.extend_from_slice(&layer.concat());
    }
    out.extend_from_slice(b"ee");
    out
}

#[test]
fn builder_bytes_equal_hand_written_torrents() {
    for (len, piece) in [
        (5, KIB16),
        (KIB16, KIB16),
        (40_000, KIB16),
        (300_000, 4 * KIB16),
    ] {
        let d = data(len);
        let hashes = streamed(&d, piece, TorrentVersion::Hybrid, usize::MAX);
        for (version, hybrid) in [(TorrentVersion::V2, false), (TorrentVersion::Hybrid, true)] {
            let b = TorrentBuilder::plain("a").version(version);
            let bytes = b.to_bytes(&hashes).unwrap();
            assert_eq!(
                bytes,
                hand_written_v2(&d, piece, hybrid),
                "{version} of {len} bytes"
            );
            let t = b.build(&hashes).unwrap();
            assert_eq!(t.as_bytes(), &bytes);
            assert_eq!(t.version(), version);
        }
    }
}

#[test]
fn v1_bytes_are_unchanged() {
    let d = data(100_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX);
    let pieces = TorrentHashes::V1(hashes.v1().unwrap().clone());
    for b in [
        TorrentBuilder::plain("x")
            .tracker("http://t/a")
            .comment("c"),
        TorrentBuilder::aws("bucket", "dir/key"),
    ] {
        let v1 = b.to_bytes(&pieces).unwrap();
        // Hybrid hashes build the same v1 torrent when asked for v1.
        let asked = b.clone().version(TorrentVersion::V1);
        assert_eq!(asked.to_bytes(&hashes).unwrap(), v1);
        assert_eq!(asked.to_bytes(&pieces).unwrap(), v1);
        // Unasked, they build a hybrid one.
        assert_eq!(b.build(&hashes).unwrap().version(), TorrentVersion::Hybrid);
        let t = b.build(&pieces).unwrap();
        assert_eq!(t.version(), TorrentVersion::V1);
        assert_eq!(t.info_hash_v1(), Some(t.info_hash()));
        assert_eq!(t.info_hash_v2(), None);
        assert!(t.info().v2_files().is_empty());
        assert!(!String::from_utf8_lossy(&v1).contains("meta version"));
    }
}

#[test]
fn the_builder_refuses_what_it_cannot_build() {
    let d = data(1000);
    let v1: TorrentHashes = {
        let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
        h.update(&d);
        h.finish()
    };
    let v2 = streamed(&d, KIB16, TorrentVersion::V2, usize::MAX);
    let msg = |r: Result<Torrent, Error>| r.unwrap_err().to_string();
    let b = TorrentBuilder::plain("a");
    assert!(msg(b.clone().version(TorrentVersion::V2).build(&v1)).contains("SHA-256"));
    assert!(msg(b.clone().version(TorrentVersion::Hybrid).build(&v1)).contains("SHA-256"));
    assert!(msg(b.clone().version(TorrentVersion::Hybrid).build(&v2)).contains("SHA-1"));
    assert!(msg(b.clone().version(TorrentVersion::V1).build(&v2)).contains("SHA-1"));
    // Unasked, the hashes choose: v2 hashes build a v2 torrent.
    assert_eq!(b.build(&v2).unwrap().version(), TorrentVersion::V2);
    let empty = streamed(&[], KIB16, TorrentVersion::Hybrid, usize::MAX);
    assert!(msg(b.clone().version(TorrentVersion::V2).build(&empty)).contains("0-byte"));
    let bad_name = TorrentBuilder::plain("a/b").version(TorrentVersion::V2);
    assert!(msg(bad_name.build(&v2)).contains("contains `/`"));
    let aws = TorrentBuilder::aws("b", "k")
        .version(TorrentVersion::V2)
        .comment("no");
    assert!(msg(aws.build(&v2)).contains("AWS profile"));
}

#[test]
fn the_aws_profile_builds_v2_too() {
    let d = data(70_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX);
    let t = TorrentBuilder::aws("bucket", "a/b.bin")
        .version(TorrentVersion::Hybrid)
        .web_seed("http://s/")
        .build(&hashes)
        .unwrap();
    assert_eq!(t.info().aws_key(), Some("a/b.bin"));
    assert_eq!(t.info().v2_files()[0].path(), ["a_b.bin"]);
    let keys: Vec<&[u8]> = t
        .value()
        .as_dict()
        .unwrap()
        .iter()
        .map(|(k, _)| &k[..])
        .collect();
    assert_eq!(keys, [&b"info"[..], b"piece layers", b"url-list"]);
}

#[test]
fn parsed_v2_and_hybrid_torrents() {
    let d = data(100_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX);
    let v2 = TorrentBuilder::plain("f.bin")
        .version(TorrentVersion::V2)
        .tracker("http://t/announce")
        .build(&hashes)
        .unwrap();
    let info_v2 = InfoHashV2::from_bytes(Sha256::digest(v2.info_bytes()).into());
    assert_eq!(v2.info_hash_v2(), Some(info_v2));
    assert_eq!(v2.info_hash_v1(), None);
    assert_eq!(v2.info_hash(), info_v2.truncated());
    assert_eq!(v2.info().files(), &Files::Single { length: 100_000 });
    assert_eq!(v2.info().length(), 100_000);
    assert_eq!(v2.info().piece_count(), 7);
    assert_eq!(v2.info().pieces(), b"");
    assert_eq!(v2.info().piece_hash(0), None);
    let file = &v2.info().v2_files()[0];
    assert_eq!(file.path(), ["f.bin"]);
    assert_eq!(file.length(), 100_000);
    assert_eq!(file.pieces_root(), hashes.v2().unwrap().pieces_root());
    assert_eq!(file.piece_layer(), hashes.v2().unwrap().piece_layer());
    assert_eq!(
        v2.magnet(),
        format!(
            "magnet:?xt=urn:btmh:1220{}&dn=f.bin&tr=http%3A%2F%2Ft%2Fannounce",
            info_v2.to_hex()
        )
    );

    let hybrid = TorrentBuilder::plain("f.bin")
        .version(TorrentVersion::Hybrid)
        .build(&hashes)
        .unwrap();
    let v1 = InfoHash::of_info_bytes(hybrid.info_bytes());
    let v2h = InfoHashV2::of_info_bytes(hybrid.info_bytes());
    assert_eq!(hybrid.version(), TorrentVersion::Hybrid);
    assert_eq!(hybrid.info_hash(), v1);
    assert_eq!(hybrid.info_hash_v1(), Some(v1));
    assert_eq!(hybrid.info_hash_v2(), Some(v2h));
    assert_eq!(hybrid.info().piece_count(), 7);
    assert_eq!(hybrid.info().pieces(), hashes.v1().unwrap().as_bytes());
    assert_eq!(
        hybrid.magnet(),
        format!("magnet:?xt=urn:btih:{v1}&xt=urn:btmh:1220{v2h}&dn=f.bin")
    );
}

#[test]
fn info_hash_v2_text_forms() {
    let h = InfoHashV2::from_bytes(std::array::from_fn(|i| i as u8 * 7));
    assert_eq!(h.to_hex().parse::<InfoHashV2>().unwrap(), h);
    assert_eq!(h.to_hex().to_uppercase().parse::<InfoHashV2>().unwrap(), h);
    assert_eq!(h.to_multihash_hex().parse::<InfoHashV2>().unwrap(), h);
    assert_eq!(format!("{h}"), h.to_hex());
    assert!(format!("{h:?}").starts_with("InfoHashV2("));
    for bad in [
        "",
        "12",
        &"g".repeat(64),
        &format!("1221{}", h.to_hex()),
        &h.to_hex()[1..],
    ] {
        assert!(bad.parse::<InfoHashV2>().is_err(), "{bad:?}");
    }
}

#[test]
fn torrent_version_text_forms() {
    for v in [
        TorrentVersion::V1,
        TorrentVersion::V2,
        TorrentVersion::Hybrid,
    ] {
        assert_eq!(v.to_string().parse::<TorrentVersion>().unwrap(), v);
    }
    assert_eq!("V2".parse::<TorrentVersion>().unwrap(), TorrentVersion::V2);
    assert_eq!("1".parse::<TorrentVersion>().unwrap(), TorrentVersion::V1);
    assert!("v3".parse::<TorrentVersion>().is_err());
}

// ---- Hand-made torrents, for parsing and verification ----

fn b(s: &[u8]) -> Bytes {
    Bytes::copy_from_slice(s)
}

fn int(n: i64) -> OwnedValue {
    Value::int(n)
}

fn bytes(s: &[u8]) -> OwnedValue {
    Value::bytes(b(s))
}

fn dict(entries: Vec<(&[u8], OwnedValue)>) -> OwnedValue {
    Value::dict(
        entries
            .into_iter()
            .map(|(k, v)| (b(k), v))
            .collect::<Dict<Bytes>>(),
    )
}

fn file_node(len: u64, root: Option<H>) -> OwnedValue {
    let mut f = vec![(&b"length"[..], int(len as i64))];
    if let Some(r) = root {
        f.push((b"pieces root", bytes(&r)));
    }
    dict(vec![(b"", dict(f))])
}

/// A v2-only torrent of several files (each given by path and data), built
/// by hand from the oracle, with a folder and a 0-byte file.
fn multi_file_v2(files: &[(&[&str], &[u8])], piece: usize) -> Vec<u8> {
    let mut tree = Dict::<Bytes>::new();
    let mut layers = Dict::<Bytes>::new();
    for (path, data) in files {
        let (root, layer) = oracle(data, piece);
        if !layer.is_empty() {
            layers.insert(b(&root.unwrap()), bytes(&layer.concat()));
        }
        // Insert the path's node, creating folders.
        fn put(node: &mut Dict<Bytes>, path: &[&str], leaf: OwnedValue) {
            if path.len() == 1 {
                node.insert(b(path[0].as_bytes()), leaf);
                return;
            }
            let mut child = match node.remove(path[0]) {
                Some(v) => v.as_dict().unwrap().clone(),
                None => Dict::new(),
            };
            put(&mut child, &path[1..], leaf);
            node.insert(b(path[0].as_bytes()), Value::dict(child));
        }
        put(&mut tree, path, file_node(data.len() as u64, root));
    }
    let info = dict(vec![
        (b"file tree", Value::dict(tree)),
        (b"meta version", int(2)),
        (b"name", bytes(b"folder")),
        (b"piece length", int(piece as i64)),
    ]);
    dict(vec![
        (b"info", info),
        (b"piece layers", Value::dict(layers)),
    ])
    .to_vec()
}

#[test]
fn multi_file_v2_torrents_parse_and_verify() {
    let a = data(3 * KIB16 + 5); // 2 pieces of 32 KiB
    let c = data(100); // 1 piece
    let e = data(5 * KIB16); // 3 pieces
    let files: Vec<(&[&str], &[u8])> = vec![
        (&["a.bin"], &a),
        (&["b.empty"], &[]),
        (&["dir", "c.bin"], &c),
        (&["dir", "e.bin"], &e),
    ];
    let bytes = multi_file_v2(&files, 2 * KIB16);
    let t = Torrent::from_bytes(bytes).unwrap();
    assert_eq!(t.version(), TorrentVersion::V2);
    let paths: Vec<String> = t
        .info()
        .v2_files()
        .iter()
        .map(|f| f.path().join("/"))
        .collect();
    assert_eq!(paths, ["a.bin", "b.empty", "dir/c.bin", "dir/e.bin"]);
    let Files::Multiple(entries) = t.info().files() else {
        panic!("several files")
    };
    assert_eq!(entries.len(), 4);
    assert_eq!(t.info().v2_files()[1].pieces_root(), None);
    assert_eq!(t.info().piece_count(), 2 + 1 + 3);
    assert_eq!(t.info().length(), (a.len() + c.len() + e.len()) as u64);

    let all = [&a[..], &c[..], &e[..]].concat();
    let check = |d: &[u8]| {
        let mut v = Verifier::new(t.info());
        for chunk in d.chunks(7000) {
            v.update(chunk);
        }
        let streamed = v.finish();
        for threads in [1, 2] {
            let options = HashOptions::new().threads(threads).buffer_size(20_000);
            let multi = verify_source(t.info(), d, d.len() as u64, &options, &|_| {}).unwrap();
            assert_eq!(multi, streamed);
        }
        streamed
    };
    let ok = check(&all);
    assert!(ok.is_ok(), "{ok:?}");

    // One byte in each of a's piece 1, c, and e's piece 2.
    let mut bad = all.clone();
    bad[2 * KIB16 + 1] ^= 1;
    bad[a.len() + 50] ^= 1;
    bad[a.len() + c.len() + 4 * KIB16 + 9] ^= 1;
    assert_eq!(check(&bad).bad_pieces(), [1, 2, 5]);

    // Short data: the rest of e is missing; extra data: not ok, no bad piece.
    let short = check(&all[..all.len() - KIB16]);
    assert_eq!(short.bad_pieces(), [5]);
    assert!(!short.is_ok());
    let mut long = all.clone();
    long.push(0);
    let long = check(&long);
    assert!(long.bad_pieces().is_empty() && !long.is_ok());
    assert_eq!(check(&[]).bad_pieces(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn single_file_v2_verification() {
    for (len, piece) in [(10, KIB16), (3 * KIB16, 4 * KIB16), (200_000, 2 * KIB16)] {
        let d = data(len);
        let hashes = streamed(&d, piece, TorrentVersion::V2, usize::MAX);
        let t = TorrentBuilder::plain("f")
            .version(TorrentVersion::V2)
            .build(&hashes)
            .unwrap();
        let verify = |d: &[u8]| {
            let mut v = Verifier::new(t.info());
            v.update(d);
            let s = v.finish();
            let options = HashOptions::new().threads(2);
            assert_eq!(
                verify_source(t.info(), d, d.len() as u64, &options, &|_| {}).unwrap(),
                s
            );
            s
        };
        assert!(verify(&d).is_ok());
        let mut bad = d.clone();
        bad[len - 1] ^= 0x80;
        let last = (len.div_ceil(piece) - 1) as u64;
        assert_eq!(verify(&bad).bad_pieces(), [last]);
        assert_eq!(verify(&d[..len - 1]).bad_pieces(), [last]);
    }
}

#[test]
fn hybrid_torrents_verify_both_views() {
    let d = data(100_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX);
    let t = TorrentBuilder::plain("f")
        .version(TorrentVersion::Hybrid)
        .build(&hashes)
        .unwrap();
    let check = |t: &Torrent, d: &[u8]| {
        let mut v = Verifier::new(t.info());
        for chunk in d.chunks(7_777) {
            v.update(chunk);
        }
        let s = v.finish();
        let options = HashOptions::new().threads(2);
        assert_eq!(
            verify_source(t.info(), d, d.len() as u64, &options, &|_| {}).unwrap(),
            s
        );
        s
    };
    assert!(check(&t, &d).is_ok());
    let mut bad = d.clone();
    bad[50_000] ^= 1;
    assert_eq!(check(&t, &bad).bad_pieces(), [3]);
    assert_eq!(check(&t, &d[..60_000]).bad_pieces(), [3, 4, 5, 6]);
    let mut long = d.clone();
    long.push(0);
    let s = check(&t, &long);
    assert!(s.bad_pieces().is_empty() && !s.is_ok());

    // A hybrid torrent whose SHA-1 pieces are of `d` but whose merkle
    // hashes are of `other` (one byte differs, in piece 2): the parser
    // cannot tell, but verification finds piece 2 bad whichever data it is
    // given.
    let mut other = d.clone();
    other[40_000] ^= 1;
    let mut mixed = hand_written_v2(&other, KIB16, true);
    let (theirs, ours) = (sha1_pieces(&other, KIB16), sha1_pieces(&d, KIB16));
    let at = mixed
        .windows(theirs.len())
        .position(|w| w == theirs)
        .unwrap();
    mixed[at..at + theirs.len()].copy_from_slice(&ours);
    let mixed = Torrent::from_bytes(mixed).unwrap();
    assert_eq!(mixed.version(), TorrentVersion::Hybrid);
    assert_eq!(check(&mixed, &d).bad_pieces(), [2]);
    assert_eq!(check(&mixed, &other).bad_pieces(), [2]);
}

/// Splices `info` entries and top-level entries into a correct v2 torrent
/// and returns the parse error.
fn refused(edit: impl FnOnce(&mut Dict<Bytes>, &mut Dict<Bytes>)) -> String {
    let d = data(40_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::Hybrid, usize::MAX);
    let t = TorrentBuilder::plain("f")
        .version(TorrentVersion::V2)
        .build(&hashes)
        .unwrap();
    let mut top = t.value().as_dict().unwrap().clone();
    let mut info = top.get("info").unwrap().as_dict().unwrap().clone();
    edit(&mut top, &mut info);
    top.insert(b(b"info"), Value::dict(info));
    match Torrent::from_bytes(Value::dict(top).to_vec()) {
        Ok(t) => panic!("accepted {t:?}"),
        Err(e) => e.to_string(),
    }
}

fn hybrid_keys(info: &mut Dict<Bytes>, len: i64) {
    let d = data(40_000);
    info.insert(b(b"length"), int(len));
    info.insert(b(b"pieces"), bytes(&sha1_pieces(&d, KIB16)));
}

#[test]
fn malformed_v2_fields_are_named() {
    let root_of = |info: &Dict<Bytes>| -> Vec<u8> {
        info.get("file tree")
            .unwrap()
            .get("f")
            .unwrap()
            .get("")
            .unwrap()
            .get("pieces root")
            .unwrap()
            .as_bytes()
            .unwrap()
            .to_vec()
    };
    let rows: Vec<(String, &str)> = vec![
        (
            refused(|_, i| {
                i.insert(b(b"meta version"), int(3));
            }),
            "`info.meta version`: 3 is not",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"meta version"), bytes(b"2"));
            }),
            "`info.meta version`: not an integer",
        ),
        (
            refused(|_, i| {
                i.remove("file tree");
            }),
            "`info.file tree`: missing",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"file tree"), int(1));
            }),
            "`info.file tree`: not a dictionary",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"file tree"), dict(vec![]));
            }),
            "`info.file tree`: an empty directory",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"piece length"), int(24576));
            }),
            "`info.piece length`: 24576 is not a power of two",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"piece length"), int(8192));
            }),
            "`info.piece length`: 8192 is not a power of two of at least 16384",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(b"f", dict(vec![(b"", int(1))]))]),
                );
            }),
            "`info.file tree[f][\"\"]`: not a dictionary",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(b"f", dict(vec![(b"", dict(vec![]))]))]),
                );
            }),
            "`info.file tree[f].length`: missing",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"file tree"), dict(vec![(b"f", file_node(5, None))]));
            }),
            "`info.file tree[f].pieces root`: missing",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(
                        b"f",
                        dict(vec![(
                            b"",
                            dict(vec![(b"length", int(5)), (b"pieces root", bytes(b"short"))]),
                        )]),
                    )]),
                );
            }),
            "`info.file tree[f].pieces root`: 5 bytes, not 32",
        ),
        (
            refused(|_, i| {
                i.insert(b(b"file tree"), dict(vec![(b"f", file_node(0, None))]));
            }),
            "`info.file tree`: 0 bytes",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(b"", file_node(5, Some([0; 32])))]),
                );
            }),
            "`info.file tree`: a file without a name",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(
                        b"d",
                        dict(vec![
                            (b"", dict(vec![])),
                            (b"x", file_node(1, Some([0; 32]))),
                        ]),
                    )]),
                );
            }),
            "`info.file tree[d]`: both a file and a directory",
        ),
        (
            refused(|_, i| {
                i.insert(
                    b(b"file tree"),
                    dict(vec![(b"..", file_node(1, Some([0; 32])))]),
                );
            }),
            "`info.file tree[\"..\"]`",
        ),
        (
            refused(|t, _| {
                t.remove("piece layers");
            }),
            "`piece layers`: no layer for \"f\" (40000 bytes",
        ),
        (
            refused(|t, _| {
                t.insert(b(b"piece layers"), int(0));
            }),
            "`piece layers`: not a dictionary",
        ),
        (
            refused(|t, i| {
                let r = root_of(i);
                t.insert(b(b"piece layers"), dict(vec![(&r, int(0))]));
            }),
            "`piece layers`: the layer for \"f\" is not a byte string",
        ),
        (
            refused(|t, i| {
                let r = root_of(i);
                t.insert(b(b"piece layers"), dict(vec![(&r, bytes(&[0; 64]))]));
            }),
            "`piece layers`: the layer for \"f\": 64 bytes of hashes, but 40000 bytes in pieces of 16384 need 3",
        ),
        (
            refused(|t, i| {
                let r = root_of(i);
                t.insert(b(b"piece layers"), dict(vec![(&r, bytes(&[0; 96]))]));
            }),
            "`piece layers`: the layer for \"f\": the layer does not hash up to its pieces root",
        ),
        (
            refused(|_, i| hybrid_keys(i, 39_999)),
            "`info.file tree`: does not describe the same data as the v1 keys: info.length is 39999 bytes",
        ),
        (
            refused(|_, i| {
                hybrid_keys(i, 40_000);
                i.insert(b(b"name"), bytes(b"g"));
            }),
            "`info.file tree`: does not describe the same data as the v1 keys: the v1 keys describe one file named \"g\"",
        ),
        (
            refused(|_, i| {
                hybrid_keys(i, 40_000);
                i.insert(b(b"pieces"), bytes(&[0; 40]));
            }),
            "`info.pieces`: 2 piece hashes",
        ),
    ];
    for (got, want) in rows {
        assert!(got.contains(want), "{got:?} does not contain {want:?}");
    }
}

#[test]
fn a_v2_name_other_than_its_file_makes_a_folder() {
    let e = refused(|_, i| {
        hybrid_keys(i, 40_000);
        i.insert(b(b"name"), bytes(b"other"));
    });
    assert!(e.contains("same data"));
    // v2-only: the file tree rules (as in libtorrent): one file in folder `other`.
    let d = data(40_000);
    let hashes = streamed(&d, KIB16, TorrentVersion::V2, usize::MAX);
    let t = TorrentBuilder::plain("f")
        .version(TorrentVersion::V2)
        .build(&hashes)
        .unwrap();
    let mut top = t.value().as_dict().unwrap().clone();
    let mut info = top.get("info").unwrap().as_dict().unwrap().clone();
    info.insert(b(b"name"), bytes(b"other"));
    top.insert(b(b"info"), Value::dict(info));
    let t = Torrent::from_bytes(Value::dict(top).to_vec()).unwrap();
    let Files::Multiple(files) = t.info().files() else {
        panic!("a folder")
    };
    assert_eq!(files[0].path, ["f"]);
}

#[test]
fn multi_file_hybrid_torrents_must_agree_pad_files_aside() {
    let a = data(20_000);
    let c = data(5);
    let files_v2 = multi_file_v2(&[(&["a"], &a), (&["c"], &c)], KIB16);
    let t = Torrent::from_bytes(files_v2).unwrap();
    let mut top = t.value().as_dict().unwrap().clone();
    let mut info = top.get("info").unwrap().as_dict().unwrap().clone();
    let entry = |len: usize, path: &[&[u8]], pad: bool| {
        let mut e = vec![
            (&b"length"[..], int(len as i64)),
            (
                b"path",
                Value::list(path.iter().map(|p| bytes(p)).collect()),
            ),
        ];
        if pad {
            e.push((b"attr", bytes(b"p")));
        }
        dict(e)
    };
    let pad = 2 * KIB16 - a.len();
    let v1_data = [&a[..], &vec![0u8; pad], &c[..]].concat();
    info.insert(b(b"pieces"), bytes(&sha1_pieces(&v1_data, KIB16)));
    let good = Value::list(vec![
        entry(a.len(), &[b"a"], false),
        entry(pad, &[b".pad", format!("{pad}").as_bytes()], true),
        entry(c.len(), &[b"c"], false),
    ]);
    info.insert(b(b"files"), good);
    top.insert(b(b"info"), Value::dict(info.clone()));
    let t = Torrent::from_bytes(Value::dict(top.clone()).to_vec()).unwrap();
    assert_eq!(t.version(), TorrentVersion::Hybrid);
    assert_eq!(t.info().piece_count(), 3);

    // c renamed in the v1 view: refused.
    info.insert(
        b(b"files"),
        Value::list(vec![
            entry(a.len(), &[b"a"], false),
            entry(pad, &[b".pad", b"x"], true),
            entry(c.len(), &[b"d"], false),
        ]),
    );
    top.insert(b(b"info"), Value::dict(info));
    let e = Torrent::from_bytes(Value::dict(top).to_vec())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("file 1 is \"d\" of 5 bytes in info.files, \"c\" of 5 bytes in the file tree"),
        "{e}"
    );
}

#[test]
fn progress_of_v2_hashing_ends_at_the_length() {
    let d = data(9 << 20);
    let seen = std::sync::Mutex::new(Vec::new());
    let options = HashOptions::new().threads(2);
    hash_source(
        &d,
        d.len() as u64,
        PieceLength::AWS,
        TorrentVersion::Hybrid,
        &options,
        &|n| seen.lock().unwrap().push(n),
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seen.last(), Some(&(d.len() as u64)));
}

#[test]
fn v2_read_errors_name_the_earliest_offset() {
    let d = data(300_000);
    let e = hash_source(
        &d,
        400_000,
        PieceLength::MIN,
        TorrentVersion::V2,
        &HashOptions::new().threads(2),
        &|_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::ShortRead {
                at: 300_000,
                expected: 400_000
            }
        ),
        "{e:?}"
    );
}

#[test]
fn pieces_v2_debug_is_short() {
    let h = streamed(&data(100), KIB16, TorrentVersion::V2, usize::MAX);
    let s = format!("{:?}", h.v2().unwrap());
    assert!(s.starts_with("PiecesV2 {") && s.len() < 200, "{s}");
    let _: &Pieces = streamed(&data(1), KIB16, TorrentVersion::V1, 1)
        .v1()
        .unwrap();
}

#[test]
fn a_hybrid_folder_of_one_file_and_a_tail_pad_verifies_with_its_pad() {
    // One v2 file in a folder; the v1 view adds a pad file after it, so
    // the v1 data (what verify takes) is the file and the pad's zeros.
    let a = data(20_000);
    let t = Torrent::from_bytes(multi_file_v2(&[(&["a"], &a)], KIB16)).unwrap();
    let mut top = t.value().as_dict().unwrap().clone();
    let mut info = top.get("info").unwrap().as_dict().unwrap().clone();
    let pad = 2 * KIB16 - a.len();
    let v1_data = [&a[..], &vec![0u8; pad]].concat();
    info.insert(b(b"pieces"), bytes(&sha1_pieces(&v1_data, KIB16)));
    info.insert(
        b(b"files"),
        Value::list(vec![
            dict(vec![
                (b"length", int(a.len() as i64)),
                (b"path", Value::list(vec![bytes(b"a")])),
            ]),
            dict(vec![
                (b"attr", bytes(b"p")),
                (b"length", int(pad as i64)),
                (
                    b"path",
                    Value::list(vec![bytes(b".pad"), bytes(pad.to_string().as_bytes())]),
                ),
            ]),
        ]),
    );
    top.insert(b(b"info"), Value::dict(info));
    let t = Torrent::from_bytes(Value::dict(top).to_vec()).unwrap();
    assert_eq!(t.version(), TorrentVersion::Hybrid);
    assert_eq!(t.info().v2_files().len(), 1);
    assert_eq!(t.info().length(), v1_data.len() as u64);

    let check = |d: &[u8]| {
        let mut v = Verifier::new(t.info());
        v.update(d);
        let streamed = v.finish();
        let options = HashOptions::new().threads(2);
        assert_eq!(
            verify_source(t.info(), d, d.len() as u64, &options, &|_| {}).unwrap(),
            streamed
        );
        streamed
    };
    assert!(check(&v1_data).is_ok(), "{:?}", check(&v1_data));
    let mut bad = v1_data.clone();
    bad[17_000] ^= 1;
    assert_eq!(check(&bad).bad_pieces(), [1]);
}

/// The pieces of `data` cut by `piece`, with their indexes from `first`.
fn cut(data: &[u8], piece: usize, first: u64) -> Vec<(u64, &[u8])> {
    data.chunks(piece)
        .enumerate()
        .map(|(i, p)| (first + i as u64, p))
        .collect()
}

/// Every piece matches, and a flipped byte (first, last), a missing or an
/// extra byte, or another index does not.
fn assert_pieces_match(t: &Torrent, pieces: &[(u64, &[u8])]) {
    let info = t.info();
    for &(i, p) in pieces {
        assert!(info.piece_matches(i, p), "piece {i} of {}", p.len());
        for at in [0, p.len() - 1] {
            let mut bad = p.to_vec();
            bad[at] ^= 0x80;
            assert!(!info.piece_matches(i, &bad), "piece {i} byte {at} flipped");
        }
        assert!(!info.piece_matches(i, &p[..p.len() - 1]), "piece {i} short");
        assert!(
            !info.piece_matches(i, &[p, &[0]].concat()),
            "piece {i} long"
        );
        for &(j, q) in pieces {
            if j != i && q != p {
                assert!(!info.piece_matches(j, p), "piece {i} as {j}");
            }
        }
    }
    assert!(!info.piece_matches(info.piece_count(), pieces[0].1));
    assert!(!info.piece_matches(u64::MAX, pieces[0].1));
}

#[test]
fn one_piece_matches_its_hashes_in_hand_written_torrents() {
    for (len, piece) in [
        (5, KIB16),
        (KIB16, KIB16),
        (KIB16 + 3616, 4 * KIB16), // one piece of two leaves, root padded to two
        (4 * KIB16, 4 * KIB16),
        (4 * KIB16 + 1, 4 * KIB16), // a last piece of one byte, padded to four leaves
        (5 * KIB16 + 3616, 4 * KIB16),
        (200_000, 2 * KIB16),
    ] {
        let d = data(len);
        for hybrid in [false, true] {
            let t = Torrent::from_bytes(hand_written_v2(&d, piece, hybrid)).unwrap();
            let version = if hybrid {
                TorrentVersion::Hybrid
            } else {
                TorrentVersion::V2
            };
            assert_eq!(t.version(), version);
            assert_pieces_match(&t, &cut(&d, piece, 0));
        }
    }
    // v1.
    let d = data(3 * KIB16 + 7);
    let t = TorrentBuilder::plain("a")
        .build(&streamed(&d, KIB16, TorrentVersion::V1, usize::MAX))
        .unwrap();
    assert_eq!(&t.info().pieces()[20..40], &sha1_pieces(&d, KIB16)[20..40]);
    assert_pieces_match(&t, &cut(&d, KIB16, 0));
}

/// A hybrid torrent whose SHA-1 pieces are of other bytes than its merkle
/// tree: no piece matches (each view is checked).
#[test]
fn a_hybrid_piece_must_match_both_views() {
    let d = data(2 * KIB16);
    let mut other = d.clone();
    other[KIB16 + 5] ^= 1;
    let v2 = hand_written_v2(&d, KIB16, false);
    let t = Torrent::from_bytes(hand_written_v2(&d, KIB16, true)).unwrap();
    assert!(t.info().piece_matches(1, &d[KIB16..]));
    // Swap the SHA-1 of piece 1 for that of the other bytes.
    let mut bytes = hand_written_v2(&d, KIB16, true);
    let good = sha1_pieces(&d, KIB16);
    let bad = sha1_pieces(&other, KIB16);
    let at = bytes
        .windows(40)
        .position(|w| w == &good[..])
        .expect("the pieces");
    bytes[at + 20..at + 40].copy_from_slice(&bad[20..40]);
    let t = Torrent::from_bytes(bytes).unwrap();
    assert!(!t.info().piece_matches(1, &d[KIB16..]));
    assert!(!t.info().piece_matches(1, &other[KIB16..]));
    assert!(t.info().piece_matches(0, &d[..KIB16]));
    assert!(
        Torrent::from_bytes(v2)
            .unwrap()
            .info()
            .piece_matches(1, &d[KIB16..])
    );
}

#[test]
fn v2_pieces_are_numbered_file_after_file() {
    let a = data(3 * KIB16 + 5); // 2 pieces of 32 KiB
    let c = data(100); // 1 piece
    let e = data(5 * KIB16); // 3 pieces
    let files: Vec<(&[&str], &[u8])> = vec![
        (&["a.bin"], &a),
        (&["b.empty"], &[]),
        (&["dir", "c.bin"], &c),
        (&["dir", "e.bin"], &e),
    ];
    let t = Torrent::from_bytes(multi_file_v2(&files, 2 * KIB16)).unwrap();
    let mut pieces = cut(&a, 2 * KIB16, 0);
    pieces.extend(cut(&c, 2 * KIB16, 2));
    pieces.extend(cut(&e, 2 * KIB16, 3));
    assert_pieces_match(&t, &pieces);
}

fn h2(a: &H, b: &H) -> H {
    Sha256::new()
        .chain_update(a)
        .chain_update(b)
        .finalize()
        .into()
}

/// Hash requests against a tree computed here by hand: five pieces of one
/// block (the piece layer is the leaf layer), padded to eight.
#[test]
fn a_piece_tree_answers_hash_requests_as_libtorrent_reads_them() {
    let d = data(4 * KIB16 + 100);
    let t = Torrent::from_bytes(hand_written_v2(&d, KIB16, false)).unwrap();
    let file = &t.info().v2_files()[0];
    let tree = PieceTree::new(file, KIB16 as u64).expect("a tree");
    let l: Vec<H> = d.chunks(KIB16).map(|b| Sha256::digest(b).into()).collect();
    let z = [0u8; 32];
    let n = [
        h2(&l[0], &l[1]),
        h2(&l[2], &l[3]),
        h2(&l[4], &z),
        h2(&z, &z),
    ];
    let m = [h2(&n[0], &n[1]), h2(&n[2], &n[3])];
    let root = h2(&m[0], &m[1]);
    assert_eq!(Some(root), file.pieces_root());
    assert_eq!(tree.root(), root);
    assert_eq!((tree.piece_layer(), tree.height()), (0, 3));

    // The whole leaf row, padding included; it makes up the tree itself.
    assert_eq!(
        tree.hashes(0, 0, 8, 2).unwrap(),
        [l[0], l[1], l[2], l[3], l[4], z, z, z]
    );
    // Two leaves and their uncles up to the root's children.
    assert_eq!(tree.hashes(0, 4, 2, 2).unwrap(), [l[4], z, n[3], m[0]]);
    assert_eq!(tree.hashes(0, 4, 2, 0).unwrap(), [l[4], z]);
    // One layer up, with one uncle.
    assert_eq!(tree.hashes(1, 0, 2, 1).unwrap(), [n[0], n[1], m[1]]);
    assert_eq!(tree.hashes(2, 1, 1, 0).unwrap(), [m[1]]);
    // Outside the tree: the root's layer, nothing asked, past the row,
    // too many, or a proof reaching the root.
    for (base, index, length, proof) in [
        (3, 0, 1, 0),
        (0, 0, 0, 0),
        (0, 0, 9, 0),
        (0, 7, 2, 0),
        (0, 8, 1, 0),
        (0, 0, 2, 3),
        (0, 0, MAX_HASHES + 1, 0),
        (0, u32::MAX, 2, 0),
    ] {
        assert_eq!(
            tree.hashes(base, index, length, proof),
            None,
            "{base} {index} {length} {proof}"
        );
    }

    // Pieces of two blocks: the block layer is not known.
    let t = Torrent::from_bytes(hand_written_v2(&d, 2 * KIB16, false)).unwrap();
    let tree = PieceTree::new(&t.info().v2_files()[0], 2 * KIB16 as u64).unwrap();
    assert_eq!(tree.piece_layer(), 1);
    assert_eq!(tree.hashes(0, 0, 2, 0), None);
    assert_eq!(tree.hashes(1, 0, 4, 0).unwrap(), n);

    // A file of one piece has no layer, so no tree.
    let t = Torrent::from_bytes(hand_written_v2(&d, 8 * KIB16, false)).unwrap();
    assert_eq!(
        PieceTree::new(&t.info().v2_files()[0], 8 * KIB16 as u64),
        None
    );
}
