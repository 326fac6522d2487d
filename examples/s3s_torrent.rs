//! `s3s_torrent`: GetObjectTorrent added to an existing s3s server, here s3s-fs.
//!
//! ```text
//! cargo run --example s3s_torrent -- ADDR ACCESS_KEY SECRET_KEY ROOT
//! cargo run --example s3s_torrent -- 127.0.0.1:8014 demo demo-secret /tmp/s3s-root
//! ```
//!
//! [s3s](https://crates.io/crates/s3s) turns HTTP into calls of its `S3` trait, one method
//! per operation; `s3s_fs::FileSystem` implements them over a folder. `TorrentFs` below is
//! an `S3` that hands every operation to the `FileSystem` unchanged, except
//! `get_object_torrent` (`GET /bucket/key?torrent`), which s3s answers `NotImplemented` by
//! default and s3s-fs leaves alone. That one goes to `s3torrent_s3::TorrentService` over
//! `FsObjects`, an `ObjectSource` that reads s3s-fs's own files:
//!
//! - a bucket is a folder `ROOT/BUCKET`, an object the file `ROOT/BUCKET/KEY` (a key ending
//!   in `/` is a folder marker, an empty object, so it has no torrent); a key with an empty,
//!   `.` or `..` segment, which s3s-fs would map onto another key's file, is `NoSuchKey`;
//! - the ETag is the one s3s-fs recorded (`e_tag` in its sidecar
//!   `ROOT/.bucket-B64(BUCKET).object-B64(KEY).internal.json`); for a file with no sidecar
//!   (placed by hand; s3s-fs's GET computes its MD5 then) or a sidecar older than the file
//!   (an overwrite in progress), the service computes the MD5 in the same pass as the
//!   pieces. This example keeps no state, so such a file is hashed again on every `?torrent`.
//!
//! **What "public" means here.** s3s-fs has no ACLs and one user (the keys on the command
//! line). This server lets anyone read: an unsigned request may GetObject, HeadObject and
//! GetObjectTorrent (that is what lets a BitTorrent client use the web seed); every other
//! operation, listings and writes included, needs a request signed by the user
//! (`AccessDenied` otherwise). For the torrent service that is a bucket and objects owned by
//! the user with the `public-read` ACL, so its answers match s3s-fs's: `NoSuchBucket`,
//! `NoSuchKey` (to anyone, as GetObject answers), `InvalidRequest` for an empty object, and
//! the other S3 errors as `s3torrent-s3` decides them.
//!
//! Torrents name a BEP 19 web seed, the object's URL on this server (`http://ADDR/BUCKET/KEY`),
//! and no tracker: a client downloads from the web seed with no swarm at all. Torrents are
//! made on a blocking thread (the first one of an object version hashes it) and then kept in
//! the service's memory cache, keyed by the object's ETag.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::HeaderMap;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, HeaderValue};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::dto;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result};
use s3s_fs::FileSystem;
use s3torrent::http::{TORRENT_CONTENT_TYPE, content_disposition};
use s3torrent::s3::{
    AccountId, Acl, Addressing, BucketInfo, BucketName, CannedAcl, CanonicalId, ETag, ErrorCode,
    ObjectInfo, ObjectKey, ObjectLookup, ObjectSource, Principal, ReadAt, Requester, Result,
    S3Error, TorrentPolicy, TorrentRequest, TorrentService, WebSeed,
};
use tokio::net::TcpListener;

/// The one user's canonical ID and account, as the torrent service sees them.
const OWNER_ID: &str = "s3s-fs-user";
const OWNER_ACCOUNT: &str = "000000000000";

/// s3s-fs's folder, read as an [`ObjectSource`].
struct FsObjects {
    root: PathBuf,
    owner: Principal,
}

impl FsObjects {
    /// `ROOT/BUCKET/KEY` and whether the key is a folder marker; `None` for a key that
    /// s3s-fs would resolve to another key's file.
    fn object_path(&self, bucket: &BucketName, key: &ObjectKey) -> Option<(PathBuf, bool)> {
        let (body, folder) = match key.as_str().strip_suffix('/') {
            Some(body) => (body, true),
            None => (key.as_str(), false),
        };
        let mut path = self.root.join(bucket.as_str());
        for segment in body.split('/') {
            if matches!(segment, "" | "." | "..") || segment.contains('\0') {
                return None;
            }
            path.push(segment);
        }
        Some((path, folder))
    }

    /// The ETag s3s-fs recorded for the object, unless its record is older than the file.
    fn recorded_etag(&self, bucket: &BucketName, key: &ObjectKey, written: SystemTime) -> ETag {
        let sidecar = self.root.join(format!(
            ".bucket-{}.object-{}.internal.json",
            base64_url(bucket.as_str().as_bytes()),
            base64_url(key.as_str().as_bytes()),
        ));
        let fresh = std::fs::metadata(&sidecar)
            .and_then(|m| m.modified())
            .is_ok_and(|recorded| recorded >= written);
        let etag = fresh
            .then(|| std::fs::read(&sidecar).ok())
            .flatten()
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
            .and_then(|info| info.get("e_tag")?.as_str().map(str::to_owned));
        etag.map_or(ETag::Uncomputed, ETag::Known)
    }

    /// Everyone may read (see the module's documentation).
    fn public(&self) -> Acl {
        Acl::canned(CannedAcl::PublicRead, &self.owner, &self.owner)
    }
}

impl ObjectSource for FsObjects {
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>> {
        match std::fs::metadata(self.root.join(bucket.as_str())) {
            Ok(m) if m.is_dir() => {
                let mut info = BucketInfo::new(bucket.clone(), self.owner.clone());
                info.acl = self.public();
                Ok(Some(info))
            }
            Ok(_) => Ok(None),
            Err(e) if absent(&e) => Ok(None),
            Err(e) => Err(internal(&e)),
        }
    }

    fn object(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup> {
        if version_id.is_some() {
            return Ok(ObjectLookup::NoSuchVersion); // s3s-fs keeps no versions
        }
        let Some((path, folder)) = self.object_path(bucket, key) else {
            return Ok(ObjectLookup::NoSuchKey);
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if absent(&e) => return Ok(ObjectLookup::NoSuchKey),
            Err(e) => return Err(internal(&e)),
        };
        let written = meta.modified().map_err(|e| internal(&e))?;
        let (size, etag) = match (folder, meta.is_file(), meta.is_dir()) {
            (false, true, _) => (meta.len(), self.recorded_etag(bucket, key, written)),
            (true, _, true) => (0, ETag::Known(EMPTY_MD5.into())),
            _ => return Ok(ObjectLookup::NoSuchKey),
        };
        let mut object = ObjectInfo::new(key.clone(), size, etag, &self.owner);
        object.acl = self.public();
        object.last_modified = written
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Ok(ObjectLookup::Found(object))
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        // s3s-fs replaces a file by renaming a new one over it, so this open file stays the
        // version it opened; the service looks the object up again after hashing.
        let (path, _) = self
            .object_path(bucket, &object.key)
            .ok_or_else(|| S3Error::new(ErrorCode::NoSuchKey, object.key.as_str()))?;
        let file = std::fs::File::open(path).map_err(|e| internal(&e))?;
        Ok(Box::new(file))
    }
}

/// The MD5 of nothing: a folder marker's ETag.
const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::InvalidFilename
    )
}

fn internal(e: &std::io::Error) -> S3Error {
    S3Error::with_message(ErrorCode::InternalError, e.to_string(), "")
}

/// Unpadded URL-safe base64 (RFC 4648 §5), as s3s-fs names its sidecar files.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// s3s-fs with GetObjectTorrent.
struct TorrentFs {
    fs: FileSystem,
    objects: Arc<FsObjects>,
    torrents: Arc<TorrentService>,
}

impl TorrentFs {
    async fn torrent(
        &self,
        req: S3Request<dto::GetObjectTorrentInput>,
    ) -> S3Result<S3Response<dto::GetObjectTorrentOutput>> {
        // s3s checked the signature: with one user, any credentials are that user's.
        let requester = match req.credentials {
            Some(_) => Requester::Authenticated(self.objects.owner.clone()),
            None => Requester::Anonymous,
        };
        let input = req.input;
        let mut request = TorrentRequest::new(input.bucket, input.key, requester);
        request.expected_bucket_owner = input.expected_bucket_owner;
        request.request_payer = input
            .request_payer
            .is_some_and(|p| p.as_str() == dto::RequestPayer::REQUESTER);
        let (objects, torrents) = (Arc::clone(&self.objects), Arc::clone(&self.torrents));
        let served =
            tokio::task::spawn_blocking(move || torrents.get_object_torrent(&*objects, &request))
                .await
                .map_err(s3s::S3Error::internal_error)?
                .map_err(to_s3s)?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(TORRENT_CONTENT_TYPE));
        headers.insert(CONTENT_DISPOSITION, content_disposition(&served.name));
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", served.torrent.etag)) {
            headers.insert(ETAG, etag);
        }
        let output = dto::GetObjectTorrentOutput {
            body: Some(s3s::Body::from(served.torrent.bytes).into()),
            request_charged: served
                .request_charged
                .then(|| dto::RequestCharged::from_static(dto::RequestCharged::REQUESTER)),
        };
        Ok(S3Response::with_headers(output, headers))
    }
}

/// Our S3 error as an s3s one: the same code, message and status.
fn to_s3s(e: S3Error) -> s3s::S3Error {
    let code = s3s::S3ErrorCode::from_bytes(e.code().as_str().as_bytes())
        .unwrap_or(s3s::S3ErrorCode::InternalError);
    let mut err = s3s::S3Error::with_message(code, e.message().to_owned());
    if let Ok(status) = hyper::StatusCode::from_u16(e.status()) {
        err.set_status_code(status);
    }
    err
}

/// Writes the `S3` impl: the listed operations go to `self.fs` as they are (the ones
/// s3s-fs implements; the rest keep s3s's `NotImplemented`, as in s3s-fs), and
/// `get_object_torrent` to [`TorrentFs::torrent`].
macro_rules! delegate_to_fs {
    ($($op:ident: $input:ident => $output:ident,)*) => {
        #[async_trait::async_trait]
        impl S3 for TorrentFs {
            $(
                async fn $op(
                    &self,
                    req: S3Request<dto::$input>,
                ) -> S3Result<S3Response<dto::$output>> {
                    self.fs.$op(req).await
                }
            )*

            async fn get_object_torrent(
                &self,
                req: S3Request<dto::GetObjectTorrentInput>,
            ) -> S3Result<S3Response<dto::GetObjectTorrentOutput>> {
                self.torrent(req).await
            }
        }
    };
}

delegate_to_fs! {
    abort_multipart_upload: AbortMultipartUploadInput => AbortMultipartUploadOutput,
    complete_multipart_upload: CompleteMultipartUploadInput => CompleteMultipartUploadOutput,
    copy_object: CopyObjectInput => CopyObjectOutput,
    create_bucket: CreateBucketInput => CreateBucketOutput,
    create_multipart_upload: CreateMultipartUploadInput => CreateMultipartUploadOutput,
    delete_bucket: DeleteBucketInput => DeleteBucketOutput,
    delete_object: DeleteObjectInput => DeleteObjectOutput,
    delete_objects: DeleteObjectsInput => DeleteObjectsOutput,
    get_bucket_location: GetBucketLocationInput => GetBucketLocationOutput,
    get_object: GetObjectInput => GetObjectOutput,
    head_bucket: HeadBucketInput => HeadBucketOutput,
    head_object: HeadObjectInput => HeadObjectOutput,
    list_buckets: ListBucketsInput => ListBucketsOutput,
    list_objects: ListObjectsInput => ListObjectsOutput,
    list_objects_v2: ListObjectsV2Input => ListObjectsV2Output,
    list_parts: ListPartsInput => ListPartsOutput,
    put_object: PutObjectInput => PutObjectOutput,
    upload_part: UploadPartInput => UploadPartOutput,
    upload_part_copy: UploadPartCopyInput => UploadPartCopyOutput,
}

/// Anyone may read objects (and their torrents); everything else needs the signature.
struct ReadableByAll;

#[async_trait::async_trait]
impl S3Access for ReadableByAll {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let reads = ["GetObject", "HeadObject", "GetObjectTorrent"];
        if cx.credentials().is_some() || reads.contains(&cx.s3_op().name()) {
            Ok(())
        } else {
            Err(s3s::s3_error!(AccessDenied, "Signature is required"))
        }
    }
}

/// The server on `listener`, its web seed the address it listens on.
fn service(
    listener: SocketAddr,
    access_key: String,
    secret_key: String,
    root: &Path,
) -> std::result::Result<s3s::service::S3Service, Box<dyn std::error::Error>> {
    let mut policy = TorrentPolicy::default();
    policy.web_seed = Some(WebSeed {
        endpoint: format!("http://{listener}"),
        addressing: Addressing::Path,
    });
    let owner = Principal::new(CanonicalId::new(OWNER_ID)?, AccountId::new(OWNER_ACCOUNT)?);
    let objects = FsObjects {
        root: std::fs::canonicalize(root)?,
        owner,
    };
    let fs = FileSystem::new(root).map_err(|e| format!("s3s-fs: {e:?}"))?;
    let mut builder = S3ServiceBuilder::new(TorrentFs {
        fs,
        objects: Arc::new(objects),
        torrents: Arc::new(TorrentService::new(policy)),
    });
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    builder.set_access(ReadableByAll);
    Ok(builder.build())
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, access_key, secret_key, root] = <[String; 4]>::try_from(args)
        .map_err(|_| "usage: s3s_torrent ADDR ACCESS_KEY SECRET_KEY ROOT")?;
    std::fs::create_dir_all(&root)?;
    let listener = TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let service = service(local, access_key, secret_key, Path::new(&root))?;
    eprintln!("s3s_torrent: listening on http://{local}");
    loop {
        let (socket, _) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(socket), service));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_url_is_rfc_4648_without_padding() {
        // RFC 4648 §10's vectors, unpadded, and the URL-safe letters.
        for (plain, encoded) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
            (b"??>", "Pz8-"),
        ] {
            assert_eq!(base64_url(plain), encoded, "{plain:?}");
        }
    }

    #[test]
    fn keys_that_s3s_fs_would_move_have_no_path() {
        let objects = FsObjects {
            root: PathBuf::from("/r"),
            owner: Principal::new(
                CanonicalId::new(OWNER_ID).unwrap(),
                AccountId::new(OWNER_ACCOUNT).unwrap(),
            ),
        };
        let b = BucketName::new("bkt").unwrap();
        let path = |k: &str| objects.object_path(&b, &ObjectKey::new(k).unwrap());
        assert_eq!(
            path("a/c.txt"),
            Some((PathBuf::from("/r/bkt/a/c.txt"), false))
        );
        assert_eq!(path("dir/"), Some((PathBuf::from("/r/bkt/dir"), true)));
        for moved in ["/x", "a//b", "a/./b", "../b/x", "a/..", "/", "x//"] {
            assert_eq!(path(moved), None, "{moved:?}");
        }
    }
}
