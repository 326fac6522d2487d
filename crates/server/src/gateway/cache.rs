//! The shared torrent cache: torrents stored in the cluster itself, in the
//! cache bucket, with a bounded in-memory LRU in front. Every gateway
//! replica on the same cluster reads the others' torrents, and a restart
//! loses nothing.
//!
//! One object per torrent, named
//! `v1/<policy fingerprint, 16 hex>/<bucket>/<SHA-256 of bucket, key and version, 64 hex>`:
//! the key and the version (ID or ETag) are hashed, so names stay short
//! and safe whatever the key holds; the prefix lets an operator drop one
//! policy's or one bucket's torrents. The object is private to the
//! gateway's own upstream user.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Method;
use http::StatusCode;
use s3torrent_metainfo::{InfoHash, Torrent};
use s3torrent_s3::{
    BucketName, CacheKey, CachedTorrent, LruCache, ObjectKey, ObjectVersion, TorrentCache,
};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::error::UpstreamError;
use super::upstream::{Call, Signer, Upstream, read_body};

/// The in-memory LRU's bound, in bytes of torrents.
const LRU_BYTES: usize = 64 << 20;

/// The largest cached torrent read back from the cluster: a 5 GiB object's
/// hybrid torrent is about 1 MB; this leaves room and bounds a hostile one.
const MAX_TORRENT_BYTES: usize = 16 << 20;

/// The most info-hashes the in-memory swarm index holds; beyond it, it is
/// emptied and refilled from the cluster's index objects as asked.
const MAX_INDEXED: usize = 100_000;

/// What an info-hash points at: the object version its torrent describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Indexed {
    pub(crate) bucket: BucketName,
    pub(crate) key: ObjectKey,
    pub(crate) version: ObjectVersion,
}

/// The cluster cache.
pub(crate) struct ClusterCache {
    lru: LruCache,
    /// Info-hash → object version, for the tracker and the peer: every
    /// torrent this replica served or read from the cache, and (through
    /// the cluster's `index/` objects) every other replica's.
    index: Mutex<HashMap<InfoHash, Indexed>>,
    /// How many torrents were indexed since start ([`ClusterCache::generation`]).
    indexed: AtomicU64,
    /// `None`: no upstream credentials, memory only.
    cluster: Option<Cluster>,
}

struct Cluster {
    upstream: Arc<Upstream>,
    runtime: Handle,
    signer: Signer,
    bucket: String,
}

impl ClusterCache {
    /// A cache in `bucket` of the cluster, written and read as `signer`.
    pub(crate) fn new(
        upstream: Arc<Upstream>,
        runtime: Handle,
        signer: Option<Signer>,
        bucket: String,
    ) -> ClusterCache {
        ClusterCache {
            lru: LruCache::new(LRU_BYTES),
            index: Mutex::new(HashMap::new()),
            indexed: AtomicU64::new(0),
            cluster: signer.map(|signer| Cluster {
                upstream,
                runtime,
                signer,
                bucket,
            }),
        }
    }

    /// Creates the cache bucket when it is missing.
    pub(crate) async fn ensure_bucket(&self) -> Result<(), UpstreamError> {
        let Some(c) = &self.cluster else {
            return Ok(());
        };
        let head = c
            .upstream
            .call(Call::new(Method::HEAD, &c.bucket, None, Some(&c.signer)))
            .await?;
        match head.status() {
            StatusCode::OK => return Ok(()),
            StatusCode::NOT_FOUND => {}
            other => {
                return Err(UpstreamError::Refused {
                    what: format!(
                        "HEAD of the cache bucket {} (is it another user's?)",
                        c.bucket
                    ),
                    status: other,
                    code: None,
                });
            }
        }
        let resp = c
            .upstream
            .call(Call::new(Method::PUT, &c.bucket, None, Some(&c.signer)))
            .await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let body = read_body(resp.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        match super::upstream::error_code(&body).as_deref() {
            // Another replica made it meanwhile.
            Some("BucketAlreadyOwnedByYou") => Ok(()),
            code => Err(UpstreamError::Refused {
                what: format!("creating the cache bucket {}", c.bucket),
                status,
                code: code.map(str::to_owned),
            }),
        }
    }
}

impl ClusterCache {
    /// Records the info-hashes of `torrent` as pointing at `key`'s object
    /// version, here and (when `publish`) in the cluster.
    fn index(&self, key: &CacheKey, torrent: &CachedTorrent, publish: bool) {
        let Ok(parsed) = Torrent::from_bytes(torrent.bytes.clone()) else {
            return;
        };
        let entry = Indexed {
            bucket: key.bucket.clone(),
            key: key.key.clone(),
            version: key.version.clone(),
        };
        let hashes = crate::store::peer_info_hashes(&parsed);
        {
            let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
            if index.len() + hashes.len() > MAX_INDEXED {
                index.clear();
            }
            for h in &hashes {
                index.insert(*h, entry.clone());
            }
        }
        self.indexed.fetch_add(1, Ordering::Relaxed);
        let (true, Some(c)) = (publish, &self.cluster) else {
            return;
        };
        for h in hashes {
            let name = format!("index/{}", h.to_hex());
            let mut call = Call::new(Method::PUT, &c.bucket, Some(&name), Some(&c.signer));
            call.body = encode_indexed(&entry).into();
            if let Err(e) = c.put(call, &name) {
                tracing::warn!(target: "gateway", cache_bucket = c.bucket, error = %e, "index write failed");
            }
        }
    }

    /// The info-hashes this replica's index holds (at most `limit`): the
    /// torrents it made or read. Another replica's torrent that this one
    /// never read is not among them.
    pub(crate) fn indexed_hashes(&self, limit: usize) -> Vec<InfoHash> {
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index.keys().take(limit).copied().collect()
    }

    /// A number that grows whenever a torrent is indexed, so that a sweep
    /// of [`ClusterCache::indexed_hashes`] can be skipped while it stands.
    pub(crate) fn generation(&self) -> u64 {
        self.indexed.load(Ordering::Relaxed)
    }

    /// The object version `info_hash` points at: from memory, else from
    /// the cluster's index (another replica's torrent). Blocks.
    pub(crate) fn indexed(&self, info_hash: &InfoHash) -> Option<Indexed> {
        if let Some(e) = self
            .index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(info_hash)
        {
            return Some(e.clone());
        }
        let c = self.cluster.as_ref()?;
        let name = format!("index/{}", info_hash.to_hex());
        let body = c
            .runtime
            .block_on(async {
                let resp = c
                    .upstream
                    .call(Call::new(
                        Method::GET,
                        &c.bucket,
                        Some(&name),
                        Some(&c.signer),
                    ))
                    .await?;
                if resp.status() != StatusCode::OK {
                    return Ok(None);
                }
                read_body(resp.into_body(), 8 * 1024).await.map(Some)
            })
            .ok()??;
        let entry = decode_indexed(&body)?;
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if index.len() >= MAX_INDEXED {
            index.clear();
        }
        index.insert(*info_hash, entry.clone());
        Some(entry)
    }
}

/// An index object's body: four length-prefixed fields (bucket, key,
/// `id` or `etag`, the version), as `LEN:BYTES` each.
fn encode_indexed(e: &Indexed) -> Vec<u8> {
    let (kind, version) = match &e.version {
        ObjectVersion::Id(v) => ("id", v.as_str()),
        ObjectVersion::ETag(t) => ("etag", t.as_str()),
    };
    let mut out = Vec::new();
    for f in [e.bucket.as_str(), e.key.as_str(), kind, version] {
        out.extend_from_slice(format!("{}:", f.len()).as_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

fn decode_indexed(mut body: &[u8]) -> Option<Indexed> {
    let mut fields = Vec::with_capacity(4);
    for _ in 0..4 {
        let colon = body.iter().take(8).position(|b| *b == b':')?;
        let len: usize = std::str::from_utf8(&body[..colon]).ok()?.parse().ok()?;
        let rest = body.get(colon + 1..)?;
        let field = std::str::from_utf8(rest.get(..len)?).ok()?;
        fields.push(field.to_owned());
        body = &rest[len..];
    }
    if !body.is_empty() {
        return None;
    }
    let version = match fields[2].as_str() {
        "id" => ObjectVersion::Id(fields[3].clone()),
        "etag" => ObjectVersion::ETag(fields[3].clone()),
        _ => return None,
    };
    Some(Indexed {
        bucket: BucketName::new(fields[0].clone()).ok()?,
        key: ObjectKey::new(fields[1].clone()).ok()?,
        version,
    })
}

/// How long a replica waits for another one's torrent.
const LOCK_WAIT: Duration = Duration::from_secs(300);

/// How often a waiting replica looks.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// How long a lock holds when its holder neither finishes nor releases it
/// (it crashed): longer than hashing 5 GiB takes.
const LOCK_TTL: Duration = Duration::from_secs(600);

thread_local! {
    /// The cluster locks this thread holds: the torrent service's leader
    /// hashes on the thread that missed the cache, so the lock taken by its
    /// `get` is released by its `put`, or by [`ClusterCache::release_held`]
    /// when it failed.
    static HELD: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

enum Lock {
    Taken,
    Busy,
    Failed,
}

enum LockState {
    Held,
    Gone,
    Expired,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Cluster {
    /// Sends `call`, a PUT of `name` into the cache bucket, and waits for
    /// it: an error unless the cluster answered 2xx. Blocks.
    fn put(&self, call: Call<'_>, name: &str) -> Result<(), UpstreamError> {
        self.runtime.block_on(async {
            let resp = self.upstream.call(call).await?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(UpstreamError::Refused {
                    what: format!("PUT {name}"),
                    status: resp.status(),
                    code: None,
                })
            }
        })
    }

    /// Takes `lock` if nobody holds it: a PUT with `If-None-Match: *`; the
    /// body is when it expires (Unix seconds).
    fn try_lock(&self, lock: &str) -> Lock {
        let mut call = Call::new(Method::PUT, &self.bucket, Some(lock), Some(&self.signer));
        call.body = (unix_now() + LOCK_TTL.as_secs()).to_string().into();
        call.unsigned
            .push((http::header::IF_NONE_MATCH, "*".into()));
        match self.runtime.block_on(self.upstream.call(call)) {
            Ok(r) if r.status().is_success() => Lock::Taken,
            Ok(r) if r.status() == StatusCode::PRECONDITION_FAILED => Lock::Busy,
            Ok(r) => {
                tracing::warn!(target: "gateway", lock, status = r.status().as_u16(), "cache lock refused");
                Lock::Failed
            }
            Err(e) => {
                tracing::warn!(target: "gateway", lock, error = %e, "cache lock failed");
                Lock::Failed
            }
        }
    }

    fn lock_state(&self, lock: &str) -> LockState {
        let got = self.runtime.block_on(async {
            let resp = self
                .upstream
                .call(Call::new(
                    Method::GET,
                    &self.bucket,
                    Some(lock),
                    Some(&self.signer),
                ))
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            read_body(resp.into_body(), 64).await.map(Some)
        });
        match got {
            Ok(None) => LockState::Gone,
            Ok(Some(body)) => {
                let expires = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                if unix_now() > expires {
                    LockState::Expired
                } else {
                    LockState::Held
                }
            }
            // The cluster did not answer: keep waiting (bounded).
            Err(_) => LockState::Held,
        }
    }

    fn unlock(&self, lock: &str) {
        let call = Call::new(Method::DELETE, &self.bucket, Some(lock), Some(&self.signer));
        if let Err(e) = self.runtime.block_on(self.upstream.call(call)) {
            tracing::warn!(target: "gateway", lock, error = %e, "cache unlock failed");
        }
    }
}

impl ClusterCache {
    /// Releases the cluster locks this thread still holds: call after a
    /// request that may have failed to make its torrent.
    pub(crate) fn release_held(&self) {
        let held = HELD.with(|h| std::mem::take(&mut *h.borrow_mut()));
        if let Some(c) = &self.cluster {
            for lock in held {
                c.unlock(&lock);
            }
        }
    }
}

/// The cache object's name for a key.
pub(crate) fn object_name(key: &CacheKey) -> String {
    let mut h = Sha256::new();
    let (kind, version) = match &key.version {
        ObjectVersion::Id(v) => ("id", v.as_str()),
        ObjectVersion::ETag(e) => ("etag", e.as_str()),
    };
    for part in [key.bucket.as_str(), key.key.as_str(), kind, version] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1/{:016x}/{}/{digest}", key.policy, key.bucket.as_str())
}

impl ClusterCache {
    /// The torrent for `key` from memory or the cluster, never waiting for
    /// another replica (the swarm's lookups).
    pub(crate) fn fetch(&self, key: &CacheKey) -> Option<CachedTorrent> {
        if let Some(t) = self.lru.get(key) {
            return Some(t);
        }
        let c = self.cluster.as_ref()?;
        let name = object_name(key);
        let fetched = c.runtime.block_on(async {
            let resp = c
                .upstream
                .call(Call::new(
                    Method::GET,
                    &c.bucket,
                    Some(&name),
                    Some(&c.signer),
                ))
                .await?;
            match resp.status() {
                StatusCode::OK => read_body(resp.into_body(), MAX_TORRENT_BYTES)
                    .await
                    .map(Some),
                StatusCode::NOT_FOUND => Ok(None),
                other => Err(UpstreamError::Refused {
                    what: format!("GET {name}"),
                    status: other,
                    code: None,
                }),
            }
        });
        let bytes: Bytes = match fetched {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(target: "gateway", cache_bucket = c.bucket, error = %e, "cache read failed");
                return None;
            }
        };
        // What the cluster holds is checked as any torrent is: a damaged one
        // is a miss (and is overwritten by the next put).
        let torrent = match Torrent::from_bytes(bytes.clone()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(target: "gateway", object = name, error = %e, "cached torrent does not parse");
                return None;
            }
        };
        let cached = CachedTorrent::new(bytes, torrent.info_hash());
        self.index(key, &cached, false);
        self.lru.put(key.clone(), cached.clone());
        Some(cached)
    }
}

impl TorrentCache for ClusterCache {
    /// The torrent for `key`; on a miss, the right to make it. A replica
    /// that misses takes the cluster lock `lock/<object name>` (a PUT with
    /// `If-None-Match: *`) and hashes; another one that misses meanwhile
    /// finds the lock taken and waits for the torrent to appear (polling,
    /// at most [`LOCK_WAIT`]), so replicas asked at once hash once. A lock
    /// whose holder died expires after [`LOCK_TTL`].
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        if let Some(t) = self.fetch(key) {
            return Some(t);
        }
        let c = self.cluster.as_ref()?;
        let lock = format!("lock/{}", object_name(key));
        if HELD.with(|h| h.borrow().contains(&lock)) {
            // This thread holds it: the service's leader asking again.
            return None;
        }
        for _ in 0..3 {
            match c.try_lock(&lock) {
                Lock::Taken => {
                    HELD.with(|h| h.borrow_mut().push(lock));
                    return None;
                }
                Lock::Failed => return None,
                Lock::Busy => {}
            }
            let deadline = Instant::now() + LOCK_WAIT;
            loop {
                std::thread::sleep(LOCK_POLL);
                if let Some(t) = self.fetch(key) {
                    return Some(t);
                }
                match c.lock_state(&lock) {
                    LockState::Held if Instant::now() < deadline => {}
                    // Waited long enough: hash here too.
                    LockState::Held => return None,
                    LockState::Gone => break,
                    LockState::Expired => {
                        c.unlock(&lock);
                        break;
                    }
                }
            }
        }
        None
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        if let Some(c) = &self.cluster {
            let name = object_name(&key);
            let mut call = Call::new(Method::PUT, &c.bucket, Some(&name), Some(&c.signer));
            call.body = torrent.bytes.clone();
            call.signed
                .push(("content-type", "application/x-bittorrent".into()));
            if let Err(e) = c.put(call, &name) {
                tracing::warn!(target: "gateway", cache_bucket = c.bucket, error = %e, "cache write failed");
            }
        }
        self.index(&key, &torrent, true);
        self.lru.put(key.clone(), torrent);
        if let Some(c) = &self.cluster {
            let lock = format!("lock/{}", object_name(&key));
            let held = HELD.with(|h| {
                let mut h = h.borrow_mut();
                let before = h.len();
                h.retain(|l| *l != lock);
                h.len() != before
            });
            if held {
                c.unlock(&lock);
            }
        }
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        // Keys hold the version: a changed object is a miss, never stale.
        self.lru.forget(bucket, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: ObjectVersion) -> Indexed {
        Indexed {
            bucket: BucketName::new("photos").unwrap(),
            key: ObjectKey::new("a:b\n12:c").unwrap(),
            version,
        }
    }

    #[test]
    fn index_entries_round_trip_and_refuse_damage() {
        for v in [
            ObjectVersion::Id("3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
            ObjectVersion::ETag("\"9b2cf535f27731c974343645a3985328-2\"".into()),
        ] {
            let e = entry(v);
            let bytes = encode_indexed(&e);
            assert_eq!(decode_indexed(&bytes), Some(e));
        }
        let good = encode_indexed(&entry(ObjectVersion::Id("v".into())));
        // Every truncation, a trailing byte, a huge length, another kind.
        for cut in 0..good.len() {
            assert_eq!(decode_indexed(&good[..cut]), None, "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(b'x');
        assert_eq!(decode_indexed(&long), None);
        assert_eq!(decode_indexed(b"99999999999:x"), None);
        assert_eq!(decode_indexed(b"6:photos1:k3:md51:v"), None);
        assert_eq!(
            decode_indexed(b"2:no1:k2:id1:v"),
            None,
            "an invalid bucket name"
        );
    }

    #[test]
    fn object_names_separate_every_field() {
        let key = |bucket: &str, k: &str, v: ObjectVersion, policy| CacheKey {
            bucket: BucketName::new(bucket).unwrap(),
            key: ObjectKey::new(k).unwrap(),
            version: v,
            policy,
        };
        let a = object_name(&key("photos", "ab", ObjectVersion::ETag("c".into()), 7));
        assert!(a.starts_with("v1/0000000000000007/photos/"), "{a}");
        assert_eq!(a.len(), "v1/0000000000000007/photos/".len() + 64);
        for other in [
            key("photos", "a", ObjectVersion::ETag("bc".into()), 7),
            key("photos", "ab", ObjectVersion::Id("c".into()), 7),
            key("photos", "ab", ObjectVersion::ETag("c".into()), 8),
            key("photot", "ab", ObjectVersion::ETag("c".into()), 7),
        ] {
            assert_ne!(object_name(&other), a);
        }
    }
}
