//! The torrent cache: a small trait and a bounded LRU default.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use s3torrent_metainfo::{InfoHash, to_hex};
use sha1::{Digest, Sha1};

use crate::model::{BucketName, ObjectKey};

/// What identifies one cached torrent: the object version it describes and
/// the policy it was made under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    /// The bucket.
    pub bucket: BucketName,
    /// The key.
    pub key: ObjectKey,
    /// The version ID in a versioned bucket, else the ETag: an overwrite
    /// changes it, so an updated object never gets a stale torrent.
    pub version: ObjectVersion,
    /// [`TorrentPolicy::fingerprint`](crate::TorrentPolicy::fingerprint).
    pub policy: u64,
}

/// Which version of an object a torrent describes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectVersion {
    /// A version ID (immutable content).
    Id(String),
    /// The ETag of an unversioned object.
    ETag(String),
}

/// A generated torrent, as cached and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTorrent {
    /// The `.torrent` bytes.
    pub bytes: Bytes,
    /// Its info-hash: the v1 (SHA-1) info-hash of a v1 or hybrid torrent,
    /// the truncated v2 one (as trackers and BEP 52 use it) of a v2 torrent.
    pub info_hash: InfoHash,
    /// An HTTP entity tag for the bytes (hex SHA-1 of them, without quotes).
    pub etag: String,
}

impl CachedTorrent {
    /// Wraps torrent bytes, computing the entity tag.
    pub fn new(bytes: Bytes, info_hash: InfoHash) -> Self {
        // SHA-1 of the whole file: a strong validator for exactly these bytes.
        let etag = to_hex(&Sha1::digest(&bytes));
        CachedTorrent {
            bytes,
            info_hash,
            etag,
        }
    }
}

/// Where the service keeps torrents. Implementations are shared between
/// threads; a persistent one lets torrents survive a restart.
pub trait TorrentCache: Send + Sync {
    /// The torrent for `key`, if cached.
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent>;
    /// Stores a torrent.
    fn put(&self, key: CacheKey, torrent: CachedTorrent);
    /// Forgets every torrent of `bucket`/`key`, whatever the version (for
    /// example when the object is deleted).
    fn forget(&self, bucket: &BucketName, key: &ObjectKey);
}

/// An in-memory cache bounded by the total size of the torrents it holds;
/// the least recently used go first.
#[derive(Debug)]
pub struct LruCache {
    capacity: usize,
    inner: Mutex<Lru>,
}

#[derive(Debug, Default)]
struct Lru {
    /// Ordered, so that every version of one key is one range (`forget`).
    entries: BTreeMap<CacheKey, (CachedTorrent, u64)>,
    order: BTreeMap<u64, CacheKey>,
    tick: u64,
    size: usize,
}

impl LruCache {
    /// The default bound: 256 MiB of torrents (about 640 torrents of 5 GiB
    /// objects at 256 KiB pieces).
    pub const DEFAULT_CAPACITY: usize = 256 << 20;

    /// A cache holding at most `capacity` bytes of torrents.
    pub fn new(capacity: usize) -> Self {
        LruCache {
            capacity,
            inner: Mutex::new(Lru::default()),
        }
    }

    /// How many torrents are cached.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic elsewhere cannot leave the maps inconsistent mid-update
        // (no user code runs under the lock), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for LruCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl Lru {
    fn remove(&mut self, key: &CacheKey) {
        if let Some((t, tick)) = self.entries.remove(key) {
            self.order.remove(&tick);
            self.size -= t.bytes.len();
        }
    }
}

impl TorrentCache for LruCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        let mut lru = self.lock();
        lru.tick += 1;
        let tick = lru.tick;
        let (torrent, old) = {
            let entry = lru.entries.get_mut(key)?;
            let old = std::mem::replace(&mut entry.1, tick);
            (entry.0.clone(), old)
        };
        lru.order.remove(&old);
        lru.order.insert(tick, key.clone());
        Some(torrent)
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        let mut lru = self.lock();
        lru.remove(&key);
        if torrent.bytes.len() > self.capacity {
            return;
        }
        while lru.size + torrent.bytes.len() > self.capacity {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            if let Some((t, _)) = lru.entries.remove(&oldest) {
                lru.size -= t.bytes.len();
            }
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.size += torrent.bytes.len();
        lru.order.insert(tick, key.clone());
        lru.entries.insert(key, (torrent, tick));
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        // The least key of `bucket`/`key`: keys order by bucket, key,
        // version (`Id` first, the empty string least), then policy.
        let first = CacheKey {
            bucket: bucket.clone(),
            key: key.clone(),
            version: ObjectVersion::Id(String::new()),
            policy: 0,
        };
        let mut lru = self.lock();
        let doomed: Vec<CacheKey> = lru
            .entries
            .range(first..)
            .map(|(k, _)| k)
            .take_while(|k| k.bucket == *bucket && k.key == *key)
            .cloned()
            .collect();
        for k in doomed {
            lru.remove(&k);
        }
    }
}
