//! The store: object data in files named by internal IDs, every piece of
//! metadata in a redb database, so that no key ever becomes a path.
//!
//! On disk, under the root:
//!
//! - `.s3torrent.redb`: buckets, object records (owner, ACL, ETag, size,
//!   headers, where the bytes are), cached torrents, the info-hash index,
//!   multipart uploads and their parts;
//! - `.s3torrent/data/<id>`: the bytes of each object written through S3,
//!   one immutable file per version, named by a 32-hex-digit ID that no key
//!   influences;
//! - `.s3torrent/tmp/`: uploads being received and files being deleted;
//! - `.multipart/<upload id>/`: the parts of uploads in progress;
//! - `<bucket>/<path>`: files placed there by hand (and the objects written
//!   by versions of this store before the ID layout), adopted as objects
//!   where their path is a key.
//!
//! Every key S3 allows (1 to 1024 bytes of UTF-8) is storable: `dir/`,
//! `a/b` beside `a/b/c`, `a//b`, `..` segments. A write goes to a temp file
//! that is fsynced, renamed to a fresh ID, and then made the object by one
//! redb commit, which also checks the write's preconditions; the old
//! version's file is removed after the commit. A reader takes the record,
//! opens the ID file it names and serves from that handle: a version's file
//! never changes, so the bytes are the ones under the ETag it reports. Data
//! files and upload folders no record names are removed when the store
//! opens, so a crash at any point leaves each object wholly old or wholly
//! new.
//!
//! **Adoption.** A file under `<bucket>/` whose relative path is a valid key
//! and that has no record is adopted when that key is read (GET, HEAD,
//! `?torrent`, ACLs) or when the bucket's listing starts from its first
//! page: it becomes an object owned by the bucket's owner, private, its
//! ETag its MD5, computed once by the first read the access decision allows
//! ([`ObjectSource::record_etag`]), not at adoption. Its record says its bytes live at that path (not in an ID
//! file); a change to the file's size or mtime adopts it afresh. A key
//! whose record names an ID file is that object: a hand-placed file at the
//! same path is ignored, and goes with the key when the key is deleted.
//!
//! After an I/O error (a full disk) redb refuses every later write until
//! the database is reopened; the store reopens it at once and again on
//! later requests, so writes work again once there is space.

mod acl_record;
mod memo;
mod ops_support;
mod uploads;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use s3torrent_bencode as bencode;
use s3torrent_metainfo::Torrent;
use s3torrent_s3::{
    Acl, BucketInfo, BucketName, BucketPolicy, CacheKey, CachedTorrent, CannedAcl, ETag, ErrorCode,
    InfoHash, LruCache, ObjectInfo, ObjectKey, ObjectLookup, ObjectSource, ObjectVersion,
    Principal, ReadAt, S3Error, TorrentCache,
};
use serde::{Deserialize, Serialize};

pub(crate) use self::acl_record::StoredAcl;
pub(crate) use self::ops_support::BucketDeletion;
pub(crate) use self::uploads::{Completion, MIN_PART_SIZE, UploadError, UploadRecord};
use crate::config::{User, principal_of_account};

const BUCKETS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("buckets");
const OBJECTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("objects");
const TORRENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("torrents");
/// Info-hash (40 hex digits; v1, or a v2 one truncated) to the object whose
/// torrent has it: what the tracker and the seeding peer look up.
const SWARMS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("swarms");

/// The database file under the root.
const DATABASE: &str = ".s3torrent.redb";
/// The folder of the store's own files under the root.
const OWN: &str = ".s3torrent";

/// How many times a read retries when the version it found was replaced
/// before its file could be opened.
const OPEN_ATTEMPTS: usize = 8;

/// The one hex encoder (from `s3torrent-metainfo`, through `s3torrent-s3`).
pub(crate) use s3torrent_s3::to_hex as hex;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct BucketMeta {
    owner: String,
    acl: StoredAcl,
    #[serde(rename = "requester pays")]
    requester_pays: bool,
    created: i64,
    /// CreateBucket's `LocationConstraint`; none for us-east-1.
    #[serde(default)]
    location: Option<String>,
    /// PutBucketPolicy's policy, as sent (checked then).
    #[serde(default)]
    policy: Option<String>,
}

/// Who pays for the requests to a bucket (its request-payment setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payer {
    /// The bucket owner (S3's default).
    BucketOwner,
    /// The requester (requester-pays buckets).
    Requester,
}

/// The headers an object keeps from its upload and returns on GET and HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Headers {
    #[serde(rename = "cache control")]
    pub(crate) cache_control: Option<String>,
    #[serde(rename = "content disposition")]
    pub(crate) content_disposition: Option<String>,
    #[serde(rename = "content encoding")]
    pub(crate) content_encoding: Option<String>,
    #[serde(rename = "content language")]
    pub(crate) content_language: Option<String>,
    /// As an HTTP date.
    pub(crate) expires: Option<String>,
    /// `x-amz-meta-*`, without the prefix, lower-case names.
    #[serde(default)]
    pub(crate) user: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) owner: String,
    pub(crate) acl: StoredAcl,
    /// `None` for an adopted file whose MD5 is not computed yet: the
    /// torrent service computes it once a request is allowed, and records
    /// it here ([`ObjectSource::record_etag`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) etag: Option<String>,
    pub(crate) size: u64,
    #[serde(rename = "content type")]
    pub(crate) content_type: Option<String>,
    /// Seconds since the epoch.
    pub(crate) modified: i64,
    /// For bytes in the bucket's folder: the file's mtime in nanoseconds
    /// when this was written (a file changed by other means no longer
    /// matches and is adopted afresh). 0 for ID files.
    #[serde(rename = "file mtime")]
    pub(crate) file_mtime: i64,
    /// The ID of the file under `.s3torrent/data/` holding the bytes; none
    /// for a file adopted from the bucket's folder (or written by a version
    /// of this store before IDs), whose bytes are at `<bucket>/<key>`.
    #[serde(default)]
    pub(crate) data: Option<String>,
    #[serde(default)]
    pub(crate) headers: Headers,
}

impl ObjectMeta {
    /// A record for an upload's bytes, before they are committed.
    pub(crate) fn new(owner: String, acl: StoredAcl, etag: String, size: u64) -> ObjectMeta {
        ObjectMeta {
            owner,
            acl,
            etag: Some(etag),
            size,
            content_type: None,
            modified: 0,
            file_mtime: 0,
            data: None,
            headers: Headers::default(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredTorrent {
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
    #[serde(rename = "info hash")]
    info_hash: String,
    etag: String,
}

fn internal(e: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(ErrorCode::InternalError, format!("internal error: {e}"), "")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, S3Error> {
    bencode::from_bytes(bytes).map_err(internal)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, S3Error> {
    bencode::to_vec(value).map_err(internal)
}

/// A write's preconditions (`If-Match`, `If-None-Match`), checked in the
/// transaction that commits it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preconditions {
    /// `If-Match`: the current version's ETag, or `*` for any.
    pub(crate) if_match: Option<Expected>,
    /// `If-None-Match`: only `*` (no current version) makes sense for a write.
    pub(crate) if_none_match: Option<Expected>,
}

/// What an `If-Match` or `If-None-Match` names.
#[derive(Debug, Clone)]
pub(crate) enum Expected {
    /// `*`: any version.
    Any,
    /// An ETag, without quotes.
    ETag(String),
}

impl Expected {
    /// Whether the version with `etag` is one this names.
    pub(crate) fn matches_etag(&self, etag: &str) -> bool {
        self.matches(etag)
    }

    fn matches(&self, etag: &str) -> bool {
        match self {
            Expected::Any => true,
            Expected::ETag(e) => e.trim_matches('"') == etag,
        }
    }
}

/// Why a write was not committed.
#[derive(Debug)]
pub(crate) enum WriteError {
    Store(S3Error),
    /// A precondition did not hold: 412 `PreconditionFailed`.
    PreconditionFailed,
    /// `If-Match` and no current version: 404 `NoSuchKey`.
    NoSuchKey,
}

impl From<S3Error> for WriteError {
    fn from(e: S3Error) -> Self {
        WriteError::Store(e)
    }
}

/// Errors of the database's users: which ones may mean the database needs
/// reopening (anything but a refusal of the request).
pub(crate) trait Failure: From<S3Error> {
    fn is_internal(&self) -> bool;
}

impl Failure for S3Error {
    fn is_internal(&self) -> bool {
        self.code() == ErrorCode::InternalError
    }
}

impl Failure for WriteError {
    fn is_internal(&self) -> bool {
        matches!(self, WriteError::Store(e) if e.is_internal())
    }
}

/// A fresh ID for a data file or an upload: 32 hex digits, the time in
/// nanoseconds, then a hash of what makes it unique in this process.
fn new_id(salt: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mix = Md5::digest(format!("{nanos}\0{}\0{n}\0{salt}", std::process::id()));
    format!("{nanos:016x}{}", hex(&mix[..8]))
}

/// Whether `id` could be one of ours; anything else never reaches a path.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The row of an object: `<bucket>/<key>` (bucket names hold no `/`).
fn object_row(bucket: &BucketName, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// What a listing's visitor wants next.
#[derive(Debug)]
pub(crate) enum Listed {
    /// The next key.
    Next,
    /// The first key not starting with this (a common prefix, rolled up).
    SkipPrefix(String),
    /// Nothing more.
    Stop,
}

/// A file opened for reading one version of an object, with its record.
pub(crate) struct Snapshot {
    pub(crate) meta: ObjectMeta,
    pub(crate) file: fs::File,
}

pub(crate) struct Store {
    root: PathBuf,
    /// `None` after an I/O error until a reopen succeeds. Held for reading
    /// for the whole of every transaction, for writing to swap it.
    db: RwLock<Option<Database>>,
    users: Vec<User>,
    /// Moves on after every write transaction: what the memos hold is of
    /// the current epoch only.
    epoch: memo::Epoch,
    /// Buckets with a record, as [`Store::bucket_info`] makes them.
    bucket_memo: memo::Memo<BucketInfo>,
    /// Object records (as stored, before [`Store::object_meta`] looks at
    /// a hand-placed file), by row.
    object_memo: memo::Memo<ObjectMeta>,
    #[cfg(test)]
    crash: tests::Crash,
}

fn open_database(path: &Path) -> Result<Database, String> {
    Database::create(path).map_err(|e| format!("{}: {e}", path.display()))
}

impl Store {
    pub(crate) fn open(root: &Path, users: Vec<User>) -> Result<Store, String> {
        let at = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
        for dir in [root.join(OWN).join("data"), root.join(OWN).join("tmp")] {
            fs::create_dir_all(&dir).map_err(|e| at(&dir, e))?;
        }
        let db = open_database(&root.join(DATABASE))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        for table in [
            BUCKETS,
            OBJECTS,
            TORRENTS,
            SWARMS,
            uploads::UPLOADS,
            uploads::PARTS,
            uploads::COMPLETED,
        ] {
            txn.open_table(table).map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())?;
        // The database is locked to this process now, so what is left in
        // tmp is from an upload or a delete a crash cut short: never an
        // object. (`.tmp` is where versions before the ID layout kept them.)
        for dir in [root.join(OWN).join("tmp"), root.join(".tmp")] {
            if let Ok(entries) = fs::read_dir(&dir) {
                for entry in entries.flatten() {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        collect_data(&db, &root.join(OWN).join("data"))?;
        uploads::recover(&db, root)?;
        Ok(Store {
            root: root.to_owned(),
            db: RwLock::new(Some(db)),
            users,
            epoch: memo::Epoch::default(),
            bucket_memo: memo::Memo::new(),
            object_memo: memo::Memo::new(),
            #[cfg(test)]
            crash: tests::Crash::default(),
        })
    }

    pub(crate) fn user_by_access_key(&self, access_key: &str) -> Option<&User> {
        self.users.iter().find(|u| u.access_key == access_key)
    }

    pub(crate) fn principal_of(&self, account: &str) -> Principal {
        match self
            .users
            .iter()
            .find(|u| u.principal.account_id.as_str() == account)
        {
            Some(u) => u.principal.clone(),
            None => {
                principal_of_account(account).unwrap_or_else(|_| self.users[0].principal.clone())
            }
        }
    }

    // ---- the database ----

    /// Runs `f` on the open database, reopening it first if an I/O error
    /// closed it.
    fn with_db<T, E: Failure>(&self, f: impl FnOnce(&Database) -> Result<T, E>) -> Result<T, E> {
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
    fn reopen(&self) {
        let mut guard = self.db.write().unwrap_or_else(|p| p.into_inner());
        self.epoch.advance();
        *guard = None;
        match open_database(&self.root.join(DATABASE)) {
            Ok(db) => *guard = Some(db),
            Err(e) => tracing::warn!(target: "serve", error = %e, "reopening the database failed"),
        }
    }

    /// A read transaction for `f`.
    fn read<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Result<T, S3Error>,
    ) -> Result<T, S3Error> {
        self.with_db(|db| {
            let txn = db.begin_read().map_err(internal)?;
            f(&txn)
        })
    }

    /// A write transaction for `f`, committed if `f` succeeds. An internal
    /// error reopens the database, so that the next write can succeed.
    fn write<T, E: Failure>(
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

    fn get<T: for<'de> Deserialize<'de>>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, S3Error> {
        self.read(|txn| {
            let table = txn.open_table(table).map_err(internal)?;
            match table.get(key).map_err(internal)? {
                Some(v) => Ok(Some(decode(v.value())?)),
                None => Ok(None),
            }
        })
    }

    fn put<T: Serialize>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), S3Error> {
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
    fn crash_point(&self, at: &'static str) -> Result<(), S3Error> {
        self.crash.point(at)
    }

    #[cfg(not(test))]
    #[inline]
    fn crash_point(&self, _at: &'static str) -> Result<(), S3Error> {
        Ok(())
    }

    #[cfg(test)]
    fn alive(&self) -> Result<(), S3Error> {
        self.crash.alive()
    }

    #[cfg(not(test))]
    #[inline]
    fn alive(&self) -> Result<(), S3Error> {
        Ok(())
    }

    /// Removes a file the store no longer needs (never after a crash).
    fn discard(&self, path: &Path) {
        if self.alive().is_ok() {
            let _ = fs::remove_file(path);
        }
    }

    // ---- paths ----

    fn data_path(&self, id: &str) -> PathBuf {
        self.root.join(OWN).join("data").join(id)
    }

    pub(crate) fn bucket_dir(&self, bucket: &BucketName) -> PathBuf {
        self.root.join(bucket.as_str())
    }

    /// Where a hand-placed file of `key` would be: `<bucket>/<key>`, if the
    /// key is such a path (no empty, `.` or `..` segment, no NUL or
    /// backslash, segments of at most 255 bytes).
    fn folder_path(&self, bucket: &BucketName, key: &str) -> Option<PathBuf> {
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

    // ---- buckets ----

    pub(crate) fn bucket_info(&self, bucket: &BucketName) -> Result<Option<BucketInfo>, S3Error> {
        let read = self.epoch.now();
        if let Some(info) = self.bucket_memo.get(read, bucket.as_str()) {
            return Ok(Some(info));
        }
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
        // Only a record is remembered: a folder made by hand is looked at
        // each time (it may go).
        let recorded = meta.is_some();
        let info = self.bucket_of(bucket, meta)?;
        if recorded && let Some(info) = &info {
            self.bucket_memo
                .put(read, self.epoch.now(), bucket.as_str(), info.clone());
        }
        Ok(info)
    }

    fn bucket_of(
        &self,
        bucket: &BucketName,
        meta: Option<BucketMeta>,
    ) -> Result<Option<BucketInfo>, S3Error> {
        let meta = match meta {
            Some(m) => m,
            // A folder made by hand is a bucket of the first user's.
            None if self.bucket_dir(bucket).is_dir() => BucketMeta {
                owner: self.users[0].principal.account_id.to_string(),
                acl: StoredAcl::canned(
                    CannedAcl::Private,
                    &self.users[0].principal,
                    &self.users[0].principal,
                ),
                requester_pays: false,
                created: 0,
                location: None,
                policy: None,
            },
            None => return Ok(None),
        };
        let owner = self.principal_of(&meta.owner);
        let mut info = BucketInfo::new(bucket.clone(), owner.clone());
        info.acl = meta.acl.to_acl(&owner, &owner)?;
        info.requester_pays = meta.requester_pays;
        info.policy = match &meta.policy {
            Some(text) => Some(Arc::new(BucketPolicy::parse(text, bucket)?)),
            None => None,
        };
        Ok(Some(info))
    }

    /// Creates a bucket in one commit: `Ok(Err(existing owner))` if it
    /// exists already (as a record or as a hand-made folder). Its folder
    /// (for hand-placed files) is made after the commit, best effort: the
    /// bucket does not need it.
    pub(crate) fn create_bucket(
        &self,
        bucket: &BucketName,
        owner: &Principal,
        acl: &Acl,
        location: Option<String>,
        now: i64,
    ) -> Result<Result<(), Principal>, S3Error> {
        let bytes = encode(&BucketMeta {
            owner: owner.account_id.to_string(),
            acl: StoredAcl::from_acl(acl),
            requester_pays: false,
            created: now,
            location,
            policy: None,
        })?;
        let dir = self.bucket_dir(bucket);
        let first = self.users[0].principal.clone();
        let created = self.write(|txn| {
            let mut table = txn.open_table(BUCKETS).map_err(internal)?;
            if let Some(old) = table.get(bucket.as_str()).map_err(internal)? {
                let old: BucketMeta = decode(old.value())?;
                return Ok(Err(self.principal_of(&old.owner)));
            }
            if dir.is_dir() {
                return Ok(Err(first));
            }
            table
                .insert(bucket.as_str(), bytes.as_slice())
                .map_err(internal)?;
            Ok(Ok(()))
        })?;
        if created.is_ok() {
            let _ = fs::create_dir(&dir);
        }
        Ok(created)
    }

    /// PutBucketRequestPayment: who pays for requests to the bucket.
    pub(crate) fn set_payer(&self, bucket: &BucketName, payer: Payer) -> Result<(), S3Error> {
        self.update_bucket(bucket, |meta| {
            meta.requester_pays = payer == Payer::Requester;
        })
    }

    /// Put/DeleteBucketPolicy: the bucket's policy (checked by the caller),
    /// or none.
    pub(crate) fn set_policy(
        &self,
        bucket: &BucketName,
        policy: Option<&BucketPolicy>,
    ) -> Result<(), S3Error> {
        let text = policy.map(|p| p.text().to_owned());
        self.update_bucket(bucket, |meta| meta.policy = text)
    }

    /// Changes a bucket's record in one transaction with its read (so
    /// concurrent changes of different settings do not undo each other).
    /// A hand-made folder's bucket gets its record now.
    fn update_bucket(
        &self,
        bucket: &BucketName,
        change: impl FnOnce(&mut BucketMeta),
    ) -> Result<(), S3Error> {
        let info = self
            .bucket_info(bucket)?
            .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, bucket.as_str()))?;
        self.write(|txn| {
            let mut table = txn.open_table(BUCKETS).map_err(internal)?;
            let mut meta: BucketMeta = match table.get(bucket.as_str()).map_err(internal)? {
                Some(v) => decode(v.value())?,
                None => BucketMeta {
                    owner: info.owner.account_id.to_string(),
                    acl: StoredAcl::from_acl(&info.acl),
                    requester_pays: false,
                    created: 0,
                    location: None,
                    policy: None,
                },
            };
            change(&mut meta);
            let bytes = encode(&meta)?;
            table
                .insert(bucket.as_str(), bytes.as_slice())
                .map_err(internal)?;
            Ok(())
        })
    }

    /// Every bucket, sorted: (name, info, created), from the records and
    /// the folders made by hand.
    pub(crate) fn buckets(&self) -> Result<Vec<(BucketName, BucketInfo, i64)>, S3Error> {
        let mut found: BTreeMap<String, Option<BucketMeta>> = BTreeMap::new();
        self.read(|txn| {
            let table = txn.open_table(BUCKETS).map_err(internal)?;
            for entry in table.iter().map_err(internal)? {
                let (name, value) = entry.map_err(internal)?;
                found.insert(name.value().to_owned(), Some(decode(value.value())?));
            }
            Ok(())
        })?;
        for entry in fs::read_dir(&self.root).map_err(internal)?.flatten() {
            if let Some(name) = entry.file_name().to_str()
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                found.entry(name.to_owned()).or_insert(None);
            }
        }
        let mut out = Vec::new();
        for (name, meta) in found {
            let Ok(bucket) = BucketName::new(name) else {
                continue;
            };
            let created = meta.as_ref().map_or(0, |m| m.created);
            if let Some(info) = self.bucket_of(&bucket, meta)? {
                out.push((bucket, info, created));
            }
        }
        Ok(out)
    }

    // ---- objects ----

    /// The object's record, adopting a hand-placed file that has none or
    /// changed since.
    pub(crate) fn object_meta(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<ObjectMeta>, S3Error> {
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
    fn current(
        &self,
        bucket: &BucketName,
        key: &str,
        stored: Option<ObjectMeta>,
    ) -> Result<Option<ObjectMeta>, S3Error> {
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
        if let Some(meta) = stored
            && meta.size == stat.len()
            && meta.file_mtime == file_mtime(&stat)
        {
            return Ok(Some(meta));
        }
        self.adopt(bucket, key, &path)
    }

    /// Makes a hand-placed file an object, owned by the bucket's owner,
    /// private, without hashing it: every decision needs only its size,
    /// mtime, owner and ACL; its MD5 comes with the first allowed read
    /// ([`ObjectSource::record_etag`]). A record written meanwhile wins.
    fn adopt(
        &self,
        bucket: &BucketName,
        key: &str,
        path: &Path,
    ) -> Result<Option<ObjectMeta>, S3Error> {
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
            if let Some(now) = table.get(row.as_str()).map_err(internal)? {
                let now: ObjectMeta = decode(now.value())?;
                if now.data.is_some() {
                    return Ok(Some(now));
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
    ) -> Result<Option<Snapshot>, S3Error> {
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
    fn open_version(
        &self,
        bucket: &BucketName,
        key: &str,
        meta: &ObjectMeta,
    ) -> Result<Option<fs::File>, S3Error> {
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
    ) -> Result<ObjectInfo, S3Error> {
        let owner = self.principal_of(&meta.owner);
        let etag = meta.etag.clone().map_or(ETag::Uncomputed, ETag::Known);
        let mut info = ObjectInfo::new(key.clone(), meta.size, etag, &owner);
        info.acl = meta.acl.to_acl(&owner, &bucket.owner)?;
        info.last_modified = meta.modified;
        Ok(info)
    }

    /// A new temporary file for an upload, on the data files' file system.
    pub(crate) fn temp_file(&self) -> Result<(PathBuf, fs::File), S3Error> {
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
            // committed first leaves no object behind it.
            let known = txn
                .open_table(BUCKETS)
                .map_err(internal)?
                .get(bucket.as_str())
                .map_err(internal)?
                .is_some();
            if !known && !bucket_dir.is_dir() {
                return Err(WriteError::Store(S3Error::new(
                    ErrorCode::NoSuchBucket,
                    bucket.as_str(),
                )));
            }
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
            table
                .insert(row.as_str(), encode(&meta)?.as_slice())
                .map_err(internal)?;
            drop(table);
            if let Some(upload) = upload {
                uploads::finish(
                    txn,
                    bucket,
                    key,
                    upload,
                    meta.etag.as_deref().unwrap_or_default(),
                )?;
            }
            Ok(old)
        });
        let old = match result {
            Ok(old) => old,
            Err(e) => {
                self.discard(&dest);
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        match old.and_then(|o| o.data) {
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
    fn update_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> Result<(), S3Error> {
        let missing = || S3Error::new(ErrorCode::NoSuchKey, format!("/{bucket}/{key}"));
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

    pub(crate) fn set_object_acl(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        acl: &Acl,
    ) -> Result<(), S3Error> {
        let acl = StoredAcl::from_acl(acl);
        self.update_object(bucket, key, |m| m.acl = acl)
    }

    /// Deletes an object, in one commit: a hand-placed file at its path is
    /// first moved aside (and moved back if the commit fails), its data
    /// file removed after. Deleting a key that is not there succeeds.
    pub(crate) fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), S3Error> {
        let row = object_row(bucket, key.as_str());
        let folder = self
            .folder_path(bucket, key.as_str())
            .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()));
        let aside = match &folder {
            Some(path) => {
                let aside = self.root.join(OWN).join("tmp").join(new_id("delete"));
                self.crash_point("before moving aside")?;
                fs::rename(path, &aside).map_err(internal)?;
                Some(aside)
            }
            None => None,
        };
        let result = self.write(|txn| {
            let mut table = txn.open_table(OBJECTS).map_err(internal)?;
            let old = table.remove(row.as_str()).map_err(internal)?;
            let old: Option<ObjectMeta> = match old {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            Ok(old)
        });
        let old = match result {
            Ok(old) => old,
            Err(e) => {
                if let (Some(path), Some(aside)) = (&folder, &aside)
                    && self.alive().is_ok()
                {
                    let _ = fs::rename(aside, path);
                }
                return Err(e);
            }
        };
        self.crash_point("after commit")?;
        if let Some(id) = old.and_then(|o| o.data) {
            self.discard(&self.data_path(&id));
        }
        if let (Some(path), Some(aside)) = (&folder, &aside) {
            self.discard(aside);
            self.prune_dirs(bucket, path);
        }
        Ok(())
    }

    /// Removes the empty folders above a removed hand-placed file, up to
    /// the bucket's.
    fn prune_dirs(&self, bucket: &BucketName, path: &Path) {
        let top = self.bucket_dir(bucket);
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == top || !d.starts_with(&top) || fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }

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
    ) -> Result<(), S3Error> {
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
    pub(crate) fn discover(&self, bucket: &BucketName) -> Result<(), S3Error> {
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
                    None => false,
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
    pub(crate) fn bucket_is_empty(&self, bucket: &BucketName) -> Result<bool, S3Error> {
        let mut empty = true;
        self.list_objects(bucket, "", "", |_, _| {
            empty = false;
            Listed::Stop
        })?;
        Ok(empty && self.uploads(bucket)?.is_empty())
    }
}

/// Checks a write's preconditions against the current version's ETag
/// (`None`: no version; `Some(None)`: a file not yet hashed).
fn check_write(
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

/// Removes the data files no record names: a crash between the rename of
/// an upload and its commit, or between a commit and the removal of the
/// version it replaced.
fn collect_data(db: &Database, dir: &Path) -> Result<(), String> {
    let mut live = HashSet::new();
    let txn = db.begin_read().map_err(|e| e.to_string())?;
    let table = txn.open_table(OBJECTS).map_err(|e| e.to_string())?;
    for entry in table.iter().map_err(|e| e.to_string())? {
        let (_, value) = entry.map_err(|e| e.to_string())?;
        let meta: ObjectMeta = bencode::from_bytes(value.value()).map_err(|e| e.to_string())?;
        if let Some(id) = meta.data {
            live.insert(id);
        }
    }
    drop(table);
    drop(txn);
    for entry in fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(|n| live.contains(n)) {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn file_mtime(stat: &fs::Metadata) -> i64 {
    stat.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Writes all of `data` and feeds it to the running digests.
pub(crate) fn write_all(file: &mut fs::File, data: &[u8]) -> Result<(), S3Error> {
    file.write_all(data).map_err(internal)
}

impl ObjectSource for Store {
    fn bucket(&self, bucket: &BucketName) -> s3torrent_s3::Result<Option<BucketInfo>> {
        self.bucket_info(bucket)
    }

    fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> s3torrent_s3::Result<ObjectLookup> {
        // Unversioned: the only version is "null".
        if version_id.is_some_and(|v| v != "null") {
            return Ok(ObjectLookup::NoSuchVersion);
        }
        let Some(info) = self.bucket_info(bucket)? else {
            return Ok(ObjectLookup::NoSuchKey);
        };
        Ok(match self.object_meta(bucket, key)? {
            Some(meta) => ObjectLookup::Found(self.object_info(&info, key, &meta)?),
            None => ObjectLookup::NoSuchKey,
        })
    }

    /// The bytes of exactly the version `object` names (its ETag; for an
    /// adopted file not hashed yet, its size and time), or an error if it
    /// was replaced meanwhile (500, retryable).
    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> s3torrent_s3::Result<Box<dyn ReadAt + Send + Sync + '_>> {
        let file = match object.etag.as_known() {
            Some(etag) => self.open_snapshot(bucket, &object.key, etag),
            None => self.open_unhashed(bucket, object),
        }
        .map_err(|e| changed_error(bucket, object, e.message()))?;
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
                "the object changed while its ETag was computed",
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

/// The retryable error of a read whose object changed under it.
fn changed_error(bucket: &BucketName, object: &ObjectInfo, why: &str) -> S3Error {
    S3Error::with_message(
        ErrorCode::InternalError,
        format!("We encountered an internal error. Please try again. ({why})"),
        format!("/{bucket}/{}", object.key),
    )
}

/// Where an info-hash points: the object whose torrent has it.
#[derive(Serialize, Deserialize)]
struct SwarmTarget {
    bucket: String,
    key: String,
}

impl Store {
    /// The bucket and key whose torrent had `info_hash`, if one was made
    /// here. Whether that torrent is still the object's, and still served,
    /// is the caller's question.
    pub(crate) fn swarm_target(&self, info_hash: &InfoHash) -> Option<(BucketName, ObjectKey)> {
        let target: SwarmTarget = self.get(SWARMS, &info_hash.to_hex()).ok()??;
        Some((
            BucketName::new(target.bucket).ok()?,
            ObjectKey::new(target.key).ok()?,
        ))
    }

    /// Every info-hash a torrent made here has had (at most `limit`), in
    /// the order of their hex. Whether each is still served is
    /// [`crate::swarm::SwarmSource::lookup`]'s question.
    pub(crate) fn swarm_info_hashes(&self, limit: usize) -> Vec<InfoHash> {
        self.read(|txn| {
            let table = txn.open_table(SWARMS).map_err(internal)?;
            Ok(table
                .iter()
                .map_err(internal)?
                .filter_map(|e| e.ok()?.0.value().parse::<InfoHash>().ok())
                .take(limit)
                .collect())
        })
        .unwrap_or_default()
    }

    /// Opens the file of the object's version with `etag`, if that is still
    /// its current version. What the handle reads is that version: a
    /// version's data file never changes (a hand-placed file could be
    /// written in place by other means, which the peer's piece checks
    /// catch).
    pub(crate) fn open_snapshot(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        etag: &str,
    ) -> Result<fs::File, S3Error> {
        let changed = || S3Error::with_message(ErrorCode::NoSuchKey, "the object changed", "");
        for _ in 0..OPEN_ATTEMPTS {
            let meta = self.object_meta(bucket, key)?.ok_or_else(changed)?;
            if meta.etag.as_deref() != Some(etag) {
                return Err(changed());
            }
            if let Some(file) = self.open_version(bucket, key.as_str(), &meta)? {
                return Ok(file);
            }
        }
        Err(changed())
    }

    /// Opens an adopted file whose MD5 is not known yet, if it is still the
    /// version `object` describes (same size and time, still unhashed).
    fn open_unhashed(&self, bucket: &BucketName, object: &ObjectInfo) -> Result<fs::File, S3Error> {
        let changed = || S3Error::with_message(ErrorCode::NoSuchKey, "the object changed", "");
        let meta = self.object_meta(bucket, &object.key)?.ok_or_else(changed)?;
        if meta.data.is_some() || meta.size != object.size || meta.modified != object.last_modified
        {
            return Err(changed());
        }
        self.open_version(bucket, object.key.as_str(), &meta)?
            .ok_or_else(changed)
    }

    /// Caches a torrent and indexes its info-hashes, in one transaction.
    fn put_torrent(
        &self,
        id: &str,
        stored: &StoredTorrent,
        hashes: &[InfoHash],
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), S3Error> {
        let torrent_bytes = encode(stored)?;
        let target = encode(&SwarmTarget {
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
        })?;
        self.write(|txn| {
            let mut torrents = txn.open_table(TORRENTS).map_err(internal)?;
            torrents
                .insert(id, torrent_bytes.as_slice())
                .map_err(internal)?;
            let mut swarms = txn.open_table(SWARMS).map_err(internal)?;
            for hash in hashes {
                swarms
                    .insert(hash.to_hex().as_str(), target.as_slice())
                    .map_err(internal)?;
            }
            Ok(())
        })
    }

    /// Removes the cached torrents of a key.
    fn forget_torrents(&self, bucket: &BucketName, key: &ObjectKey) -> Result<(), S3Error> {
        let prefix = format!("{bucket}/{key}\0");
        self.write(|txn| {
            let mut table = txn.open_table(TORRENTS).map_err(internal)?;
            let doomed: Vec<String> = table
                .range(prefix.as_str()..)
                .map_err(internal)?
                .map_while(|e| e.ok().map(|(k, _)| k.value().to_owned()))
                .take_while(|k| k.starts_with(&prefix))
                .collect();
            for k in doomed {
                table.remove(k.as_str()).map_err(internal)?;
            }
            Ok(())
        })
    }
}

/// The info-hashes peers use for a torrent: the v1 one, and the v2 one
/// truncated to 20 bytes (a hybrid torrent has both).
pub(crate) fn peer_info_hashes(torrent: &Torrent) -> Vec<InfoHash> {
    torrent
        .info_hash_v1()
        .into_iter()
        .chain(torrent.info_hash_v2().map(|h| h.truncated()))
        .collect()
}

/// Cached torrents in the database, so they survive a restart, and the
/// most recently used in memory too, so a cached `?torrent` reads no
/// database. A key names one object version under one policy, so what is
/// in memory is never stale: an overwrite asks for another key.
pub(crate) struct DbCache {
    store: std::sync::Arc<Store>,
    memory: LruCache,
    /// How many torrents were cached since start ([`DbCache::generation`]).
    made: AtomicU64,
}

impl DbCache {
    /// How many bytes of torrents stay in memory.
    const MEMORY: usize = 64 << 20;

    pub(crate) fn new(store: std::sync::Arc<Store>) -> DbCache {
        DbCache {
            store,
            memory: LruCache::new(Self::MEMORY),
            made: AtomicU64::new(0),
        }
    }

    /// A number that grows whenever a torrent is cached, so that a sweep
    /// of [`Store::swarm_info_hashes`] can be skipped while it stands.
    pub(crate) fn generation(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }
}

fn cache_id(key: &CacheKey) -> String {
    let version = match &key.version {
        ObjectVersion::Id(v) => format!("v:{v}"),
        ObjectVersion::ETag(e) => format!("e:{e}"),
    };
    format!("{}/{}\0{version}\0{:016x}", key.bucket, key.key, key.policy)
}

impl TorrentCache for DbCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        if let Some(torrent) = self.memory.get(key) {
            return Some(torrent);
        }
        let stored: StoredTorrent = self.store.get(TORRENTS, &cache_id(key)).ok()??;
        let torrent = CachedTorrent {
            bytes: stored.bytes.into(),
            info_hash: stored.info_hash.parse::<InfoHash>().ok()?,
            etag: stored.etag,
        };
        self.memory.put(key.clone(), torrent.clone());
        Some(torrent)
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        // The service caches only torrents it built, which parse.
        let hashes = Torrent::from_bytes(torrent.bytes.clone())
            .map(|t| peer_info_hashes(&t))
            .unwrap_or_default();
        let stored = StoredTorrent {
            bytes: torrent.bytes.to_vec(),
            info_hash: torrent.info_hash.to_hex(),
            etag: torrent.etag.clone(),
        };
        if let Err(e) =
            self.store
                .put_torrent(&cache_id(&key), &stored, &hashes, &key.bucket, &key.key)
        {
            tracing::warn!(target: "serve", error = %e, "caching a torrent failed");
        }
        self.memory.put(key, torrent);
        self.made.fetch_add(1, Ordering::Relaxed);
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        self.memory.forget(bucket, key);
        if let Err(e) = self.store.forget_torrents(bucket, key) {
            tracing::warn!(target: "serve", error = %e, "forgetting torrents failed");
        }
    }
}
