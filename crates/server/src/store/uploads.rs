//! Multipart uploads in progress, kept so that they survive a restart.
//!
//! An upload is a record in the `uploads` table under
//! `<bucket>/<key>\0<upload id>` (an ID names an upload only together with
//! its bucket and key, and a bucket's uploads list in key order, then in the
//! order they began: IDs start with the time) and a folder
//! `<root>/.multipart/<upload id>/` holding its parts. Each part is a file
//! with a name of its own, recorded in the `parts` table under
//! `<upload id>/<part number>` with its MD5 and size. A part uploaded again is
//! written beside the old one and the record switches to it in one
//! transaction, so a record always names a whole file.
//!
//! Completion marks the upload `completing` while the object is assembled;
//! meanwhile no part can be added and the upload cannot be aborted or
//! completed again. The commit that makes the assembled file the object
//! also removes the upload's records and notes the upload as completed
//! (with the object's ETag, in `completed`), so a crash leaves either the
//! upload or the object, never both: no parts can be assembled again after
//! the object exists, and a repeated CompleteMultipartUpload of that upload
//! answers the same ETag, as S3 does. Opening the store clears marks left
//! by a crash, removes folders that no longer have a record, and forgets
//! completions older than a week. Nothing under `.multipart` is ever an
//! object: bucket names cannot start with a dot.

use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use s3torrent_bencode as bencode;
use s3torrent_s3::{BucketName, ObjectKey};
use serde::{Deserialize, Serialize};

use super::{Failure, Headers, ObjectPart, Store, StoreError, hex, internal, now_secs};
use crate::checksum::{Algorithm, Checksum, Kind};

pub(super) const UPLOADS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("uploads");
pub(super) const PARTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("parts");
/// Completed uploads, by their `uploads` row: the object's ETag and when.
pub(super) const COMPLETED: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("completed");

/// How long a completed upload is remembered for a repeated completion.
const COMPLETED_FOR_SECS: i64 = 7 * 24 * 3600;

/// The folder under the root that holds the parts, one folder per upload.
const FOLDER: &str = ".multipart";

/// Every part but the last is at least this long (S3's rule).
pub(crate) const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// What CreateMultipartUpload said about the object to be.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UploadRecord {
    /// The initiator's account: the owner of the object.
    pub(crate) owner: String,
    /// The ACL of the object.
    pub(crate) acl: super::StoredAcl,
    #[serde(rename = "content type")]
    pub(crate) content_type: Option<String>,
    /// Seconds since the epoch.
    pub(crate) initiated: i64,
    /// Set while CompleteMultipartUpload assembles the object.
    pub(crate) completing: bool,
    /// The object's headers (`Cache-Control`, `x-amz-meta-*`...).
    #[serde(default)]
    pub(crate) headers: Headers,
    /// The object's tags (`x-amz-tagging`).
    #[serde(default, skip_serializing_if = "super::Tags::is_empty")]
    pub(crate) tags: super::Tags,
    /// The parts the completion listed, noted when it claims the upload:
    /// the object's parts, recorded by the commit that makes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) listed: Option<Vec<ObjectPart>>,
    /// The checksum CreateMultipartUpload asked for: every part has one
    /// of this algorithm, and the object one of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<UploadChecksum>,
    /// The object's server-side encryption (its sealed data key), which
    /// every part is enciphered with, each from its own counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sse: Option<crate::sse::Envelope>,
}

/// A multipart upload's checksum algorithm and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UploadChecksum {
    pub(crate) algorithm: Algorithm,
    #[serde(rename = "type")]
    pub(crate) kind: Kind,
}

/// A part as CompleteMultipartUpload lists it.
#[derive(Debug, Clone)]
pub(crate) struct ListedPart {
    pub(crate) number: u32,
    pub(crate) etag: String,
    /// The checksum it names for the part, if any.
    pub(crate) checksum: Option<(Algorithm, String)>,
}

impl ListedPart {
    /// A part listed without a checksum.
    #[cfg(test)]
    pub(crate) fn new(number: u32, etag: String) -> ListedPart {
        ListedPart {
            number,
            etag,
            checksum: None,
        }
    }
}

/// A completed upload, remembered for a repeated completion.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    etag: String,
    /// Seconds since the epoch.
    completed: i64,
    /// The object's checksum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    checksum: Option<Checksum>,
}

/// One uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PartRecord {
    /// Its file in the upload's folder.
    pub(crate) file: String,
    /// Hex MD5 of its bytes: its ETag.
    pub(crate) etag: String,
    pub(crate) size: u64,
    /// Seconds since the epoch.
    pub(crate) modified: i64,
    /// Its checksum (base64), in the upload's algorithm (or the one its
    /// request named, for an upload without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<String>,
    /// The initial counter its bytes are enciphered from, in an encrypted
    /// upload (with the upload's data key).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "counter")]
    pub(crate) counter: Option<[u8; 16]>,
}

/// A part's counter as bencode bytes.
mod counter {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(c: &Option<[u8; 16]>, s: S) -> Result<S::Ok, S::Error> {
        match c {
            Some(c) => serde_bytes::serialize(&c[..], s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<[u8; 16]>, D::Error> {
        let bytes: serde_bytes::ByteBuf = Deserialize::deserialize(d)?;
        <[u8; 16]>::try_from(bytes.as_ref())
            .map(Some)
            .map_err(|_| serde::de::Error::custom("a part's counter is not 16 bytes"))
    }
}

/// A page of ListParts.
#[derive(Debug)]
pub(crate) struct PartsPage {
    pub(crate) record: UploadRecord,
    /// (part number, part), ascending.
    pub(crate) parts: Vec<(u32, PartRecord)>,
    /// Whether more parts follow.
    pub(crate) truncated: bool,
}

/// A completion that passed the checks: the upload is marked `completing`.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) record: UploadRecord,
    /// The listed parts' files, sizes and counters (encrypted uploads),
    /// in order.
    pub(crate) parts: Vec<(PathBuf, u64, Option<[u8; 16]>)>,
    /// The object's ETag: the MD5 of the parts' binary MD5s, then `-N`.
    pub(crate) etag: String,
    pub(crate) size: u64,
}

/// What a CompleteMultipartUpload finds.
#[derive(Debug)]
pub(crate) enum Completion {
    /// The list holds: the upload is this request's to complete.
    Claimed(Box<Claimed>),
    /// The upload was completed already, into an object with this ETag
    /// and checksum.
    Done(String, Option<Checksum>),
}

/// Why a multipart request is refused.
#[derive(Debug)]
pub(crate) enum UploadError {
    Store(StoreError),
    /// No such upload of this bucket and key (or it is being completed).
    NoSuchUpload,
    /// The listed part was never uploaded, or its ETag differs.
    InvalidPart(u32),
    /// A part other than the last is under [`MIN_PART_SIZE`].
    EntityTooSmall(u32),
    /// The upload has a checksum, and the completion lists this part
    /// without one of its algorithm.
    MissingPartChecksum(u32, Algorithm),
}

impl From<StoreError> for UploadError {
    fn from(e: StoreError) -> Self {
        UploadError::Store(e)
    }
}

impl Failure for UploadError {
    fn is_internal(&self) -> bool {
        matches!(self, UploadError::Store(e) if e.is_internal())
    }
}

fn db_error(e: impl super::error::Cause) -> UploadError {
    UploadError::Store(internal(e))
}

fn upload_row(bucket: &BucketName, key: &ObjectKey, id: &str) -> String {
    format!("{bucket}/{key}\0{id}")
}

fn part_row(id: &str, number: u32) -> String {
    format!("{id}/{number:05}")
}

/// The rows of an upload's parts: from `<id>/` up to `<id>0` ('0' follows '/').
fn part_rows(id: &str) -> (String, String) {
    (format!("{id}/"), format!("{id}0"))
}

/// 32 hex digits: the time in nanoseconds, then a hash of what makes the
/// upload unique in this process.
fn new_upload_id(bucket: &BucketName, key: &ObjectKey) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let salt = Md5::digest(format!(
        "{nanos}\0{}\0{n}\0{bucket}/{key}",
        std::process::id()
    ));
    format!("{nanos:016x}{}", hex(&salt[..8]))
}

/// Whether `id` could be one of ours; anything else never reaches a path.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, UploadError> {
    bencode::from_bytes(bytes).map_err(db_error)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, UploadError> {
    bencode::to_vec(value).map_err(db_error)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Clears `completing` marks (their completion died with the process) and
/// removes part folders whose upload is gone.
pub(super) fn recover(db: &Database, root: &Path) -> Result<(), StoreError> {
    let folder = root.join(FOLDER);
    fs::create_dir_all(&folder).map_err(StoreError::at(&folder))?;
    let txn = db.begin_write().map_err(internal)?;
    let mut live = HashSet::new();
    {
        let mut uploads = txn.open_table(UPLOADS).map_err(internal)?;
        let mut unmark = Vec::new();
        for entry in uploads.iter().map_err(internal)? {
            let (row, value) = entry.map_err(internal)?;
            let row = row.value().to_owned();
            if let Some((_, id)) = row.rsplit_once('\0') {
                live.insert(id.to_owned());
            }
            let mut record: UploadRecord = bencode::from_bytes(value.value()).map_err(internal)?;
            if record.completing {
                record.completing = false;
                unmark.push((row, bencode::to_vec(&record).map_err(internal)?));
            }
        }
        for (row, bytes) in unmark {
            uploads
                .insert(row.as_str(), bytes.as_slice())
                .map_err(internal)?;
        }
        let oldest = now_secs() - COMPLETED_FOR_SECS;
        let mut completed = txn.open_table(COMPLETED).map_err(internal)?;
        completed
            .retain(|_, v| bencode::from_bytes::<Done>(v).is_ok_and(|d| d.completed >= oldest))
            .map_err(internal)?;
    }
    txn.commit().map_err(internal)?;
    for entry in fs::read_dir(&folder)
        .map_err(StoreError::at(&folder))?
        .flatten()
    {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| live.contains(n)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

impl Store {
    pub(super) fn upload_dir(&self, id: &str) -> PathBuf {
        self.root.join(FOLDER).join(id)
    }

    /// Starts an upload and returns its ID.
    pub(crate) fn create_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        record: &UploadRecord,
    ) -> Result<String, StoreError> {
        let id = new_upload_id(bucket, key);
        let dir = self.upload_dir(&id);
        fs::create_dir_all(&dir).map_err(internal)?;
        if let Err(e) = self.put(UPLOADS, &upload_row(bucket, key, &id), record) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(id)
    }

    /// The upload `id` of `bucket`/`key`, being completed or not.
    pub(crate) fn upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
    ) -> Result<UploadRecord, UploadError> {
        if !valid_id(id) {
            return Err(UploadError::NoSuchUpload);
        }
        self.get(UPLOADS, &upload_row(bucket, key, id))?
            .ok_or(UploadError::NoSuchUpload)
    }

    /// Makes the uploaded temp file part `number` of the upload, replacing
    /// any earlier part of that number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn put_part(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
        number: u32,
        temp: &Path,
        (etag, checksum): (String, Option<String>),
        size: u64,
        now: i64,
        counter: Option<[u8; 16]>,
    ) -> Result<(), UploadError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        if !valid_id(id) {
            return Err(UploadError::NoSuchUpload);
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let file = format!("{number:05}-{nanos:x}-{n}");
        let path = self.upload_dir(id).join(&file);
        let record = PartRecord {
            file,
            etag,
            size,
            modified: now,
            checksum,
            counter,
        };
        let replaced = self
            .write(|txn| {
                let uploads = txn.open_table(UPLOADS).map_err(db_error)?;
                let live = match uploads
                    .get(upload_row(bucket, key, id).as_str())
                    .map_err(db_error)?
                {
                    Some(v) => !decode::<UploadRecord>(v.value())?.completing,
                    None => false,
                };
                if !live {
                    return Err(UploadError::NoSuchUpload);
                }
                fs::rename(temp, &path).map_err(db_error)?;
                let mut parts = txn.open_table(PARTS).map_err(db_error)?;
                parts
                    .insert(part_row(id, number).as_str(), encode(&record)?.as_slice())
                    .map_err(db_error)?
                    .map(|old| decode::<PartRecord>(old.value()))
                    .transpose()
            })
            .inspect_err(|_| {
                let _ = fs::remove_file(&path);
            })?;
        if let Some(old) = replaced {
            let _ = fs::remove_file(self.upload_dir(id).join(old.file));
        }
        Ok(())
    }

    /// Up to `max` parts numbered above `after`, and whether more follow.
    pub(crate) fn parts(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
        after: u32,
        max: usize,
    ) -> Result<PartsPage, UploadError> {
        let record = self.upload(bucket, key, id)?;
        let from = part_row(id, after.saturating_add(1));
        let (_, to) = part_rows(id);
        let parts = self.read(|txn| {
            let table = txn.open_table(PARTS).map_err(internal)?;
            let mut parts = Vec::new();
            for entry in table
                .range(from.as_str()..to.as_str())
                .map_err(internal)?
                .take(max.saturating_add(1))
            {
                let (row, value) = entry.map_err(internal)?;
                let number = row
                    .value()
                    .rsplit('/')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| internal("a part row without a number"))?;
                parts.push((number, super::decode(value.value())?));
            }
            Ok(parts)
        })?;
        let mut parts: Vec<(u32, PartRecord)> = parts;
        let truncated = parts.len() > max;
        parts.truncate(max);
        Ok(PartsPage {
            record,
            parts,
            truncated,
        })
    }

    /// Checks a CompleteMultipartUpload's list of parts (ascending numbers
    /// and their ETags, already checked for order) against the upload and,
    /// if it holds, marks the upload `completing`. An upload completed
    /// already answers [`Completion::Done`] with its object's ETag.
    pub(crate) fn claim_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
        listed: &[ListedPart],
    ) -> Result<Completion, UploadError> {
        if !valid_id(id) {
            return Err(UploadError::NoSuchUpload);
        }
        let row = upload_row(bucket, key, id);
        let dir = self.upload_dir(id);
        self.write(|txn| {
            let mut uploads = txn.open_table(UPLOADS).map_err(db_error)?;
            let mut record: UploadRecord = match uploads.get(row.as_str()).map_err(db_error)? {
                Some(v) => decode(v.value())?,
                None => {
                    let completed = txn.open_table(COMPLETED).map_err(db_error)?;
                    return match completed.get(row.as_str()).map_err(db_error)? {
                        Some(v) => {
                            let done = decode::<Done>(v.value())?;
                            Ok(Completion::Done(done.etag, done.checksum))
                        }
                        None => Err(UploadError::NoSuchUpload),
                    };
                }
            };
            if record.completing {
                return Err(UploadError::NoSuchUpload);
            }
            let table = txn.open_table(PARTS).map_err(db_error)?;
            let mut found = Vec::with_capacity(listed.len());
            for l in listed {
                let number = l.number;
                let part: PartRecord =
                    match table.get(part_row(id, number).as_str()).map_err(db_error)? {
                        Some(v) => decode(v.value())?,
                        None => return Err(UploadError::InvalidPart(number)),
                    };
                if !part.etag.eq_ignore_ascii_case(l.etag.trim_matches('"')) {
                    return Err(UploadError::InvalidPart(number));
                }
                // S3's rules: an upload with a checksum needs each part's,
                // of its algorithm, as the part was given; one without
                // takes none.
                match (&record.checksum, &l.checksum) {
                    (None, None) => {}
                    (None, Some(_)) => return Err(UploadError::InvalidPart(number)),
                    (Some(c), None) => {
                        return Err(UploadError::MissingPartChecksum(number, c.algorithm));
                    }
                    (Some(c), Some((algorithm, value))) => {
                        if *algorithm != c.algorithm {
                            return Err(UploadError::MissingPartChecksum(number, c.algorithm));
                        }
                        if part.checksum.as_deref() != Some(value.as_str()) {
                            return Err(UploadError::InvalidPart(number));
                        }
                    }
                }
                found.push((number, part));
            }
            if let Some((number, _)) = found[..found.len().saturating_sub(1)]
                .iter()
                .find(|(_, p)| p.size < MIN_PART_SIZE)
            {
                return Err(UploadError::EntityTooSmall(*number));
            }
            let mut md5 = Md5::new();
            for (_, part) in &found {
                md5.update(unhex(&part.etag).ok_or_else(|| db_error("a part's ETag is not hex"))?);
            }
            let etag = format!("{}-{}", hex(&md5.finalize()), found.len());
            record.completing = true;
            record.listed = Some(
                found
                    .iter()
                    .map(|(number, p)| ObjectPart {
                        number: *number,
                        size: p.size,
                        checksum: p.checksum.clone(),
                    })
                    .collect(),
            );
            uploads
                .insert(row.as_str(), encode(&record)?.as_slice())
                .map_err(db_error)?;
            Ok(Completion::Claimed(Box::new(Claimed {
                record,
                size: found.iter().map(|(_, p)| p.size).sum(),
                parts: found
                    .into_iter()
                    .map(|(_, p)| (dir.join(p.file), p.size, p.counter))
                    .collect(),
                etag,
            })))
        })
    }

    /// A completion failed: the upload takes parts and requests again.
    pub(crate) fn release_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
    ) -> Result<(), StoreError> {
        let row = upload_row(bucket, key, id);
        if let Some(mut record) = self.get::<UploadRecord>(UPLOADS, &row)? {
            record.completing = false;
            self.put(UPLOADS, &row, &record)?;
        }
        Ok(())
    }

    /// Makes the assembled temp file of a claimed upload the object and
    /// ends the upload, in one commit; then removes its parts.
    pub(crate) fn complete_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
        temp: &Path,
        meta: super::ObjectMeta,
        conditions: &super::Preconditions,
    ) -> Result<super::ObjectMeta, super::WriteError> {
        let meta = self.commit_object(bucket, key, temp, meta, conditions, Some(id))?;
        if self.alive().is_ok() {
            let _ = fs::remove_dir_all(self.upload_dir(id));
        }
        Ok(meta)
    }

    /// AbortMultipartUpload: forgets an upload that is not being completed
    /// and removes its parts.
    pub(crate) fn abort_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
    ) -> Result<(), UploadError> {
        if !valid_id(id) {
            return Err(UploadError::NoSuchUpload);
        }
        let row = upload_row(bucket, key, id);
        self.write(|txn| {
            let mut uploads = txn.open_table(UPLOADS).map_err(db_error)?;
            let record: UploadRecord = match uploads.get(row.as_str()).map_err(db_error)? {
                Some(v) => decode(v.value())?,
                None => return Err(UploadError::NoSuchUpload),
            };
            if record.completing {
                return Err(UploadError::NoSuchUpload);
            }
            uploads.remove(row.as_str()).map_err(db_error)?;
            remove_parts(txn, id)?;
            Ok(())
        })?;
        fs::remove_dir_all(self.upload_dir(id)).map_err(db_error)
    }

    /// A bucket's uploads: (key, upload ID, record), by key, then by age.
    pub(crate) fn uploads(
        &self,
        bucket: &BucketName,
    ) -> Result<Vec<(String, String, UploadRecord)>, StoreError> {
        let (from, to) = (format!("{bucket}/"), format!("{bucket}0"));
        self.read(|txn| {
            let table = txn.open_table(UPLOADS).map_err(internal)?;
            let mut out = Vec::new();
            for entry in table.range(from.as_str()..to.as_str()).map_err(internal)? {
                let (row, value) = entry.map_err(internal)?;
                let Some((key, id)) = row.value()[from.len()..].rsplit_once('\0') else {
                    continue;
                };
                let record = super::decode(value.value())?;
                out.push((key.to_owned(), id.to_owned(), record));
            }
            Ok(out)
        })
    }

    /// Concatenates the parts into a new, fsynced temp file, feeding every
    /// chunk to `observe` on the way (one pass over the data), and returns
    /// the temp file's path. Removes the temp file if it fails. With a data
    /// key (an encrypted upload), each part is deciphered from its own
    /// counter and the object enciphered from the key's.
    pub(crate) fn assemble(
        &self,
        parts: &[(PathBuf, u64, Option<[u8; 16]>)],
        key: Option<&crate::sse::DataKey>,
        mut observe: impl FnMut(&[u8]),
    ) -> Result<PathBuf, StoreError> {
        let (temp, mut file) = self.temp_file()?;
        let result = (|| -> Result<(), StoreError> {
            let mut buf = vec![0u8; 1 << 20];
            let mut at = 0u64;
            for (path, size, counter) in parts {
                let mut part = fs::File::open(path).map_err(internal)?;
                let part_key = match (key, counter) {
                    (Some(k), Some(c)) => Some(k.with_counter(*c)),
                    (None, None) => None,
                    _ => {
                        return Err(internal(format!(
                            "{} is not enciphered as its upload is",
                            path.display()
                        )));
                    }
                };
                let mut copied = 0u64;
                loop {
                    let n = part.read(&mut buf).map_err(internal)?;
                    if n == 0 {
                        break;
                    }
                    if let Some(k) = &part_key {
                        k.apply(&mut buf[..n], copied);
                    }
                    observe(&buf[..n]);
                    if let Some(k) = key {
                        k.apply(&mut buf[..n], at);
                    }
                    super::write_all(&mut file, &buf[..n])?;
                    copied += n as u64;
                    at += n as u64;
                }
                if copied != *size {
                    return Err(internal(format!(
                        "{} holds {copied} bytes, not {size}",
                        path.display()
                    )));
                }
            }
            file.sync_all().map_err(internal)
        })();
        match result {
            Ok(()) => Ok(temp),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(e)
            }
        }
    }
}

/// Removes the rows of an upload's parts.
fn remove_parts(txn: &WriteTransaction, id: &str) -> Result<(), UploadError> {
    let mut parts = txn.open_table(PARTS).map_err(db_error)?;
    let (from, to) = part_rows(id);
    parts
        .retain_in::<&str, _>(from.as_str()..to.as_str(), |_, _| false)
        .map_err(db_error)
}

/// In the commit that makes a completed upload's object (`meta`): the
/// upload's records go, the parts it listed become the object's, and its
/// completion is noted with the object's ETag.
pub(super) fn finish(
    txn: &WriteTransaction,
    bucket: &BucketName,
    key: &ObjectKey,
    id: &str,
    meta: &super::ObjectMeta,
) -> Result<(), StoreError> {
    let row = upload_row(bucket, key, id);
    let mut uploads = txn.open_table(UPLOADS).map_err(internal)?;
    let record: UploadRecord = match uploads.remove(row.as_str()).map_err(internal)? {
        Some(v) => super::decode(v.value())?,
        None => return Err(internal(format!("upload {id} vanished while it completed"))),
    };
    drop(uploads);
    if let (Some(listed), Some(data)) = (record.listed, meta.data.as_deref()) {
        super::parts::record_parts(txn, data, listed)?;
    }
    let etag = meta.etag.as_deref().unwrap_or_default();
    remove_parts(txn, id).map_err(|e| match e {
        UploadError::Store(e) => e,
        other => internal(format!("{other:?}")),
    })?;
    let done = super::encode(&Done {
        etag: etag.to_owned(),
        completed: now_secs(),
        checksum: meta.checksum.clone(),
    })?;
    txn.open_table(COMPLETED)
        .map_err(internal)?
        .insert(row.as_str(), done.as_slice())
        .map_err(internal)?;
    Ok(())
}
