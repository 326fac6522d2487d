//! DeleteObjects' unconditional deletes of current versions, many keys in
//! one commit: one fsync for a thousand keys instead of a thousand.

use std::fs;
use std::path::PathBuf;

use s3torrent_s3::{BucketName, ObjectKey};

use super::error::internal;
use super::versions::{add_marker, versioning_in};
use super::{
    DeleteConditions, OBJECTS, ObjectMeta, Removal, Store, StoreError, Versioning, decode,
    object_row, parts,
};

/// The most keys one commit deletes (DeleteObjects names at most 1000).
const MAX_DELETES_PER_COMMIT: usize = 1000;

impl Store {
    /// Deletes the current version of each of `keys`, without conditions,
    /// in one commit: as [`Store::delete_current`] does for each (an
    /// unversioned bucket's object goes, a versioned bucket gets a delete
    /// marker of `owner`'s; a key that is not there is deleted all the
    /// same), with the answers in the order of `keys`. Crash safety is
    /// each delete's: the hand-placed files of the keys are moved aside
    /// before the commit and put back if it fails, so a crash leaves every
    /// key either as it was or gone with its record. A key named twice is
    /// deleted once (the second finds nothing). At most
    /// [`MAX_DELETES_PER_COMMIT`] keys (`InvalidArgument`-like internal
    /// error past it: the caller splits).
    pub(crate) fn delete_current_many(
        &self,
        bucket: &BucketName,
        keys: &[ObjectKey],
        owner: &str,
    ) -> Result<Vec<Removal>, StoreError> {
        if keys.len() > MAX_DELETES_PER_COMMIT {
            return Err(internal(format!(
                "{} keys in one commit; at most {MAX_DELETES_PER_COMMIT}",
                keys.len()
            )));
        }
        let bucket_dir = self.bucket_dir(bucket);
        let unversioned = self.bucket_versioning(bucket)?.is_unversioned();
        // Each key's hand-placed file, moved aside (an unversioned
        // bucket's: a versioned one's goes after the commit, as a marker's
        // key's does).
        let mut moved: Vec<(Option<PathBuf>, Option<PathBuf>)> = Vec::with_capacity(keys.len());
        let put_all_back = |moved: &[(Option<PathBuf>, Option<PathBuf>)]| {
            for (folder, aside) in moved.iter().rev() {
                self.put_back(folder.as_deref(), aside.as_deref());
            }
        };
        for key in keys {
            let folder = self
                .folder_path(bucket, key.as_str())
                .filter(|_| unversioned)
                .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()));
            match self.move_aside(folder.as_deref()) {
                Ok(aside) => moved.push((folder, aside)),
                Err(e) => {
                    put_all_back(&moved);
                    return Err(e);
                }
            }
        }
        let no_conditions = DeleteConditions::default();
        let result = self.write(|txn| {
            // A bucket deleted meanwhile has nothing to delete either.
            let status = versioning_in(txn, bucket, &bucket_dir).unwrap_or(Versioning::Unversioned);
            let mut done: Vec<(Option<ObjectMeta>, Vec<ObjectMeta>, Removal)> =
                Vec::with_capacity(keys.len());
            for key in keys {
                if !status.is_unversioned() {
                    let (old, dropped, marker) =
                        add_marker(txn, bucket, key.as_str(), owner, status, &no_conditions)?;
                    done.push((old, dropped, Removal::Marker(marker)));
                    continue;
                }
                let mut table = txn.open_table(OBJECTS).map_err(internal)?;
                let old: Option<ObjectMeta> = match table
                    .remove(object_row(bucket, key.as_str()).as_str())
                    .map_err(internal)?
                {
                    Some(v) => Some(decode(v.value())?),
                    None => None,
                };
                drop(table);
                if let Some(old_data) = old.as_ref().and_then(|o| o.data.as_deref()) {
                    parts::forget_parts(txn, old_data)?;
                }
                done.push((old, Vec::new(), Removal::Removed));
            }
            Ok(done)
        });
        let done = match result {
            Ok(done) => done,
            Err(e) => {
                put_all_back(&moved);
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        let mut removals = Vec::with_capacity(done.len());
        for ((old, dropped, removal), (key, (folder, aside))) in
            done.into_iter().zip(keys.iter().zip(&moved))
        {
            self.discard_dropped(&dropped);
            match &removal {
                Removal::Removed => {
                    if let Some(id) = old.and_then(|o| o.data) {
                        self.discard(&self.data_path(&id));
                    }
                }
                // A hand-placed file at a marked key's path is not the key
                // any more: it goes (as a single delete's does).
                Removal::Marker(_) => {
                    if aside.is_none()
                        && old.is_none_or(|o| o.data.is_none())
                        && let Some(path) = self.folder_path(bucket, key.as_str())
                        && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
                    {
                        self.discard(&path);
                        self.prune_dirs(bucket, &path);
                    }
                }
            }
            if let (Some(path), Some(aside)) = (folder, aside) {
                self.discard(aside);
                self.prune_dirs(bucket, path);
            }
            removals.push(removal);
        }
        Ok(removals)
    }
}
