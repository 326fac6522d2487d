//! The S3 operations `serve` answers, on top of the store.

mod multipart;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::{self, StreamingBlob, Timestamp};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3torrent_metainfo::TorrentHasher;
use s3torrent_s3::{
    BucketInfo, BucketName, CannedAcl, ErrorCode, Grantee, ObjectKey, ObjectLookup, Permission,
    Principal, Requester, S3Error, TorrentCache, TorrentRequest, authorize_read,
};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::store::{DbCache, ObjectMeta, Store, hex, write_all};
use crate::throttle::Throttle;

pub(crate) type Service = s3torrent_s3::TorrentService<DbCache>;

/// The S3 implementation: a store and the torrent service over it.
pub(crate) struct Server {
    pub(crate) store: Arc<Store>,
    pub(crate) torrents: Arc<Service>,
    /// `--seed-rate`, which GetObject bodies share with the peer.
    pub(crate) throttle: Option<Arc<Throttle>>,
}

/// Our S3 errors, as s3s errors with the same code, status and message.
pub(crate) fn to_s3s(e: S3Error) -> s3s::S3Error {
    let code = s3s::S3ErrorCode::from_bytes(e.code().as_str().as_bytes())
        .unwrap_or(s3s::S3ErrorCode::InternalError);
    let mut err = s3s::S3Error::with_message(code, e.message().to_owned());
    if let Ok(status) = http::StatusCode::from_u16(e.status()) {
        err.set_status_code(status);
    }
    err
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

/// Who sent `req`: the user whose access key signed it (as s3s verified
/// it, or, for a request the server re-dispatched after s3s checked its
/// signature, as the server noted it), or the anonymous requester.
pub(crate) fn requester_of<T>(store: &Store, req: &S3Request<T>) -> Requester {
    let access_key = req
        .credentials
        .as_ref()
        .map(|c| c.access_key.as_str())
        .or_else(|| {
            req.extensions
                .get::<crate::front::VerifiedAccessKey>()
                .map(|k| k.0.as_str())
        });
    match access_key.and_then(|k| store.user_by_access_key(k)) {
        Some(user) => Requester::Authenticated(user.principal.clone()),
        None => Requester::Anonymous,
    }
}

impl Server {
    fn requester<T>(&self, req: &S3Request<T>) -> Requester {
        requester_of(&self.store, req)
    }

    fn principal<T>(&self, req: &S3Request<T>) -> S3Result<Principal> {
        match self.requester(req) {
            Requester::Authenticated(p) => Ok(p),
            Requester::Anonymous => Err(s3_error!(AccessDenied, "Signature is required")),
        }
    }

    fn names(bucket: &str, key: Option<&str>) -> S3Result<(BucketName, Option<ObjectKey>)> {
        let b = BucketName::new(bucket).map_err(to_s3s)?;
        let k = key.map(ObjectKey::new).transpose().map_err(to_s3s)?;
        Ok((b, k))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, S3Error> + Send + 'static,
    ) -> S3Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(to_s3s)
    }

    async fn bucket(&self, bucket: &BucketName) -> S3Result<BucketInfo> {
        let b = bucket.clone();
        self.blocking(move |s| s.bucket_info(&b))
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket))
    }

    /// The owner of the bucket, or someone its ACL grants `permission`;
    /// else `AccessDenied`.
    fn bucket_allows(
        requester: &Requester,
        bucket: &BucketInfo,
        permission: Permission,
    ) -> S3Result<()> {
        let owner = requester
            .principal()
            .is_some_and(|p| p.account_id == bucket.owner.account_id);
        if owner || bucket.acl.allows(requester, permission) {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied))
        }
    }

    /// Receives an upload's body into a temp file, batching writes on a
    /// blocking thread, and fsyncs it. Every chunk goes to `observe` too.
    /// `IncompleteBody` if the body ends early or differs from `declared`;
    /// with a `Content-MD5`, `InvalidDigest` (before reading) if it is not
    /// the base64 of 16 bytes and `BadDigest` if the body's MD5 differs.
    async fn receive(
        &self,
        body: Option<StreamingBlob>,
        declared: Option<u64>,
        content_md5: Option<&str>,
        mut observe: impl FnMut(&[u8]) + Send,
    ) -> S3Result<Received> {
        const BATCH: usize = 1 << 20;
        let expected_md5 = content_md5.map(md5_from_base64).transpose()?;
        let mut body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let (path, file) = self.blocking(|s| s.temp_file()).await?;
        let temp = TempGuard(path);
        let mut file = Some(file);
        let mut md5 = Md5::new();
        let mut size = 0u64;
        let mut pending = Vec::with_capacity(BATCH);
        loop {
            let chunk = body
                .next()
                .await
                .transpose()
                .map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
            let done = chunk.is_none();
            if let Some(chunk) = chunk {
                observe(&chunk);
                md5.update(&chunk);
                size += chunk.len() as u64;
                pending.extend_from_slice(&chunk);
            }
            if pending.len() >= BATCH || (done && !pending.is_empty()) {
                let mut f = file.take().expect("file");
                let buf = std::mem::take(&mut pending);
                let (f, mut buf) =
                    tokio::task::spawn_blocking(move || write_all(&mut f, &buf).map(|()| (f, buf)))
                        .await
                        .map_err(|e| s3_error!(InternalError, "{e}"))?
                        .map_err(to_s3s)?;
                buf.clear();
                pending = buf;
                file = Some(f);
            }
            if done {
                break;
            }
        }
        if declared.is_some_and(|d| d != size) {
            return Err(s3_error!(IncompleteBody));
        }
        let md5 = md5.finalize();
        if expected_md5.is_some_and(|m| m[..] != md5[..]) {
            return Err(s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ));
        }
        let f = file.take().expect("file");
        tokio::task::spawn_blocking(move || f.sync_all())
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        Ok(Received {
            temp,
            md5: hex(&md5),
            size,
        })
    }

    /// GetObject/HeadObject: the same read rules as `?torrent`.
    async fn readable(
        &self,
        req_bucket: &str,
        req_key: &str,
        requester: Requester,
        request_payer: bool,
        expected_owner: Option<String>,
    ) -> S3Result<(ObjectMeta, std::path::PathBuf, bool)> {
        let (bucket, key) = Self::names(req_bucket, Some(req_key))?;
        let key = key.expect("given");
        let mut treq = TorrentRequest::new(req_bucket, req_key, requester);
        treq.request_payer = request_payer;
        treq.expected_bucket_owner = expected_owner;
        let torrents = Arc::clone(&self.torrents);
        self.blocking(move |s| {
            let checked = s3torrent_s3::check_request(&treq)?;
            let info = s
                .bucket_info(&bucket)?
                .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, treq.resource()))?;
            checked.check_expected_owner(&info, &treq.resource())?;
            let found = s.object_meta(&bucket, &key)?;
            let lookup = match &found {
                Some((meta, _)) => ObjectLookup::Found(s.object_info(&info, &key, meta)),
                None => ObjectLookup::NoSuchKey,
            };
            let access = authorize_read(&treq, &info, &lookup)?;
            let charged = access.request_charged;
            let (mut meta, path) =
                found.ok_or_else(|| S3Error::new(ErrorCode::NoSuchKey, treq.resource()))?;
            if meta.etag.is_none() {
                // Adopted: its MD5 once, now that the read is allowed.
                let object = torrents.resolve_etag(s, &bucket, access.object)?;
                meta.etag = object.etag.as_known().map(str::to_owned);
            }
            Ok((meta, path, charged))
        })
        .await
    }
}

fn is_requester(payer: Option<&dto::RequestPayer>) -> bool {
    payer.is_some_and(|p| p.as_str().eq_ignore_ascii_case("requester"))
}

fn canned(acl: Option<&str>) -> S3Result<CannedAcl> {
    acl.unwrap_or("private").parse().map_err(to_s3s)
}

fn charged() -> Option<dto::RequestCharged> {
    Some(dto::RequestCharged::from_static(
        dto::RequestCharged::REQUESTER,
    ))
}

#[async_trait::async_trait]
impl S3 for Server {
    async fn create_bucket(
        &self,
        req: S3Request<dto::CreateBucketInput>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let owner = self.principal(&req)?;
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let acl = canned(req.input.acl.as_ref().map(|a| a.as_str()))?;
        let b = bucket.clone();
        if let Some(existing) = self.blocking(move |s| s.bucket_info(&b)).await? {
            return Err(if existing.owner.account_id == owner.account_id {
                s3_error!(BucketAlreadyOwnedByYou)
            } else {
                s3_error!(BucketAlreadyExists)
            });
        }
        let b = bucket.clone();
        self.blocking(move |s| s.create_bucket(&b, &owner, acl, now()))
            .await?;
        Ok(S3Response::new(dto::CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<dto::HeadBucketInput>,
    ) -> S3Result<S3Response<dto::HeadBucketOutput>> {
        let requester = self.requester(&req);
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(&requester, &info, Permission::Read)?;
        Ok(S3Response::new(dto::HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        self.bucket(&bucket).await?;
        Ok(S3Response::new(dto::GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let me = self.principal(&req)?;
        let all = self.blocking(|s| s.buckets()).await?;
        let buckets = all
            .into_iter()
            .filter(|(_, info, _)| info.owner.account_id == me.account_id)
            .map(|(name, _, created)| dto::Bucket {
                name: Some(name.to_string()),
                creation_date: Some(timestamp(created)),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(dto::ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(dto::Owner {
                id: Some(me.canonical_id.to_string()),
                display_name: Some(me.account_id.to_string()),
            }),
            ..Default::default()
        }))
    }

    async fn put_bucket_request_payment(
        &self,
        req: S3Request<dto::PutBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<dto::PutBucketRequestPaymentOutput>> {
        let me = self.principal(&req)?;
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        if me.account_id != info.owner.account_id {
            return Err(s3_error!(AccessDenied));
        }
        let on = req.input.request_payment_configuration.payer.as_str() == dto::Payer::REQUESTER;
        self.blocking(move |s| s.set_requester_pays(&bucket, on))
            .await?;
        Ok(S3Response::new(
            dto::PutBucketRequestPaymentOutput::default(),
        ))
    }

    async fn get_bucket_request_payment(
        &self,
        req: S3Request<dto::GetBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<dto::GetBucketRequestPaymentOutput>> {
        let me = self.principal(&req)?;
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        if me.account_id != info.owner.account_id {
            return Err(s3_error!(AccessDenied));
        }
        let payer = if info.requester_pays {
            dto::Payer::REQUESTER
        } else {
            dto::Payer::BUCKET_OWNER
        };
        Ok(S3Response::new(dto::GetBucketRequestPaymentOutput {
            payer: Some(dto::Payer::from_static(payer)),
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<dto::PutObjectInput>,
    ) -> S3Result<S3Response<dto::PutObjectOutput>> {
        let requester = self.requester(&req);
        let me = self.principal(&req)?;
        let input = req.input;
        let (bucket, key) = Self::names(&input.bucket, Some(&input.key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(&requester, &info, Permission::Write)?;
        let acl = canned(input.acl.as_ref().map(|a| a.as_str()))?;
        {
            let (b, k) = (bucket.clone(), key.clone());
            self.blocking(move |s| s.object_path(&b, &k).map(drop))
                .await?;
        }
        // Hash at upload: the piece length is known from Content-Length (and
        // fixed under the AWS profile), so pieces are ready when the upload is.
        let declared = input.content_length.and_then(|l| u64::try_from(l).ok());
        let policy = self.torrents.policy();
        let piece_length = policy.piece_length_for(declared.unwrap_or(0));
        let mut hasher = TorrentHasher::new(piece_length, policy.version);
        let received = self
            .receive(
                input.body,
                declared,
                input.content_md5.as_deref(),
                |chunk| hasher.update(chunk),
            )
            .await?;
        let (size, temp) = (received.size, received.temp.0.clone());
        let etag = received.md5.clone();
        let meta = ObjectMeta {
            owner: me.account_id.to_string(),
            acl: acl.as_str().into(),
            etag: Some(etag.clone()),
            size,
            content_type: input.content_type.map(|c| c.to_string()),
            modified: 0,
            file_mtime: 0,
        };
        let (b, k) = (bucket.clone(), key.clone());
        let meta = self
            .blocking(move |s| s.commit_upload(&b, &k, &temp, meta))
            .await?;
        // Precomputed pieces: the first ?torrent is served from the cache.
        self.torrents.cache().forget(&bucket, &key);
        let hashes = hasher.finish();
        if hashes.piece_length() == self.torrents.policy().piece_length_for(size).get() && size > 0
        {
            let object = self.store.object_info(&info, &key, &meta);
            let service = Arc::clone(&self.torrents);
            let _ = tokio::task::spawn_blocking(move || {
                service.store_hashes(&bucket, &object, &hashes)
            })
            .await;
        }
        Ok(S3Response::new(dto::PutObjectOutput {
            e_tag: Some(dto::ETag::Strong(etag)),
            size: Some(size as i64),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        self.create_multipart(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        self.upload_part_(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        self.complete_multipart(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        self.abort_multipart(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        self.list_parts_(req).await
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        self.list_uploads(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<dto::GetObjectInput>,
    ) -> S3Result<S3Response<dto::GetObjectOutput>> {
        let requester = self.requester(&req);
        let input = req.input;
        let (meta, path, charged_) = self
            .readable(
                &input.bucket,
                &input.key,
                requester,
                is_requester(input.request_payer.as_ref()),
                input.expected_bucket_owner.clone(),
            )
            .await?;
        let len = meta.size;
        let (start, end, content_range) = match &input.range {
            None => (0, len, None),
            Some(r) => {
                let range = r.check(len).map_err(|_| s3_error!(InvalidRange))?;
                let cr = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                (range.start, range.end, Some(cr))
            }
        };
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| s3_error!(NoSuchKey))?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        let reader = file.take(end - start);
        // Throttled bodies go out a chunk at a time, in turn with the peer.
        let chunk = match &self.throttle {
            Some(_) => Throttle::CHUNK,
            None => 256 * 1024,
        };
        let throttle = self.throttle.clone();
        let stream = futures_util::stream::unfold(reader, move |mut r| {
            let throttle = throttle.clone();
            async move {
                let mut buf = vec![0u8; chunk];
                match r.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        if let Some(t) = &throttle {
                            t.take(n).await;
                        }
                        Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), r))
                    }
                    Err(e) => Some((Err(e), r)),
                }
            }
        });
        Ok(S3Response::new(dto::GetObjectOutput {
            body: Some(StreamingBlob::wrap(stream)),
            content_length: Some((end - start) as i64),
            content_range,
            accept_ranges: Some("bytes".into()),
            content_type: meta.content_type.clone(),
            e_tag: meta.etag.clone().map(dto::ETag::Strong),
            last_modified: Some(timestamp(meta.modified)),
            request_charged: if charged_ { charged() } else { None },
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let requester = self.requester(&req);
        let input = req.input;
        let (meta, _, charged_) = self
            .readable(
                &input.bucket,
                &input.key,
                requester,
                is_requester(input.request_payer.as_ref()),
                input.expected_bucket_owner.clone(),
            )
            .await?;
        Ok(S3Response::new(dto::HeadObjectOutput {
            content_length: Some(meta.size as i64),
            accept_ranges: Some("bytes".into()),
            content_type: meta.content_type.clone(),
            e_tag: meta.etag.clone().map(dto::ETag::Strong),
            last_modified: Some(timestamp(meta.modified)),
            request_charged: if charged_ { charged() } else { None },
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let requester = self.requester(&req);
        let (bucket, key) = Self::names(&req.input.bucket, Some(&req.input.key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(&requester, &info, Permission::Write)?;
        let (b, k) = (bucket.clone(), key.clone());
        self.blocking(move |s| s.delete_object(&b, &k)).await?;
        self.torrents.cache().forget(&bucket, &key);
        Ok(S3Response::new(dto::DeleteObjectOutput::default()))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let requester = self.requester(&req);
        let input = req.input;
        let (bucket, _) = Self::names(&input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(&requester, &info, Permission::Read)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = input
            .continuation_token
            .clone()
            .or(input.start_after.clone())
            .unwrap_or_default();
        let max = usize::try_from(input.max_keys.unwrap_or(1000).clamp(0, 1000)).unwrap_or(1000);
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let b = bucket.clone();
        let torrents = Arc::clone(&self.torrents);
        let listed = self
            .blocking(move |s| {
                let info = s
                    .bucket_info(&b)?
                    .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, ""))?;
                let mut contents = Vec::new();
                let mut prefixes: Vec<String> = Vec::new();
                let mut last = None;
                let mut truncated = false;
                for key in s.keys(&b)? {
                    let k = key.as_str();
                    if !k.starts_with(&prefix) || k <= after.as_str() {
                        continue;
                    }
                    let common = common_prefix(k, &prefix, delimiter.as_deref());
                    // A key under the last common prefix takes no slot:
                    // the page ends only at a new entry, so the next page
                    // (after `last`) never repeats the prefix.
                    if common.is_some() && prefixes.last() == common.as_ref() {
                        last = Some(k.to_owned());
                        continue;
                    }
                    if contents.len() + prefixes.len() == max {
                        truncated = true;
                        break;
                    }
                    if let Some(p) = common {
                        prefixes.push(p);
                        last = Some(k.to_owned());
                        continue;
                    }
                    if let Some((meta, _)) = s.object_meta(&b, &key)? {
                        // Listing is allowed: an adopted object's MD5 now.
                        let etag = match meta.etag {
                            Some(e) => Some(e),
                            None => {
                                let object = s.object_info(&info, &key, &meta);
                                let object = torrents.resolve_etag(s, &b, &object)?;
                                object.etag.as_known().map(str::to_owned)
                            }
                        };
                        contents.push(dto::Object {
                            key: Some(k.to_owned()),
                            size: Some(meta.size as i64),
                            e_tag: etag.map(dto::ETag::Strong),
                            last_modified: Some(timestamp(meta.modified)),
                            ..Default::default()
                        });
                        last = Some(k.to_owned());
                    }
                }
                Ok((contents, prefixes, truncated, last))
            })
            .await?;
        let (contents, prefixes, truncated, last) = listed;
        Ok(S3Response::new(dto::ListObjectsV2Output {
            name: Some(bucket.to_string()),
            prefix: input.prefix,
            max_keys: Some(max as i32),
            key_count: Some((contents.len() + prefixes.len()) as i32),
            is_truncated: Some(truncated),
            next_continuation_token: if truncated { last } else { None },
            continuation_token: input.continuation_token,
            contents: Some(contents),
            common_prefixes: Some(
                prefixes
                    .into_iter()
                    .map(|p| dto::CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            delimiter: input.delimiter,
            start_after: input.start_after,
            ..Default::default()
        }))
    }

    async fn put_object_acl(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        let me = self.principal(&req)?;
        let input = req.input;
        let (bucket, key) = Self::names(&input.bucket, Some(&input.key))?;
        let key = key.expect("given");
        if input.access_control_policy.is_some() || input.acl.is_none() {
            return Err(s3_error!(
                NotImplemented,
                "Only canned ACLs (x-amz-acl) are supported here."
            ));
        }
        let acl = canned(input.acl.as_ref().map(|a| a.as_str()))?;
        let info = self.bucket(&bucket).await?;
        let (b, k) = (bucket.clone(), key.clone());
        let meta = self
            .blocking(move |s| s.object_meta(&b, &k))
            .await?
            .ok_or_else(|| s3_error!(NoSuchKey))?
            .0;
        let object = self.store.object_info(&info, &key, &meta);
        let allowed = object.owner().account_id == me.account_id
            || info.owner.account_id == me.account_id
            || object
                .acl
                .allows(&Requester::Authenticated(me.clone()), Permission::WriteAcp);
        if !allowed {
            return Err(s3_error!(AccessDenied));
        }
        self.blocking(move |s| s.set_object_acl(&bucket, &key, acl))
            .await?;
        Ok(S3Response::new(dto::PutObjectAclOutput::default()))
    }

    async fn get_object_acl(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        let requester = self.requester(&req);
        let input = req.input;
        let (bucket, key) = Self::names(&input.bucket, Some(&input.key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        let (b, k) = (bucket.clone(), key.clone());
        let meta = self
            .blocking(move |s| s.object_meta(&b, &k))
            .await?
            .ok_or_else(|| s3_error!(NoSuchKey))?
            .0;
        let object = self.store.object_info(&info, &key, &meta);
        let is_owner = requester
            .principal()
            .is_some_and(|p| p.account_id == object.owner().account_id);
        if !is_owner && !object.acl.allows(&requester, Permission::ReadAcp) {
            return Err(s3_error!(AccessDenied));
        }
        let grants = object
            .acl
            .grants
            .iter()
            .map(|g| {
                let grantee = match &g.grantee {
                    Grantee::CanonicalUser(id) => dto::Grantee {
                        id: Some(id.to_string()),
                        type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                        display_name: None,
                        email_address: None,
                        uri: None,
                    },
                    Grantee::AllUsers | Grantee::AuthenticatedUsers | _ => dto::Grantee {
                        id: None,
                        type_: dto::Type::from_static(dto::Type::GROUP),
                        display_name: None,
                        email_address: None,
                        uri: Some(
                            if g.grantee == Grantee::AllUsers {
                                Grantee::ALL_USERS_URI
                            } else {
                                Grantee::AUTHENTICATED_USERS_URI
                            }
                            .to_owned(),
                        ),
                    },
                };
                dto::Grant {
                    grantee: Some(grantee),
                    permission: Some(dto::Permission::from(g.permission.as_str().to_owned())),
                }
            })
            .collect();
        Ok(S3Response::new(dto::GetObjectAclOutput {
            grants: Some(grants),
            owner: Some(dto::Owner {
                id: Some(object.owner().canonical_id.to_string()),
                display_name: Some(object.owner().account_id.to_string()),
            }),
            request_charged: None,
        }))
    }
}

/// An upload's body in a fsynced temp file.
/// The common prefix that rolls `key` up in a listing: `prefix` and what
/// follows up to and including the first `delimiter` after it, if any.
fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter?;
    let rest = key.strip_prefix(prefix)?;
    rest.find(d)
        .map(|i| key[..prefix.len() + i + d.len()].to_owned())
}

/// The 16 bytes of a `Content-MD5` header: strict base64 (RFC 4648, with
/// padding), else `InvalidDigest`.
fn md5_from_base64(text: &str) -> S3Result<[u8; 16]> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let invalid = || s3_error!(InvalidDigest, "The Content-MD5 you specified is not valid.");
    let body = text.strip_suffix("==").ok_or_else(invalid)?;
    if body.len() != 22 {
        return Err(invalid());
    }
    // 22 digits of 6 bits: 128 bits and 4 zero bits.
    let mut bits: u128 = 0;
    let mut last = 0u8;
    for (i, c) in body.bytes().enumerate() {
        let v = ALPHABET.iter().position(|&a| a == c).ok_or_else(invalid)? as u8;
        if i < 21 {
            bits = (bits << 6) | u128::from(v);
        } else {
            last = v;
        }
    }
    if last & 0b1111 != 0 {
        return Err(invalid());
    }
    bits = (bits << 2) | u128::from(last >> 4);
    Ok(bits.to_be_bytes())
}

struct Received {
    /// Removes the file when dropped, unless it was renamed by then.
    temp: TempGuard,
    /// Hex MD5 of the bytes.
    md5: String,
    size: u64,
}

/// Removes an upload's temp file unless the upload was committed.
struct TempGuard(std::path::PathBuf);

impl Drop for TempGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Which requests may arrive unsigned: object reads (the ACL decides), the
/// rest need a signature.
pub(crate) struct Access;

#[async_trait::async_trait]
impl s3s::access::S3Access for Access {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        let anonymous_ok = matches!(
            cx.s3_op().name(),
            "GetObject" | "HeadObject" | "ListObjectsV2" | "HeadBucket"
        );
        if cx.credentials().is_some() || anonymous_ok {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Signature is required"))
        }
    }
}
