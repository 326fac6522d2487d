//! The swarm: the endpoint's own tracker and seeding peer, serving an
//! info-hash only while its torrent could be fetched anonymously.
//!
//! Both ask [`Swarm::lookup`] (a connection already seeding re-asks only
//! [`Swarm::decide`], and compares the ETag), which applies `?torrent`'s own rules: the
//! object exists and is unchanged (its cached torrent, keyed by its ETag,
//! still has this info-hash), its ACL grants anonymous READ, and its bucket
//! is not requester-pays. A lookup never hashes: an info-hash whose torrent
//! is not cached for the object as it is now is refused.

mod peer;
mod tracker;

use std::sync::Arc;

use s3torrent_metainfo::{InfoHash, Torrent};
use s3torrent_s3::{BucketName, ObjectInfo, Requester, TorrentCache, TorrentRequest};

use crate::ops::Service;
use crate::store::{Store, peer_info_hashes};

pub(crate) use self::peer::{PeerEdge, serve_peers};
pub(crate) use self::tracker::serve_tracker;

/// What an info-hash is served from, as it stands now.
pub(crate) struct Target {
    /// The bucket.
    pub(crate) bucket: BucketName,
    /// The object version the torrent describes.
    pub(crate) object: ObjectInfo,
    /// Its torrent.
    pub(crate) torrent: Torrent,
}

/// The lookup both edges share.
pub(crate) struct Swarm {
    pub(crate) store: Arc<Store>,
    pub(crate) torrents: Arc<Service>,
}

impl Swarm {
    /// The bucket and object version `info_hash` points at, if that object
    /// is served to anyone now (`?torrent`'s decision for an anonymous
    /// requester); or why not, in words for a tracker's `failure reason`
    /// and the log. It does not look at the torrent.
    pub(crate) fn decide(&self, info_hash: &InfoHash) -> Result<(BucketName, ObjectInfo), String> {
        let Some((bucket, key)) = self.store.swarm_target(info_hash) else {
            return Err("unknown info_hash: no torrent of this endpoint has it".into());
        };
        let req = TorrentRequest::new(bucket.as_str(), key.as_str(), Requester::Anonymous);
        let plan = self
            .torrents
            .plan(&*self.store, &req)
            .map_err(|e| format!("not served: {} ({})", e.message(), e.code().as_str()))?;
        Ok((plan.bucket, plan.object))
    }

    /// The object `info_hash` names and its torrent, if it is served to
    /// anyone now and unchanged: the torrent cached for the object as it is
    /// now has this info-hash.
    pub(crate) fn lookup(&self, info_hash: &InfoHash) -> Result<Target, String> {
        let (bucket, object) = self.decide(info_hash)?;
        let stale = || "not served: the object changed since this torrent was made".to_owned();
        // An adopted object whose ETag is not computed has no torrent yet.
        let cache_key = self
            .torrents
            .cache_key(&bucket, &object)
            .ok_or_else(stale)?;
        let cached = self.torrents.cache().get(&cache_key).ok_or_else(stale)?;
        let torrent = Torrent::from_bytes(cached.bytes).map_err(|e| format!("internal: {e}"))?;
        if !peer_info_hashes(&torrent).contains(info_hash) {
            return Err(stale());
        }
        Ok(Target {
            bucket,
            object,
            torrent,
        })
    }
}

/// Completes once the shutdown flag turns true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
