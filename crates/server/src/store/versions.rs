//! Object versions: a bucket's versioning state, the versions a versioned
//! bucket keeps besides each key's current one, delete markers, and the
//! writes and reads that know about them.
//!
//! **What a bucket that was never versioned has here: nothing.** Its
//! objects are the rows of `objects` as before (their version is the null
//! one, written as no field at all), and every write and read takes the
//! path it took before versioning existed.
//!
//! **A versioned bucket** (versioning Enabled or Suspended, which it stays:
//! S3 has no way back) keeps each key's current version in `objects` too,
//! the version GET, HEAD, `?torrent` and ListObjects read, so those read
//! what they read before. Every other version of its keys, noncurrent
//! versions and delete markers, is a row of `versions` under
//! `<bucket>/<escaped key>\0<order>`: the key escaped so that `\0` sorts
//! below every byte of every key (rows list in key order, then by order),
//! and the order 32 hex digits, the time counted down (newer sorts first)
//! then a hash. A version with an ID has its order as its ID; the null
//! version gets an order when it stops being current. So for every key the
//! newest version is `objects`' row if it has one, else the first of its
//! `versions` rows (a delete marker, or nothing); when a deletion leaves a
//! key with no current row and an object version on top of its rows, that
//! version moves back into `objects` in the same commit.
//!
//! **Every write is one commit**, as before: a PutObject, CopyObject or
//! CompleteMultipartUpload moves the current version among the others (or
//! drops it: a suspended bucket's null version is replaced) in the commit
//! that records the new one; a DeleteObject adds its marker the same way.
//! Data files of dropped versions go after the commit, and the files of kept
//! versions never change, so a crash leaves each key's versions wholly old
//! or wholly new. A version's cached torrents go with it, in its commit.
//!
//! **Hand-placed files are not versioned**: a file adopted from the
//! bucket's folder is its key's null version while it is current, and a
//! write that replaces it or a delete marker does not keep it (its bytes
//! were never the store's to keep). A file placed under a key that has
//! versions in `versions` but no current one is not adopted.

use std::sync::atomic::{AtomicU64, Ordering};

use redb::Table;

use super::*;

/// Versions of versioned buckets' keys, other than the current one (which
/// is in `objects`): noncurrent versions and delete markers.
pub(super) const VERSIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("versions");

/// A bucket's versioning state (Put/GetBucketVersioning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Versioning {
    /// Never set: every object is the null version, overwritten in place.
    #[default]
    Unversioned,
    /// Every write makes a new version with an ID.
    Enabled,
    /// Writes make the null version (replacing the one there was); the
    /// versions with IDs stay.
    Suspended,
}

impl Versioning {
    /// Whether versioning was never set on the bucket.
    pub(crate) fn is_unversioned(&self) -> bool {
        *self == Versioning::Unversioned
    }
}

/// Which version of a key: the null version, or one with an ID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) enum VersionId {
    /// The version of an unversioned write (`null` in S3's answers).
    #[default]
    Null,
    /// A version of a versioning-enabled write: its ID (32 hex digits when
    /// this store made it; a request may name anything).
    Id(String),
}

impl VersionId {
    /// What S3 calls the null version.
    pub(crate) const NULL: &'static str = "null";

    /// The version a request's `versionId` names.
    pub(crate) fn of(text: &str) -> VersionId {
        if text == Self::NULL {
            VersionId::Null
        } else {
            VersionId::Id(text.to_owned())
        }
    }

    /// As S3 writes it: `null`, or the ID.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            VersionId::Null => Self::NULL,
            VersionId::Id(id) => id,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, VersionId::Null)
    }

    /// Whether it is `null` or an ID this store could have made.
    pub(crate) fn is_well_formed(&self) -> bool {
        self.is_null() || self.stored_id().is_some()
    }

    /// The ID, if it is one this store could have made (anything else
    /// names no row).
    fn stored_id(&self) -> Option<&str> {
        match self {
            VersionId::Id(id) if valid_id(id) => Some(id),
            _ => None,
        }
    }
}

impl Serialize for VersionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VersionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| VersionId::of(&s))
    }
}

/// A delete marker: a version without bytes that says the key is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    /// The account of the requester that made it (the bucket owner's for
    /// an anonymous one).
    pub(crate) owner: String,
    /// Seconds since the epoch.
    pub(crate) modified: i64,
    #[serde(default, skip_serializing_if = "VersionId::is_null")]
    pub(crate) version: VersionId,
}

/// A row of `versions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum VersionRecord {
    /// A version with bytes (always in a data file).
    Object(Box<ObjectMeta>),
    /// A delete marker.
    Marker(Marker),
}

impl VersionRecord {
    fn version(&self) -> &VersionId {
        match self {
            VersionRecord::Object(m) => &m.version,
            VersionRecord::Marker(m) => &m.version,
        }
    }

    fn found(self) -> Found<ObjectMeta> {
        match self {
            VersionRecord::Object(m) => Found::Object(*m),
            VersionRecord::Marker(m) => Found::Marker(m),
        }
    }
}

/// A version looked up: one with bytes (its record, or its record and its
/// file), or a delete marker.
#[derive(Debug)]
pub(crate) enum Found<T> {
    Object(T),
    Marker(Marker),
}

/// What a DeleteObject with a `versionId` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Deleted {
    /// No such version: nothing (S3 answers 204 all the same).
    Nothing,
    /// A version with bytes.
    Object,
    /// A delete marker.
    Marker,
}

/// What a DeleteObject without a `versionId` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removal {
    /// An unversioned bucket's object is gone (or was not there).
    Removed,
    /// A versioned bucket got a delete marker, this version.
    Marker(VersionId),
}

/// One entry of a version listing.
#[derive(Debug)]
pub(crate) struct VersionEntry {
    /// The newest version of its key.
    pub(crate) latest: bool,
    pub(crate) found: Found<ObjectMeta>,
}

impl VersionEntry {
    pub(crate) fn version(&self) -> &VersionId {
        match &self.found {
            Found::Object(m) => &m.version,
            Found::Marker(m) => &m.version,
        }
    }
}

/// Where a version listing resumes: after every version of `key`, or after
/// its version `version` (ListObjectVersions' `key-marker` and
/// `version-id-marker`).
#[derive(Debug, Clone)]
pub(crate) struct ListFrom<'a> {
    pub(crate) key: &'a str,
    pub(crate) version: Option<VersionId>,
}

/// A key as its `versions` rows spell it: `\0` is `\x01\x01` and `\x01` is
/// `\x01\x02`, so no escaped key holds the `\0` that ends it, and escaped
/// keys sort as the keys do.
fn escaped(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for c in key.chars() {
        match c {
            '\0' => out.push_str("\u{1}\u{1}"),
            '\u{1}' => out.push_str("\u{1}\u{2}"),
            c => out.push(c),
        }
    }
    out
}

fn unescaped(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1}' => match chars.next()? {
                '\u{1}' => out.push('\0'),
                '\u{2}' => out.push('\u{1}'),
                _ => return None,
            },
            '\0' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// The start of a key's rows: `<bucket>/<escaped key>\0`.
fn key_base(bucket: &BucketName, key: &str) -> String {
    format!("{bucket}/{}\0", escaped(key))
}

/// The rows of a key: from its base to its base and `g` (orders are hex).
fn key_rows(bucket: &BucketName, key: &str) -> (String, String) {
    let base = key_base(bucket, key);
    let end = format!("{base}g");
    (base, end)
}

/// The key and order of a row of `bucket` (`base` is `<bucket>/`).
fn split_row<'r>(base: &str, row: &'r str) -> Option<(String, &'r str)> {
    let (key, order) = row.get(base.len()..)?.rsplit_once('\0')?;
    Some((unescaped(key)?, order))
}

/// A fresh order for a key whose newest order is `newest` (if it has any):
/// the time in nanoseconds counted down from `u64::MAX`, lowered below
/// `newest` if a clock that went back would not sort it first, then a hash
/// that makes it unique.
fn new_order(newest: Option<&str>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut head = u64::MAX - nanos;
    if let Some(floor) = newest
        .and_then(|o| o.get(..16))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        && head >= floor
    {
        head = floor.saturating_sub(1);
    }
    let mix = Md5::digest(format!("{nanos}\0{}\0{n}\0version", std::process::id()));
    format!("{head:016x}{}", hex(&mix[..8]))
}

type RowsTable<'t> = Table<'t, &'static str, &'static [u8]>;

/// A key's rows in `versions`, newest first: (order, record).
fn rows_of(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    bucket: &BucketName,
    key: &str,
    limit: usize,
) -> Result<Vec<(String, VersionRecord)>, StoreError> {
    let (from, to) = key_rows(bucket, key);
    let mut out = Vec::new();
    for entry in table
        .range::<&str>(from.as_str()..to.as_str())
        .map_err(internal)?
        .take(limit)
    {
        let (row, value) = entry.map_err(internal)?;
        out.push((row.value()[from.len()..].to_owned(), decode(value.value())?));
    }
    Ok(out)
}

/// The newest of a key's rows in `versions`.
fn top_of(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    bucket: &BucketName,
    key: &str,
) -> Result<Option<(String, VersionRecord)>, StoreError> {
    Ok(rows_of(table, bucket, key, 1)?.pop())
}

/// Whether a key has rows in `versions`.
pub(super) fn has_rows(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    bucket: &BucketName,
    key: &str,
) -> Result<bool, StoreError> {
    Ok(top_of(table, bucket, key)?.is_some())
}

/// The row of `version` among a key's rows in `versions`: by its order
/// for an ID, by a look at each for the null version.
fn row_of(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    bucket: &BucketName,
    key: &str,
    version: &VersionId,
) -> Result<Option<(String, VersionRecord)>, StoreError> {
    match version {
        VersionId::Null => Ok(rows_of(table, bucket, key, usize::MAX)?
            .into_iter()
            .find(|(_, r)| r.version().is_null())),
        VersionId::Id(_) => {
            let Some(id) = version.stored_id() else {
                return Ok(None);
            };
            let row = format!("{}{id}", key_base(bucket, key));
            match table.get(row.as_str()).map_err(internal)? {
                Some(v) => {
                    let record: VersionRecord = decode(v.value())?;
                    Ok((record.version() == version).then(|| (id.to_owned(), record)))
                }
                None => Ok(None),
            }
        }
    }
}

/// Removes the cached torrents of a version that is gone, in the
/// transaction that removes it (they are keyed by its ID, or by its ETag
/// for the null version).
fn forget_torrents_of(
    txn: &WriteTransaction,
    bucket: &BucketName,
    key: &str,
    meta: &ObjectMeta,
) -> Result<(), StoreError> {
    let version = match (&meta.version, &meta.etag) {
        (VersionId::Id(v), _) => format!("v:{v}"),
        (VersionId::Null, Some(e)) => format!("e:{e}"),
        (VersionId::Null, None) => return Ok(()),
    };
    let from = format!("{bucket}/{key}\0{version}\0");
    let to = format!("{from}\u{10FFFF}");
    txn.open_table(TORRENTS)
        .map_err(internal)?
        .retain_in::<&str, _>(from.as_str()..to.as_str(), |_, _| false)
        .map_err(internal)
}

/// A versioned write's first step, in its transaction: the key's current
/// version `old` (taken out of `objects` by the caller, or about to be
/// replaced there) goes among the key's other versions, or is dropped: a
/// hand-placed file's, and under `Suspended` the null version, wherever it
/// is. Returns the newest order the key keeps (what a newer entry must
/// sort before) and the dropped versions, whose data files go after the
/// commit.
fn displace(
    txn: &WriteTransaction,
    versions: &mut RowsTable<'_>,
    bucket: &BucketName,
    key: &str,
    old: Option<ObjectMeta>,
    status: Versioning,
) -> Result<(Option<String>, Vec<ObjectMeta>), StoreError> {
    let mut dropped = Vec::new();
    if status == Versioning::Suspended
        && let Some((order, record)) = row_of(versions, bucket, key, &VersionId::Null)?
    {
        versions
            .remove(format!("{}{order}", key_base(bucket, key)).as_str())
            .map_err(internal)?;
        if let VersionRecord::Object(meta) = record {
            dropped.push(*meta);
        }
    }
    let mut newest = top_of(versions, bucket, key)?.map(|(order, _)| order);
    if let Some(old) = old {
        let kept_at = match (&old.version, &old.data, status) {
            // Not the store's bytes, or replaced by the new null version.
            (_, None, _) | (VersionId::Null, Some(_), Versioning::Suspended) => None,
            (VersionId::Null, Some(_), _) => Some(new_order(newest.as_deref())),
            (VersionId::Id(id), Some(_), _) => Some(id.clone()),
        };
        match kept_at {
            Some(order) => {
                let record = encode(&VersionRecord::Object(Box::new(old)))?;
                versions
                    .insert(
                        format!("{}{order}", key_base(bucket, key)).as_str(),
                        record.as_slice(),
                    )
                    .map_err(internal)?;
                newest = Some(order);
            }
            None => dropped.push(old),
        }
    }
    for meta in &dropped {
        forget_torrents_of(txn, bucket, key, meta)?;
    }
    Ok((newest, dropped))
}

/// In a versioned write's transaction, once `objects` has no row for the
/// key: the newest of its other versions becomes current if it has bytes
/// (a delete marker on top stays where it is: the key reads as deleted).
fn promote(
    objects: &mut RowsTable<'_>,
    versions: &mut RowsTable<'_>,
    bucket: &BucketName,
    key: &str,
) -> Result<(), StoreError> {
    let row = object_row(bucket, key);
    if objects.get(row.as_str()).map_err(internal)?.is_some() {
        return Ok(());
    }
    if let Some((order, VersionRecord::Object(meta))) = top_of(versions, bucket, key)? {
        versions
            .remove(format!("{}{order}", key_base(bucket, key)).as_str())
            .map_err(internal)?;
        objects
            .insert(row.as_str(), encode(&meta)?.as_slice())
            .map_err(internal)?;
    }
    Ok(())
}

/// The versioning of a bucket as a write transaction reads it:
/// `NoSuchBucket` if it has neither a record nor a folder.
pub(super) fn versioning_in(
    txn: &WriteTransaction,
    bucket: &BucketName,
    bucket_dir: &Path,
) -> Result<Versioning, StoreError> {
    match txn
        .open_table(BUCKETS)
        .map_err(internal)?
        .get(bucket.as_str())
        .map_err(internal)?
    {
        Some(v) => Ok(decode::<BucketMeta>(v.value())?.versioning),
        None if bucket_dir.is_dir() => Ok(Versioning::Unversioned),
        None => Err(StoreError::NoSuchBucket {
            bucket: bucket.to_string(),
        }),
    }
}

/// A versioned PutObject's part of its commit (the caller checked the
/// preconditions against `old`, the current version, and writes `meta` as
/// the current one after): `meta` gets its version, `old` goes among the
/// other versions or is dropped. Returns the dropped versions.
pub(super) fn put_version(
    txn: &WriteTransaction,
    bucket: &BucketName,
    key: &str,
    meta: &mut ObjectMeta,
    old: Option<ObjectMeta>,
    status: Versioning,
) -> Result<Vec<ObjectMeta>, StoreError> {
    let mut versions = txn.open_table(VERSIONS).map_err(internal)?;
    let (newest, dropped) = displace(txn, &mut versions, bucket, key, old, status)?;
    meta.version = match status {
        Versioning::Enabled => VersionId::Id(new_order(newest.as_deref())),
        _ => VersionId::Null,
    };
    Ok(dropped)
}

/// A versioned bucket's DeleteObject without a `versionId`, in its
/// transaction: the current version leaves `objects` and goes among the
/// others (or is dropped, as a write drops it), and a delete marker of
/// `owner`'s becomes the newest version. Returns the version that was
/// current, the dropped ones and the marker's version.
pub(super) fn add_marker(
    txn: &WriteTransaction,
    bucket: &BucketName,
    key: &str,
    owner: &str,
    status: Versioning,
    conditions: &DeleteConditions,
) -> Result<(Option<ObjectMeta>, Vec<ObjectMeta>, VersionId), StoreError> {
    let old: Option<ObjectMeta> = match txn
        .open_table(OBJECTS)
        .map_err(internal)?
        .remove(object_row(bucket, key).as_str())
        .map_err(internal)?
    {
        Some(v) => Some(decode(v.value())?),
        None => None,
    };
    let mut versions = txn.open_table(VERSIONS).map_err(internal)?;
    // The conditions are about the current version: an object, a delete
    // marker (which only `If-Match: *` matches), or none (no refusal).
    match &old {
        Some(current) => conditions.check(Some(current), key)?,
        None => {
            if let Some((_, VersionRecord::Marker(_))) = top_of(&versions, bucket, key)? {
                conditions.check(None, key)?;
            }
        }
    }
    let (newest, dropped) = displace(txn, &mut versions, bucket, key, old.clone(), status)?;
    let order = new_order(newest.as_deref());
    let version = match status {
        Versioning::Suspended => VersionId::Null,
        _ => VersionId::Id(order.clone()),
    };
    let marker = Marker {
        owner: owner.to_owned(),
        modified: now_secs(),
        version: version.clone(),
    };
    versions
        .insert(
            format!("{}{order}", key_base(bucket, key)).as_str(),
            encode(&VersionRecord::Marker(marker))?.as_slice(),
        )
        .map_err(internal)?;
    Ok((old, dropped, version))
}

impl Store {
    /// The bucket's versioning state (a bucket made by hand has none).
    pub(crate) fn bucket_versioning(&self, bucket: &BucketName) -> Result<Versioning, StoreError> {
        Ok(self
            .bucket_entry(bucket)?
            .map_or(Versioning::Unversioned, |e| e.1))
    }

    /// PutBucketVersioning: `Enabled` or `Suspended` (never back to
    /// unversioned: the caller refuses that).
    pub(crate) fn set_versioning(
        &self,
        bucket: &BucketName,
        status: Versioning,
    ) -> Result<(), StoreError> {
        self.update_bucket(bucket, |meta| meta.versioning = status)
    }

    /// Whether the key has rows in `versions` (noncurrent versions or
    /// delete markers): then a hand-placed file at its path is not adopted.
    pub(super) fn has_versions(&self, bucket: &BucketName, key: &str) -> Result<bool, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(VERSIONS).map_err(internal)?;
            has_rows(&table, bucket, key)
        })
    }

    /// A version's record as it is now: a hand-placed file's checked
    /// against its file (adopted afresh if it changed, none if it is gone),
    /// any other as it is.
    pub(crate) fn as_now(
        &self,
        bucket: &BucketName,
        key: &str,
        meta: ObjectMeta,
    ) -> Result<Option<ObjectMeta>, StoreError> {
        if meta.data.is_some() {
            return Ok(Some(meta));
        }
        self.current(bucket, key, Some(meta))
    }

    /// Whether the bucket has rows in `versions` (noncurrent versions or
    /// delete markers): then it is not empty.
    pub(crate) fn holds_versions(&self, bucket: &BucketName) -> Result<bool, StoreError> {
        let (from, to) = (format!("{bucket}/"), format!("{bucket}0"));
        self.read(|txn| {
            let table = txn.open_table(VERSIONS).map_err(internal)?;
            let mut range = table
                .range::<&str>(from.as_str()..to.as_str())
                .map_err(internal)?;
            Ok(range.next().is_some())
        })
    }

    /// The version of `key` that `wanted` names, or without one its newest
    /// (which may be a delete marker); `None` if there is no such version.
    pub(crate) fn find_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: Option<&VersionId>,
    ) -> Result<Option<Found<ObjectMeta>>, StoreError> {
        let current = self.object_meta(bucket, key)?;
        let Some(wanted) = wanted else {
            if let Some(meta) = current {
                return Ok(Some(Found::Object(meta)));
            }
            if self.bucket_versioning(bucket)?.is_unversioned() {
                return Ok(None);
            }
            return self.read(|txn| {
                let table = txn.open_table(VERSIONS).map_err(internal)?;
                Ok(top_of(&table, bucket, key.as_str())?.map(|(_, r)| r.found()))
            });
        };
        if let Some(meta) = current
            && meta.version == *wanted
        {
            return Ok(Some(Found::Object(meta)));
        }
        if matches!(wanted, VersionId::Id(_)) && wanted.stored_id().is_none() {
            return Ok(None);
        }
        self.read(|txn| {
            let table = txn.open_table(VERSIONS).map_err(internal)?;
            Ok(row_of(&table, bucket, key.as_str(), wanted)?.map(|(_, r)| r.found()))
        })
    }

    /// [`Store::find_version`], opened: a version's record and a handle on
    /// its file. A version dropped between the two is looked up again, a
    /// bounded number of times.
    pub(crate) fn snapshot_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: Option<&VersionId>,
    ) -> Result<Option<Found<Snapshot>>, StoreError> {
        for _ in 0..OPEN_ATTEMPTS {
            let meta = match self.find_version(bucket, key, wanted)? {
                None => return Ok(None),
                Some(Found::Marker(m)) => return Ok(Some(Found::Marker(m))),
                Some(Found::Object(meta)) => meta,
            };
            if let Some(file) = self.open_version(bucket, key.as_str(), &meta)? {
                return Ok(Some(Found::Object(Snapshot { meta, file })));
            }
        }
        Err(internal(format!(
            "/{bucket}/{key} kept changing while it was opened; retry"
        )))
    }

    /// A versioned bucket's DeleteObject without a `versionId`, in one
    /// commit ([`add_marker`]). Returns the marker's version. A
    /// conditional delete of a key with no version at all deletes nothing
    /// and makes no marker: there is nothing its conditions could be about
    /// (S3: "if the object doesn't exist, the operation returns 204").
    fn put_marker(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        owner: &str,
        conditions: &DeleteConditions,
    ) -> Result<Removal, StoreError> {
        let bucket_dir = self.bucket_dir(bucket);
        let added = self.write(|txn| {
            let status = versioning_in(txn, bucket, &bucket_dir)?;
            if conditions.any() {
                let current = txn
                    .open_table(OBJECTS)
                    .map_err(internal)?
                    .get(object_row(bucket, key.as_str()).as_str())
                    .map_err(internal)?
                    .is_some();
                let versions = txn.open_table(VERSIONS).map_err(internal)?;
                if !current && top_of(&versions, bucket, key.as_str())?.is_none() {
                    return Ok(None);
                }
            }
            add_marker(txn, bucket, key.as_str(), owner, status, conditions).map(Some)
        })?;
        let Some((old, dropped, marker)) = added else {
            return Ok(Removal::Removed);
        };
        self.crash_point("after commit")?;
        self.discard_dropped(&dropped);
        // A hand-placed file at the key's path is not the key any more, and
        // is never adopted while the key has versions: it goes.
        if old.is_none_or(|o| o.data.is_none())
            && let Some(path) = self.folder_path(bucket, key.as_str())
            && fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
        {
            self.discard(&path);
            self.prune_dirs(bucket, &path);
        }
        Ok(Removal::Marker(marker))
    }

    /// Removes the data files of versions a commit dropped.
    pub(super) fn discard_dropped(&self, dropped: &[ObjectMeta]) {
        for meta in dropped {
            if let Some(id) = &meta.data {
                self.discard(&self.data_path(id));
            }
        }
    }

    /// DeleteObject without a `versionId`: an unversioned bucket's object
    /// goes ([`Store::delete_object`]); a versioned bucket gets a delete
    /// marker of `owner`'s. Either is refused (`PreconditionFailed`) if the
    /// current version does not meet `conditions`.
    pub(crate) fn delete_current(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        owner: &str,
        conditions: &DeleteConditions,
    ) -> Result<Removal, StoreError> {
        if self.bucket_versioning(bucket)?.is_unversioned() {
            self.delete_object(bucket, key, owner, conditions)
        } else {
            self.put_marker(bucket, key, owner, conditions)
        }
    }

    /// DeleteObject with a `versionId`: that version goes for good, in one
    /// commit; if it was the current one, the newest of the others becomes
    /// current (unless that is a delete marker). A version that is not
    /// there is no error. A hand-placed file at the key's path goes with
    /// the null version, or as a leftover of a key whose current version is
    /// not it; one that is the current version stays when another version
    /// is deleted.
    pub(crate) fn delete_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: &VersionId,
        conditions: &DeleteConditions,
    ) -> Result<Deleted, StoreError> {
        let row = object_row(bucket, key.as_str());
        let current: Option<ObjectMeta> = self.get(OBJECTS, &row)?;
        let folder = self
            .folder_path(bucket, key.as_str())
            .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
            // Not the current version's file when another version goes.
            .filter(|_| current.as_ref().is_none_or(|m| m.data.is_some()) || version.is_null());
        let aside = self.move_aside(folder.as_deref())?;
        let result = self.write(|txn| {
            let mut objects = txn.open_table(OBJECTS).map_err(internal)?;
            let mut versions = txn.open_table(VERSIONS).map_err(internal)?;
            let old: Option<ObjectMeta> = match objects.get(row.as_str()).map_err(internal)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            let removed = match old {
                Some(meta) if meta.version == *version => {
                    conditions.check(Some(&meta), key.as_str())?;
                    objects.remove(row.as_str()).map_err(internal)?;
                    Some(VersionRecord::Object(Box::new(meta)))
                }
                _ => match row_of(&versions, bucket, key.as_str(), version)? {
                    Some((order, record)) => {
                        let meta = match &record {
                            VersionRecord::Object(meta) => Some(&**meta),
                            VersionRecord::Marker(_) => None,
                        };
                        conditions.check(meta, key.as_str())?;
                        versions
                            .remove(format!("{}{order}", key_base(bucket, key.as_str())).as_str())
                            .map_err(internal)?;
                        Some(record)
                    }
                    None => None,
                },
            };
            promote(&mut objects, &mut versions, bucket, key.as_str())?;
            drop((objects, versions));
            if let Some(VersionRecord::Object(meta)) = &removed {
                forget_torrents_of(txn, bucket, key.as_str(), meta)?;
            }
            Ok(removed)
        });
        let removed = match result {
            Ok(removed) => removed,
            Err(e) => {
                self.put_back(folder.as_deref(), aside.as_deref());
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        if let (Some(path), Some(aside)) = (&folder, &aside) {
            self.discard(aside);
            self.prune_dirs(bucket, path);
        }
        Ok(match removed {
            None => Deleted::Nothing,
            Some(VersionRecord::Marker(_)) => Deleted::Marker,
            Some(VersionRecord::Object(meta)) => {
                self.discard_dropped(std::slice::from_ref(&*meta));
                Deleted::Object
            }
        })
    }

    /// Applies `change` to the record of the version `version` names (the
    /// current one without), read and written in one transaction:
    /// `NoSuchKey` or `NoSuchVersion` if it is not there, `MethodNotAllowed`
    /// for a delete marker (which has no ACL or tags).
    pub(crate) fn update_version(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: Option<&VersionId>,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> Result<(), StoreError> {
        let Some(version) = version else {
            return self.update_object(bucket, key, change);
        };
        let missing = || StoreError::NoSuchVersion {
            bucket: bucket.to_string(),
            key: key.to_string(),
        };
        // A hand-placed file gets its record first.
        self.object_meta(bucket, key)?;
        let row = object_row(bucket, key.as_str());
        self.write(|txn| {
            let mut objects = txn.open_table(OBJECTS).map_err(internal)?;
            let current: Option<ObjectMeta> = match objects.get(row.as_str()).map_err(internal)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            if let Some(mut meta) = current
                && meta.version == *version
            {
                change(&mut meta);
                objects
                    .insert(row.as_str(), encode(&meta)?.as_slice())
                    .map_err(internal)?;
                return Ok(());
            }
            let mut versions = txn.open_table(VERSIONS).map_err(internal)?;
            match row_of(&versions, bucket, key.as_str(), version)? {
                Some((order, VersionRecord::Object(mut meta))) => {
                    change(&mut meta);
                    versions
                        .insert(
                            format!("{}{order}", key_base(bucket, key.as_str())).as_str(),
                            encode(&VersionRecord::Object(meta))?.as_slice(),
                        )
                        .map_err(internal)?;
                    Ok(())
                }
                Some((_, VersionRecord::Marker(_))) => Err(StoreError::DeleteMarker {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                None => Err(missing()),
            }
        })
    }

    /// Visits the versions of the bucket's keys that start with `prefix`,
    /// from `from` on, in order (keys in order, each key's versions newest
    /// first), until `visit` says [`Listed::Stop`]; [`Listed::SkipPrefix`]
    /// seeks past every key starting with a string. One read transaction;
    /// a hand-placed file's record is passed as recorded (the caller checks
    /// it against its file).
    pub(crate) fn list_versions(
        &self,
        bucket: &BucketName,
        prefix: &str,
        from: &ListFrom<'_>,
        mut visit: impl FnMut(&str, VersionEntry) -> Listed,
    ) -> Result<(), StoreError> {
        let base = format!("{bucket}/");
        let end = format!("{bucket}0");
        self.read(|txn| {
            let objects = txn.open_table(OBJECTS).map_err(internal)?;
            let versions = txn.open_table(VERSIONS).map_err(internal)?;
            // Where the keys after the marker start: a key (excluded) or
            // the first key of a prefix (included).
            let mut cursor = if from.key >= prefix {
                Cursor::After(from.key.to_owned())
            } else {
                Cursor::From(prefix.to_owned())
            };
            // The rest of the marker's key, after its marker version.
            if let Some(after) = &from.version
                && from.key.starts_with(prefix)
            {
                let current: Option<ObjectMeta> = match objects
                    .get(object_row(bucket, from.key).as_str())
                    .map_err(internal)?
                {
                    Some(v) => Some(decode(v.value())?),
                    None => None,
                };
                let rows = rows_of(&versions, bucket, from.key, usize::MAX)?;
                let skip = if current.as_ref().is_some_and(|c| c.version == *after) {
                    0
                } else {
                    match after {
                        VersionId::Id(id) => rows.iter().take_while(|(o, _)| o <= id).count(),
                        VersionId::Null => rows
                            .iter()
                            .position(|(_, r)| r.version().is_null())
                            .map_or(rows.len(), |i| i + 1),
                    }
                };
                for (_, record) in rows.into_iter().skip(skip) {
                    let entry = VersionEntry {
                        latest: false,
                        found: record.found(),
                    };
                    match visit(from.key, entry) {
                        Listed::Next => {}
                        Listed::Stop => return Ok(()),
                        Listed::SkipPrefix(p) => {
                            cursor = Cursor::Past(p);
                            break;
                        }
                    }
                }
            }
            'seek: loop {
                let (object_start, version_start) = cursor.bounds(&base);
                let mut current_rows = objects
                    .range::<&str>((
                        object_start.as_ref().map(String::as_str),
                        Bound::Excluded(end.as_str()),
                    ))
                    .map_err(internal)?
                    .peekable();
                let mut version_rows = versions
                    .range::<&str>((
                        version_start.as_ref().map(String::as_str),
                        Bound::Excluded(end.as_str()),
                    ))
                    .map_err(internal)?
                    .peekable();
                loop {
                    let next_current = match current_rows.peek() {
                        Some(Ok((row, _))) => Some(row.value()[base.len()..].to_owned()),
                        Some(Err(_)) => {
                            return Err(internal("reading the objects table failed"));
                        }
                        None => None,
                    };
                    let next_version = match version_rows.peek() {
                        Some(Ok((row, _))) => Some(
                            split_row(&base, row.value())
                                .ok_or_else(|| internal("a versions row that names no key"))?
                                .0,
                        ),
                        Some(Err(_)) => {
                            return Err(internal("reading the versions table failed"));
                        }
                        None => None,
                    };
                    let key = match (next_current, next_version) {
                        (None, None) => return Ok(()),
                        (Some(a), None) => a,
                        (None, Some(b)) => b,
                        (Some(a), Some(b)) => a.min(b),
                    };
                    if !key.starts_with(prefix) {
                        return Ok(());
                    }
                    let mut entries = Vec::new();
                    if current_rows.peek().is_some_and(|r| {
                        r.as_ref()
                            .is_ok_and(|(row, _)| &row.value()[base.len()..] == key.as_str())
                    }) && let Some(Ok((_, value))) = current_rows.next()
                    {
                        entries.push(Found::Object(decode::<ObjectMeta>(value.value())?));
                    }
                    while let Some(Ok((row, _))) = version_rows.peek() {
                        if split_row(&base, row.value()).is_none_or(|(k, _)| k != key) {
                            break;
                        }
                        let Some(Ok((_, value))) = version_rows.next() else {
                            break;
                        };
                        entries.push(decode::<VersionRecord>(value.value())?.found());
                    }
                    for (i, found) in entries.into_iter().enumerate() {
                        match visit(
                            &key,
                            VersionEntry {
                                latest: i == 0,
                                found,
                            },
                        ) {
                            Listed::Next => {}
                            Listed::Stop => return Ok(()),
                            Listed::SkipPrefix(p) => {
                                cursor = Cursor::Past(p);
                                continue 'seek;
                            }
                        }
                    }
                }
            }
        })
    }
}

/// Where a version listing's range scans start.
enum Cursor {
    /// After every version of this key.
    After(String),
    /// At this key (a prefix: the first key that starts with it).
    From(String),
    /// Past every key that starts with this (a common prefix rolled up).
    Past(String),
}

impl Cursor {
    /// The bounds of the scans of `objects` and of `versions`.
    fn bounds(&self, base: &str) -> (Bound<String>, Bound<String>) {
        match self {
            Cursor::After(k) => (
                Bound::Excluded(format!("{base}{k}")),
                Bound::Excluded(format!("{base}{}\0g", escaped(k))),
            ),
            Cursor::From(p) => (
                Bound::Included(format!("{base}{p}")),
                Bound::Included(format!("{base}{}", escaped(p))),
            ),
            // No key starting with `p` sorts after `p` and the last scalar
            // value but those continuing with it, which the caller rolls up
            // again if they come.
            Cursor::Past(p) => (
                Bound::Included(format!("{base}{p}{}", char::MAX)),
                Bound::Included(format!("{base}{}{}", escaped(p), char::MAX)),
            ),
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn escaped_keys_sort_as_keys_and_come_back() {
        let mut keys = vec![
            "",
            "a",
            "a\0",
            "a\0b",
            "a\u{1}",
            "a\u{1}\u{1}",
            "a\u{2}",
            "a b",
            "ab",
            "a/b",
            "é",
            "a\u{10FFFF}",
        ];
        keys.sort();
        // A row of each key, with the highest and the lowest order.
        let mut rows: Vec<(String, &str)> = Vec::new();
        for k in &keys {
            for order in ["0".repeat(32), "f".repeat(32)] {
                rows.push((format!("{}\0{order}", escaped(k)), k));
            }
        }
        let listed: Vec<&str> = {
            let mut sorted = rows.clone();
            sorted.sort();
            sorted.iter().map(|(_, k)| *k).collect()
        };
        let want: Vec<&str> = keys.iter().flat_map(|k| [*k, *k]).collect();
        assert_eq!(listed, want);
        for k in keys {
            assert_eq!(unescaped(&escaped(k)).as_deref(), Some(k));
        }
        assert_eq!(unescaped("a\u{1}x"), None);
        assert_eq!(unescaped("a\0"), None);
    }

    #[test]
    fn new_orders_sort_newest_first_even_against_the_clock() {
        let first = new_order(None);
        let second = new_order(Some(&first));
        assert!(second < first, "{second} {first}");
        assert!(valid_id(&first) && valid_id(&second));
        // A newest order from the future (a clock that went back since).
        let future = format!("{:016x}{}", 5u64, "0".repeat(16));
        let next = new_order(Some(&future));
        assert!(next < future && next.starts_with(&format!("{:016x}", 4u64)));
    }

    #[test]
    fn version_ids_read_as_written() {
        for v in [VersionId::Null, VersionId::Id(new_order(None))] {
            let bytes = bencode::to_vec(&v).unwrap();
            assert_eq!(bencode::from_bytes::<VersionId>(&bytes).unwrap(), v);
        }
        assert_eq!(VersionId::of("null"), VersionId::Null);
        assert_eq!(VersionId::of("x").as_str(), "x");
    }
}
