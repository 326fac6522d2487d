//! The swarm's objects in the cluster: the tracker and the seeding peer of
//! `serve` (`crate::swarm`), reading through [`SwarmSource`].
//!
//! An info-hash is served while `?torrent`'s decision for an anonymous
//! requester allows it *as the cluster sees it now*: an unsigned `HEAD` of
//! the object version the info-hash was made for (the index in the cache
//! says which), then the torrent cached for the object as it is now must
//! have this info-hash. Pieces are read with unsigned ranged GETs pinned to
//! the ETag (`If-Match`), so a changed object yields no byte under the old
//! info-hash (and the peer checks every piece's SHA-1 before sending).

use std::sync::Arc;

use s3torrent_metainfo::InfoHash;
use s3torrent_s3::{
    BucketName, CachedTorrent, ObjectInfo, ObjectVersion, Requester, TorrentRequest, TorrentService,
};

use super::cache::ClusterCache;
use super::source::{ClusterSource, Shared};
use crate::swarm::{NotServed, PieceSource, SwarmSource};

/// The gateway's [`SwarmSource`].
pub(crate) struct ClusterSwarm {
    pub(crate) shared: Arc<Shared>,
    pub(crate) torrents: Arc<TorrentService<ClusterCache>>,
}

impl ClusterSwarm {
    fn anonymous(&self, key: &str, version_id: Option<String>) -> ClusterSource {
        ClusterSource::new(
            Arc::clone(&self.shared),
            None,
            key.to_owned(),
            version_id,
            false,
            None,
        )
    }
}

impl SwarmSource for ClusterSwarm {
    fn decide(&self, info_hash: &InfoHash) -> Result<(BucketName, ObjectInfo), NotServed> {
        let Some(target) = self.torrents.cache().indexed(info_hash) else {
            return Err(NotServed::Unknown {
                endpoint: "gateway",
            });
        };
        let version_id = match &target.version {
            ObjectVersion::Id(v) => Some(v.clone()),
            ObjectVersion::ETag(_) => None,
        };
        let source = self.anonymous(target.key.as_str(), version_id.clone());
        let mut req = TorrentRequest::new(
            target.bucket.as_str(),
            target.key.as_str(),
            Requester::Anonymous,
        );
        req.version_id = version_id;
        let plan = self
            .torrents
            .plan(&source, &req)
            .map_err(|source| NotServed::Refused { source })?;
        if let ObjectVersion::ETag(etag) = &target.version
            && Some(etag.as_str()) != plan.object.etag.as_known()
        {
            return Err(NotServed::Stale);
        }
        Ok((plan.bucket, plan.object))
    }

    fn info_hashes(&self, limit: usize) -> Vec<InfoHash> {
        self.torrents.cache().indexed_hashes(limit)
    }

    fn generation(&self) -> u64 {
        self.torrents.cache().generation()
    }

    fn cached_torrent(&self, bucket: &BucketName, object: &ObjectInfo) -> Option<CachedTorrent> {
        // Never waits for a replica that is hashing (a lookup never hashes).
        let key = self.torrents.cache_key(bucket, object)?;
        self.torrents.cache().fetch(&key)
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Arc<dyn PieceSource>, NotServed> {
        let source = self.anonymous(object.key.as_str(), object.version_id.clone());
        Ok(Arc::new(source.reader(bucket, object)))
    }
}
