//! Cached torrents and the info-hash index the tracker and the peer use.

use super::*;

/// Where an info-hash points: the object version whose torrent has it.
#[derive(Serialize, Deserialize)]
struct SwarmTarget {
    bucket: String,
    key: String,
    /// The version with an ID the torrent describes; none for the null
    /// version (every object of an unversioned bucket, and every record
    /// written before versions).
    #[serde(default, skip_serializing_if = "VersionId::is_null")]
    version: VersionId,
}

impl Store {
    /// The store's write epoch now: it moves on after every write
    /// transaction. Something decided from the database alone, with the
    /// epoch taken before, holds while the epoch has not moved.
    pub(crate) fn write_epoch(&self) -> u64 {
        self.epoch.now()
    }

    /// Whether `version` is the current version of `bucket`/`key` and its
    /// bytes are in a file this store wrote (an ID file, which never
    /// changes), so that what is decided about it changes only with a
    /// write transaction; a file in the bucket's folder can be changed by
    /// other means, which only a look at the file notices.
    pub(crate) fn current_in_own_file(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: &VersionId,
    ) -> bool {
        let row = object_row(bucket, key.as_str());
        let stored = match self.object_memo.get(self.epoch.now(), &row) {
            Some(meta) => Some(meta),
            None => self.get::<ObjectMeta>(OBJECTS, &row).ok().flatten(),
        };
        stored.is_some_and(|m| m.data.is_some() && m.version == *version)
    }

    /// The bucket, key and version whose torrent had `info_hash`, if one
    /// was made here. Whether that torrent is still the version's, and
    /// still served, is the caller's question.
    pub(crate) fn swarm_target(
        &self,
        info_hash: &InfoHash,
    ) -> Option<(BucketName, ObjectKey, VersionId)> {
        let row = info_hash.to_hex();
        let read = self.epoch.now();
        if let Some(found) = self.swarm_memo.get(read, &row) {
            return Some(found);
        }
        let target: SwarmTarget = self.get(SWARMS, &row).ok()??;
        let found = (
            BucketName::new(target.bucket).ok()?,
            ObjectKey::new(target.key).ok()?,
            target.version,
        );
        self.swarm_memo
            .put(read, self.epoch.now(), &row, found.clone());
        Some(found)
    }

    /// Every info-hash a torrent made here has had (at most `limit`), in
    /// the order of their hex. Whether each is still served is
    /// [`crate::swarm::SwarmSource::lookup`]'s question.
    pub(crate) fn swarm_info_hashes(&self, limit: usize) -> Vec<InfoHash> {
        self.read(|txn| {
            let table = txn.open_table(SWARMS).map_err(internal)?;
            Ok(table
                .iter()
                .map_err(internal)?
                .filter_map(|e| e.ok()?.0.value().parse::<InfoHash>().ok())
                .take(limit)
                .collect())
        })
        .unwrap_or_default()
    }

    /// Opens the file of the object's version `version`, if it is still
    /// there with `etag` (the null version of an unversioned bucket is its
    /// current one, which an overwrite replaces). What the handle reads is
    /// that version: a version's data file never changes (a hand-placed
    /// file could be written in place by other means, which the peer's
    /// piece checks catch).
    pub(crate) fn open_snapshot(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: &VersionId,
        etag: &str,
    ) -> Result<crate::sse::ObjectReader, StoreError> {
        let changed = || StoreError::Changed;
        for _ in 0..OPEN_ATTEMPTS {
            let meta = match self.find_version(bucket, key, Some(version))? {
                Some(Found::Object(meta)) => meta,
                _ => return Err(changed()),
            };
            if meta.etag.as_deref() != Some(etag) {
                return Err(changed());
            }
            if let Some(file) = self.open_version(bucket, key.as_str(), &meta)? {
                // The store's own keys only: an SSE-C object is never
                // read without its customer (no torrent, no seeding).
                return Ok(self.reader(file, &meta, None)?);
            }
        }
        Err(changed())
    }

    /// Opens an adopted file whose MD5 is not known yet, if it is still the
    /// version `object` describes (same size and time, still unhashed).
    pub(super) fn open_unhashed(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<crate::sse::ObjectReader, StoreError> {
        let changed = || StoreError::Changed;
        let meta = self.object_meta(bucket, &object.key)?.ok_or_else(changed)?;
        if meta.data.is_some() || meta.size != object.size || meta.modified != object.last_modified
        {
            return Err(changed());
        }
        self.open_version(bucket, object.key.as_str(), &meta)?
            .map(crate::sse::ObjectReader::plain)
            .ok_or_else(changed)
    }

    /// Caches a torrent and indexes its info-hashes, in one transaction.
    pub(super) fn put_torrent(
        &self,
        id: &str,
        stored: &StoredTorrent,
        hashes: &[InfoHash],
        bucket: &BucketName,
        key: &ObjectKey,
        version: VersionId,
    ) -> Result<(), StoreError> {
        let torrent_bytes = encode(stored)?;
        let target = encode(&SwarmTarget {
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
            version,
        })?;
        self.write(|txn| {
            let mut torrents = txn.open_table(TORRENTS).map_err(internal)?;
            torrents
                .insert(id, torrent_bytes.as_slice())
                .map_err(internal)?;
            let mut swarms = txn.open_table(SWARMS).map_err(internal)?;
            for hash in hashes {
                swarms
                    .insert(hash.to_hex().as_str(), target.as_slice())
                    .map_err(internal)?;
            }
            Ok(())
        })
    }

    /// Removes the cached torrents of a key.
    pub(super) fn forget_torrents(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), StoreError> {
        let prefix = format!("{bucket}/{key}\0");
        self.write(|txn| {
            let mut table = txn.open_table(TORRENTS).map_err(internal)?;
            let doomed: Vec<String> = table
                .range(prefix.as_str()..)
                .map_err(internal)?
                .map_while(|e| e.ok().map(|(k, _)| k.value().to_owned()))
                .take_while(|k| k.starts_with(&prefix))
                .collect();
            for k in doomed {
                table.remove(k.as_str()).map_err(internal)?;
            }
            Ok(())
        })
    }
}

/// The info-hashes peers use for a torrent: the v1 one, and the v2 one
/// truncated to 20 bytes (a hybrid torrent has both).
pub(crate) fn peer_info_hashes(torrent: &Torrent) -> Vec<InfoHash> {
    torrent
        .info_hash_v1()
        .into_iter()
        .chain(torrent.info_hash_v2().map(|h| h.truncated()))
        .collect()
}

/// Cached torrents in the database, so they survive a restart, and the
/// most recently used in memory too, so a cached `?torrent` reads no
/// database. A key names one object version under one policy, so what is
/// in memory is never stale: an overwrite asks for another key.
pub(crate) struct DbCache {
    store: std::sync::Arc<Store>,
    memory: LruCache,
    /// How many torrents were cached since start ([`DbCache::generation`]).
    made: AtomicU64,
}

impl DbCache {
    /// How many bytes of torrents stay in memory.
    const MEMORY: usize = 64 << 20;

    pub(crate) fn new(store: std::sync::Arc<Store>) -> DbCache {
        DbCache {
            store,
            memory: LruCache::new(Self::MEMORY),
            made: AtomicU64::new(0),
        }
    }

    /// A number that grows whenever a torrent is cached, so that a sweep
    /// of [`Store::swarm_info_hashes`] can be skipped while it stands.
    pub(crate) fn generation(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }
}

pub(super) fn cache_id(key: &CacheKey) -> String {
    let version = match &key.version {
        ObjectVersion::Id(v) => format!("v:{v}"),
        ObjectVersion::ETag(e) => format!("e:{e}"),
    };
    format!("{}/{}\0{version}\0{:016x}", key.bucket, key.key, key.policy)
}

impl TorrentCache for DbCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        if let Some(torrent) = self.memory.get(key) {
            return Some(torrent);
        }
        let stored: StoredTorrent = self.store.get(TORRENTS, &cache_id(key)).ok()??;
        let torrent = CachedTorrent {
            bytes: stored.bytes.into(),
            info_hash: stored.info_hash.parse::<InfoHash>().ok()?,
            etag: stored.etag,
        };
        self.memory.put(key.clone(), torrent.clone());
        Some(torrent)
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        // The service caches only torrents it built, which parse.
        let (hashes, length) = Torrent::from_bytes(torrent.bytes.clone())
            .map(|t| (peer_info_hashes(&t), t.info().length()))
            .unwrap_or_default();
        crate::metrics::METRICS.torrent_made(length);
        let stored = StoredTorrent {
            bytes: torrent.bytes.to_vec(),
            info_hash: torrent.info_hash.to_hex(),
            etag: torrent.etag.clone(),
        };
        // A torrent keyed by a version ID is that version's; one keyed by
        // an ETag is the null version's.
        let version = match &key.version {
            ObjectVersion::Id(id) => VersionId::Id(id.clone()),
            ObjectVersion::ETag(_) => VersionId::Null,
        };
        if let Err(e) = self.store.put_torrent(
            &cache_id(&key),
            &stored,
            &hashes,
            &key.bucket,
            &key.key,
            version,
        ) {
            tracing::warn!(target: "serve", error = %e, "caching a torrent failed");
        }
        self.memory.put(key, torrent);
        self.made.fetch_add(1, Ordering::Relaxed);
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        self.memory.forget(bucket, key);
        if let Err(e) = self.store.forget_torrents(bucket, key) {
            tracing::warn!(target: "serve", error = %e, "forgetting torrents failed");
        }
    }
}
