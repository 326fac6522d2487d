//! What the bucket and listing operations of issue 12 need from the store,
//! in one place, over the store's own primitives: DeleteBucket, a bucket's
//! location and ACL.

use std::fs;

use redb::ReadableTable;
use s3torrent_s3::{Acl, BucketName, CanonicalId, ObjectKey};

use super::{
    BUCKETS, BucketMeta, OBJECTS, ObjectMeta, Store, StoreError, StoredAcl, UploadError, internal,
};

/// What DeleteBucket found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketDeletion {
    Deleted,
    NoSuchBucket,
    /// It holds objects: S3's `BucketNotEmpty`.
    NotEmpty,
}

impl Store {
    /// The user whose canonical ID this is: who a grant names.
    pub(crate) fn user_by_canonical_id(&self, id: &CanonicalId) -> Option<&crate::config::User> {
        self.users.iter().find(|u| u.principal.canonical_id == *id)
    }

    /// DeleteBucket: `BucketNotEmpty` while it holds an object (hand-placed
    /// files are adopted first, so they count); else its uploads in
    /// progress are aborted, its folder goes, and then its record, in a
    /// commit that checks again that it holds no object. A crash in between
    /// leaves an empty bucket that a retry deletes (the record is the
    /// bucket; a folder alone would be adopted as one).
    pub(crate) fn delete_bucket(&self, bucket: &BucketName) -> Result<BucketDeletion, StoreError> {
        if self.bucket_info(bucket)?.is_none() {
            return Ok(BucketDeletion::NoSuchBucket);
        }
        self.discover(bucket)?;
        let mut empty = true;
        self.list_objects(bucket, "", "", |_, _| {
            empty = false;
            super::Listed::Stop
        })?;
        if !empty || self.holds_versions(bucket)? {
            return Ok(BucketDeletion::NotEmpty);
        }
        for (key, id, _) in self.uploads(bucket)? {
            let Ok(key) = ObjectKey::new(key) else {
                continue;
            };
            match self.abort_upload(bucket, &key, &id) {
                Ok(()) | Err(UploadError::NoSuchUpload) => {}
                Err(UploadError::Store(e)) => return Err(e),
                Err(e) => return Err(internal(format!("{e:?}"))),
            }
        }
        match fs::remove_dir_all(self.bucket_dir(bucket)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(internal(e)),
        }
        let (from, to) = (format!("{bucket}/"), format!("{bucket}0"));
        self.write(|txn| {
            let mut objects = txn.open_table(OBJECTS).map_err(internal)?;
            // Records of hand-placed files are left over from files gone
            // by hand (the listing skips those) or gone with the folder
            // just now: they go with the bucket. A record of written bytes
            // is an object put meanwhile.
            let mut leftovers = Vec::new();
            for entry in objects
                .range(from.as_str()..to.as_str())
                .map_err(internal)?
            {
                let (row, value) = entry.map_err(internal)?;
                let meta: ObjectMeta = super::decode(value.value())?;
                if meta.data.is_some() {
                    return Ok(BucketDeletion::NotEmpty);
                }
                leftovers.push(row.value().to_owned());
            }
            for row in leftovers {
                objects.remove(row.as_str()).map_err(internal)?;
            }
            drop(objects);
            // Noncurrent versions and delete markers keep a bucket from
            // being empty, as in S3.
            if txn
                .open_table(super::versions::VERSIONS)
                .map_err(internal)?
                .range(from.as_str()..to.as_str())
                .map_err(internal)?
                .next()
                .is_some()
            {
                return Ok(BucketDeletion::NotEmpty);
            }
            txn.open_table(BUCKETS)
                .map_err(internal)?
                .remove(bucket.as_str())
                .map_err(internal)?;
            super::cors::forget_cors(txn, bucket)?;
            Ok(BucketDeletion::Deleted)
        })
    }

    /// CreateBucket's `LocationConstraint`, if one was given.
    pub(crate) fn bucket_location(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<String>, StoreError> {
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
        Ok(meta.and_then(|m| m.location))
    }

    /// PutBucketAcl, in one transaction with the read of the record it
    /// changes (so a concurrent change of requester pays is not undone).
    pub(crate) fn set_bucket_acl(&self, bucket: &BucketName, acl: &Acl) -> Result<(), StoreError> {
        let acl = StoredAcl::from_acl(acl);
        self.update_bucket(bucket, |meta| meta.acl = acl)
    }
}
