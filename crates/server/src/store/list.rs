//! Listing a bucket: ordered range scans of the records, and discovery
//! of hand-placed files.

use super::*;

impl Store {
    /// Visits the bucket's objects whose keys start with `prefix` and sort
    /// after `after`, in key order, until `visit` says [`Listed::Stop`]: an
    /// ordered range scan of the records, read in batches (no folder walk).
    /// [`Listed::SkipPrefix`] seeks past every key starting with a string
    /// (a common prefix rolled up). A folder file's record is checked
    /// against its file on the way (re-adopted if it changed, skipped if it
    /// is gone).
    pub(crate) fn list_objects(
        &self,
        bucket: &BucketName,
        prefix: &str,
        after: &str,
        mut visit: impl FnMut(&str, ObjectMeta) -> Listed,
    ) -> Result<(), StoreError> {
        // Batches grow from small after a seek (a rolled-up prefix may be
        // followed by another at once) to this.
        const BATCH: usize = 1024;
        let mut size = BATCH;
        let base = format!("{bucket}/");
        let end = format!("{bucket}0"); // '0' follows '/'
        let from = format!("{base}{prefix}");
        let mut cursor = if after >= prefix {
            Bound::Excluded(format!("{base}{after}"))
        } else {
            Bound::Included(from)
        };
        'batches: loop {
            let batch: Vec<(String, Vec<u8>)> = self.read(|txn| {
                let table = txn.open_table(OBJECTS).map_err(internal)?;
                let range = table
                    .range::<&str>((
                        cursor.as_ref().map(String::as_str),
                        Bound::Excluded(end.as_str()),
                    ))
                    .map_err(internal)?;
                let mut batch = Vec::with_capacity(size);
                for entry in range.take(size) {
                    let (row, value) = entry.map_err(internal)?;
                    let key = &row.value()[base.len()..];
                    if !key.starts_with(prefix) {
                        break;
                    }
                    batch.push((key.to_owned(), value.value().to_vec()));
                }
                Ok(batch)
            })?;
            let full = batch.len() == size;
            size = (size * 4).min(BATCH);
            let Some((last, _)) = batch.last() else {
                return Ok(());
            };
            cursor = Bound::Excluded(format!("{base}{last}"));
            for (key, bytes) in batch {
                let meta: ObjectMeta = decode(&bytes)?;
                let meta = if meta.data.is_some() {
                    Some(meta)
                } else {
                    self.current(bucket, &key, Some(meta))?
                };
                let Some(meta) = meta else {
                    continue;
                };
                match visit(&key, meta) {
                    Listed::Next => {}
                    Listed::Stop => return Ok(()),
                    Listed::SkipPrefix(p) => {
                        // No key starting with `p` sorts after `p` and the
                        // last scalar value but those continuing with it,
                        // which the caller rolls up again if they come.
                        cursor = Bound::Included(format!("{base}{p}{}", char::MAX));
                        size = 16;
                        continue 'batches;
                    }
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Adopts the hand-placed files of a bucket's folder that have no
    /// record (or changed): a walk of the folder, which holds only such
    /// files (and objects of versions before the ID layout). Listings do
    /// this on their first page.
    pub(crate) fn discover(&self, bucket: &BucketName) -> Result<(), StoreError> {
        let mut stack = vec![(self.bucket_dir(bucket), String::new())];
        let mut found = Vec::new();
        while let Some((dir, prefix)) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let key = format!("{prefix}{name}");
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push((entry.path(), format!("{key}/"))),
                    Ok(t) if t.is_file() && ObjectKey::new(key.clone()).is_ok() => {
                        if let Ok(stat) = entry.metadata() {
                            found.push((key, stat.len(), file_mtime(&stat)));
                        }
                    }
                    _ => {}
                }
            }
        }
        let stale: Vec<String> = self.read(|txn| {
            let table = txn.open_table(OBJECTS).map_err(internal)?;
            let versions = txn.open_table(versions::VERSIONS).map_err(internal)?;
            let mut stale = Vec::new();
            for (key, size, mtime) in found {
                let known = match table
                    .get(object_row(bucket, &key).as_str())
                    .map_err(internal)?
                {
                    Some(v) => {
                        let m: ObjectMeta = decode(v.value())?;
                        m.data.is_some() || (m.size == size && m.file_mtime == mtime)
                    }
                    // Not adopted under a key with versions (see `current`).
                    None => versions::has_rows(&versions, bucket, &key)?,
                };
                if !known {
                    stale.push(key);
                }
            }
            Ok(stale)
        })?;
        for key in stale {
            if let Some(path) = self.folder_path(bucket, &key) {
                self.adopt(bucket, &key, &path)?;
            }
        }
        Ok(())
    }

    /// Whether the bucket holds any object or upload (for DeleteBucket).
    #[allow(dead_code)]
    pub(crate) fn bucket_is_empty(&self, bucket: &BucketName) -> Result<bool, StoreError> {
        let mut empty = true;
        self.list_objects(bucket, "", "", |_, _| {
            empty = false;
            Listed::Stop
        })?;
        Ok(empty && self.uploads(bucket)?.is_empty())
    }
}
