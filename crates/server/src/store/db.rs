//! The redb database under the store: transactions, reopening after an
//! I/O error, crash points for the tests, and the store's paths.

use super::*;

impl Store {
    /// Runs `f` on the open database, reopening it first if an I/O error
    /// closed it.
    pub(super) fn with_db<T, E: Failure>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, E>,
    ) -> Result<T, E> {
        self.alive()?;
        {
            let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
            if let Some(db) = guard.as_ref() {
                return f(db);
            }
        }
        self.reopen();
        let guard = self.db.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(E::from(internal(
                "the database could not be reopened after an I/O error (is the disk full?)",
            ))),
        }
    }

    /// Drops the database and opens it again: after an I/O error redb
    /// refuses every write ("Previous I/O error occurred") until then.
    pub(super) fn reopen(&self) {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.advance();
        *guard = None;
        match open_database(&self.root.join(DATABASE)) {
            Ok(db) => *guard = Some(db),
            Err(e) => tracing::warn!(target: "serve", error = %e, "reopening the database failed"),
        }
    }

    /// A read transaction for `f`.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(internal)?;
            f(&txn)
        })
    }

    /// A write transaction for `f`, committed if `f` succeeds. An internal
    /// error reopens the database, so that the next write can succeed.
    pub(super) fn write<T, E: Failure>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let result: Result<T, E> = self.with_db(|db| {
            let txn = db.begin_write().map_err(internal)?;
            let value = f(&txn)?;
            self.crash_point("before commit")?;
            txn.commit().map_err(internal)?;
            Ok(value)
        });
        // Committed or not, what the memos hold may be older now.
        self.epoch.advance();
        if let Err(e) = &result
            && e.is_internal()
            && self.alive().is_ok()
        {
            self.reopen();
        }
        result
    }

    pub(super) fn get<T: for<'de> Deserialize<'de>>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(table).map_err(internal)?;
            match table.get(key).map_err(internal)? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            }
        })
    }

    pub(super) fn put<T: Serialize>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        self.write(|txn| {
            txn.open_table(table)
                .map_err(internal)?
                .insert(key, bytes.as_slice())
                .map_err(internal)?;
            Ok(())
        })
    }

    // ---- crash points (tests only) ----

    /// In tests, where an injected crash may stop the store: a crashed
    /// store does nothing more (no cleanup, no commit), as a killed process.
    #[cfg(test)]
    pub(super) fn crash_point(&self, at: &'static str) -> Result<(), StoreError> {
        self.crash.point(at)
    }

    #[cfg(not(test))]
    #[inline]
    pub(super) fn crash_point(&self, _at: &'static str) -> Result<(), StoreError> {
        Ok(())
    }

    #[cfg(test)]
    pub(super) fn alive(&self) -> Result<(), StoreError> {
        self.crash.alive()
    }

    #[cfg(not(test))]
    #[inline]
    pub(super) fn alive(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Removes a file the store no longer needs (never after a crash).
    pub(super) fn discard(&self, path: &Path) {
        if self.alive().is_ok() {
            let _ = fs::remove_file(path);
        }
    }

    // ---- paths ----

    pub(super) fn data_path(&self, id: &str) -> PathBuf {
        self.root.join(OWN).join("data").join(id)
    }

    pub(crate) fn bucket_dir(&self, bucket: &BucketName) -> PathBuf {
        self.root.join(bucket.as_str())
    }

    /// Where a hand-placed file of `key` would be: `<bucket>/<key>`, if the
    /// key is such a path (no empty, `.` or `..` segment, no NUL or
    /// backslash, segments of at most 255 bytes).
    pub(super) fn folder_path(&self, bucket: &BucketName, key: &str) -> Option<PathBuf> {
        let mut path = self.bucket_dir(bucket);
        for segment in key.split('/') {
            if segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.contains(['\0', '\\'])
                || segment.len() > 255
            {
                return None;
            }
            path.push(segment);
        }
        Some(path)
    }
}

pub(super) fn open_database(path: &Path) -> Result<Database, StoreError> {
    Database::create(path).map_err(|e| StoreError::Open {
        path: path.to_owned(),
        source: e,
    })
}

/// Removes the data files no record names (of a current version or of
/// another version a versioned bucket keeps): a crash between the rename
/// of an upload and its commit, or between a commit and the removal of the
/// version it replaced.
pub(super) fn collect_data(db: &Database, dir: &Path) -> Result<(), StoreError> {
    let mut live = HashSet::new();
    let txn = db.begin_read().map_err(internal)?;
    let table = txn.open_table(OBJECTS).map_err(internal)?;
    for entry in table.iter().map_err(internal)? {
        let (_, value) = entry.map_err(internal)?;
        let meta: ObjectMeta = bencode::from_bytes(value.value()).map_err(internal)?;
        if let Some(id) = meta.data {
            live.insert(id);
        }
    }
    drop(table);
    // And the versions a versioned bucket keeps besides the current ones.
    let table = txn
        .open_table(super::versions::VERSIONS)
        .map_err(internal)?;
    for entry in table.iter().map_err(internal)? {
        let (_, value) = entry.map_err(internal)?;
        let record: super::versions::VersionRecord =
            bencode::from_bytes(value.value()).map_err(internal)?;
        if let super::versions::VersionRecord::Object(meta) = record
            && let Some(id) = meta.data
        {
            live.insert(id);
        }
    }
    drop(table);
    drop(txn);
    for entry in fs::read_dir(dir).map_err(StoreError::at(dir))?.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| live.contains(n)) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}
