//! A bounded cache of verified pieces, shared by the connections of a torrent.

use std::io;
use std::sync::{Condvar, Mutex, MutexGuard};

use bytes::Bytes;
use s3torrent_metainfo::ReadAt;

use crate::error::{Error, Result};
use crate::seed::SeedTorrent;

/// Counters of a [`PieceCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Pieces served from the cache.
    pub hits: u64,
    /// Pieces read from the source and hashed.
    pub loads: u64,
    /// Pieces that did not match their hash.
    pub mismatches: u64,
}

#[derive(Debug)]
struct Entry {
    index: u32,
    data: Bytes,
    used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    loading: Vec<u32>,
    clock: u64,
    stats: CacheStats,
}

/// Verified pieces, least recently used out, shared between connections.
///
/// A piece is read whole through [`ReadAt`] and checked against the
/// torrent's hash (SHA-1, or a v2-only torrent's merkle tree) before any of
/// its bytes is handed out; a piece
/// that does not match is [`Error::PieceMismatch`] and is never cached. When
/// several connections (threads) ask for the same piece at once, one reads
/// and hashes it and the others wait for its result, so eight peers
/// downloading the same piece cost one read and one hash.
///
/// It holds at most `capacity` pieces (and each connection keeps a handle to
/// the one piece it is serving from).
#[derive(Debug)]
pub struct PieceCache {
    inner: Mutex<Inner>,
    loaded: Condvar,
    capacity: usize,
}

impl PieceCache {
    /// A cache of at most `capacity` pieces (at least 1).
    pub fn new(capacity: usize) -> Self {
        PieceCache {
            inner: Mutex::new(Inner::default()),
            loaded: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many pieces it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Its counters.
    pub fn stats(&self) -> CacheStats {
        self.lock().stats
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Piece `index` of `torrent`, verified, from the cache or read from
    /// `reader` (which holds the torrent's data from offset 0).
    pub fn piece<R: ReadAt + ?Sized>(
        &self,
        torrent: &SeedTorrent,
        index: u32,
        reader: &R,
    ) -> Result<Bytes> {
        let mut inner = self.lock();
        loop {
            inner.clock += 1;
            let clock = inner.clock;
            if let Some(e) = inner.entries.iter_mut().find(|e| e.index == index) {
                e.used = clock;
                let data = e.data.clone();
                inner.stats.hits += 1;
                return Ok(data);
            }
            if !inner.loading.contains(&index) {
                break;
            }
            inner = self.loaded.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
        inner.loading.push(index);
        drop(inner);
        let _guard = Loading { cache: self, index };
        let result = load(torrent, index, reader);
        let mut inner = self.lock();
        match &result {
            Ok(data) => {
                inner.stats.loads += 1;
                if inner.entries.len() >= self.capacity
                    && let Some(oldest) = inner
                        .entries
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, e)| e.used)
                        .map(|(i, _)| i)
                {
                    inner.entries.swap_remove(oldest);
                }
                let used = inner.clock;
                inner.entries.push(Entry {
                    index,
                    data: data.clone(),
                    used,
                });
            }
            Err(Error::PieceMismatch { .. }) => inner.stats.mismatches += 1,
            Err(_) => {}
        }
        result
    }
}

/// Clears the loading mark and wakes the waiters, even if the read panics.
struct Loading<'a> {
    cache: &'a PieceCache,
    index: u32,
}

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        inner.loading.retain(|&i| i != self.index);
        drop(inner);
        self.cache.loaded.notify_all();
    }
}

/// Reads piece `index` whole and checks it ([`SeedTorrent::piece_matches`]).
fn load<R: ReadAt + ?Sized>(torrent: &SeedTorrent, index: u32, reader: &R) -> Result<Bytes> {
    let size = torrent.piece_size(index);
    let start = torrent.piece_offset(index);
    let mut buf = vec![0; size as usize];
    let mut filled = 0;
    while filled < buf.len() {
        let offset = start + filled as u64;
        match reader.read_at(&mut buf[filled..], offset) {
            Ok(0) => {
                return Err(Error::ShortRead {
                    index,
                    at: offset,
                    expected: torrent.length(),
                });
            }
            Ok(n) => filled += n.min(buf.len() - filled),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    index,
                    offset,
                    source,
                });
            }
        }
    }
    if !torrent.piece_matches(index, &buf) {
        return Err(Error::PieceMismatch { index });
    }
    Ok(Bytes::from(buf))
}
