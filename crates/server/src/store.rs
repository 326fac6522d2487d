//! The store: object data as files under the root, metadata and cached
//! torrents in a redb database beside them.
//!
//! Keys map to paths `<root>/<bucket>/<key>`, split on `/`. A key that cannot
//! be such a path safely (an empty, `.` or `..` segment, a leading or
//! trailing `/`, NUL, a backslash, a segment over 255 bytes, or a clash with
//! an existing file or folder) is refused with `InvalidArgument`, so no key
//! reaches outside the root. Files put there by other means are adopted on
//! first use: owned by the bucket's owner, private, their ETag computed.
//! Multipart uploads in progress are kept by the `uploads` module.

mod acl_record;
mod ops_support;
mod uploads;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::UNIX_EPOCH;

use md5::{Digest, Md5};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use s3torrent_bencode as bencode;
use s3torrent_metainfo::Torrent;
use s3torrent_s3::{
    Acl, BucketInfo, BucketName, CacheKey, CachedTorrent, CannedAcl, ErrorCode, InfoHash,
    ObjectInfo, ObjectKey, ObjectLookup, ObjectSource, ObjectVersion, Principal, ReadAt, S3Error,
    TorrentCache,
};
use serde::{Deserialize, Serialize};

pub(crate) use self::acl_record::StoredAcl;
pub(crate) use self::ops_support::BucketDeletion;
pub(crate) use self::uploads::{MIN_PART_SIZE, UploadError, UploadRecord};
use crate::config::{User, principal_of_account};

const BUCKETS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("buckets");
const OBJECTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("objects");
const TORRENTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("torrents");
/// Info-hash (40 hex digits; v1, or a v2 one truncated) to the object whose
/// torrent has it: what the tracker and the seeding peer look up.
const SWARMS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("swarms");

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ObjectMeta {
    pub(crate) owner: String,
    pub(crate) acl: StoredAcl,
    pub(crate) etag: String,
    pub(crate) size: u64,
    #[serde(rename = "content type")]
    pub(crate) content_type: Option<String>,
    /// Seconds since the epoch.
    pub(crate) modified: i64,
    /// The file's mtime in nanoseconds when this was written: a file changed
    /// by other means no longer matches and is adopted afresh.
    #[serde(rename = "file mtime")]
    pub(crate) file_mtime: i64,
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

fn unsafe_key(key: &str, why: &str) -> S3Error {
    S3Error::with_message(
        ErrorCode::InvalidArgument,
        format!("The key {key:?} cannot be stored safely in this folder: {why}."),
        "",
    )
}

pub(crate) struct Store {
    root: PathBuf,
    db: Database,
    users: Vec<User>,
    /// Held for writing while a file and its metadata change together.
    swap: RwLock<()>,
}

impl Store {
    pub(crate) fn open(root: &Path, users: Vec<User>) -> Result<Store, String> {
        fs::create_dir_all(root.join(".tmp")).map_err(|e| format!("{}: {e}", root.display()))?;
        let db = Database::create(root.join(".s3torrent.redb"))
            .map_err(|e| format!("{}: {e}", root.display()))?;
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        for table in [
            BUCKETS,
            OBJECTS,
            TORRENTS,
            SWARMS,
            uploads::UPLOADS,
            uploads::PARTS,
        ] {
            txn.open_table(table).map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())?;
        // The database is locked to this process now, so what is left in
        // .tmp is from an upload a crash cut short: never an object.
        if let Ok(entries) = fs::read_dir(root.join(".tmp")) {
            for entry in entries.flatten() {
                let _ = fs::remove_file(entry.path());
            }
        }
        uploads::recover(&db, root)?;
        Ok(Store {
            root: root.to_owned(),
            db,
            users,
            swap: RwLock::new(()),
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

    fn get<T: for<'de> Deserialize<'de>>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, S3Error> {
        let txn = self.db.begin_read().map_err(internal)?;
        let table = txn.open_table(table).map_err(internal)?;
        match table.get(key).map_err(internal)? {
            Some(v) => Ok(Some(bencode::from_bytes::<T>(v.value()).map_err(internal)?)),
            None => Ok(None),
        }
    }

    fn put<T: Serialize>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        key: &str,
        value: &T,
    ) -> Result<(), S3Error> {
        let bytes = bencode::to_vec(value).map_err(internal)?;
        let txn = self.db.begin_write().map_err(internal)?;
        txn.open_table(table)
            .map_err(internal)?
            .insert(key, bytes.as_slice())
            .map_err(internal)?;
        txn.commit().map_err(internal)
    }

    fn delete(&self, table: TableDefinition<'_, &str, &[u8]>, key: &str) -> Result<(), S3Error> {
        let txn = self.db.begin_write().map_err(internal)?;
        txn.open_table(table)
            .map_err(internal)?
            .remove(key)
            .map_err(internal)?;
        txn.commit().map_err(internal)
    }

    // ---- buckets ----

    pub(crate) fn bucket_dir(&self, bucket: &BucketName) -> PathBuf {
        self.root.join(bucket.as_str())
    }

    pub(crate) fn bucket_info(&self, bucket: &BucketName) -> Result<Option<BucketInfo>, S3Error> {
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
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
            },
            None => return Ok(None),
        };
        let owner = self.principal_of(&meta.owner);
        let mut info = BucketInfo::new(bucket.clone(), owner.clone());
        info.acl = meta.acl.to_acl(&owner, &owner)?;
        info.requester_pays = meta.requester_pays;
        Ok(Some(info))
    }

    pub(crate) fn create_bucket(
        &self,
        bucket: &BucketName,
        owner: &Principal,
        acl: &Acl,
        location: Option<String>,
        now: i64,
    ) -> Result<(), S3Error> {
        fs::create_dir_all(self.bucket_dir(bucket)).map_err(internal)?;
        self.put(
            BUCKETS,
            bucket.as_str(),
            &BucketMeta {
                owner: owner.account_id.to_string(),
                acl: StoredAcl::from_acl(acl),
                requester_pays: false,
                created: now,
                location,
            },
        )
    }

    pub(crate) fn set_requester_pays(&self, bucket: &BucketName, on: bool) -> Result<(), S3Error> {
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
        meta.requester_pays = on;
        self.put(BUCKETS, bucket.as_str(), &meta)
    }

    /// Every bucket: (name, owner account, created).
    pub(crate) fn buckets(&self) -> Result<Vec<(BucketName, BucketInfo, i64)>, S3Error> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(internal)? {
            let entry = entry.map_err(internal)?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Ok(bucket) = BucketName::new(name) else {
                continue;
            };
            if let Some(info) = self.bucket_info(&bucket)? {
                let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
                out.push((bucket, info, meta.map_or(0, |m| m.created)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    // ---- objects ----

    /// The file of a key, or why the key cannot be one.
    pub(crate) fn object_path(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<PathBuf, S3Error> {
        let k = key.as_str();
        let mut path = self.bucket_dir(bucket);
        for segment in k.split('/') {
            let why = if segment.is_empty() {
                "it has an empty path segment (a leading, trailing or double `/`)"
            } else if segment == "." || segment == ".." {
                "`.` and `..` segments are not allowed"
            } else if segment.contains('\0') {
                "it contains NUL"
            } else if segment.contains('\\') {
                "it contains a backslash"
            } else if segment.len() > 255 {
                "a path segment is longer than 255 bytes"
            } else {
                path.push(segment);
                continue;
            };
            return Err(unsafe_key(k, why));
        }
        Ok(path)
    }

    fn object_id(bucket: &BucketName, key: &ObjectKey) -> String {
        format!("{bucket}/{key}")
    }

    /// The object's metadata, adopting a file that has none or changed.
    pub(crate) fn object_meta(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<(ObjectMeta, PathBuf)>, S3Error> {
        let Ok(path) = self.object_path(bucket, key) else {
            return Ok(None);
        };
        let _read = self.swap.read().unwrap_or_else(|p| p.into_inner());
        let Ok(stat) = fs::metadata(&path) else {
            return Ok(None);
        };
        if !stat.is_file() {
            return Ok(None);
        }
        let mtime = file_mtime(&stat);
        let stored: Option<ObjectMeta> = self.get(OBJECTS, &Self::object_id(bucket, key))?;
        if let Some(meta) = stored
            && meta.size == stat.len()
            && meta.file_mtime == mtime
        {
            return Ok(Some((meta, path)));
        }
        // New or changed behind our back: hash it for an ETag and adopt it.
        let owner = match self.bucket_info(bucket)? {
            Some(b) => b.owner,
            None => return Ok(None),
        };
        let etag = md5_file(&path).map_err(internal)?;
        let meta = ObjectMeta {
            owner: owner.account_id.to_string(),
            acl: StoredAcl::canned(CannedAcl::Private, &owner, &owner),
            etag,
            size: stat.len(),
            content_type: None,
            modified: mtime / 1_000_000_000,
            file_mtime: mtime,
        };
        self.put(OBJECTS, &Self::object_id(bucket, key), &meta)?;
        Ok(Some((meta, path)))
    }

    pub(crate) fn object_info(
        &self,
        bucket: &BucketInfo,
        key: &ObjectKey,
        meta: &ObjectMeta,
    ) -> Result<ObjectInfo, S3Error> {
        let owner = self.principal_of(&meta.owner);
        let mut info = ObjectInfo::new(key.clone(), meta.size, meta.etag.clone(), &owner);
        info.acl = meta.acl.to_acl(&owner, &bucket.owner)?;
        info.last_modified = meta.modified;
        Ok(info)
    }

    /// A new temporary file for an upload.
    pub(crate) fn temp_file(&self) -> Result<(PathBuf, fs::File), S3Error> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self
            .root
            .join(".tmp")
            .join(format!("upload-{}-{n}", std::process::id()));
        let file = fs::File::create(&path).map_err(internal)?;
        Ok((path, file))
    }

    /// Makes an uploaded temp file the object, atomically: its metadata and
    /// the rename change together under the swap lock.
    pub(crate) fn commit_upload(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        temp: &Path,
        mut meta: ObjectMeta,
    ) -> Result<ObjectMeta, S3Error> {
        let path = self.object_path(bucket, key)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|_| unsafe_key(key.as_str(), "a prefix of it is an existing object"))?;
        }
        if path.is_dir() {
            return Err(unsafe_key(
                key.as_str(),
                "it is a prefix of existing objects",
            ));
        }
        let _write = self.swap.write().unwrap_or_else(|p| p.into_inner());
        let stat = fs::metadata(temp).map_err(internal)?;
        meta.file_mtime = file_mtime(&stat);
        meta.modified = meta.file_mtime / 1_000_000_000;
        self.put(OBJECTS, &Self::object_id(bucket, key), &meta)?;
        fs::rename(temp, &path).map_err(internal)?;
        Ok(meta)
    }

    pub(crate) fn set_object_acl(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        acl: &Acl,
    ) -> Result<(), S3Error> {
        let (mut meta, _) = self
            .object_meta(bucket, key)?
            .ok_or_else(|| S3Error::new(ErrorCode::NoSuchKey, format!("/{bucket}/{key}")))?;
        meta.acl = StoredAcl::from_acl(acl);
        self.put(OBJECTS, &Self::object_id(bucket, key), &meta)
    }

    pub(crate) fn delete_object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<(), S3Error> {
        let path = self.object_path(bucket, key)?;
        let _write = self.swap.write().unwrap_or_else(|p| p.into_inner());
        match fs::remove_file(&path) {
            Ok(()) => {}
            // No such object: nothing there, or a folder of other keys
            // (`d` beside `d/e`), or a path below a file (`a/b` beside `a`).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::IsADirectory
                        | std::io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(internal(e)),
        }
        // Empty folders left behind go too, up to the bucket.
        let top = self.bucket_dir(bucket);
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == top || fs::remove_dir(&d).is_err() {
                break;
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        self.delete(OBJECTS, &Self::object_id(bucket, key))
    }

    /// Every key in a bucket, sorted.
    pub(crate) fn keys(&self, bucket: &BucketName) -> Result<Vec<ObjectKey>, S3Error> {
        let mut out = Vec::new();
        let mut stack = vec![(self.bucket_dir(bucket), String::new())];
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
                    Ok(t) if t.is_file() => {
                        if let Ok(k) = ObjectKey::new(key) {
                            out.push(k);
                        }
                    }
                    _ => {}
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn file_mtime(stat: &fs::Metadata) -> i64 {
    stat.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn md5_file(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex(&md5.finalize()));
        }
        md5.update(&buf[..n]);
    }
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
            Some((meta, _)) => ObjectLookup::Found(self.object_info(&info, key, &meta)?),
            None => ObjectLookup::NoSuchKey,
        })
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> s3torrent_s3::Result<Box<dyn ReadAt + Send + Sync + '_>> {
        let path = self.object_path(bucket, &object.key)?;
        let file = fs::File::open(path).map_err(internal)?;
        Ok(Box::new(file))
    }
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

    /// Opens the object's file if it still holds the version with `etag`:
    /// under the lock that renames take, its record must have that ETag and
    /// match the file's size and mtime, before and after the open. What the
    /// handle then reads is that version (a later upload renames a new file
    /// over the name; this inode stays), unless someone writes into the file
    /// in place, which the peer's piece checks catch.
    pub(crate) fn open_snapshot(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        etag: &str,
    ) -> Result<fs::File, S3Error> {
        let changed = || S3Error::with_message(ErrorCode::NoSuchKey, "the object changed", "");
        let path = self.object_path(bucket, key)?;
        let _read = self.swap.read().unwrap_or_else(|p| p.into_inner());
        let meta: ObjectMeta = self
            .get(OBJECTS, &Self::object_id(bucket, key))?
            .ok_or_else(changed)?;
        if meta.etag != etag {
            return Err(changed());
        }
        let file = fs::File::open(&path).map_err(|_| changed())?;
        let stat = file.metadata().map_err(internal)?;
        if !stat.is_file() || stat.len() != meta.size || file_mtime(&stat) != meta.file_mtime {
            return Err(changed());
        }
        Ok(file)
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
        let torrent_bytes = bencode::to_vec(stored).map_err(internal)?;
        let target = bencode::to_vec(&SwarmTarget {
            bucket: bucket.as_str().to_owned(),
            key: key.as_str().to_owned(),
        })
        .map_err(internal)?;
        let txn = self.db.begin_write().map_err(internal)?;
        {
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
        }
        txn.commit().map_err(internal)
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

/// Cached torrents in the database, so they survive a restart.
pub(crate) struct DbCache(pub(crate) std::sync::Arc<Store>);

fn cache_id(key: &CacheKey) -> String {
    let version = match &key.version {
        ObjectVersion::Id(v) => format!("v:{v}"),
        ObjectVersion::ETag(e) => format!("e:{e}"),
    };
    format!("{}/{}\0{version}\0{:016x}", key.bucket, key.key, key.policy)
}

impl TorrentCache for DbCache {
    fn get(&self, key: &CacheKey) -> Option<CachedTorrent> {
        let stored: StoredTorrent = self.0.get(TORRENTS, &cache_id(key)).ok()??;
        Some(CachedTorrent {
            bytes: stored.bytes.into(),
            info_hash: stored.info_hash.parse::<InfoHash>().ok()?,
            etag: stored.etag,
        })
    }

    fn put(&self, key: CacheKey, torrent: CachedTorrent) {
        // The service caches only torrents it built, which parse.
        let hashes = Torrent::from_bytes(torrent.bytes.clone())
            .map(|t| peer_info_hashes(&t))
            .unwrap_or_default();
        let stored = StoredTorrent {
            bytes: torrent.bytes.to_vec(),
            info_hash: torrent.info_hash.to_hex(),
            etag: torrent.etag,
        };
        if let Err(e) = self
            .0
            .put_torrent(&cache_id(&key), &stored, &hashes, &key.bucket, &key.key)
        {
            tracing::warn!(target: "serve", error = %e, "caching a torrent failed");
        }
    }

    fn forget(&self, bucket: &BucketName, key: &ObjectKey) {
        let prefix = format!("{bucket}/{key}\0");
        let result = (|| -> Result<(), S3Error> {
            let txn = self.0.db.begin_write().map_err(internal)?;
            {
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
            }
            txn.commit().map_err(internal)
        })();
        if let Err(e) = result {
            tracing::warn!(target: "serve", error = %e, "forgetting torrents failed");
        }
    }
}
