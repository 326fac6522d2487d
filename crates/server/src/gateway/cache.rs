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

use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use http::StatusCode;
use s3torrent_metainfo::Torrent;
use s3torrent_s3::{
    BucketName, CacheKey, CachedTorrent, LruCache, ObjectKey, ObjectVersion, TorrentCache,
};
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;

use super::upstream::{Call, Signer, Upstream, read_body};

/// The in-memory LRU's bound, in bytes of torrents.
const LRU_BYTES: usize = 64 << 20;

/// The largest cached torrent read back from the cluster: a 5 GiB object's
/// hybrid torrent is about 1 MB; this leaves room and bounds a hostile one.
const MAX_TORRENT_BYTES: usize = 16 << 20;

/// The cluster cache.
pub(crate) struct ClusterCache {
    lru: LruCache,
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
            cluster: signer.map(|signer| Cluster {
                upstream,
                runtime,
                signer,
                bucket,
            }),
        }
    }

    /// Creates the cache bucket when it is missing.
    pub(crate) async fn ensure_bucket(&self) -> Result<(), String> {
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
                return Err(format!(
                    "the cache bucket {}: HEAD answered {other} (is it another user's?)",
                    c.bucket
                ));
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
            code => Err(format!(
                "creating the cache bucket {}: {status} {}",
                c.bucket,
                code.unwrap_or("")
            )),
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

impl TorrentCache for ClusterCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
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
                other => Err(format!("GET {name}: {other}")),
            }
        });
        let bytes: Bytes = match fetched {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(target: "gateway", cache_bucket = c.bucket, error = e, "cache read failed");
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
        self.lru.put(key.clone(), cached.clone());
        Some(cached)
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        if let Some(c) = &self.cluster {
            let name = object_name(&key);
            let mut call = Call::new(Method::PUT, &c.bucket, Some(&name), Some(&c.signer));
            call.body = torrent.bytes.clone();
            call.signed
                .push(("content-type", "application/x-bittorrent".into()));
            let put = c.runtime.block_on(async {
                let resp = c.upstream.call(call).await?;
                if resp.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("PUT {name}: {}", resp.status()))
                }
            });
            if let Err(e) = put {
                tracing::warn!(target: "gateway", cache_bucket = c.bucket, error = e, "cache write failed");
            }
        }
        self.lru.put(key, torrent);
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        // Keys hold the version: a changed object is a miss, never stale.
        self.lru.forget(bucket, key);
    }
}
