//! Hostile shapes that must parse in linear (or n log n) time, however the
//! input is ordered:
//!
//! - `trackers-500k`: a 20 MB torrent of 500,000 tracker tiers, every URL
//!   twice (parsing, then `trackers()` and `magnet()`, which de-duplicate);
//! - `files-100k-unsorted`: a v2 torrent of 100,000 files of two pieces each,
//!   its `file tree` and `piece layers` keys in reverse order, so a lenient
//!   dictionary that searched linearly would make `attach_layers`
//!   O(files × layers).
//!
//! `S3TORRENT_HOSTILE_OUT=DIR cargo bench -p s3torrent-benches --bench hostile`
//! also writes both torrents to `DIR` (for timing `s3torrent torrent show`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use s3torrent_metainfo::Torrent;
use sha2::{Digest, Sha256};

fn bstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{}:", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// 500,000 tiers of one tracker each; every URL appears twice.
fn many_trackers() -> Vec<u8> {
    let mut out = b"d8:announce".to_vec();
    bstr(&mut out, b"http://tracker.example:6969/announce");
    out.extend_from_slice(b"13:announce-listl");
    for i in 0..500_000u32 {
        out.push(b'l');
        bstr(
            &mut out,
            format!("http://t{:06}.example:6969/announce", i % 250_000).as_bytes(),
        );
        out.push(b'e');
    }
    out.extend_from_slice(
        b"e4:infod6:lengthi3e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
    );
    out
}

/// A v2 torrent of 100,000 files of 32 KiB (two 16 KiB pieces), every
/// dictionary with more than one key written in reverse order.
fn many_files_unsorted() -> Vec<u8> {
    let n = 100_000u32;
    let layer = |i: u32| {
        let a: [u8; 32] = Sha256::digest(format!("a{i}")).into();
        let b: [u8; 32] = Sha256::digest(format!("b{i}")).into();
        let root: [u8; 32] = Sha256::new()
            .chain_update(a)
            .chain_update(b)
            .finalize()
            .into();
        (root, [a, b].concat())
    };
    let files: Vec<_> = (0..n).map(|i| (format!("f{i:06}"), layer(i))).collect();
    let mut out = b"d12:piece layersd".to_vec();
    for (_, (root, layer)) in files.iter().rev() {
        bstr(&mut out, root);
        bstr(&mut out, layer);
    }
    out.extend_from_slice(b"e4:infod12:piece lengthi16384e4:name1:d12:meta versioni2e9:file treed");
    for (name, (root, _)) in files.iter().rev() {
        bstr(&mut out, name.as_bytes());
        out.extend_from_slice(b"d0:d11:pieces root");
        bstr(&mut out, root);
        out.extend_from_slice(b"6:lengthi32768eee");
    }
    out.extend_from_slice(b"eee");
    out
}

fn hostile(c: &mut Criterion) {
    let trackers = many_trackers();
    let files = many_files_unsorted();
    if let Some(dir) = std::env::var_os("S3TORRENT_HOSTILE_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("trackers-500k.torrent"), &trackers).unwrap();
        std::fs::write(dir.join("files-100k-unsorted.torrent"), &files).unwrap();
    }
    let mut g = c.benchmark_group("hostile");
    g.sample_size(10);
    g.bench_function("trackers-500k", |b| {
        b.iter(|| {
            let t = Torrent::from_bytes(black_box(trackers.clone())).unwrap();
            assert_eq!(t.trackers().len(), 250_000);
            t.magnet().len()
        })
    });
    g.bench_function("files-100k-unsorted", |b| {
        b.iter(|| {
            let t = Torrent::from_bytes(black_box(files.clone())).unwrap();
            assert_eq!(t.info().v2_files().len(), 100_000);
            t.info().piece_count()
        })
    });
    g.finish();
}

criterion_group!(benches, hostile);
criterion_main!(benches);
