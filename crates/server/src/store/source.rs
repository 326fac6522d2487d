//! The store as the torrent service's [`ObjectSource`].

use super::*;

impl ObjectSource for Store {
    fn bucket(&self, bucket: &BucketName) -> s3torrent_s3::Result<Option<BucketInfo>> {
        Ok(self.bucket_info(bucket)?)
    }

    fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> s3torrent_s3::Result<ObjectLookup> {
        let Some((info, versioning)) = self.bucket_entry(bucket)? else {
            return Ok(ObjectLookup::NoSuchKey);
        };
        Ok(self.lookup(&info, versioning, key, version_id)?)
    }

    /// The bytes of exactly the version `object` names (its ETag; for an
    /// adopted file not hashed yet, its size and time), or an error if it
    /// was replaced meanwhile (500, retryable).
    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> s3torrent_s3::Result<Box<dyn ReadAt + Send + Sync + '_>> {
        let version = object
            .version_id
            .as_deref()
            .map_or(VersionId::Null, VersionId::of);
        let file = match object.etag.as_known() {
            Some(etag) => self.open_snapshot(bucket, &object.key, &version, etag),
            None => self.open_unhashed(bucket, object),
        }
        .map_err(|e| changed_error(bucket, object, e.to_string()))?;
        Ok(Box::new(file))
    }

    /// The adoption hook: stores the MD5 the torrent service computed for
    /// an adopted file, in one transaction, if the record and the file are
    /// still those it read (size, time and file mtime unchanged).
    fn record_etag(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
        etag: &str,
    ) -> s3torrent_s3::Result<ObjectInfo> {
        let changed = || {
            changed_error(
                bucket,
                object,
                "the object changed while its ETag was computed".to_owned(),
            )
        };
        let row = object_row(bucket, object.key.as_str());
        let path = self
            .folder_path(bucket, object.key.as_str())
            .ok_or_else(changed)?;
        // "Changed" is a refusal, not a database error (which would reopen
        // the database): a precondition that failed.
        self.write(|txn| {
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            let mut meta: ObjectMeta = match table.get(row.as_str()).map_err(internal)? {
                Some(v) => decode(v.value())?,
                None => return Err(WriteError::PreconditionFailed),
            };
            let stat = fs::metadata(&path).map_err(|_| WriteError::PreconditionFailed)?;
            if meta.data.is_some()
                || meta.size != object.size
                || meta.modified != object.last_modified
                || stat.len() != meta.size
                || file_mtime(&stat) != meta.file_mtime
            {
                return Err(WriteError::PreconditionFailed);
            }
            match &meta.etag {
                Some(known) if known != etag => return Err(WriteError::PreconditionFailed),
                Some(_) => {}
                None => {
                    meta.etag = Some(etag.to_owned());
                    table
                        .insert(row.as_str(), encode(&meta)?.as_slice())
                        .map_err(internal)?;
                }
            }
            Ok(())
        })
        .map_err(|e| match e {
            WriteError::Store(e) => e,
            WriteError::PreconditionFailed | WriteError::NoSuchKey => changed(),
        })?;
        let mut object = object.clone();
        object.etag = ETag::Known(etag.to_owned());
        Ok(object)
    }
}

impl Store {
    /// The object version a request names (`versionId`), or without one
    /// the key's newest version (a delete marker as a version that is one),
    /// as GET, HEAD and `?torrent` look it up. In an unversioned bucket the
    /// only version is `null`, the current one (as before versions); in a
    /// versioned bucket a version that is not there is `NoSuchVersion`.
    pub(crate) fn lookup(
        &self,
        info: &BucketInfo,
        versioning: Versioning,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup, StoreError> {
        let bucket = &info.name;
        if versioning.is_unversioned() {
            if version_id.is_some_and(|v| v != VersionId::NULL) {
                return Ok(ObjectLookup::NoSuchVersion);
            }
            return Ok(match self.object_meta(bucket, key)? {
                Some(meta) => ObjectLookup::Found(self.object_info(info, key, &meta)?),
                None => ObjectLookup::NoSuchKey,
            });
        }
        let wanted = version_id.map(VersionId::of);
        Ok(match self.find_version(bucket, key, wanted.as_ref())? {
            Some(Found::Object(meta)) => ObjectLookup::Found(self.object_info(info, key, &meta)?),
            Some(Found::Marker(marker)) => {
                ObjectLookup::Found(self.marker_info(info, key, &marker))
            }
            None if wanted.is_some() => ObjectLookup::NoSuchVersion,
            None => ObjectLookup::NoSuchKey,
        })
    }
}

/// The retryable error of a read whose object changed under it.
fn changed_error(bucket: &BucketName, object: &ObjectInfo, why: String) -> StoreError {
    StoreError::ChangedUnder {
        bucket: bucket.to_string(),
        key: object.key.to_string(),
        why,
    }
}
