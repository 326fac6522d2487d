//! Objects: records, adoption of hand-placed files, snapshots, writes
//! with preconditions, ACLs and deletes.

use super::*;

impl Store {
    /// The object's record, adopting a hand-placed file that has none or
    /// changed since.
    pub(crate) fn object_meta(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        let row = object_row(bucket, key.as_str());
        let read = self.epoch.now();
        let stored = match self.object_memo.get(read, &row) {
            Some(meta) => Some(meta),
            None => {
                let stored: Option<ObjectMeta> = self.get(OBJECTS, &row)?;
                if let Some(meta) = &stored {
                    self.object_memo
                        .put(read, self.epoch.now(), &row, meta.clone());
                }
                stored
            }
        };
        self.current(bucket, key.as_str(), stored)
    }

    /// Whether a read of `bucket`/`key` would find the bucket's and the
    /// object's records in memory (no database read): the hosts answer
    /// such a read on the runtime's thread, others on a blocking one (a
    /// database page may have to come from disk, and a hand-placed file
    /// seen for the first time is adopted by a commit).
    pub(crate) fn memoized(&self, bucket: &BucketName, key: &ObjectKey) -> bool {
        let now = self.epoch.now();
        self.bucket_memo.holds(now, bucket.as_str())
            && self
                .object_memo
                .holds(now, &object_row(bucket, key.as_str()))
    }

    /// What a record means now: an ID file's record as it is; a folder
    /// file's if the file is unchanged, else the file adopted afresh, or
    /// nothing when it is gone.
    pub(super) fn current(
        &self,
        bucket: &BucketName,
        key: &str,
        stored: Option<ObjectMeta>,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        if let Some(meta) = &stored
            && meta.data.is_some()
        {
            return Ok(stored);
        }
        let Some(path) = self.folder_path(bucket, key) else {
            return Ok(None);
        };
        let Ok(stat) = fs::metadata(&path) else {
            return Ok(None);
        };
        if !stat.is_file() {
            return Ok(None);
        }
        let recorded = stored.is_some();
        if let Some(meta) = stored
            && meta.size == stat.len()
            && meta.file_mtime == file_mtime(&stat)
        {
            return Ok(Some(meta));
        }
        // A key with versions but no current one (its newest is a delete
        // marker) does not adopt a file placed at its path.
        if !recorded && self.has_versions(bucket, key)? {
            return Ok(None);
        }
        self.adopt(bucket, key, &path)
    }

    /// Makes a hand-placed file an object, owned by the bucket's owner,
    /// private, without hashing it: every decision needs only its size,
    /// mtime, owner and ACL; its MD5 comes with the first allowed read
    /// ([`ObjectSource::record_etag`]). A record written meanwhile wins.
    pub(super) fn adopt(
        &self,
        bucket: &BucketName,
        key: &str,
        path: &Path,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        let owner = match self.bucket_info(bucket)? {
            Some(b) => b.owner,
            None => return Ok(None),
        };
        let Ok(stat) = fs::metadata(path) else {
            return Ok(None);
        };
        if !stat.is_file() {
            return Ok(None);
        }
        let mtime = file_mtime(&stat);
        let acl = StoredAcl::canned(CannedAcl::Private, &owner, &owner);
        let mut meta =
            ObjectMeta::new(owner.account_id.to_string(), acl, String::new(), stat.len());
        meta.etag = None;
        meta.modified = mtime / 1_000_000_000;
        meta.file_mtime = mtime;
        let row = object_row(bucket, key);
        let bytes = encode(&meta)?;
        self.write(|txn| {
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            match table.get(row.as_str()).map_err(internal)? {
                Some(now) => {
                    let now: ObjectMeta = decode(now.value())?;
                    if now.data.is_some() {
                        return Ok(Some(now));
                    }
                }
                // Versions written meanwhile (a delete marker on top).
                None => {
                    let versions = txn.open_table(versions::VERSIONS).map_err(internal)?;
                    if versions::has_rows(&versions, bucket, key)? {
                        return Ok(None);
                    }
                }
            }
            table
                .insert(row.as_str(), bytes.as_slice())
                .map_err(internal)?;
            Ok(Some(meta))
        })
    }

    /// The object's current version, opened: the record and a handle on
    /// the file of exactly that version. A version replaced between the
    /// two is looked up again, a bounded number of times.
    pub(crate) fn snapshot(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<Snapshot>, StoreError> {
        for _ in 0..OPEN_ATTEMPTS {
            let Some(meta) = self.object_meta(bucket, key)? else {
                return Ok(None);
            };
            if let Some(file) = self.open_version(bucket, key.as_str(), &meta)? {
                return Ok(Some(Snapshot { meta, file }));
            }
        }
        Err(internal(format!(
            "/{bucket}/{key} kept changing while it was opened; retry"
        )))
    }

    /// The file of the version `meta` describes, or `None` if it is no
    /// longer there (replaced meanwhile).
    pub(super) fn open_version(
        &self,
        bucket: &BucketName,
        key: &str,
        meta: &ObjectMeta,
    ) -> Result<Option<fs::File>, StoreError> {
        let path = match &meta.data {
            Some(id) if valid_id(id) => self.data_path(id),
            Some(id) => return Err(internal(format!("a record names the data file {id:?}"))),
            None => match self.folder_path(bucket, key) {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(internal(e)),
        };
        let stat = file.metadata().map_err(internal)?;
        let same = stat.is_file()
            && stat.len() == meta.size
            && (meta.data.is_some() || file_mtime(&stat) == meta.file_mtime);
        Ok(same.then_some(file))
    }

    pub(crate) fn object_info(
        &self,
        bucket: &BucketInfo,
        key: &ObjectKey,
        meta: &ObjectMeta,
    ) -> Result<ObjectInfo, StoreError> {
        let owner = self.principal_of(&meta.owner);
        let etag = meta.etag.clone().map_or(ETag::Uncomputed, ETag::Known);
        let mut info = ObjectInfo::new(key.clone(), meta.size, etag, &owner);
        // With ACLs disabled, every object is the bucket owner's.
        info.acl = bucket.effective_object_acl(meta.acl.to_acl(&owner, &bucket.owner)?);
        info.last_modified = meta.modified;
        info.tags = meta
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A version ID in a versioned bucket, `null` for its null version.
        info.version_id = match &meta.version {
            VersionId::Id(id) => Some(id.clone()),
            VersionId::Null if self.bucket_versioning(&bucket.name)?.is_unversioned() => None,
            VersionId::Null => Some(VersionId::NULL.to_owned()),
        };
        info.encryption = match meta.sse.as_ref().map(|e| &e.mode) {
            None => s3torrent_s3::Encryption::None,
            Some(crate::sse::Mode::S3) => s3torrent_s3::Encryption::SseS3,
            Some(crate::sse::Mode::Kms { .. }) => s3torrent_s3::Encryption::SseKms,
            Some(crate::sse::Mode::Customer { .. }) => s3torrent_s3::Encryption::SseC,
        };
        Ok(info)
    }

    /// A delete marker as the torrent service's decision sees it: a
    /// version that is one.
    pub(crate) fn marker_info(
        &self,
        bucket: &BucketInfo,
        key: &ObjectKey,
        marker: &Marker,
    ) -> ObjectInfo {
        let owner = self.principal_of(&marker.owner);
        let mut info = ObjectInfo::new(key.clone(), 0, ETag::Known(String::new()), &owner);
        info.acl = bucket.effective_object_acl(info.acl.clone());
        info.delete_marker = true;
        info.last_modified = marker.modified;
        info.version_id = Some(marker.version.as_str().to_owned());
        info
    }

    /// A new temporary file for an upload, on the data files' file system.
    pub(crate) fn temp_file(&self) -> Result<(PathBuf, fs::File), StoreError> {
        let path = self.root.join(OWN).join("tmp").join(new_id("temp"));
        let file = fs::File::create(&path).map_err(internal)?;
        Ok((path, file))
    }

    /// Makes a fsynced temp file the object `key`: renamed to a fresh ID,
    /// then recorded in one commit that checks `conditions` against the
    /// version current at that moment (so of racing conditional writers
    /// exactly one wins). With `upload`, the same commit ends that multipart
    /// upload (see `uploads`). The old version's file goes after the commit.
    pub(crate) fn commit_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        temp: &Path,
        mut meta: ObjectMeta,
        conditions: &Preconditions,
        upload: Option<&str>,
    ) -> Result<ObjectMeta, WriteError> {
        let id = new_id(key.as_str());
        let dest = self.data_path(&id);
        self.crash_point("before rename")?;
        fs::rename(temp, &dest).map_err(internal)?;
        if let Ok(dir) = fs::File::open(self.root.join(OWN).join("data")) {
            let _ = dir.sync_all();
        }
        meta.data = Some(id);
        meta.modified = now_secs();
        meta.file_mtime = 0;
        let row = object_row(bucket, key.as_str());
        let folder = self.folder_path(bucket, key.as_str());
        let bucket_dir = self.bucket_dir(bucket);
        let result = self.write(|txn| {
            // The bucket, in the same transaction: a DeleteBucket that
            // committed first leaves no object behind it; and its
            // versioning, which a PutBucketVersioning may have just set.
            let status = versions::versioning_in(txn, bucket, &bucket_dir)?;
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            let old: Option<ObjectMeta> = match table.get(row.as_str()).map_err(internal)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            // The version a reader would see: a folder record counts only
            // while its file is there; a hand-placed file not yet adopted
            // counts too.
            let current_etag = match &old {
                Some(m) if m.data.is_some() => Some(m.etag.clone()),
                Some(m) if folder.as_ref().is_some_and(|p| p.is_file()) => Some(m.etag.clone()),
                _ if folder.as_ref().is_some_and(|p| p.is_file()) => Some(None),
                _ => None,
            };
            check_write(conditions, current_etag.as_ref())?;
            // A versioned bucket keeps the version this one replaces.
            let dropped = if status.is_unversioned() {
                Vec::new()
            } else {
                versions::put_version(txn, bucket, key.as_str(), &mut meta, old.clone(), status)?
            };
            table
                .insert(row.as_str(), encode(&meta)?.as_slice())
                .map_err(internal)?;
            drop(table);
            if let Some(old_data) = old.as_ref().and_then(|o| o.data.as_deref()) {
                parts::forget_parts(txn, old_data)?;
            }
            if let Some(upload) = upload {
                uploads::finish(txn, bucket, key, upload, &meta)?;
            }
            Ok((old, dropped, status))
        });
        let (old, dropped, status) = match result {
            Ok(done) => done,
            Err(e) => {
                self.discard(&dest);
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        self.discard_dropped(&dropped);
        match old.and_then(|o| o.data) {
            // Kept as a noncurrent version, or dropped (just discarded).
            Some(_) if !status.is_unversioned() => {}
            Some(old_id) => self.discard(&self.data_path(&old_id)),
            // The bytes of an adopted file were at its path: they are not
            // the object any more.
            None => {
                if let Some(p) = &folder {
                    self.discard(p);
                    self.prune_dirs(bucket, p);
                }
            }
        }
        Ok(meta)
    }

    /// Applies `change` to the record of the object's current version
    /// (same bytes), read and written in one transaction, so that a
    /// version committed meanwhile is the one changed, never replaced by
    /// an older record.
    pub(super) fn update_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> Result<(), StoreError> {
        let missing = || StoreError::NoSuchKey {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        // A hand-placed file gets its record first.
        self.object_meta(bucket, key)?.ok_or_else(missing)?;
        let row = object_row(bucket, key.as_str());
        self.write(|txn| {
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            let mut meta: ObjectMeta = match table.get(row.as_str()).map_err(internal)? {
                Some(v) => decode(v.value())?,
                None => return Err(missing()),
            };
            change(&mut meta);
            table
                .insert(row.as_str(), encode(&meta)?.as_slice())
                .map_err(internal)?;
            Ok(())
        })
    }

    /// PutObjectAcl: the ACL of the version `version` names (the current
    /// one without).
    pub(crate) fn set_object_acl(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: Option<&VersionId>,
        acl: &Acl,
    ) -> Result<(), StoreError> {
        let acl = StoredAcl::from_acl(acl);
        self.update_version(bucket, key, version, |m| m.acl = acl)
    }

    /// Deletes an object of an unversioned bucket, in one commit: a
    /// hand-placed file at its path is first moved aside (and moved back if
    /// the commit fails), its data file removed after. Deleting a key that
    /// is not there succeeds. If the bucket's versioning was set meanwhile,
    /// the commit adds a delete marker of `owner`'s instead, as
    /// [`Store::delete_current`] does.
    pub(crate) fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        owner: &str,
        conditions: &DeleteConditions,
    ) -> Result<Removal, StoreError> {
        let row = object_row(bucket, key.as_str());
        let folder = self
            .folder_path(bucket, key.as_str())
            .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()));
        let aside = self.move_aside(folder.as_deref())?;
        let bucket_dir = self.bucket_dir(bucket);
        let result = self.write(|txn| {
            // A bucket deleted meanwhile has nothing to delete either.
            let status = versions::versioning_in(txn, bucket, &bucket_dir)
                .unwrap_or(Versioning::Unversioned);
            if !status.is_unversioned() {
                let (old, dropped, marker) =
                    versions::add_marker(txn, bucket, key.as_str(), owner, status, conditions)?;
                // The version that was current is kept or among `dropped`.
                let _ = old;
                return Ok((None, dropped, Removal::Marker(marker)));
            }
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            let old = table.remove(row.as_str()).map_err(internal)?;
            let old: Option<ObjectMeta> = match old {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            if let Some(current) = &old {
                conditions.check(Some(current), key.as_str())?;
            }
            if let Some(old_data) = old.as_ref().and_then(|o| o.data.as_deref()) {
                parts::forget_parts(txn, old_data)?;
            }
            Ok((old, Vec::new(), Removal::Removed))
        });
        let (old, dropped, removal) = match result {
            Ok(old) => old,
            Err(e) => {
                self.put_back(folder.as_deref(), aside.as_deref());
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        if let Some(id) = old.and_then(|o| o.data) {
            self.discard(&self.data_path(&id));
        }
        self.discard_dropped(&dropped);
        if let (Some(path), Some(aside)) = (&folder, &aside) {
            self.discard(aside);
            self.prune_dirs(bucket, path);
        }
        Ok(removal)
    }

    /// Removes the empty folders above a removed hand-placed file, up to
    /// the bucket's.
    pub(super) fn prune_dirs(&self, bucket: &BucketName, path: &Path) {
        let top = self.bucket_dir(bucket);
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == top || !d.starts_with(&top) || fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }
}

/// Checks a write's preconditions against the current version's ETag
/// (`None`: no version; `Some(None)`: a file not yet hashed).
pub(super) fn check_write(
    conditions: &Preconditions,
    current: Option<&Option<String>>,
) -> Result<(), WriteError> {
    if let Some(expected) = &conditions.if_match {
        match current {
            None => return Err(WriteError::NoSuchKey),
            Some(Some(etag)) if expected.matches(etag) => {}
            Some(None) if matches!(expected, Expected::Any) => {}
            Some(_) => return Err(WriteError::PreconditionFailed),
        }
    }
    if let Some(expected) = &conditions.if_none_match {
        match current {
            None => {}
            Some(Some(etag)) if !expected.matches(etag) => {}
            Some(_) => return Err(WriteError::PreconditionFailed),
        }
    }
    Ok(())
}

pub(super) fn file_mtime(stat: &fs::Metadata) -> i64 {
    stat.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Writes all of `data` and feeds it to the running digests.
pub(crate) fn write_all(file: &mut fs::File, data: &[u8]) -> Result<(), StoreError> {
    file.write_all(data).map_err(internal)
}

impl Store {
    /// Moves a key's folder-mode file aside (into the store's tmp folder)
    /// before a delete commits, so that a crash leaves it either in place
    /// or gone with its record; `None` when there is no such file.
    pub(super) fn move_aside(&self, folder: Option<&Path>) -> Result<Option<PathBuf>, StoreError> {
        let Some(path) = folder else {
            return Ok(None);
        };
        let aside = self.root.join(OWN).join("tmp").join(new_id("delete"));
        self.crash_point("before moving aside")?;
        fs::rename(path, &aside).map_err(internal)?;
        Ok(Some(aside))
    }

    /// Puts a file [`Store::move_aside`] moved back where it was, after the
    /// delete failed (unless the store itself is failing).
    pub(super) fn put_back(&self, folder: Option<&Path>, aside: Option<&Path>) {
        if let (Some(path), Some(aside)) = (folder, aside)
            && self.alive().is_ok()
        {
            let _ = fs::rename(aside, path);
        }
    }
}
