//! The torrent service: decide, then serve from cache or hash once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use md5::{Digest, Md5};
use s3torrent_metainfo::{
    HashOptions, PieceLength, ReadAt, TorrentHashes, TorrentVersion, hash_source, to_hex,
    torrent_name,
};

use crate::cache::{CacheKey, CachedTorrent, LruCache, ObjectVersion, TorrentCache};
use crate::decide::{TorrentPlan, TorrentRequest, check_bucket, check_request, decide_object};
use crate::error::{ErrorCode, Result, S3Error};
use crate::info::{BucketInfo, ETag, Encryption, ObjectInfo, ObjectLookup, RestoreState};
use crate::model::{BucketName, ObjectKey};
use crate::policy::TorrentPolicy;

/// The version ID S3 gives the `null` version of a versioned bucket.
const NULL_VERSION: &str = "null";

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

    /// Records the MD5 ETag the service computed for an object whose ETag
    /// was [`ETag::Uncomputed`] (a file the host adopted), and returns the
    /// object with it. A host stores it only if the object is still the
    /// version that was read (the same size and modification time, say),
    /// and otherwise fails: the request is then answered with that error
    /// (`InternalError` is retryable). The default stores nothing, so a host
    /// without adopted objects need not implement it.
    fn record_etag(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
        etag: &str,
    ) -> Result<ObjectInfo> {
        let _ = bucket;
        let mut object = object.clone();
        object.etag = ETag::Known(etag.to_owned());
        Ok(object)
    }
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

/// One in-flight computation that later requests for the same thing wait on.
struct Flight<T> {
    result: Mutex<Option<Result<T>>>,
    done: Condvar,
}

impl<T> Default for Flight<T> {
    fn default() -> Self {
        Flight {
            result: Mutex::new(None),
            done: Condvar::new(),
        }
    }
}

type Flights<K, T> = Mutex<HashMap<K, Arc<Flight<T>>>>;

/// Joins the flight for `key`: `true` when this caller leads it.
fn join<K: Hash + Eq + Clone, T>(flights: &Flights<K, T>, key: &K) -> (Arc<Flight<T>>, bool) {
    let mut flights = flights.lock().unwrap_or_else(|p| p.into_inner());
    match flights.get(key) {
        Some(f) => (Arc::clone(f), false),
        None => {
            let f = Arc::new(Flight::default());
            flights.insert(key.clone(), Arc::clone(&f));
            (f, true)
        }
    }
}

/// Waits for the leader's result.
fn wait<T: Clone>(flight: &Flight<T>) -> Result<T> {
    let mut result = flight.result.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if let Some(r) = result.as_ref() {
            return r.clone();
        }
        result = flight.done.wait(result).unwrap_or_else(|p| p.into_inner());
    }
}

/// Which adopted object an MD5 is being computed for: a changed file (other
/// size or modification time) is another flight.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AdoptionKey {
    bucket: BucketName,
    key: ObjectKey,
    version_id: Option<String>,
    size: u64,
    last_modified: i64,
}

/// What adopting an object gave: the object with its ETag, and its torrent
/// when the policy makes one for it.
#[derive(Clone)]
struct Adopted {
    object: ObjectInfo,
    torrent: Option<CachedTorrent>,
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
/// [`store_hashes`](Self::store_hashes) never hash nor wait, and are cheap
/// enough for an async task.
///
/// # Adopted objects
///
/// An object whose ETag is [`ETag::Uncomputed`] (a file the host adopted)
/// is decided on its metadata alone, so a refused request costs no hashing.
/// Once a request is allowed, one leader computes the MD5 (on one thread)
/// and the torrent's piece hashes (on the others) in one pass, hands the
/// MD5 to [`ObjectSource::record_etag`], and caches the torrent; concurrent
/// requests for the same object wait for it. GetObject and HeadObject of
/// such an object call [`resolve_etag`](Self::resolve_etag), which joins
/// the same single flight.
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
    flights: Flights<CacheKey, CachedTorrent>,
    adoptions: Flights<AdoptionKey, Adopted>,
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
            adoptions: Mutex::new(HashMap::new()),
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

    /// The cache key of an object version under this service's policy:
    /// its version ID, or its ETag for an unversioned object and for the
    /// `null` version of a versioned bucket (which a write to a suspended
    /// bucket replaces, so its ID names no fixed bytes); `None` for such an
    /// object whose ETag is not computed yet (which no torrent is cached
    /// for).
    pub fn cache_key(&self, bucket: &BucketName, object: &ObjectInfo) -> Option<CacheKey> {
        let version = match (object.version_id.as_deref(), &object.etag) {
            (Some(v), _) if v != NULL_VERSION => ObjectVersion::Id(v.to_owned()),
            (_, ETag::Known(e)) => ObjectVersion::ETag(e.clone()),
            (_, ETag::Uncomputed) => return None,
        };
        Some(CacheKey {
            bucket: bucket.clone(),
            key: object.key.clone(),
            version,
            policy: self.policy_fingerprint,
        })
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
        let Some(key) = self.cache_key(&plan.bucket, &plan.object) else {
            return Ok(None);
        };
        Ok(self.cache.get(&key).map(|t| served(&plan, t, true)))
    }

    /// The object with its ETag: as given when known; for an adopted
    /// object ([`ETag::Uncomputed`]), computed once however many requests
    /// ask at the same time, and recorded with
    /// [`ObjectSource::record_etag`]. When the policy makes a torrent of the
    /// object, its pieces are hashed in the same pass and the torrent is
    /// cached. Call it only once the request is allowed (GetObject and
    /// HeadObject after [`authorize_read`](crate::authorize_read)): it reads
    /// the whole object.
    pub fn resolve_etag(
        &self,
        source: &dyn ObjectSource,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<ObjectInfo> {
        if object.etag != ETag::Uncomputed {
            return Ok(object.clone());
        }
        let plan = self
            .makes_torrent(object)
            .then(|| self.plan_for(bucket, object));
        Ok(self.adopt(source, bucket, object, plan.as_ref())?.0.object)
    }

    /// Whether the policy gives the object a torrent (rules 8 to 10 of
    /// [`decide`](crate::decide), which need no request).
    fn makes_torrent(&self, object: &ObjectInfo) -> bool {
        !object.delete_marker
            && !matches!(object.encryption, Encryption::SseC | Encryption::SseKms)
            && (1..=self.policy.max_object_size).contains(&object.size)
            && (!object.storage_class.is_archived() || object.restore == RestoreState::Restored)
    }

    /// Computes an adopted object's MD5 (and, with a plan, its torrent) as
    /// the leader of its flight, or waits for the leader: `true` when this
    /// call did the work.
    fn adopt(
        &self,
        source: &dyn ObjectSource,
        bucket: &BucketName,
        object: &ObjectInfo,
        plan: Option<&TorrentPlan>,
    ) -> Result<(Adopted, bool)> {
        let key = AdoptionKey {
            bucket: bucket.clone(),
            key: object.key.clone(),
            version_id: object.version_id.clone(),
            size: object.size,
            last_modified: object.last_modified,
        };
        let (flight, leader) = join(&self.adoptions, &key);
        if !leader {
            return wait(&flight).map(|a| (a, false));
        }
        let guard = FlightGuard {
            flights: &self.adoptions,
            key,
            flight: &flight,
        };
        let outcome = self.adopt_now(source, bucket, object, plan);
        guard.publish(outcome.clone());
        outcome.map(|a| (a, true))
    }

    fn adopt_now(
        &self,
        source: &dyn ObjectSource,
        bucket: &BucketName,
        object: &ObjectInfo,
        plan: Option<&TorrentPlan>,
    ) -> Result<Adopted> {
        let resource = format!("/{bucket}/{}", object.key);
        // A leader that finished just before this one started has recorded
        // the ETag (and cached the torrent): no second pass.
        if let ObjectLookup::Found(now) =
            source.object(bucket, &object.key, object.version_id.as_deref())?
            && now.etag != ETag::Uncomputed
            && now.size == object.size
            && !now.delete_marker
        {
            let torrent = plan
                .and_then(|_| self.cache_key(bucket, &now))
                .and_then(|k| self.cache.get(&k));
            if torrent.is_some() || plan.is_none() {
                return Ok(Adopted {
                    object: now,
                    torrent,
                });
            }
        }
        let reader = source.open(bucket, object)?;
        let (md5, hashes) = self
            .hash_with_md5(&*reader, object.size, plan.map(|p| (p.piece_length, p.version)))
            .map_err(|why| {
                S3Error::with_message(
                    ErrorCode::InternalError,
                    format!("We encountered an internal error. Please try again. (reading the object failed: {why})"),
                    resource.clone(),
                )
            })?;
        drop(reader);
        let known = source.record_etag(bucket, object, &md5)?;
        let torrent = match (plan, hashes) {
            (Some(plan), Some(hashes)) => {
                let mut plan = plan.clone();
                plan.object = known.clone();
                let torrent = build(&plan, &hashes, &resource)?;
                if let Some(key) = self.cache_key(bucket, &known) {
                    self.cache.put(key, torrent.clone());
                }
                Some(torrent)
            }
            _ => None,
        };
        Ok(Adopted {
            object: known,
            torrent,
        })
    }

    /// One pass over the object: its MD5 on one thread and, when asked,
    /// the torrent's hashes on the others.
    fn hash_with_md5(
        &self,
        reader: &(dyn ReadAt + Send + Sync),
        size: u64,
        pieces: Option<(PieceLength, TorrentVersion)>,
    ) -> std::result::Result<(String, Option<TorrentHashes>), String> {
        let Some((piece_length, version)) = pieces else {
            return md5_of(reader, size).map(|m| (m, None));
        };
        let threads = self.hash_options.thread_count().saturating_sub(1).max(1);
        let options = self.hash_options.clone().threads(threads);
        std::thread::scope(|s| {
            let md5 = s.spawn(|| md5_of(reader, size));
            let hashes = hash_source(reader, size, piece_length, version, &options, &|_| {});
            let md5 = md5
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            Ok((md5, Some(hashes.map_err(|e| e.to_string())?)))
        })
    }

    /// GetObjectTorrent: decides, then serves the cached torrent or
    /// generates it, once however many requests ask at the same time.
    pub fn get_object_torrent(
        &self,
        source: &dyn ObjectSource,
        req: &TorrentRequest,
    ) -> Result<ServedTorrent> {
        let mut plan = self.plan(source, req)?;
        let key = match self.cache_key(&plan.bucket, &plan.object) {
            Some(key) => key,
            None => {
                // Adopted, its ETag not computed: the MD5 and the torrent
                // in one pass, once, now that the request is allowed.
                let (adopted, leader) =
                    self.adopt(source, &plan.bucket, &plan.object.clone(), Some(&plan))?;
                plan.object = adopted.object;
                if let Some(t) = adopted.torrent {
                    return Ok(served(&plan, t, !leader));
                }
                self.cache_key(&plan.bucket, &plan.object).ok_or_else(|| {
                    S3Error::with_message(
                        ErrorCode::InternalError,
                        "the object's ETag was not recorded",
                        req.resource(),
                    )
                })?
            }
        };
        if let Some(t) = self.cache.get(&key) {
            return Ok(served(&plan, t, true));
        }
        let (flight, leader) = join(&self.flights, &key);
        if !leader {
            return wait(&flight).map(|t| served(&plan, t, true));
        }
        // The leader: generate, publish to the waiters, then leave the map.
        let guard = FlightGuard {
            flights: &self.flights,
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

    /// Caches the torrent of an object version from hashes computed
    /// elsewhere (for example while it was uploaded), so that the first
    /// request is served from the cache: hash with a
    /// [`TorrentHasher`](s3torrent_metainfo::TorrentHasher) of the policy's
    /// version and of the piece length the policy gives for the object's
    /// size ([`TorrentPolicy::piece_length_for`]). Hashes of another piece
    /// length or size, without the kind the policy's version needs, or for
    /// an object whose ETag is not computed, are refused with
    /// `InternalError`.
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
        let key = self.cache_key(bucket, object).ok_or_else(|| {
            S3Error::with_message(
                ErrorCode::InternalError,
                "an object whose ETag is not computed has no cached torrent",
                resource.clone(),
            )
        })?;
        let plan = self.plan_for(bucket, object);
        let torrent = build(&plan, hashes, &resource)?;
        self.cache.put(key, torrent.clone());
        Ok(torrent)
    }

    /// The plan the policy gives an object, without any access decision.
    fn plan_for(&self, bucket: &BucketName, object: &ObjectInfo) -> TorrentPlan {
        TorrentPlan {
            bucket: bucket.clone(),
            object: object.clone(),
            name: torrent_name(object.key.as_str()),
            piece_length: self.policy.piece_length_for(object.size),
            version: self.policy.version,
            profile: self.policy.profile,
            trackers: self.policy.trackers.clone(),
            web_seed: crate::decide::web_seed_of(&self.policy, bucket, object),
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
        let hashes = hash_source(
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
        .to_bytes(hashes)
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
struct FlightGuard<'a, K: Hash + Eq, T> {
    flights: &'a Flights<K, T>,
    key: K,
    flight: &'a Flight<T>,
}

impl<K: Hash + Eq, T> FlightGuard<'_, K, T> {
    fn publish(self, result: Result<T>) {
        self.set(result);
    }

    fn set(&self, result: Result<T>) {
        let mut slot = self.flight.result.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(result);
        }
        self.flight.done.notify_all();
    }
}

impl<K: Hash + Eq, T> Drop for FlightGuard<'_, K, T> {
    fn drop(&mut self) {
        self.set(Err(S3Error::new(ErrorCode::InternalError, "")));
        self.flights
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

/// The MD5 of `size` bytes of `reader`, read in order, in lowercase hex.
fn md5_of(reader: &(dyn ReadAt + Send + Sync), size: u64) -> std::result::Result<String, String> {
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < size {
        let want = buf
            .len()
            .min(usize::try_from(size - at).unwrap_or(usize::MAX));
        match reader.read_at(&mut buf[..want], at) {
            Ok(0) => {
                return Err(format!(
                    "data ended at byte {at}, before the expected length {size}"
                ));
            }
            Ok(n) => {
                md5.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read failed at byte {at}: {e}")),
        }
    }
    Ok(to_hex(&md5.finalize()))
}
