//! Bencode throughput: our strict and lenient decoders, our serde layer and
//! the canonical encoder, against `serde_bencode` on the same bytes.
//!
//! Two torrents are built in code (deterministic, no files):
//!
//! - `single-5GiB`: one 5 GiB object in 256 KiB pieces, so 20,480 piece
//!   hashes (400 KiB of `pieces`) and little else;
//! - `multi-10k`: 10,000 files in `info.files`, each a dictionary with a
//!   length and a two-element path, plus their piece hashes.
//!
//! ```text
//! cargo bench -p s3torrent-benches --bench bencode
//! cargo bench -p s3torrent-benches --bench bencode -- --warm-up-time 1 --measurement-time 3   # quicker
//! cargo bench -p s3torrent-benches --bench bencode -- decode/ours-strict                       # one benchmark
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use s3torrent_bencode::{BorrowedValue, Decoder};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// A torrent as a derived type, with owned fields so that both serde
/// implementations can produce it. Fields are declared in key order.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Torrent {
    announce: String,
    info: Info,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Info {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<Vec<File>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    name: String,
    #[serde(rename = "piece length")]
    piece_length: u64,
    pieces: ByteBuf,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct File {
    length: u64,
    path: Vec<String>,
}

/// The same torrent borrowing its strings from the input, which only our
/// deserializer can do (serde_bencode hands out transient byte slices).
/// Its fields are only ever written.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct BorrowedTorrent<'a> {
    #[serde(borrow)]
    announce: &'a str,
    #[serde(borrow)]
    info: BorrowedInfo<'a>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct BorrowedInfo<'a> {
    #[serde(borrow, default)]
    files: Option<Vec<BorrowedFile<'a>>>,
    #[serde(default)]
    length: Option<u64>,
    name: &'a str,
    #[serde(rename = "piece length")]
    piece_length: u64,
    #[serde(with = "serde_bytes")]
    pieces: &'a [u8],
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct BorrowedFile<'a> {
    length: u64,
    #[serde(borrow)]
    path: Vec<&'a str>,
}

/// Deterministic pseudo-random bytes (xorshift64*), standing in for SHA-1s.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

const PIECE_HASH: usize = 20;

/// A 5 GiB object in 256 KiB pieces.
fn single_file() -> Torrent {
    let length: u64 = 5 * 1024 * 1024 * 1024;
    let piece_length: u64 = 256 * 1024;
    let pieces = length.div_ceil(piece_length) as usize;
    assert_eq!(pieces, 20_480);
    Torrent {
        announce: "http://tracker.example.com:6969/announce".into(),
        info: Info {
            files: None,
            length: Some(length),
            name: "backups/2024-06-01/db-snapshot.tar".into(),
            piece_length,
            pieces: ByteBuf::from(pseudo_random(pieces * PIECE_HASH, 0x5EED_0001)),
        },
    }
}

/// 10,000 files of up to 2 MiB each in 1 MiB pieces.
fn multi_file() -> Torrent {
    let sizes = pseudo_random(10_000 * 4, 0x5EED_0002);
    let files: Vec<File> = sizes
        .chunks_exact(4)
        .enumerate()
        .map(|(i, b)| File {
            length: u64::from(u32::from_le_bytes(b.try_into().unwrap()) % (2 << 20)),
            path: vec![format!("dir-{:03}", i / 100), format!("file-{i:05}.bin")],
        })
        .collect();
    let piece_length: u64 = 1024 * 1024;
    let total: u64 = files.iter().map(|f| f.length).sum();
    let pieces = total.div_ceil(piece_length) as usize;
    Torrent {
        announce: "http://tracker.example.com:6969/announce".into(),
        info: Info {
            files: Some(files),
            length: None,
            name: "dataset".into(),
            piece_length,
            pieces: ByteBuf::from(pseudo_random(pieces * PIECE_HASH, 0x5EED_0003)),
        },
    }
}

/// The inputs, with a check that both implementations agree on their bytes.
fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    [("single-5GiB", single_file()), ("multi-10k", multi_file())]
        .into_iter()
        .map(|(name, torrent)| {
            let ours = s3torrent_bencode::to_vec(&torrent).unwrap();
            let theirs = serde_bencode::to_bytes(&torrent).unwrap();
            assert_eq!(ours, theirs, "{name}: the encoders disagree");
            assert_eq!(
                s3torrent_bencode::from_bytes::<Torrent>(&ours).unwrap(),
                torrent
            );
            assert_eq!(
                serde_bencode::from_bytes::<Torrent>(&ours).unwrap(),
                torrent
            );
            (name, ours)
        })
        .collect()
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for (name, bytes) in inputs() {
        let bytes = &bytes[..];
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("ours-strict", name), bytes, |b, i| {
            b.iter(|| s3torrent_bencode::decode(black_box(i)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("ours-lenient", name), bytes, |b, i| {
            let lenient = Decoder::lenient();
            b.iter(|| lenient.decode(black_box(i)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("ours-serde-owned", name), bytes, |b, i| {
            b.iter(|| s3torrent_bencode::from_bytes::<Torrent>(black_box(i)).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("ours-serde-borrowed", name),
            bytes,
            |b, i| {
                b.iter(|| {
                    s3torrent_bencode::from_bytes::<BorrowedTorrent<'_>>(black_box(i)).unwrap()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("serde_bencode-value", name),
            bytes,
            |b, i| {
                b.iter(|| {
                    serde_bencode::from_bytes::<serde_bencode::value::Value>(black_box(i)).unwrap()
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("serde_bencode-owned", name),
            bytes,
            |b, i| b.iter(|| serde_bencode::from_bytes::<Torrent>(black_box(i)).unwrap()),
        );
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for (name, bytes) in inputs() {
        let ours_value: BorrowedValue<'_> = s3torrent_bencode::decode(&bytes).unwrap();
        let theirs_value: serde_bencode::value::Value = serde_bencode::from_bytes(&bytes).unwrap();
        let torrent: Torrent = s3torrent_bencode::from_bytes(&bytes).unwrap();
        assert_eq!(ours_value.to_vec(), bytes);
        assert_eq!(serde_bencode::to_bytes(&theirs_value).unwrap(), bytes);

        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(BenchmarkId::new("ours-value", name), |b| {
            b.iter(|| black_box(&ours_value).to_vec())
        });
        group.bench_function(BenchmarkId::new("ours-serde", name), |b| {
            b.iter(|| s3torrent_bencode::to_vec(black_box(&torrent)).unwrap())
        });
        group.bench_function(BenchmarkId::new("serde_bencode-value", name), |b| {
            b.iter(|| serde_bencode::to_bytes(black_box(&theirs_value)).unwrap())
        });
        group.bench_function(BenchmarkId::new("serde_bencode-serde", name), |b| {
            b.iter(|| serde_bencode::to_bytes(black_box(&torrent)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
