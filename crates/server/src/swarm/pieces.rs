//! The verified pieces of one seeded object version, loaded once however
//! many connections ask at the same time (single flight), and kept, least
//! recently used out, within the seed's share of the cache budget.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use s3torrent_peer::{Seed, VerifiedPiece};
use tokio::sync::OnceCell;

use super::error::PieceError;

/// A piece's load: it reads and checks the piece, and never blocks the
/// runtime's threads.
pub(crate) type PieceLoad = Pin<Box<dyn Future<Output = Result<VerifiedPiece, PieceError>> + Send>>;

/// A piece being loaded, or its result, waited on by every connection that
/// asks for it meanwhile.
type Loading = Arc<OnceCell<Result<VerifiedPiece, PieceError>>>;

/// Loads a piece of an object version: reads it, then has the seed check it
/// ([`Seed::verify`], or [`Seed::read_piece`] on a blocking thread), never
/// blocking the runtime's threads.
pub(crate) trait PieceSource: Send + Sync {
    /// Piece `index` of `seed`'s torrent, read from this object version and
    /// verified; or why not (a mismatch also marks the seed stale).
    fn load(self: Arc<Self>, seed: Arc<Seed>, index: u32) -> PieceLoad;
}

/// Counters of a [`Pieces`], for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PieceStats {
    /// Pieces loaded from the source (and checked).
    pub(crate) loads: u64,
    /// Pieces answered from memory, or from another connection's load.
    pub(crate) hits: u64,
}

#[derive(Default)]
struct Inner {
    ready: HashMap<u32, (VerifiedPiece, u64)>,
    loading: HashMap<u32, Loading>,
    clock: u64,
    stats: PieceStats,
}

/// The pieces of one seed: see the module's documentation.
pub(crate) struct Pieces {
    seed: Arc<Seed>,
    source: Arc<dyn PieceSource>,
    /// Pieces kept at most (at least 1).
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Pieces {
    pub(crate) fn new(seed: Arc<Seed>, source: Arc<dyn PieceSource>, capacity: usize) -> Self {
        Pieces {
            seed,
            source,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Its counters.
    #[cfg(test)]
    pub(crate) fn stats(&self) -> PieceStats {
        self.lock().stats
    }

    /// Piece `index`, verified: from memory, from a load another connection
    /// started, or loaded now.
    pub(crate) async fn get(&self, index: u32) -> Result<VerifiedPiece, PieceError> {
        let cell = {
            let mut inner = self.lock();
            inner.clock += 1;
            let clock = inner.clock;
            if let Some((piece, used)) = inner.ready.get_mut(&index) {
                *used = clock;
                let piece = piece.clone();
                inner.stats.hits += 1;
                return Ok(piece);
            }
            match inner.loading.get(&index) {
                Some(cell) => {
                    let cell = Arc::clone(cell);
                    inner.stats.hits += 1;
                    cell
                }
                None => {
                    let cell: Loading = Arc::new(OnceCell::new());
                    inner.loading.insert(index, Arc::clone(&cell));
                    cell
                }
            }
        };
        let result = cell
            .get_or_init(|| Arc::clone(&self.source).load(Arc::clone(&self.seed), index))
            .await
            .clone();
        let mut inner = self.lock();
        if inner
            .loading
            .get(&index)
            .is_some_and(|c| Arc::ptr_eq(c, &cell))
        {
            inner.loading.remove(&index);
            inner.stats.loads += 1;
            if let Ok(piece) = &result {
                if inner.ready.len() >= self.capacity
                    && let Some(oldest) = inner
                        .ready
                        .iter()
                        .min_by_key(|(_, (_, used))| *used)
                        .map(|(i, _)| *i)
                {
                    inner.ready.remove(&oldest);
                }
                let used = inner.clock;
                inner.ready.insert(index, (piece.clone(), used));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::Bytes;
    use s3torrent_metainfo::{PieceLength, TorrentBuilder, TorrentHasher, TorrentVersion};
    use s3torrent_peer::{SeedOptions, SeedTorrent};

    use super::*;

    /// Counts loads, and takes a while so that callers overlap.
    struct Slow {
        data: Vec<u8>,
        reads: AtomicUsize,
    }

    impl PieceSource for Slow {
        fn load(self: Arc<Self>, seed: Arc<Seed>, index: u32) -> PieceLoad {
            Box::pin(async move {
                self.reads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                let at = index as usize * 16384;
                let end = (at + 16384).min(self.data.len());
                seed.verify(index, Bytes::copy_from_slice(&self.data[at..end]))
                    .map_err(PieceError::seed)
            })
        }
    }

    fn seed_of(data: &[u8]) -> Arc<Seed> {
        let mut h = TorrentHasher::new(PieceLength::MIN, TorrentVersion::V1);
        h.update(data);
        let torrent = TorrentBuilder::plain("o.bin").build(&h.finish()).unwrap();
        Arc::new(Seed::new(
            SeedTorrent::from_torrent(&torrent, *b"-S30100-testtesttest").unwrap(),
            SeedOptions::default(),
        ))
    }

    #[tokio::test]
    async fn eight_connections_asking_at_once_cost_one_load() {
        let data: Vec<u8> = (0..4 * 16384u32).map(|i| (i % 251) as u8).collect();
        let seed = seed_of(&data);
        let source = Arc::new(Slow {
            data: data.clone(),
            reads: AtomicUsize::new(0),
        });
        let pieces = Arc::new(Pieces::new(seed, source.clone(), 4));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pieces = Arc::clone(&pieces);
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..4 {
                    got.push(pieces.get(i).await.unwrap());
                }
                got
            }));
        }
        for t in tasks {
            for (i, p) in t.await.unwrap().into_iter().enumerate() {
                assert_eq!(&p.data()[..], &data[i * 16384..(i + 1) * 16384]);
            }
        }
        assert_eq!(source.reads.load(Ordering::SeqCst), 4);
        assert_eq!(pieces.stats().loads, 4);
        assert_eq!(pieces.stats().hits, 8 * 4 - 4);
    }

    #[tokio::test]
    async fn a_changed_piece_is_an_error_and_is_not_kept() {
        let data: Vec<u8> = (0..2 * 16384u32).map(|i| (i % 251) as u8).collect();
        let seed = seed_of(&data);
        let mut changed = data.clone();
        changed[16384 + 3] ^= 1;
        let source = Arc::new(Slow {
            data: changed,
            reads: AtomicUsize::new(0),
        });
        let pieces = Pieces::new(Arc::clone(&seed), source.clone(), 4);
        assert!(pieces.get(0).await.is_ok());
        let err = pieces.get(1).await.unwrap_err();
        assert!(matches!(err, PieceError::Seed { .. }), "{err:?}");
        assert!(err.to_string().contains("does not match"), "{err}");
        assert_eq!(seed.stale_piece(), Some(1));
        // Asked again, it is loaded again (never served from memory).
        assert!(pieces.get(1).await.is_err());
        assert_eq!(source.reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn it_keeps_at_most_its_capacity() {
        let data: Vec<u8> = (0..4 * 16384u32).map(|i| (i % 251) as u8).collect();
        let source = Arc::new(Slow {
            data: data.clone(),
            reads: AtomicUsize::new(0),
        });
        let pieces = Pieces::new(seed_of(&data), source.clone(), 2);
        for i in [0, 1, 2, 0] {
            pieces.get(i).await.unwrap();
        }
        // 0 was the least recently used when 2 came: loaded again.
        assert_eq!(source.reads.load(Ordering::SeqCst), 4);
        assert!(pieces.lock().ready.len() <= 2);
    }
}
