//! The cluster as the torrent service's [`ObjectSource`], for one request:
//! the cluster decides who may read (a `HEAD` of the object signed as the
//! requester, or unsigned for an anonymous one), and the bytes are read with
//! ranged GETs pinned to the ETag (`If-Match`).
//!
//! The service's own decision then runs over what the `HEAD` said: a
//! readable object is described as readable by the requester (the cluster
//! said so), its bucket as requester-pays when the `HEAD` was charged, and
//! an SSE-C object as SSE-C, so that the service's later rules (SSE-C, the
//! size limit, empty objects) and its errors and headers are `serve`'s.

use std::io;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use s3torrent_s3::{
    Acl, BucketInfo, BucketName, CannedAcl, ETag, Encryption, ErrorCode, ObjectInfo, ObjectKey,
    ObjectLookup, ObjectSource, Principal, ReadAt, Result, S3Error,
};
use tokio::runtime::Handle;

use super::error::UpstreamError;
use super::upstream::{Call, Signer, Upstream, error_code, header, read_body, xml_field};
use crate::swarm::{PieceError, PieceLoad, PieceSource};
use s3torrent_peer::Seed;

/// The most bytes of an error document read from the upstream.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The most bytes of a ListBuckets answer read (RGW's default limit is
/// 1000 buckets a user: about 150 KB).
const LIST_BODY_LIMIT: usize = 4 << 20;

/// The bucket names in a ListBuckets answer.
fn bucket_names(xml: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(xml)
        .unwrap_or("")
        .split("<Bucket>")
        .skip(1)
        .filter_map(|b| {
            let start = b.find("<Name>")? + "<Name>".len();
            let end = b[start..].find("</Name>")? + start;
            Some(&b[start..end])
        })
}

/// What the cluster said about the object, for this requester.
#[derive(Debug, Clone)]
enum Head {
    Found {
        size: u64,
        etag: String,
        version_id: Option<String>,
        sse_c: bool,
        charged: bool,
    },
    /// 404, with the error document's code: NoSuchBucket, NoSuchKey or NoSuchVersion.
    Missing(ErrorCode),
    /// A delete marker asked for by version ID (405).
    DeleteMarker,
    /// SSE-C without the key (400).
    SseC,
}

/// What every request's source shares: the upstream, the runtime its
/// blocking calls run on, and the configured users.
pub(crate) struct Shared {
    pub(crate) upstream: Arc<Upstream>,
    pub(crate) runtime: Handle,
    /// The `--user`s: their keys and the accounts they stand for, to find
    /// a bucket's owner (the one whose ListBuckets lists it).
    pub(crate) accounts: Vec<(Signer, Principal)>,
    /// The owner shown for a bucket whose owner was not looked up.
    pub(crate) fallback_owner: Principal,
}

/// One `?torrent` request's view of the cluster.
pub(crate) struct ClusterSource {
    shared: Arc<Shared>,
    /// The requester's key, or `None` (anonymous).
    signer: Option<Signer>,
    request_payer: bool,
    expected_owner: Option<String>,
    /// The key asked for (the service's `bucket()` does not name it).
    key: String,
    version_id: Option<String>,
    /// The first `HEAD`, made by `bucket()` and used by the first `object()`.
    first: Mutex<Option<Head>>,
}

impl ClusterSource {
    pub(crate) fn new(
        shared: Arc<Shared>,
        signer: Option<Signer>,
        key: String,
        version_id: Option<String>,
        request_payer: bool,
        expected_owner: Option<String>,
    ) -> Self {
        ClusterSource {
            shared,
            signer,
            request_payer,
            expected_owner,
            key,
            version_id,
            first: Mutex::new(None),
        }
    }

    /// The bucket's owner among the configured users: the one whose
    /// ListBuckets lists it (RGW ignores `x-amz-expected-bucket-owner`, and
    /// knows no AWS account IDs). `None` when no configured user owns it.
    fn bucket_owner(&self, bucket: &str) -> Result<Option<Principal>> {
        for (signer, principal) in &self.shared.accounts {
            let listed = self
                .shared
                .runtime
                .block_on(async {
                    let resp = self
                        .shared
                        .upstream
                        .call(Call::new(Method::GET, "", None, Some(signer)))
                        .await?;
                    if !resp.status().is_success() {
                        return Err(UpstreamError::Refused {
                            what: format!("ListBuckets as {}", signer.access_key),
                            status: resp.status(),
                            code: None,
                        });
                    }
                    read_body(resp.into_body(), LIST_BODY_LIMIT).await
                })
                .map_err(|e| self.internal(bucket, e))?;
            if bucket_names(&listed).any(|name| name == bucket) {
                return Ok(Some(principal.clone()));
            }
        }
        Ok(None)
    }

    fn resource(&self, bucket: &str) -> String {
        format!("/{bucket}/{}", self.key)
    }

    fn internal(&self, bucket: &str, why: impl std::fmt::Display) -> S3Error {
        S3Error::with_message(
            ErrorCode::InternalError,
            format!("We encountered an internal error. Please try again. ({why})"),
            self.resource(bucket),
        )
    }

    /// The headers and query of a request made as the requester.
    fn call<'a>(&'a self, method: Method, bucket: &'a str) -> Call<'a> {
        let mut call = Call::new(method, bucket, Some(&self.key), self.signer.as_ref());
        if let Some(v) = &self.version_id {
            call.query.push(("versionId", v));
        }
        if self.request_payer {
            call.signed
                .push(("x-amz-request-payer", "requester".into()));
        }
        if let Some(owner) = &self.expected_owner {
            call.signed
                .push(("x-amz-expected-bucket-owner", owner.clone()));
        }
        call
    }

    /// A `HEAD` of the object as the requester, and what it means.
    fn head(&self, bucket: &str) -> Result<Head> {
        let resp = self
            .shared
            .runtime
            .block_on(self.shared.upstream.call(self.call(Method::HEAD, bucket)))
            .map_err(|e| self.internal(bucket, e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        drop(resp);
        match status {
            StatusCode::OK => {
                let size = header(&headers, "content-length")
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| self.internal(bucket, "HEAD without a Content-Length"))?;
                // Without its quotes, as the torrent service keeps ETags.
                let etag = header(&headers, "etag")
                    .ok_or_else(|| self.internal(bucket, "HEAD without an ETag"))?
                    .trim_matches('"')
                    .to_owned();
                Ok(Head::Found {
                    size,
                    etag,
                    version_id: header(&headers, "x-amz-version-id")
                        .filter(|v| !v.is_empty() && *v != "null")
                        .map(str::to_owned),
                    sse_c: headers.contains_key("x-amz-server-side-encryption-customer-algorithm"),
                    charged: header(&headers, "x-amz-request-charged")
                        .is_some_and(|v| v.eq_ignore_ascii_case("requester")),
                })
            }
            StatusCode::FORBIDDEN => {
                Err(S3Error::new(ErrorCode::AccessDenied, self.resource(bucket)))
            }
            StatusCode::NOT_FOUND => {
                // A HEAD answer has no body: a one-byte GET as the same
                // requester says which thing is missing.
                let (code, _) = self.error_of_get(bucket)?;
                Ok(Head::Missing(match code.as_deref() {
                    Some("NoSuchBucket") => ErrorCode::NoSuchBucket,
                    Some("NoSuchVersion") => ErrorCode::NoSuchVersion,
                    _ => ErrorCode::NoSuchKey,
                }))
            }
            StatusCode::METHOD_NOT_ALLOWED => Ok(Head::DeleteMarker),
            StatusCode::BAD_REQUEST => {
                // RGW answers a HEAD of an SSE-C object without its key 400
                // (and a GET `InvalidArgument`, "Requests specifying Server
                // Side Encryption with Customer provided keys must provide
                // a valid encryption algorithm."). Another 400 is the
                // cluster's, passed on.
                let (code, message) = self.error_of_get(bucket)?;
                let message = message.unwrap_or_default();
                if message.to_ascii_lowercase().contains("encryption") {
                    return Ok(Head::SseC);
                }
                let code = match code.as_deref() {
                    Some("InvalidArgument") => ErrorCode::InvalidArgument,
                    _ => ErrorCode::InvalidRequest,
                };
                Err(S3Error::with_message(code, message, self.resource(bucket)))
            }
            other => Err(self.internal(bucket, format!("the cluster answered HEAD {other}"))),
        }
    }

    /// The error code and message of a one-byte GET of the object, as the
    /// requester.
    fn error_of_get(&self, bucket: &str) -> Result<(Option<String>, Option<String>)> {
        let mut call = self.call(Method::GET, bucket);
        call.unsigned
            .push((http::header::RANGE, "bytes=0-0".into()));
        let body = self
            .shared
            .runtime
            .block_on(async {
                let resp = self.shared.upstream.call(call).await?;
                if resp.status().is_success() {
                    return Ok(None);
                }
                read_body(resp.into_body(), ERROR_BODY_LIMIT)
                    .await
                    .map(Some)
            })
            .map_err(|e| self.internal(bucket, e))?;
        match body {
            // The object is there after all: it changed between the two.
            None => Err(self.internal(bucket, "the object changed while it was looked up")),
            Some(body) => Ok((error_code(&body), xml_field(&body, "Message"))),
        }
    }

    fn lookup(&self, bucket: &str, head: Head) -> ObjectLookup {
        let owner = &self.shared.fallback_owner;
        let Ok(key) = ObjectKey::new(self.key.clone()) else {
            return ObjectLookup::NoSuchKey;
        };
        let _ = bucket;
        match head {
            Head::Found {
                size,
                etag,
                version_id,
                sse_c,
                ..
            } => {
                let mut info = ObjectInfo::new(key, size, ETag::Known(etag), owner);
                info.version_id = version_id;
                // The cluster let this requester read it.
                info.acl = Acl::canned(CannedAcl::PublicRead, owner, owner);
                if sse_c {
                    info.encryption = Encryption::SseC;
                }
                ObjectLookup::Found(info)
            }
            Head::SseC => {
                let mut info = ObjectInfo::new(key, 1, ETag::Known(String::new()), owner);
                info.acl = Acl::canned(CannedAcl::PublicRead, owner, owner);
                info.encryption = Encryption::SseC;
                ObjectLookup::Found(info)
            }
            Head::DeleteMarker => {
                let mut info = ObjectInfo::new(key, 0, ETag::Known(String::new()), owner);
                info.delete_marker = true;
                info.version_id = self.version_id.clone();
                ObjectLookup::Found(info)
            }
            Head::Missing(ErrorCode::NoSuchVersion) => ObjectLookup::NoSuchVersion,
            Head::Missing(_) => ObjectLookup::NoSuchKey,
        }
    }
}

impl ObjectSource for ClusterSource {
    fn bucket(&self, bucket: &BucketName) -> Result<Option<BucketInfo>> {
        let head = self.head(bucket.as_str())?;
        if matches!(head, Head::Missing(ErrorCode::NoSuchBucket)) {
            return Ok(None);
        }
        // The owner matters only to `x-amz-expected-bucket-owner` (rule 3
        // of the decision, which the cluster does not check); it is looked
        // up only then.
        let owner = match &self.expected_owner {
            Some(_) => self
                .bucket_owner(bucket.as_str())?
                .unwrap_or_else(|| self.shared.fallback_owner.clone()),
            None => self.shared.fallback_owner.clone(),
        };
        let mut info = BucketInfo::new(bucket.clone(), owner.clone());
        // The cluster answered 404 rather than 403: the requester may list.
        info.acl = Acl::canned(CannedAcl::PublicRead, &owner, &owner);
        info.requester_pays = matches!(head, Head::Found { charged: true, .. });
        *self.first.lock().unwrap_or_else(|p| p.into_inner()) = Some(head);
        Ok(Some(info))
    }

    fn object(
        &self,
        bucket: &BucketName,
        _key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<ObjectLookup> {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let head = match first {
            Some(h) => h,
            // After hashing: the object as it is now, for the service's
            // "did it change" check. The version the torrent describes is
            // asked for by its ID when it has one.
            None => {
                let again = ClusterSource::new(
                    Arc::clone(&self.shared),
                    self.signer.clone(),
                    self.key.clone(),
                    version_id.map(str::to_owned),
                    self.request_payer,
                    self.expected_owner.clone(),
                );
                again.head(bucket.as_str())?
            }
        };
        Ok(self.lookup(bucket.as_str(), head))
    }

    fn open(
        &self,
        bucket: &BucketName,
        object: &ObjectInfo,
    ) -> Result<Box<dyn ReadAt + Send + Sync + '_>> {
        // One line per object hashed: a cache miss in memory and in the
        // cluster (the end-to-end tests count them across replicas).
        tracing::info!(
            target: "gateway",
            bucket = bucket.as_str(),
            key = object.key.as_str(),
            version_id = object.version_id.as_deref(),
            size = object.size,
            "hashing"
        );
        Ok(Box::new(self.reader(bucket, object)))
    }
}

impl ClusterSource {
    /// A reader of `object` as this source's requester.
    pub(crate) fn reader(&self, bucket: &BucketName, object: &ObjectInfo) -> RangedReader {
        RangedReader {
            shared: Arc::clone(&self.shared),
            signer: self.signer.clone(),
            request_payer: self.request_payer,
            bucket: bucket.as_str().to_owned(),
            key: object.key.as_str().to_owned(),
            etag: object.etag.as_known().unwrap_or_default().to_owned(),
            version_id: object.version_id.clone(),
        }
    }
}

/// Reads an object version with ranged GETs as the requester, each pinned
/// to the ETag the decision saw (`If-Match`): a change answers 412, and
/// the read fails.
pub(crate) struct RangedReader {
    shared: Arc<Shared>,
    signer: Option<Signer>,
    request_payer: bool,
    bucket: String,
    key: String,
    etag: String,
    version_id: Option<String>,
}

impl RangedReader {
    /// `buf.len()` bytes at `offset` (fewer at the end): one ranged GET,
    /// asynchronous.
    async fn read_range(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        let last = offset + len as u64 - 1;
        let mut call = Call::new(
            Method::GET,
            &self.bucket,
            Some(&self.key),
            self.signer.as_ref(),
        );
        if let Some(v) = &self.version_id {
            call.query.push(("versionId", v));
        }
        if self.request_payer {
            call.signed
                .push(("x-amz-request-payer", "requester".into()));
        }
        call.unsigned
            .push((http::header::RANGE, format!("bytes={offset}-{last}")));
        call.unsigned
            .push((http::header::IF_MATCH, format!("\"{}\"", self.etag)));
        let resp = self
            .shared
            .upstream
            .call(call)
            .await
            .map_err(io::Error::other)?;
        let status = resp.status();
        match status {
            StatusCode::PARTIAL_CONTENT => {}
            // The whole object: acceptable only from the start.
            StatusCode::OK if offset == 0 => {}
            StatusCode::PRECONDITION_FAILED => {
                return Err(io::Error::other(
                    "the object changed while it was read (412 on If-Match)",
                ));
            }
            StatusCode::RANGE_NOT_SATISFIABLE => return Ok(Bytes::new()),
            other => {
                return Err(io::Error::other(format!(
                    "ranged GET bytes={offset}-{last} answered {other}"
                )));
            }
        }
        let mut body = resp.into_body();
        let mut buf = BytesMut::with_capacity(len);
        while buf.len() < len {
            let Some(frame) = body.frame().await else {
                break;
            };
            let frame = frame.map_err(io::Error::other)?;
            if let Ok(data) = frame.into_data() {
                let n = data.len().min(len - buf.len());
                buf.extend_from_slice(&data[..n]);
            }
        }
        Ok(buf.freeze())
    }
}

impl ReadAt for RangedReader {
    /// For hashing on a blocking thread: the ranged GET, waited for there.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = self
            .shared
            .runtime
            .block_on(self.read_range(offset, buf.len()))?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }
}

impl PieceSource for RangedReader {
    /// The seeding peer's pieces: a ranged GET on the runtime (no blocking
    /// wait), then the check on a blocking thread.
    fn load(self: Arc<Self>, seed: Arc<Seed>, index: u32) -> PieceLoad {
        Box::pin(async move {
            let t = seed.torrent();
            let (offset, size) = (t.piece_offset(index), t.piece_size(index) as usize);
            let data = self
                .read_range(offset, size)
                .await
                .map_err(|e| PieceError::Fetch {
                    index,
                    source: Arc::new(e),
                })?;
            tokio::task::spawn_blocking(move || seed.verify(index, data).map_err(PieceError::seed))
                .await
                .map_err(PieceError::task)?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::bucket_names;

    #[test]
    fn bucket_names_of_a_list_buckets_answer() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>alice</ID><DisplayName>Alice</DisplayName></Owner><Buckets><Bucket><Name>acl-b</Name><CreationDate>2026-12-01T11:30:18.000Z</CreationDate></Bucket><Bucket><Name>rp</Name><CreationDate>2026-12-01T11:30:19.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#;
        assert_eq!(bucket_names(xml).collect::<Vec<_>>(), ["acl-b", "rp"]);
        assert_eq!(bucket_names(b"<Bucket><Name>unterminated").count(), 0);
        assert_eq!(bucket_names(&[0xff, 0xfe]).count(), 0);
    }
}
