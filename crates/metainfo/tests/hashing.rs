//! Piece hashing against an oracle: the `sha1` crate run directly over
//! `data.chunks(piece_length)`, never our own code. Covers the streaming
//! [`TorrentHasher`] (however the data is cut), the multi-core [`hash_source`]
//! (thread counts, buffer sizes, files, short reads, interruptions, errors,
//! progress) and [`Pieces::from_parts`].

use std::io;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::prelude::*;
use s3torrent_metainfo::{
    Error, HashOptions, PieceLength, Pieces, ReadAt, TorrentHasher, TorrentHashes, TorrentVersion,
    hash_source,
};
use sha1::{Digest, Sha1};

const KIB16: usize = 16 * 1024;

/// The oracle: the concatenated SHA-1s of `data.chunks(piece)`.
/// The v1 pieces of hashes made for v1.
trait V1Pieces {
    fn v1_pieces(self) -> Pieces;
}

impl V1Pieces for TorrentHashes {
    fn v1_pieces(self) -> Pieces {
        match self {
            TorrentHashes::V1(p) => p,
            other => panic!("not v1 hashes: {other:?}"),
        }
    }
}

fn oracle(data: &[u8], piece: usize) -> Vec<u8> {
    data.chunks(piece)
        .flat_map(|c| Sha1::digest(c).to_vec())
        .collect()
}

/// Deterministic, non-repeating test data.
fn data(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ len as u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn streamed(data: &[u8], piece_length: PieceLength) -> Pieces {
    let mut h = TorrentHasher::new(piece_length, TorrentVersion::V1);
    h.update(data);
    assert_eq!(h.bytes_hashed(), data.len() as u64);
    h.finish().v1_pieces()
}

fn options(threads: usize, buffer: usize) -> HashOptions {
    HashOptions::new().threads(threads).buffer_size(buffer)
}

fn multi<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: usize,
    piece_length: PieceLength,
    options: &HashOptions,
) -> Result<Pieces, Error> {
    hash_source(
        source,
        length as u64,
        piece_length,
        TorrentVersion::V1,
        options,
        &|_| {},
    )
    .map(V1Pieces::v1_pieces)
}

/// Checks `pieces` against the oracle, field by field.
fn assert_oracle(pieces: &Pieces, data: &[u8], piece_length: PieceLength) {
    let piece = piece_length.get() as usize;
    let expected = oracle(data, piece);
    assert_eq!(pieces.as_bytes(), expected.as_slice());
    assert_eq!(pieces.length(), data.len() as u64);
    assert_eq!(pieces.piece_length(), piece_length.get());
    assert_eq!(pieces.count(), data.len().div_ceil(piece) as u64);
    assert_eq!(pieces.iter().len() as u64, pieces.count());
    for (i, (hash, chunk)) in pieces.iter().zip(data.chunks(piece)).enumerate() {
        let want: [u8; 20] = Sha1::digest(chunk).into();
        assert_eq!(hash, want, "piece {i}");
        assert_eq!(pieces.get(i as u64), Some(want), "get({i})");
    }
    assert_eq!(pieces.get(pieces.count()), None);
    assert_eq!(pieces.get(u64::MAX), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However the stream is cut, the result is the oracle's.
    #[test]
    fn chunking_never_changes_the_result(
        bytes in proptest::collection::vec(any::<u8>(), 0..4 * KIB16 + 100),
        cuts in proptest::collection::vec(0usize..5 * KIB16, 0..24),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
        for w in cuts.windows(2) {
            h.update(&bytes[w[0]..w[1]]); // empty chunks included
            prop_assert_eq!(h.bytes_hashed(), w[1] as u64);
        }
        let chunked = h.finish().v1_pieces();
        let want = oracle(&bytes, KIB16);
        prop_assert_eq!(chunked.as_bytes(), want.as_slice());
        prop_assert_eq!(&chunked, &streamed(&bytes, PieceLength::MIN));
        prop_assert_eq!(chunked.length(), bytes.len() as u64);
    }

    /// Byte-at-a-time and odd fixed chunk sizes around the piece boundary.
    #[test]
    fn fixed_chunk_sizes(len in 0usize..3 * KIB16 + 7, size in prop_oneof![
        Just(1usize), Just(KIB16 - 1), Just(KIB16), Just(KIB16 + 1), 1usize..3 * KIB16,
    ]) {
        let bytes = data(len);
        let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
        for c in bytes.chunks(size) {
            h.update(c);
        }
        let (got, want) = (h.finish().v1_pieces(), oracle(&bytes, KIB16));
        prop_assert_eq!(got.as_bytes(), want.as_slice());
    }
}

#[test]
fn last_piece_is_short() {
    let bytes = data(2 * KIB16 + 5);
    let p = streamed(&bytes, PieceLength::MIN);
    assert_oracle(&p, &bytes, PieceLength::MIN);
    assert_eq!(p.count(), 3);
    assert_eq!(
        p.get(2),
        Some(Sha1::digest(&bytes[2 * KIB16..]).into()),
        "the last piece hashes only its 5 bytes"
    );
}

#[test]
fn exactly_one_piece() {
    for piece_length in [PieceLength::MIN, PieceLength::AWS] {
        let bytes = data(piece_length.get() as usize);
        let p = streamed(&bytes, piece_length);
        assert_oracle(&p, &bytes, piece_length);
        assert_eq!(p.count(), 1);
        assert_eq!(p.get(0), Some(Sha1::digest(&bytes).into()));
        assert_eq!(
            multi(&bytes, bytes.len(), piece_length, &options(3, 4096)).unwrap(),
            p
        );
    }
}

#[test]
fn one_piece_plus_one_byte() {
    let bytes = data(KIB16 + 1);
    let p = streamed(&bytes, PieceLength::MIN);
    assert_oracle(&p, &bytes, PieceLength::MIN);
    assert_eq!(p.count(), 2);
    assert_eq!(p.get(1), Some(Sha1::digest([bytes[KIB16]]).into()));
    assert_eq!(
        multi(&bytes, bytes.len(), PieceLength::MIN, &options(2, 4096)).unwrap(),
        p
    );
}

#[test]
fn zero_bytes_make_zero_pieces() {
    let p = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1)
        .finish()
        .v1_pieces();
    assert_eq!(p.count(), 0);
    assert_eq!(p.length(), 0);
    assert!(p.as_bytes().is_empty());
    assert_eq!(p.iter().len(), 0);
    assert_eq!(p.get(0), None);
    let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
    h.update(&[]);
    assert_eq!(h.finish().v1_pieces(), p);
    for threads in [1, 2, 7] {
        let calls = Mutex::new(Vec::new());
        let m = hash_source(
            &Vec::new(),
            0,
            PieceLength::MIN,
            TorrentVersion::V1,
            &options(threads, 4096),
            &|n| calls.lock().unwrap().push(n),
        )
        .unwrap()
        .v1_pieces();
        assert_eq!(m, p);
        assert!(calls.into_inner().unwrap().iter().all(|&n| n == 0));
    }
}

/// `hash_source` equals `TorrentHasher` (and the oracle) for 1, 2, 3 and 7
/// threads, over sizes from 0 bytes to several 4 MiB batches, with buffers
/// smaller than a piece (dividing it or not), equal to it and larger.
#[test]
fn hash_source_equals_piece_hasher() {
    let cases: &[(PieceLength, &[usize])] = &[
        (
            PieceLength::MIN,
            &[
                0,
                1,
                KIB16 - 1,
                KIB16,
                KIB16 + 1,
                3 * KIB16 - 2,      // fewer pieces than 7 threads
                (4 << 20) + 3,      // one byte over a batch
                (9 << 20) + 12_345, // three batches
            ],
        ),
        // 256 KiB pieces: 16 per batch.
        (PieceLength::AWS, &[5 * 262_144, (6 << 20) + 99]),
        // 8 MiB pieces: larger than a batch, so one piece per batch.
        (
            PieceLength::new(8 << 20).unwrap(),
            &[(8 << 20) - 1, (8 << 20) + 1, (17 << 20) + 5],
        ),
    ];
    let biggest = cases.iter().flat_map(|c| c.1).max().copied().unwrap();
    let all = data(biggest);
    for &(piece_length, sizes) in cases {
        for &len in sizes {
            let bytes = &all[..len];
            let one = streamed(bytes, piece_length);
            assert_oracle(&one, bytes, piece_length);
            for threads in [1, 2, 3, 7] {
                for buffer in [4096, 5000, 65_537, HashOptions::DEFAULT_BUFFER_SIZE] {
                    let got = multi(bytes, len, piece_length, &options(threads, buffer))
                        .unwrap_or_else(|e| panic!("{len} bytes, {threads} threads: {e}"));
                    assert_eq!(
                        got, one,
                        "{len} bytes in {piece_length} pieces, {threads} threads, buffer {buffer}"
                    );
                }
            }
        }
    }
}

#[test]
fn hash_source_over_every_reader_impl() {
    let bytes = data(5 * KIB16 + 3);
    let want = streamed(&bytes, PieceLength::MIN);
    let o = options(2, 4096);
    let len = bytes.len();
    assert_eq!(
        multi(bytes.as_slice(), len, PieceLength::MIN, &o).unwrap(),
        want
    );
    assert_eq!(multi(&bytes, len, PieceLength::MIN, &o).unwrap(), want);
    assert_eq!(multi(&&bytes, len, PieceLength::MIN, &o).unwrap(), want);
    let shared = bytes::Bytes::from(bytes.clone());
    assert_eq!(multi(&shared, len, PieceLength::MIN, &o).unwrap(), want);
    let arc = std::sync::Arc::new(bytes.clone());
    assert_eq!(multi(&arc, len, PieceLength::MIN, &o).unwrap(), want);
}

#[test]
fn a_real_file_hashes_like_memory() {
    let bytes = data((5 << 20) + 777);
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&bytes).unwrap();
    file.flush().unwrap();
    for piece_length in [PieceLength::MIN, PieceLength::AWS] {
        let want = oracle(&bytes, piece_length.get() as usize);
        for threads in [1, 2, 3] {
            let o = options(threads, 65_536);
            let from_file = multi(&file, bytes.len(), piece_length, &o).unwrap();
            let from_vec = multi(&bytes, bytes.len(), piece_length, &o).unwrap();
            assert_eq!(from_file, from_vec);
            assert_eq!(from_file.as_bytes(), want.as_slice());
        }
    }
    // A length beyond the file's end is a short read at the file's end.
    match multi(
        &file,
        bytes.len() + 1,
        PieceLength::AWS,
        &options(2, 65_536),
    ) {
        Err(Error::ShortRead { at, expected }) => {
            assert_eq!((at, expected), (bytes.len() as u64, bytes.len() as u64 + 1));
        }
        other => panic!("expected ShortRead, got {other:?}"),
    }
}

#[test]
fn a_source_shorter_than_length_is_a_short_read() {
    let bytes = data((9 << 20) + 100);
    for (have, want) in [
        (0, 1),
        (KIB16 - 1, KIB16),
        (KIB16, KIB16 + 1),
        (KIB16 * 3 + 5, KIB16 * 40),
        (bytes.len() - 1, bytes.len()),
        ((5 << 20) + 1, bytes.len()),
    ] {
        for threads in [1, 2, 3, 7] {
            match multi(
                &bytes[..have],
                want,
                PieceLength::MIN,
                &options(threads, 4096),
            ) {
                Err(Error::ShortRead { at, expected }) => {
                    assert_eq!(expected, want as u64);
                    assert_eq!(at, have as u64, "{have} of {want} bytes, {threads} threads");
                }
                other => panic!("{have} of {want} bytes: expected ShortRead, got {other:?}"),
            }
        }
    }
}

/// Reports the earliest short read even when another thread reaches a later
/// piece past the end first: here the thread holding the piece where the data
/// ends is slow, and the other thread fails one batch later first.
#[test]
fn the_short_read_named_is_where_the_data_ends() {
    struct SlowNearEnd<'a> {
        data: &'a [u8],
    }
    impl ReadAt for SlowNearEnd<'_> {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            if offset == (self.data.len() - 4096) as u64 {
                std::thread::sleep(Duration::from_millis(300));
            }
            self.data.read_at(buf, offset)
        }
    }
    // 16 KiB pieces, 4 MiB batches: the data ends inside batch 0, and the
    // other thread's batch 1 is all past the end.
    let bytes = data(3 << 20);
    let source = SlowNearEnd { data: &bytes };
    let length = 12u64 << 20;
    let got = hash_source(
        &source,
        length,
        PieceLength::MIN,
        TorrentVersion::V1,
        &options(2, 4096),
        &|_| {},
    );
    match got {
        Err(Error::ShortRead { at, expected }) => {
            assert_eq!((at, expected), (bytes.len() as u64, length));
        }
        other => panic!("expected ShortRead, got {other:?}"),
    }
}

/// Returns 1 to `max` bytes per call, varying from call to call.
struct Trickle<'a> {
    data: &'a [u8],
    max: usize,
    calls: AtomicUsize,
}

impl ReadAt for Trickle<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let n = 1 + (call.wrapping_mul(2_654_435_761) >> 7) % self.max;
        let n = n.min(buf.len());
        self.data.read_at(&mut buf[..n], offset)
    }
}

#[test]
fn short_reads_still_work() {
    let bytes = data(3 * KIB16 + 1234);
    let want = streamed(&bytes, PieceLength::MIN);
    for max in [1, 2, 7, 1000, 5000] {
        for threads in [1, 2, 3] {
            let source = Trickle {
                data: &bytes,
                max,
                calls: AtomicUsize::new(0),
            };
            let got = multi(
                &source,
                bytes.len(),
                PieceLength::MIN,
                &options(threads, 4096),
            );
            assert_eq!(
                got.unwrap(),
                want,
                "reads of at most {max} bytes, {threads} threads"
            );
            if max == 1 {
                assert!(source.calls.load(Ordering::Relaxed) >= bytes.len());
            }
        }
    }
}

/// Fails with `Interrupted` on every third call, and otherwise reads.
struct Interrupting<'a> {
    data: &'a [u8],
    calls: AtomicUsize,
}

impl ReadAt for Interrupting<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if self.calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(3) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(3000);
        self.data.read_at(&mut buf[..n], offset)
    }
}

#[test]
fn interrupted_reads_are_retried() {
    let bytes = data(4 * KIB16 + 3);
    let want = streamed(&bytes, PieceLength::MIN);
    for threads in [1, 2, 7] {
        let source = Interrupting {
            data: &bytes,
            calls: AtomicUsize::new(0),
        };
        let got = multi(
            &source,
            bytes.len(),
            PieceLength::MIN,
            &options(threads, 4096),
        );
        assert_eq!(got.unwrap(), want);
    }
}

/// Reads normally up to `fail_at`, then fails there with `PermissionDenied`.
struct FailsAt<'a> {
    data: &'a [u8],
    fail_at: u64,
}

impl ReadAt for FailsAt<'_> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset >= self.fail_at {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "bad sector",
            ));
        }
        let n = buf.len().min((self.fail_at - offset) as usize);
        self.data.read_at(&mut buf[..n], offset)
    }
}

#[test]
fn a_failing_read_is_an_io_error_at_its_offset() {
    let bytes = data((6 << 20) + 10);
    for fail_at in [
        0,
        1,
        4095,
        4096,
        KIB16 as u64,
        3 * KIB16 as u64 + 17,
        5 << 20,
    ] {
        for threads in [1, 2, 3] {
            for buffer in [4096, 5000] {
                let source = FailsAt {
                    data: &bytes,
                    fail_at,
                };
                match multi(
                    &source,
                    bytes.len(),
                    PieceLength::MIN,
                    &options(threads, buffer),
                ) {
                    Err(Error::Io { offset, source }) => {
                        assert_eq!(offset, fail_at, "{threads} threads, buffer {buffer}");
                        assert_eq!(source.kind(), io::ErrorKind::PermissionDenied);
                        assert_eq!(source.to_string(), "bad sector");
                    }
                    other => panic!("fail at {fail_at}: expected Io, got {other:?}"),
                }
            }
        }
    }
}

#[test]
fn progress_is_monotonic_and_ends_at_the_length() {
    let bytes = data((13 << 20) + 4321);
    for piece_length in [PieceLength::MIN, PieceLength::AWS, PieceLength::MAX] {
        for threads in [1, 2, 3, 7] {
            let calls = Mutex::new(Vec::new());
            let got = hash_source(
                &bytes,
                bytes.len() as u64,
                piece_length,
                TorrentVersion::V1,
                &options(threads, 65_536),
                &|n| calls.lock().unwrap().push(n),
            )
            .unwrap()
            .v1_pieces();
            assert_oracle(&got, &bytes, piece_length);
            let calls = calls.into_inner().unwrap();
            assert!(!calls.is_empty());
            assert!(
                calls.windows(2).all(|w| w[0] < w[1]),
                "{threads} threads, {piece_length} pieces: not increasing: {calls:?}"
            );
            assert_eq!(calls.last(), Some(&(bytes.len() as u64)));
        }
    }
}

/// A progress callback that is slow once must not see a later total before
/// an earlier one: another thread finishing its batch meanwhile waits.
#[test]
fn progress_stays_monotonic_when_the_callback_is_slow() {
    let bytes = data(16 << 20);
    let first = std::sync::atomic::AtomicBool::new(true);
    let calls = Mutex::new(Vec::new());
    hash_source(
        &bytes,
        bytes.len() as u64,
        PieceLength::MIN,
        TorrentVersion::V1,
        &options(2, 65_536),
        &|n| {
            if first.swap(false, Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(300));
            }
            calls.lock().unwrap().push(n);
        },
    )
    .unwrap();
    let calls = calls.into_inner().unwrap();
    assert!(
        calls.windows(2).all(|w| w[0] < w[1]),
        "not increasing: {calls:?}"
    );
    assert_eq!(calls.last(), Some(&(bytes.len() as u64)));
}

#[test]
fn from_parts_checks_the_hash_length() {
    let bytes = data(2 * KIB16 + 1);
    let hashes = oracle(&bytes, KIB16);
    let len = bytes.len() as u64;
    let ok = Pieces::from_parts(PieceLength::MIN, len, hashes.clone()).unwrap();
    assert_eq!(ok, streamed(&bytes, PieceLength::MIN));
    assert_oracle(&ok, &bytes, PieceLength::MIN);

    for wrong in [0, 1, 19, 20, 40, 59, 61, 80] {
        let v = vec![0u8; wrong];
        match Pieces::from_parts(PieceLength::MIN, len, v) {
            Err(Error::Field { field, problem }) => {
                assert_eq!(field, "pieces");
                assert!(problem.contains("need 3 hashes"), "{problem}");
            }
            other => panic!("{wrong} bytes of hashes accepted: {other:?}"),
        }
    }
    // The piece length counts: the same 3 hashes are wrong for 256 KiB pieces.
    assert!(Pieces::from_parts(PieceLength::AWS, len, hashes).is_err());
    // 0 bytes: exactly 0 hashes.
    assert_eq!(
        Pieces::from_parts(PieceLength::MIN, 0, Vec::new()).unwrap(),
        TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1)
            .finish()
            .v1_pieces()
    );
    assert!(Pieces::from_parts(PieceLength::MIN, 0, vec![0; 20]).is_err());
    // A length so large its hashes could never be held.
    assert!(Pieces::from_parts(PieceLength::MIN, u64::MAX, vec![0; 20]).is_err());
}
