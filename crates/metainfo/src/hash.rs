//! Piece hashing: streaming over chunks, or on several threads over a
//! positional source. Both give the same bytes.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};
use crate::piece_length::PieceLength;
use crate::source::{ReadAt, read_exact_at};

/// The SHA-1 hashes of an object's pieces, and the lengths they were made with.
#[derive(Clone, PartialEq, Eq)]
pub struct Pieces {
    piece_length: u64,
    length: u64,
    hashes: Vec<u8>,
}

impl Pieces {
    /// Piece hashes computed elsewhere (for example while an object was
    /// uploaded): `hashes` is the concatenated 20-byte digests, one per
    /// piece of `length` bytes cut into `piece_length` pieces.
    pub fn from_parts(piece_length: PieceLength, length: u64, hashes: Vec<u8>) -> Result<Self> {
        let expected = piece_length.piece_count(length);
        if hashes.len() as u64 != expected.saturating_mul(20) {
            return Err(Error::field(
                "pieces",
                format!(
                    "{} bytes of hashes, but {length} bytes in pieces of {piece_length} need {expected} hashes of 20 bytes",
                    hashes.len()
                ),
            ));
        }
        Ok(Pieces {
            piece_length: piece_length.get(),
            length,
            hashes,
        })
    }

    /// The piece length in bytes.
    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// The total length of the data hashed.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The concatenated 20-byte hashes: the torrent's `pieces` string.
    pub fn as_bytes(&self) -> &[u8] {
        &self.hashes
    }

    /// The number of pieces.
    pub fn count(&self) -> u64 {
        self.hashes.len() as u64 / 20
    }

    /// The hash of piece `index`.
    pub fn get(&self, index: u64) -> Option<[u8; 20]> {
        let start = usize::try_from(index).ok()?.checked_mul(20)?;
        self.hashes
            .get(start..start.checked_add(20)?)?
            .try_into()
            .ok()
    }

    /// The hashes in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = [u8; 20]> + '_ {
        self.hashes
            .chunks_exact(20)
            .map(|c| <[u8; 20]>::try_from(c).unwrap_or_default())
    }
}

impl std::fmt::Debug for Pieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pieces")
            .field("piece_length", &self.piece_length)
            .field("length", &self.length)
            .field("count", &self.count())
            .finish()
    }
}

/// Hashes a stream of chunks into v1 pieces: the v1 half of
/// [`TorrentHasher`](crate::TorrentHasher), and what [`Verifier`](crate::Verifier)
/// uses for third-party piece lengths.
#[derive(Clone, Debug)]
pub(crate) struct PieceHasher {
    piece_length: u64,
    current: Sha1,
    filled: u64,
    total: u64,
    hashes: Vec<u8>,
}

impl PieceHasher {
    /// A hasher for any positive piece length, as third-party torrents have.
    pub(crate) fn with_piece_bytes(piece_length: u64) -> Self {
        debug_assert!(piece_length > 0);
        PieceHasher {
            piece_length,
            current: Sha1::new(),
            filled: 0,
            total: 0,
            hashes: Vec::new(),
        }
    }

    /// Feeds the next chunk.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.piece_length - self.filled;
            let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            self.current.update(&data[..take]);
            self.filled += take as u64;
            self.total += take as u64;
            data = &data[take..];
            if self.filled == self.piece_length {
                let digest = std::mem::take(&mut self.current).finalize();
                self.hashes.extend_from_slice(&digest);
                self.filled = 0;
            }
        }
    }

    /// How many bytes have been fed.
    pub(crate) fn bytes_hashed(&self) -> u64 {
        self.total
    }

    /// Hashes the last, short piece (if any) and returns all the hashes.
    pub(crate) fn finish(mut self) -> Pieces {
        if self.filled > 0 {
            self.hashes.extend_from_slice(&self.current.finalize());
        }
        Pieces {
            piece_length: self.piece_length,
            length: self.total,
            hashes: self.hashes,
        }
    }
}

/// How [`hash_source`](crate::hash_source) and
/// [`verify_source`](crate::verify_source) use threads and memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashOptions {
    threads: NonZeroUsize,
    buffer_size: usize,
}

impl Default for HashOptions {
    fn default() -> Self {
        HashOptions {
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            buffer_size: Self::DEFAULT_BUFFER_SIZE,
        }
    }
}

impl HashOptions {
    /// The default read buffer per thread: 1 MiB.
    pub const DEFAULT_BUFFER_SIZE: usize = 1 << 20;

    /// All available cores, 1 MiB buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of threads (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets each thread's read buffer (at least 4 KiB). Memory use is about
    /// threads × buffer size, whatever the object's size.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes.max(4096);
        self
    }

    /// The number of threads.
    pub fn thread_count(&self) -> usize {
        self.threads.get()
    }

    /// Each thread's read buffer in bytes.
    pub fn buffer_bytes(&self) -> usize {
        self.buffer_size
    }
}

/// Bytes a thread takes from the shared counter at a time.
const BATCH_BYTES: u64 = 4 << 20;

pub(crate) fn hash_source_with_length<R: ReadAt + Sync + ?Sized>(
    source: &R,
    length: u64,
    piece_length: u64,
    options: &HashOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Pieces> {
    let buffer_size = options
        .buffer_size
        .min(usize::try_from(piece_length).unwrap_or(usize::MAX));
    let digests = for_each_piece(
        length,
        piece_length,
        options.thread_count(),
        progress,
        || vec![0u8; buffer_size],
        |buf, _, start, end| hash_piece(source, start, end, length, buf),
    )?;
    Ok(Pieces {
        piece_length,
        length,
        hashes: digests.concat(),
    })
}

/// Runs `hash(scratch, index, start, end)` over every piece of `length`
/// bytes in pieces of `piece_length`, on up to `threads` threads, and returns
/// the results in piece order.
///
/// Threads take batches of whole pieces (about 4 MiB at a time) from a shared
/// counter; each has its own scratch state from `scratch`. `progress` gets
/// the bytes done so far after each batch, one call at a time, with
/// increasing totals. If pieces fail, the error returned is the one earliest
/// in the data.
pub(crate) fn for_each_piece<S, T, F>(
    length: u64,
    piece_length: u64,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
    scratch: impl Fn() -> S + Sync,
    hash: F,
) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(&mut S, u64, u64, u64) -> Result<T> + Sync,
{
    let count = length.div_ceil(piece_length);
    let batch = (BATCH_BYTES / piece_length).max(1);
    let batches = count.div_ceil(batch);
    let threads = usize::try_from(batches)
        .unwrap_or(usize::MAX)
        .clamp(1, threads.max(1));

    let next = AtomicU64::new(0);
    // Held while `progress` runs, so its calls come in increasing order.
    let done = Mutex::new(0u64);
    // The earliest failure: batches from its offset on are not started, and
    // batches before it still run, so the error named is always the first
    // in the data, whichever thread got there first.
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    let fail_at = AtomicU64::new(u64::MAX);
    let work = || -> Vec<(u64, T)> {
        let mut state = scratch();
        let mut out = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            if b >= batches || b * batch * piece_length >= fail_at.load(Ordering::Relaxed) {
                return out;
            }
            let mut batch_bytes = 0;
            for index in b * batch..((b + 1) * batch).min(count) {
                let start = index * piece_length;
                let end = (start + piece_length).min(length);
                match hash(&mut state, index, start, end) {
                    Ok(digest) => out.push((index, digest)),
                    Err(e) => {
                        let at = error_offset(&e);
                        let mut slot = failed.lock().unwrap_or_else(|p| p.into_inner());
                        if slot.as_ref().is_none_or(|old| at < error_offset(old)) {
                            *slot = Some(e);
                            fail_at.fetch_min(at, Ordering::Relaxed);
                        }
                        return out;
                    }
                }
                batch_bytes += end - start;
            }
            let mut done = done.lock().unwrap_or_else(|p| p.into_inner());
            *done += batch_bytes;
            progress(*done);
        }
    };
    let results: Vec<Vec<(u64, T)>> = if threads == 1 {
        vec![work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    // Each thread's results are in increasing order; a sort by index puts
    // the batches together.
    let mut all: Vec<(u64, T)> = results.into_iter().flatten().collect();
    all.sort_unstable_by_key(|(index, _)| *index);
    debug_assert_eq!(all.len() as u64, count);
    Ok(all.into_iter().map(|(_, digest)| digest).collect())
}

/// Where a read error happened, to keep the earliest of several.
fn error_offset(e: &Error) -> u64 {
    match e {
        Error::ShortRead { at, .. } => *at,
        Error::Io { offset, .. } => *offset,
        _ => u64::MAX,
    }
}

fn hash_piece<R: ReadAt + ?Sized>(
    source: &R,
    start: u64,
    end: u64,
    length: u64,
    buf: &mut [u8],
) -> Result<[u8; 20]> {
    let mut sha = Sha1::new();
    let mut at = start;
    while at < end {
        let n = buf
            .len()
            .min(usize::try_from(end - at).unwrap_or(usize::MAX));
        read_exact_at(source, &mut buf[..n], at, length)?;
        sha.update(&buf[..n]);
        at += n as u64;
    }
    Ok(sha.finalize().into())
}
