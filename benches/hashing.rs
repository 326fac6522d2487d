//! Piece-hashing throughput against the SHA-1 ceilings.
//!
//! Group `hashing`, over a 256 MiB buffer in memory with 256 KiB pieces:
//!
//! - `sha1_one_call`: the `sha1` crate over the whole buffer in one call, the
//!   ceiling for one thread (no per-piece finalization, no copies);
//! - `piece_hasher`: [`TorrentHasher`] for v1 on one thread;
//! - `hash_source/threads=1` and `hash_source/threads=2`: the multi-core
//!   hasher, which also copies every byte through its read buffer;
//! - `sha1_two_threads`: the `sha1` crate over the two halves on two threads,
//!   the ceiling for two threads.
//!
//! Group `create`: a whole torrent from 64 MiB in memory, hashing on 2
//! threads and building the plain profile's bytes.
//!
//! ```text
//! cargo bench -p s3torrent-benches --bench hashing
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3torrent_metainfo::{
    HashOptions, PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion, hash_source,
};
use s3torrent_testkit::random_bytes;
use sha1::{Digest, Sha1};

const MIB: usize = 1 << 20;

fn hashing(c: &mut Criterion) {
    let data = random_bytes(256 * MIB, 1);
    let len = data.len() as u64;
    let piece = PieceLength::AWS;
    let mut g = c.benchmark_group("hashing");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Bytes(len));

    g.bench_function("sha1_one_call", |b| {
        b.iter(|| Sha1::digest(black_box(&data)))
    });
    g.bench_function("piece_hasher", |b| {
        b.iter(|| {
            let mut h = TorrentHasher::new(piece, TorrentVersion::V1);
            h.update(black_box(&data));
            h.finish()
        })
    });
    for threads in [1, 2] {
        let options = HashOptions::new().threads(threads);
        g.bench_function(format!("hash_source/threads={threads}"), |b| {
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
    }
    g.bench_function("sha1_two_threads", |b| {
        b.iter(|| {
            let (left, right) = black_box(&data).split_at(data.len() / 2);
            std::thread::scope(|s| {
                let l = s.spawn(|| Sha1::digest(left));
                let r = Sha1::digest(right);
                (l.join().unwrap(), r)
            })
        })
    });
    g.finish();
}

fn create(c: &mut Criterion) {
    let data = random_bytes(64 * MIB, 1);
    let len = data.len() as u64;
    let options = HashOptions::new().threads(2);
    let mut g = c.benchmark_group("create");
    g.sample_size(10).throughput(Throughput::Bytes(len));
    g.bench_function("plain/threads=2", |b| {
        b.iter(|| {
            let pieces = hash_source(
                black_box(&data),
                len,
                PieceLength::AWS,
                TorrentVersion::V1,
                &options,
                &|_| {},
            )
            .unwrap();
            TorrentBuilder::plain("bench.bin").build(&pieces).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, create);
criterion_main!(benches);
