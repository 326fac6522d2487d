//! What the bucket and listing operations of issue 12 need from the store,
//! in one place, over the store's own primitives: DeleteBucket, a bucket's
//! location and ACL, and the keys a listing pages through.

use std::fs;

use s3torrent_s3::{Acl, BucketName, CanonicalId, ErrorCode, ObjectKey, S3Error};

use super::{BUCKETS, BucketMeta, ObjectMeta, Store, StoredAcl, UploadError, internal};

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

    /// DeleteBucket: `BucketNotEmpty` while it holds an object; else its
    /// uploads in progress are aborted, its folder and then its record go.
    /// A crash in between leaves an empty bucket that a retry deletes (the
    /// record is the bucket; the folder alone would be adopted).
    pub(crate) fn delete_bucket(&self, bucket: &BucketName) -> Result<BucketDeletion, S3Error> {
        let _write = self.swap.write().unwrap_or_else(|p| p.into_inner());
        if self.bucket_info(bucket)?.is_none() {
            return Ok(BucketDeletion::NoSuchBucket);
        }
        if !self.keys(bucket)?.is_empty() {
            return Ok(BucketDeletion::NotEmpty);
        }
        for (key, id, _) in self.uploads(bucket)? {
            let Ok(key) = ObjectKey::new(key) else {
                continue;
            };
            match self.remove_upload(bucket, &key, &id, false) {
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
        self.delete(BUCKETS, bucket.as_str())?;
        Ok(BucketDeletion::Deleted)
    }

    /// CreateBucket's `LocationConstraint`, if one was given.
    pub(crate) fn bucket_location(&self, bucket: &BucketName) -> Result<Option<String>, S3Error> {
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
        Ok(meta.and_then(|m| m.location))
    }

    /// PutBucketAcl.
    pub(crate) fn set_bucket_acl(&self, bucket: &BucketName, acl: &Acl) -> Result<(), S3Error> {
        let info = self
            .bucket_info(bucket)?
            .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, bucket.as_str()))?;
        let mut meta: BucketMeta = self.get(BUCKETS, bucket.as_str())?.unwrap_or(BucketMeta {
            owner: info.owner.account_id.to_string(),
            acl: StoredAcl::from_acl(&info.acl),
            requester_pays: false,
            created: 0,
            location: None,
        });
        meta.acl = StoredAcl::from_acl(acl);
        self.put(BUCKETS, bucket.as_str(), &meta)
    }

    /// The keys of a bucket under `prefix` after `after`, in order, with no
    /// metadata: what [`crate::ops`]' listing pages through.
    pub(crate) fn listing_keys(
        &self,
        bucket: &BucketName,
        prefix: &str,
        after: &str,
    ) -> Result<Vec<(String, ())>, S3Error> {
        Ok(self
            .keys(bucket)?
            .into_iter()
            .map(|k| k.as_str().to_owned())
            .filter(|k| k.starts_with(prefix) && k.as_str() > after)
            .map(|k| (k, ()))
            .collect())
    }

    /// The metadata of listed keys, dropping those gone since.
    pub(crate) fn listed_meta(
        &self,
        bucket: &BucketName,
        keys: Vec<(String, ())>,
    ) -> Result<Vec<(String, ObjectMeta)>, S3Error> {
        let mut out = Vec::with_capacity(keys.len());
        for (k, ()) in keys {
            let Ok(key) = ObjectKey::new(k.clone()) else {
                continue;
            };
            if let Some((meta, _)) = self.object_meta(bucket, &key)? {
                out.push((k, meta));
            }
        }
        Ok(out)
    }
}
