//! The torrent service: decide, then serve from cache or hash once.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use s3torrent_metainfo::{HashOptions, Pieces, ReadAt, TorrentHashes, hash_source_versioned};

use crate::cache::{CacheKey, CachedTorrent, LruCache, ObjectVersion, TorrentCache};
use crate::decide::{TorrentPlan, TorrentRequest, check_bucket, check_request, decide_object};
use crate::error::{ErrorCode, Result, S3Error};
use crate::info::{BucketInfo, ObjectInfo, ObjectLookup};
use crate::model::{BucketName, ObjectKey};
use crate::policy::TorrentPolicy;

/// What the host stores: bucket and object metadata, and positional reads
/// of an object version's bytes.
pub trait ObjectSource: Sync {
    /// The bucket, if it exists.
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>>;

    /// The object: the current version when `version_id` is `None`.
    fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup>;

    /// A reader of exactly this object version's bytes.
    ///
    /// The service looks the object up again after hashing and refuses the
    /// torrent if its ETag, version or size changed; that cannot see an
    /// object overwritten and then restored (A, B, A) while it was read. A
    /// store whose objects change in place should return a reader of a
    /// snapshot (an open file that renames replace, as `serve` does, or an
    /// immutable version).
    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Box<dyn ReadAt + Send + Sync + '_>>;
}

/// A torrent, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedTorrent {
    /// The `.torrent` bytes, their info-hash and entity tag.
    pub torrent: CachedTorrent,
    /// The torrent's name (for `Content-Disposition`).
    pub name: String,
    /// Whether to answer `x-amz-request-charged: requester`.
    pub request_charged: bool,
    /// Whether it came from the cache (false: hashed for this request).
    pub from_cache: bool,
}

/// One in-flight generation that later requests for the same torrent wait on.
#[derive(Default)]
struct Flight {
    result: Mutex<Option<Result<CachedTorrent>>>,
    done: Condvar,
}

/// GetObjectTorrent with caching and single-flight generation.
///
/// # Blocking
///
/// [`get_object_torrent`](Self::get_object_torrent) may hash the object
/// (CPU-bound, on all cores, for as long as the object takes: about
/// 1 GiB/s per core with SHA-NI) or wait for another request that is hashing
/// it. An async host calls it on a blocking thread (tokio:
/// `spawn_blocking`). [`cached`](Self::cached) and
/// [`store_pieces`](Self::store_pieces) never hash nor wait, and are cheap
/// enough for an async task.
///
/// # Objects that change while hashed
///
/// The object's metadata is looked up again after hashing; if its ETag or
/// version differs, or it got shorter, the request fails with
/// `InternalError` 500 (retryable; SDKs retry it) and nothing is cached.
pub struct TorrentService<C: TorrentCache = LruCache> {
    policy: TorrentPolicy,
    policy_fingerprint: u64,
    cache: C,
    hash_options: HashOptions,
    flights: Mutex<HashMap<CacheKey, Arc<Flight>>>,
}

impl TorrentService<LruCache> {
    /// A service with the default in-memory LRU cache.
    pub fn new(policy: TorrentPolicy) -> Self {
        Self::with_cache(policy, LruCache::default())
    }
}

impl<C: TorrentCache> TorrentService<C> {
    /// A service with a cache of the host's.
    pub fn with_cache(policy: TorrentPolicy, cache: C) -> Self {
        TorrentService {
            policy_fingerprint: policy.fingerprint(),
            policy,
            cache,
            hash_options: HashOptions::new(),
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the threads and buffers used for hashing.
    pub fn with_hash_options(mut self, options: HashOptions) -> Self {
        self.hash_options = options;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &TorrentPolicy {
        &self.policy
    }

    /// The cache.
    pub fn cache(&self) -> &C {
        &self.cache
    }

    /// The cache key of an object version under this service's policy.
    pub fn cache_key(&self, bucket: &BucketName, object: &ObjectInfo) -> CacheKey {
        CacheKey {
            bucket: bucket.clone(),
            key: object.key.clone(),
            version: match &object.version_id {
                Some(v) => ObjectVersion::Id(v.clone()),
                None => ObjectVersion::ETag(object.etag.clone()),
            },
            policy: self.policy_fingerprint,
        }
    }

    /// Decides the request against the source's metadata.
    pub fn plan(&self, source: &dyn ObjectSource, req: &TorrentRequest) -> Result<TorrentPlan> {
        let checked = check_request(req)?;
        let bucket = source.bucket(&checked.bucket)?;
        let bucket = check_bucket(req, &checked, bucket.as_ref(), &self.policy)?;
        let object = source.object(&checked.bucket, &checked.key, checked.version_id.as_deref())?;
        decide_object(req, &checked, bucket, &object, &self.policy)
    }

    /// Decides, then answers from the cache only: `Ok(None)` when the
    /// torrent would have to be generated. Never hashes, never waits.
    pub fn cached(
        &self,
        source: &dyn ObjectSource,
        req: &TorrentRequest,
    ) -> Result<Option<ServedTorrent>> {
        let plan = self.plan(source, req)?;
        let key = self.cache_key(&plan.bucket, &plan.object);
        Ok(self.cache.get(&key).map(|t| served(&plan, t, true)))
    }

    /// GetObjectTorrent: decides, then serves the cached torrent or
    /// generates it, once however many requests ask at the same time.
    pub fn get_object_torrent(
        &self,
        source: &dyn ObjectSource,
        req: &TorrentRequest,
    ) -> Result<ServedTorrent> {
        let plan = self.plan(source, req)?;
        let key = self.cache_key(&plan.bucket, &plan.object);
        if let Some(t) = self.cache.get(&key) {
            return Ok(served(&plan, t, true));
        }
        let (flight, leader) = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            match flights.get(&key) {
                Some(f) => (Arc::clone(f), false),
                None => {
                    let f = Arc::new(Flight::default());
                    flights.insert(key.clone(), Arc::clone(&f));
                    (f, true)
                }
            }
        };
        if !leader {
            let mut result = flight.result.lock().unwrap_or_else(|p| p.into_inner());
            while result.is_none() {
                result = flight.done.wait(result).unwrap_or_else(|p| p.into_inner());
            }
            let t = result.clone().expect("set before notify")?;
            return Ok(served(&plan, t, true));
        }
        // The leader: generate, publish to the waiters, then leave the map.
        let guard = FlightGuard {
            service_flights: &self.flights,
            key: key.clone(),
            flight: &flight,
        };
        // A request that missed the cache just before another leader
        // finished finds no flight, but the torrent is cached by now (the
        // leader caches it before it leaves the map): no second hash.
        if let Some(t) = self.cache.get(&key) {
            guard.publish(Ok(t.clone()));
            return Ok(served(&plan, t, true));
        }
        let outcome = self.generate(source, &plan, req);
        if let Ok(t) = &outcome {
            self.cache.put(key, t.clone());
        }
        guard.publish(outcome.clone());
        Ok(served(&plan, outcome?, false))
    }

    /// Caches the v1 torrent of an object version from piece hashes
    /// computed elsewhere (for example while it was uploaded), so that the
    /// first request is served from the cache. The pieces must use the piece
    /// length the policy gives for the object's size, and the policy must
    /// make v1 torrents; for v2 and hybrid use
    /// [`store_hashes`](Self::store_hashes).
    pub fn store_pieces(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
        pieces: &Pieces,
    ) -> Result<CachedTorrent> {
        self.store_hashes(bucket, object, &TorrentHashes::from(pieces.clone()))
    }

    /// Caches the torrent of an object version from hashes computed
    /// elsewhere, as [`store_pieces`](Self::store_pieces) does, for any
    /// [`TorrentVersion`](s3torrent_metainfo::TorrentVersion): hash with a
    /// [`TorrentHasher`](s3torrent_metainfo::TorrentHasher) of the policy's
    /// version. Hashes of another piece length or size, or without the kind
    /// the policy's version needs, are refused with `InternalError`.
    pub fn store_hashes(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
        hashes: &TorrentHashes,
    ) -> Result<CachedTorrent> {
        let resource = format!("/{bucket}/{}", object.key);
        let expected = self.policy.piece_length_for(object.size).get();
        if hashes.piece_length() != expected || hashes.length() != object.size {
            return Err(S3Error::with_message(
                ErrorCode::InternalError,
                format!(
                    "precomputed hashes ({} bytes in pieces of {}) do not fit the object ({} bytes, pieces of {expected})",
                    hashes.length(),
                    hashes.piece_length(),
                    object.size
                ),
                resource,
            ));
        }
        let plan = self.plan_for(bucket, object);
        let torrent = build(&plan, hashes, &resource)?;
        self.cache
            .put(self.cache_key(bucket, object), torrent.clone());
        Ok(torrent)
    }

    /// The plan the policy gives an object, without any access decision.
    fn plan_for(&self, bucket: &BucketName, object: &ObjectInfo) -> TorrentPlan {
        TorrentPlan {
            bucket: bucket.clone(),
            object: object.clone(),
            name: crate::decide::torrent_name(object.key.as_str()),
            piece_length: self.policy.piece_length_for(object.size),
            version: self.policy.version,
            profile: self.policy.profile,
            trackers: self.policy.trackers.clone(),
            web_seed: self.policy.web_seed_url(bucket, &object.key),
            request_charged: false,
        }
    }

    fn generate(
        &self,
        source: &dyn ObjectSource,
        plan: &TorrentPlan,
        req: &TorrentRequest,
    ) -> Result<CachedTorrent> {
        let resource = req.resource();
        let internal = |why: String| {
            S3Error::with_message(
                ErrorCode::InternalError,
                format!("We encountered an internal error. Please try again. ({why})"),
                resource.clone(),
            )
        };
        let object = &plan.object;
        let reader = source.open(&plan.bucket, object)?;
        let hashes = hash_source_versioned(
            &*reader,
            object.size,
            plan.piece_length,
            plan.version,
            &self.hash_options,
            &|_| {},
        )
        .map_err(|e| internal(format!("reading the object failed: {e}")))?;
        drop(reader);
        // Did the object change under us?
        let now = source.object(&plan.bucket, &object.key, object.version_id.as_deref())?;
        let unchanged = matches!(&now, ObjectLookup::Found(o)
            if !o.delete_marker && o.etag == object.etag && o.version_id == object.version_id && o.size == object.size);
        if !unchanged {
            return Err(internal(
                "the object changed while its torrent was generated".into(),
            ));
        }
        build(plan, &hashes, &resource)
    }
}

fn build(plan: &TorrentPlan, hashes: &TorrentHashes, resource: &str) -> Result<CachedTorrent> {
    let bytes: Bytes = plan
        .builder()
        .to_bytes_hashes(hashes)
        .map_err(|e| S3Error::with_message(ErrorCode::InternalError, e.to_string(), resource))?;
    let torrent = s3torrent_metainfo::Torrent::from_bytes(bytes.clone())
        .map_err(|e| S3Error::with_message(ErrorCode::InternalError, e.to_string(), resource))?;
    Ok(CachedTorrent::new(bytes, torrent.info_hash()))
}

fn served(plan: &TorrentPlan, torrent: CachedTorrent, from_cache: bool) -> ServedTorrent {
    ServedTorrent {
        torrent,
        name: plan.name.clone(),
        request_charged: plan.request_charged,
        from_cache,
    }
}

/// Publishes the leader's result and removes the flight, even if the leader
/// panics (the waiters then get `InternalError`).
struct FlightGuard<'a> {
    service_flights: &'a Mutex<HashMap<CacheKey, Arc<Flight>>>,
    key: CacheKey,
    flight: &'a Flight,
}

impl FlightGuard<'_> {
    fn publish(self, result: Result<CachedTorrent>) {
        self.set(result);
    }

    fn set(&self, result: Result<CachedTorrent>) {
        let mut slot = self.flight.result.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(result);
        }
        self.flight.done.notify_all();
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.set(Err(S3Error::new(ErrorCode::InternalError, "")));
        self.service_flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}
