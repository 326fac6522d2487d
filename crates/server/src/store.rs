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
mod bucket;
mod cors;
mod db;
mod delete_many;
mod encryption;
mod error;
mod list;
mod memo;
mod object;
mod ops_support;
mod parts;
mod settings;
mod source;
mod torrents;
mod uploads;
mod versions;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod version_tests;

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
    Acl, BucketInfo, BucketName, BucketPolicy, CacheKey, CachedTorrent, CannedAcl, ETag, InfoHash,
    LruCache, ObjectInfo, ObjectKey, ObjectLookup, ObjectSource, ObjectVersion, Principal, ReadAt,
    TorrentCache,
};
use serde::{Deserialize, Serialize};

pub(crate) use self::acl_record::StoredAcl;
use self::db::{collect_data, open_database};
pub(crate) use self::encryption::DefaultEncryption;
pub(crate) use self::error::StoreError;
use self::error::internal;
use self::object::file_mtime;
pub(crate) use self::object::write_all;
pub(crate) use self::ops_support::BucketDeletion;
pub(crate) use self::parts::ObjectPart;
pub(crate) use self::settings::{BucketSettings, Tags};
use self::settings::{StoredBlock, StoredOwnership};
pub(crate) use self::torrents::{DbCache, peer_info_hashes};
pub(crate) use self::uploads::{
    Completion, ListedPart, MIN_PART_SIZE, UploadChecksum, UploadError, UploadRecord,
};
pub(crate) use self::versions::{
    Deleted, Found, ListFrom, Marker, Removal, VersionEntry, VersionId, Versioning,
};
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
    /// PutBucketOwnershipControls' (or CreateBucket's
    /// `x-amz-object-ownership`) setting; none without ownership controls.
    #[serde(default, rename = "object ownership")]
    ownership: Option<StoredOwnership>,
    /// PutPublicAccessBlock's settings; none without a configuration.
    #[serde(default, rename = "public access block")]
    public_access_block: Option<StoredBlock>,
    /// PutBucketTagging's tags.
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    /// PutBucketVersioning's state; none for a bucket never versioned.
    #[serde(default, skip_serializing_if = "Versioning::is_unversioned")]
    versioning: Versioning,
    /// PutBucketEncryption's default encryption; none without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<DefaultEncryption>,
}

impl BucketMeta {
    /// A bucket's record with the settings of a new bucket (no policy,
    /// ownership controls, public access block or tags).
    fn new(owner: String, acl: StoredAcl, created: i64, location: Option<String>) -> BucketMeta {
        BucketMeta {
            owner,
            acl,
            requester_pays: false,
            created,
            location,
            policy: None,
            ownership: None,
            public_access_block: None,
            tags: Tags::new(),
            versioning: Versioning::Unversioned,
            encryption: None,
        }
    }
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
    /// Its tags (PutObjectTagging, `x-amz-tagging`).
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub(crate) tags: Tags,
    /// Its additional checksum (`x-amz-checksum-*`), when it has one
    /// (objects written before checksums were kept, and adopted files,
    /// have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<crate::checksum::Checksum>,
    /// Which version it is: the null version (no field, as every record of
    /// an unversioned bucket) or one with an ID.
    #[serde(default, skip_serializing_if = "VersionId::is_null")]
    pub(crate) version: VersionId,
    /// Its server-side encryption (SSE-S3, SSE-KMS, SSE-C): the sealed
    /// data key its file is enciphered with; none for a plain object. An
    /// encrypted object's bytes are always an ID file of the store's own
    /// (never a file in the bucket's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sse: Option<crate::sse::Envelope>,
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
            tags: Tags::new(),
            checksum: None,
            version: VersionId::Null,
            sse: None,
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

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    bencode::from_bytes(bytes).map_err(internal)
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
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

/// A delete's conditions (DeleteObject's `If-Match`,
/// `x-amz-if-match-last-modified-time` and `x-amz-if-match-size`, and a
/// DeleteObjects entry's `ETag`, `LastModifiedTime` and `Size`), checked
/// against the version about to go in the transaction that deletes it. A
/// version that is not there is no refusal: the delete does what it does
/// without conditions.
#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteConditions {
    /// The version's ETag, or `*` for any.
    pub(crate) if_match: Option<Expected>,
    /// Its last-modified time, in seconds since the epoch.
    pub(crate) modified: Option<i64>,
    /// Its size in bytes.
    pub(crate) size: Option<u64>,
}

impl DeleteConditions {
    /// Whether the delete is conditional at all.
    pub(crate) fn any(&self) -> bool {
        self.if_match.is_some() || self.modified.is_some() || self.size.is_some()
    }

    /// [`StoreError::ConditionFailed`] (S3's `PreconditionFailed`, 412)
    /// unless the conditions hold for `meta`, the
    /// version about to go (`None`: a delete marker, which has no ETag,
    /// time or size to match: only `If-Match: *` holds for it).
    pub(crate) fn check(&self, meta: Option<&ObjectMeta>, key: &str) -> Result<(), StoreError> {
        let held = match meta {
            None => {
                matches!(self.if_match, None | Some(Expected::Any))
                    && self.modified.is_none()
                    && self.size.is_none()
            }
            Some(m) => {
                self.if_match.as_ref().is_none_or(|e| match (e, &m.etag) {
                    (Expected::Any, _) => true,
                    (e, Some(etag)) => e.matches(etag),
                    (Expected::ETag(_), None) => false,
                }) && self.modified.is_none_or(|t| t == m.modified)
                    && self.size.is_none_or(|s| s == m.size)
            }
        };
        if held {
            Ok(())
        } else {
            Err(StoreError::ConditionFailed {
                key: key.to_owned(),
            })
        }
    }
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
    Store(StoreError),
    /// A precondition did not hold: 412 `PreconditionFailed`.
    PreconditionFailed,
    /// `If-Match` and no current version: 404 `NoSuchKey`.
    NoSuchKey,
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// Errors of the database's users: which ones may mean the database needs
/// reopening (anything but a refusal of the request).
pub(crate) trait Failure: From<StoreError> {
    fn is_internal(&self) -> bool;
}

impl Failure for StoreError {
    fn is_internal(&self) -> bool {
        StoreError::is_internal(self)
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
    /// Buckets with a record, as [`Store::bucket_info`] makes them, with
    /// their versioning and default encryption.
    bucket_memo: memo::Memo<bucket::BucketRow>,
    /// Object records (as stored, before [`Store::object_meta`] looks at
    /// a hand-placed file), by row.
    object_memo: memo::Memo<ObjectMeta>,
    /// Buckets' CORS states, by bucket name ([`Store::bucket_cors`]).
    cors_memo: memo::Memo<crate::cors::CorsLookup>,
    /// Where info-hashes point (the swarms table), by hex info-hash, as
    /// [`Store::swarm_target`] finds them: the tracker asks at every
    /// announce.
    swarm_memo: memo::Memo<(BucketName, ObjectKey, VersionId)>,
    /// The master keys of server-side encryption.
    keys: crate::sse::Keyring,
    #[cfg(test)]
    crash: tests::Crash,
}

impl Store {
    pub(crate) fn open(root: &Path, users: Vec<User>) -> Result<Store, StoreError> {
        for dir in [root.join(OWN).join("data"), root.join(OWN).join("tmp")] {
            fs::create_dir_all(&dir).map_err(StoreError::at(&dir))?;
        }
        let db = open_database(&root.join(DATABASE))?;
        let txn = db.begin_write().map_err(internal)?;
        for table in [
            BUCKETS,
            OBJECTS,
            TORRENTS,
            SWARMS,
            versions::VERSIONS,
            uploads::UPLOADS,
            uploads::PARTS,
            uploads::COMPLETED,
            cors::CORS,
            parts::OBJECT_PARTS,
        ] {
            txn.open_table(table).map_err(internal)?;
        }
        txn.commit().map_err(internal)?;
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
            cors_memo: memo::Memo::new(),
            swarm_memo: memo::Memo::new(),
            keys: crate::sse::Keyring::new(&root.join(OWN)),
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
}
