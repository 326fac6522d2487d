//! Hybrid (v1 + v2) hashing against the bare SHA-1 + SHA-256 ceiling.
//!
//! Group `hybrid`, over a 256 MiB buffer in memory with 256 KiB pieces, all
//! on 2 threads:
//!
//! - `bare_sha1+sha256`: the `sha1` and `sha2` crates over the two halves,
//!   one half per thread, each thread SHA-1 then SHA-256 over its half in one
//!   call each: the ceiling for the hybrid pass (no pieces, no blocks, no
//!   tree, no copies);
//! - `bare_sha1` and `bare_sha256`: each alone, the same way;
//! - `hybrid`: [`hash_source`] for a hybrid torrent: SHA-1 per
//!   piece and SHA-256 per 16 KiB block in one pass, the piece subtrees, the
//!   `pieces root`; it also copies every byte through its read buffer;
//! - `v2`: the same for a v2-only torrent;
//! - `v1`: [`hash_source`], SHA-1 pieces only;
//! - `hybrid_streaming/threads=1`: [`TorrentHasher`] on one thread.
//!
//! The aim: `hybrid` within 1.2× of `bare_sha1+sha256`.
//!
//! ```text
//! cargo bench -p s3torrent-benches --bench hybrid
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3torrent_metainfo::{HashOptions, PieceLength, TorrentHasher, TorrentVersion, hash_source};
use s3torrent_testkit::random_bytes;
use sha1::Sha1;
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

/// Runs `f` over the two halves of `data`, one per thread.
fn halves<T: Send>(data: &[u8], f: impl Fn(&[u8]) -> T + Sync) -> (T, T) {
    let (left, right) = data.split_at(data.len() / 2);
    std::thread::scope(|s| {
        let l = s.spawn(|| f(left));
        let r = f(right);
        (l.join().unwrap(), r)
    })
}

fn hybrid(c: &mut Criterion) {
    let data = random_bytes(256 * MIB, 2);
    let len = data.len() as u64;
    let piece = PieceLength::AWS;
    let options = HashOptions::new().threads(2);
    let mut g = c.benchmark_group("hybrid");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(len));

    g.bench_function("bare_sha1+sha256/threads=2", |b| {
        b.iter(|| halves(black_box(&data), |h| (Sha1::digest(h), Sha256::digest(h))))
    });
    g.bench_function("bare_sha1/threads=2", |b| {
        b.iter(|| halves(black_box(&data), |h| Sha1::digest(h)))
    });
    g.bench_function("bare_sha256/threads=2", |b| {
        b.iter(|| halves(black_box(&data), |h| Sha256::digest(h)))
    });
    for (name, version) in [
        ("hybrid", TorrentVersion::Hybrid),
        ("v2", TorrentVersion::V2),
    ] {
        g.bench_function(format!("{name}/threads=2"), |b| {
            b.iter(|| {
                hash_source(black_box(&data), len, piece, version, &options, &|_| {}).unwrap()
            })
        });
    }
    g.bench_function("v1/threads=2", |b| {
        b.iter(|| {
            hash_source(
                black_box(&data),
                len,
                piece,
                TorrentVersion::V1,
                &options,
                &|_| {},
            )
            .unwrap()
        })
    });
    g.bench_function("hybrid_streaming/threads=1", |b| {
        b.iter(|| {
            let mut h = TorrentHasher::new(piece, TorrentVersion::Hybrid);
            h.update(black_box(&data));
            h.finish()
        })
    });
    g.finish();
}

criterion_group!(benches, hybrid);
criterion_main!(benches);
