//! The S3 operations `serve` answers, on top of the store.

mod acl;
mod attributes;
mod buckets;
mod checksums;
mod copy;
mod cors;
mod delete;
pub(crate) mod encryption;
mod list_objects;
mod listing;
mod multipart;
mod ownership;
mod parts;
mod post;
mod public_access;
mod screen;
mod tagging;
mod versioning;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use md5::{Digest, Md5};
use s3s::dto::{self, StreamingBlob, Timestamp};
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use s3torrent_metainfo::TorrentHasher;
use s3torrent_s3::{
    BucketInfo, BucketName, BucketPolicy, ConditionContext, ErrorCode, ObjectInfo, ObjectKey,
    ObjectLookup, Permission, PolicyVerdict, Principal, Requester, S3Error, TorrentCache,
    TorrentRequest, authorize_read,
};

use crate::checksum::{Algorithm, Checksum, Claim, Kind, Refusal, set_checksum};
use crate::ops::post::Form;
pub(crate) use crate::ops::post::{MAX_REFUSAL_BYTES, failed_condition};
use crate::store::{
    DbCache, Expected, Found, Headers, Marker, ObjectMeta, Payer, Preconditions, Snapshot, Store,
    StoreError, StoredAcl, VersionId, Versioning, WriteError, hex, write_all,
};
use crate::throttle::Throttle;

pub(crate) type Service = s3torrent_s3::TorrentService<DbCache>;

/// The S3 implementation: a store and the torrent service over it.
pub(crate) struct Server {
    pub(crate) store: Arc<Store>,
    pub(crate) torrents: Arc<Service>,
    /// `--seed-rate`, which GetObject bodies share with the peer.
    pub(crate) throttle: Option<Arc<Throttle>>,
    /// Whether SSE-C keys are taken (HTTPS, or allowed over plain HTTP).
    pub(crate) customer_keys: encryption::CustomerKeys,
}

/// The store's errors as S3 answers: the one place where what went wrong
/// in the store becomes a code, a status and a message on the wire.
impl From<StoreError> for S3Error {
    fn from(e: StoreError) -> S3Error {
        match e {
            StoreError::NoSuchBucket { bucket } => S3Error::new(ErrorCode::NoSuchBucket, bucket),
            StoreError::NoSuchKey { bucket, key } => {
                S3Error::new(ErrorCode::NoSuchKey, format!("/{bucket}/{key}"))
            }
            StoreError::NoSuchVersion { bucket, key } => {
                S3Error::new(ErrorCode::NoSuchVersion, format!("/{bucket}/{key}"))
            }
            StoreError::DeleteMarker { bucket, key } => {
                S3Error::new(ErrorCode::MethodNotAllowed, format!("/{bucket}/{key}"))
            }
            StoreError::ConditionFailed { key } => S3Error::new(ErrorCode::PreconditionFailed, key),
            StoreError::Changed => {
                S3Error::with_message(ErrorCode::NoSuchKey, "the object changed", "")
            }
            StoreError::ChangedUnder { bucket, key, why } => S3Error::with_message(
                ErrorCode::InternalError,
                format!("We encountered an internal error. Please try again. ({why})"),
                format!("/{bucket}/{key}"),
            ),
            StoreError::Refused { source } => source,
            e => {
                S3Error::with_message(ErrorCode::InternalError, format!("internal error: {e}"), "")
            }
        }
    }
}

/// Our S3 errors (and the store's, through the conversion above), as s3s
/// errors with the same code, status and message.
pub(crate) fn to_s3s(e: impl Into<S3Error>) -> s3s::S3Error {
    let e: S3Error = e.into();
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
/// The bucket-policy condition keys of `req` that its headers give (see
/// [`s3torrent_http::condition_context`]); the tags a request sets and the
/// tags of the object it acts on are added where they are known.
pub(crate) fn conditions_of<T>(req: &S3Request<T>) -> ConditionContext {
    let mut context = s3torrent_http::condition_context(&req.headers);
    let secure = encryption::Transport::of(req) == encryption::Transport::Secure;
    context.set("aws:SecureTransport", if secure { "true" } else { "false" });
    context
}

pub(crate) fn requester_of<T>(store: &Store, req: &S3Request<T>) -> Requester {
    let access_key = req
        .credentials
        .as_ref()
        .map(|c| c.access_key.as_str())
        .or_else(|| {
            req.extensions
                .get::<crate::edge::front::VerifiedAccessKey>()
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

    /// [`Server::blocking`] for one store call.
    async fn stored<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> S3Result<T> {
        self.blocking(move |s| Ok(f(s)?)).await
    }

    async fn bucket(&self, bucket: &BucketName) -> S3Result<BucketInfo> {
        let b = bucket.clone();
        self.stored(move |s| s.bucket_info(&b))
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket))
    }

    /// Whether `requester` may do `action` (`s3:PutObject`) on the bucket
    /// or on its object `key`: the bucket policy's explicit deny refuses and
    /// its allow grants; otherwise the owner of the bucket, or someone its
    /// ACL grants `permission`; else `AccessDenied`.
    fn bucket_allows(
        requester: &Requester,
        bucket: &BucketInfo,
        permission: Permission,
        (action, key): (&str, Option<&str>),
        context: &ConditionContext,
    ) -> S3Result<()> {
        match bucket.policy_verdict(requester, action, key, context) {
            PolicyVerdict::Deny => return Err(s3_error!(AccessDenied)),
            PolicyVerdict::Allow => return Ok(()),
            PolicyVerdict::NoOpinion => {}
        }
        let owner = requester
            .principal()
            .is_some_and(|p| p.account_id == bucket.owner.account_id);
        if owner || bucket.acl_allows(&bucket.acl, requester, permission) {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied))
        }
    }

    /// Whether `requester` may write the object `key` (PutObject, CopyObject,
    /// a multipart upload): the policy's `s3:PutObject` on the key (under
    /// the request's `context`), or the bucket's `WRITE`.
    fn may_put(
        requester: &Requester,
        bucket: &BucketInfo,
        key: &ObjectKey,
        context: &ConditionContext,
    ) -> S3Result<()> {
        Self::bucket_allows(
            requester,
            bucket,
            Permission::Write,
            ("s3:PutObject", Some(key.as_str())),
            context,
        )
    }

    /// The bucket's owner, or `AccessDenied` (bucket policy, payment, …).
    async fn owned_bucket<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
    ) -> S3Result<(BucketName, BucketInfo)> {
        let me = self.principal(req)?;
        let (bucket, _) = Self::names(bucket, None)?;
        let info = self.bucket(&bucket).await?;
        if me.account_id != info.owner.account_id {
            return Err(s3_error!(AccessDenied));
        }
        Ok((bucket, info))
    }

    /// Receives an upload's body into a temp file, batching writes on a
    /// blocking thread, and fsyncs it. Every chunk goes to `observe` too.
    /// `IncompleteBody` if the body ends early or differs from `declared`;
    /// with a `Content-MD5`, `InvalidDigest` (before reading) if it is not
    /// the base64 of 16 bytes and `BadDigest` if the body's MD5 differs;
    /// the checksum its claim names is computed, and checked against the
    /// value the request gave (`BadDigest` if they differ).
    async fn receive(
        &self,
        body: Option<StreamingBlob>,
        declared: Option<u64>,
        integrity: Integrity<'_>,
        cipher: Option<&crate::sse::DataKey>,
        mut observe: impl FnMut(&[u8]) + Send,
    ) -> S3Result<Received> {
        const BATCH: usize = 1 << 20;
        let expected_md5 = integrity.content_md5.map(md5_from_base64).transpose()?;
        let mut checksum = integrity.claim.algorithm().map(Algorithm::hasher);
        let mut body = body.ok_or_else(|| s3_error!(IncompleteBody))?;
        let (path, file) = self.stored(|s| s.temp_file()).await?;
        let temp = TempGuard(path);
        let mut file = Some(file);
        let mut md5 = Md5::new();
        let mut size = 0u64;
        // What is on disk so far: where the next batch is enciphered from.
        let mut written = 0u64;
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
                if let Some(h) = &mut checksum {
                    h.update(&chunk);
                }
                size += chunk.len() as u64;
                pending.extend_from_slice(&chunk);
            }
            if pending.len() >= BATCH || (done && !pending.is_empty()) {
                let mut f = file.take().expect("file");
                let mut buf = std::mem::take(&mut pending);
                if let Some(k) = cipher {
                    k.apply(&mut buf, written);
                }
                written += buf.len() as u64;
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
        let checksum = match checksum {
            Some(h) => {
                // The trailer, if any, is complete once the body is.
                let trailers = integrity.trailers.and_then(|t| t.take());
                Some(
                    integrity
                        .claim
                        .settle(&h.finish(), trailers.as_ref())
                        .map_err(Refusal::into_s3)?,
                )
            }
            None => None,
        };
        let f = file.take().expect("file");
        tokio::task::spawn_blocking(move || f.sync_all())
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(|e| s3_error!(InternalError, "{e}"))?;
        Ok(Received {
            temp,
            md5: hex(&md5),
            size,
            checksum,
        })
    }

    /// After a write of `meta` to `key`: the key's cached torrents go if
    /// its bucket is unversioned (they describe an object that is no more);
    /// a versioned bucket's describe versions it keeps.
    async fn forget_replaced(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        meta: &ObjectMeta,
    ) -> S3Result<()> {
        if !meta.version.is_null() {
            return Ok(());
        }
        // Versioning is never unset: a bucket unversioned now was so when
        // the write committed.
        let b = bucket.clone();
        if self
            .stored(move |s| s.bucket_versioning(&b))
            .await?
            .is_unversioned()
        {
            self.torrents.cache().forget(bucket, key);
        }
        Ok(())
    }

    /// GetObject/HeadObject: the same read rules as `?torrent`. `V` is
    /// what the read needs of the version (the current one, or the one
    /// `version` names): its record (HEAD) or the record and its file,
    /// opened (GET, a copy's source). A refusal because of a delete marker
    /// carries the marker's headers.
    async fn readable<V: Version>(
        &self,
        (req_bucket, req_key, version): (&str, &str, Option<&str>),
        (requester, context): (Requester, ConditionContext),
        request_payer: bool,
        expected_owner: Option<String>,
    ) -> S3Result<Readable<V>> {
        let (bucket, key) = Self::names(req_bucket, Some(req_key))?;
        let key = key.expect("given");
        let mut treq = TorrentRequest::new(req_bucket, req_key, requester);
        treq.version_id = version.map(str::to_owned);
        treq.request_payer = request_payer;
        treq.expected_bucket_owner = expected_owner;
        treq.context = context;
        // On the runtime's thread when the records are in memory (the
        // decision reads no database page, and opening the version's file
        // is one open and one fstat); else on a blocking thread, as an
        // adopted file's MD5 (a whole read of the file) always is, and a
        // version asked for by its ID.
        let decided = if version.is_none() && self.store.memoized(&bucket, &key) {
            allowed::<V>(&self.store, &bucket, &key, &treq)
        } else {
            let (b, k) = (bucket.clone(), key.clone());
            self.blocking(move |s| Ok(allowed::<V>(s, &b, &k, &treq)))
                .await?
        };
        let (mut snap, object, charged, versioning) =
            decided.map_err(|r| versioning::with_marker(r.error, r.marker.as_ref()))?;
        if snap.meta().etag.is_none() {
            // Adopted: its MD5 once, now that the read is allowed (the
            // record keeps it only if the file is still the one read).
            let torrents = Arc::clone(&self.torrents);
            let object = self
                .blocking(move |s| torrents.resolve_etag(s, &bucket, &object))
                .await?;
            snap.meta_mut().etag = object.etag.as_known().map(str::to_owned);
        }
        Ok(Readable {
            version: snap,
            charged,
            versioning,
        })
    }
}

/// A read that was allowed: the version, whether the requester pays, and
/// the bucket's versioning (which says whether answers name versions).
struct Readable<V> {
    version: V,
    charged: bool,
    versioning: Versioning,
}

/// Why a read was refused, and the delete marker it met if that is why.
struct ReadRefusal {
    error: S3Error,
    marker: Option<Marker>,
}

impl From<StoreError> for ReadRefusal {
    fn from(error: StoreError) -> Self {
        ReadRefusal::from(S3Error::from(error))
    }
}

impl From<S3Error> for ReadRefusal {
    fn from(error: S3Error) -> Self {
        ReadRefusal {
            error,
            marker: None,
        }
    }
}

/// GetObject's and HeadObject's decision (the rules of `?torrent`): the
/// version (the current one, or the one the request names), as the object
/// the decision saw, whether the read is charged to the requester, and the
/// bucket's versioning; or why not.
#[allow(clippy::type_complexity)]
fn allowed<V: Version>(
    s: &Store,
    bucket: &BucketName,
    key: &ObjectKey,
    treq: &TorrentRequest,
) -> Result<(V, ObjectInfo, bool, Versioning), ReadRefusal> {
    let checked = s3torrent_s3::check_request(treq)?;
    let (info, versioning) = s
        .bucket_entry(bucket)?
        .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, treq.resource()))?;
    checked.check_expected_owner(&info, &treq.resource())?;
    let wanted = treq.version_id.as_deref();
    let found = match (versioning.is_unversioned(), wanted) {
        // A bucket never versioned: its only version is `null`.
        (true, Some(v)) if v != VersionId::NULL => None,
        (true, _) => V::current(s, bucket, key)?.map(Found::Object),
        (false, _) => V::find(s, bucket, key, wanted.map(VersionId::of).as_ref())?,
    };
    let lookup = match &found {
        Some(Found::Object(version)) => {
            ObjectLookup::Found(s.object_info(&info, key, version.meta())?)
        }
        Some(Found::Marker(marker)) => ObjectLookup::Found(s.marker_info(&info, key, marker)),
        None if wanted.is_some_and(|v| v != VersionId::NULL || !versioning.is_unversioned()) => {
            ObjectLookup::NoSuchVersion
        }
        None => ObjectLookup::NoSuchKey,
    };
    let access = match authorize_read(treq, &info, &lookup) {
        Ok(access) => access,
        Err(error) => {
            // A delete marker's 404 (the newest version) or 405 (asked for
            // by its ID) says so in its headers, as S3's do.
            let marker = match found {
                Some(Found::Marker(m))
                    if matches!(
                        error.code(),
                        ErrorCode::NoSuchKey | ErrorCode::MethodNotAllowed
                    ) =>
                {
                    Some(m)
                }
                _ => None,
            };
            return Err(ReadRefusal { error, marker });
        }
    };
    let (charged, object) = (access.request_charged, access.object.clone());
    match found {
        Some(Found::Object(version)) => Ok((version, object, charged, versioning)),
        _ => Err(S3Error::new(ErrorCode::NoSuchKey, treq.resource()).into()),
    }
}

/// What a read takes of an object version.
trait Version: Sized + Send + 'static {
    /// The current version, if there is one (an unversioned bucket's).
    fn current(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<Self>, StoreError>;
    /// A versioned bucket's version `wanted`, or its newest (which may be a
    /// delete marker).
    fn find(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: Option<&VersionId>,
    ) -> Result<Option<Found<Self>>, StoreError>;
    fn meta(&self) -> &ObjectMeta;
    fn meta_mut(&mut self) -> &mut ObjectMeta;
}

/// HEAD: the record is the answer; its file is not opened.
impl Version for ObjectMeta {
    fn current(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<Self>, StoreError> {
        store.object_meta(bucket, key)
    }
    fn find(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: Option<&VersionId>,
    ) -> Result<Option<Found<Self>>, StoreError> {
        store.find_version(bucket, key, wanted)
    }
    fn meta(&self) -> &ObjectMeta {
        self
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self
    }
}

/// GET: the record and a handle on exactly that version's bytes.
impl Version for Snapshot {
    fn current(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
    ) -> Result<Option<Self>, StoreError> {
        store.snapshot(bucket, key)
    }
    fn find(
        store: &Store,
        bucket: &BucketName,
        key: &ObjectKey,
        wanted: Option<&VersionId>,
    ) -> Result<Option<Found<Self>>, StoreError> {
        store.snapshot_version(bucket, key, wanted)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.meta
    }
}

fn is_requester(payer: Option<&dto::RequestPayer>) -> bool {
    payer.is_some_and(|p| p.as_str().eq_ignore_ascii_case("requester"))
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
        let input = &req.input;
        let acl = self.acl_of_headers(&acl::acl_headers!(input), &owner, &owner)?;
        let ownership = ownership::of_create_bucket(input, &acl)?;
        let location = buckets::location_of(input);
        let b = bucket.clone();
        if let Some(existing) = self.stored(move |s| s.bucket_info(&b)).await? {
            if existing.owner.account_id != owner.account_id {
                return Err(s3_error!(BucketAlreadyExists));
            }
            return self
                .create_own_bucket_again(&existing, &acl, location, ownership)
                .await;
        }
        let b = bucket.clone();
        let me = owner.account_id;
        if let Err(existing) = self
            .stored(move |s| s.create_bucket(&b, &owner, &acl, location, ownership, now()))
            .await?
        {
            return Err(if existing.account_id == me {
                s3_error!(BucketAlreadyOwnedByYou)
            } else {
                s3_error!(BucketAlreadyExists)
            });
        }
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
        Self::bucket_allows(
            &requester,
            &info,
            Permission::Read,
            ("s3:ListBucket", None),
            &conditions_of(&req),
        )?;
        Ok(S3Response::new(dto::HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        self.get_bucket_location_(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        self.list_buckets_(req).await
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
        let payer =
            if req.input.request_payment_configuration.payer.as_str() == dto::Payer::REQUESTER {
                Payer::Requester
            } else {
                Payer::BucketOwner
            };
        self.stored(move |s| s.set_payer(&bucket, payer)).await?;
        Ok(S3Response::new(
            dto::PutBucketRequestPaymentOutput::default(),
        ))
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<dto::PutBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::PutBucketPolicyOutput>> {
        let (bucket, info) = self.owned_bucket(&req, &req.input.bucket).await?;
        let policy = BucketPolicy::parse(&req.input.policy, &bucket).map_err(to_s3s)?;
        info.check_policy_put(&policy).map_err(to_s3s)?;
        self.stored(move |s| s.set_policy(&bucket, Some(&policy)))
            .await?;
        Ok(S3Response::new(dto::PutBucketPolicyOutput::default()))
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<dto::GetBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::GetBucketPolicyOutput>> {
        let (_, info) = self.owned_bucket(&req, &req.input.bucket).await?;
        let policy = info.policy.ok_or_else(|| s3_error!(NoSuchBucketPolicy))?;
        Ok(S3Response::new(dto::GetBucketPolicyOutput {
            policy: Some(policy.text().to_owned()),
        }))
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<dto::DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketPolicyOutput>> {
        let (bucket, _) = self.owned_bucket(&req, &req.input.bucket).await?;
        self.stored(move |s| s.set_policy(&bucket, None)).await?;
        Ok(S3Response::new(dto::DeleteBucketPolicyOutput::default()))
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<dto::GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<dto::GetBucketPolicyStatusOutput>> {
        let (_, info) = self.owned_bucket(&req, &req.input.bucket).await?;
        // Public as Block Public Access leaves it (RestrictPublicBuckets
        // confines a public policy to the owner's account).
        let is_public = info
            .policy_is_public()
            .ok_or_else(|| s3_error!(NoSuchBucketPolicy))?;
        Ok(S3Response::new(dto::GetBucketPolicyStatusOutput {
            policy_status: Some(dto::PolicyStatus {
                is_public: Some(is_public),
            }),
        }))
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<dto::PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::PutBucketEncryptionOutput>> {
        self.put_bucket_encryption_(req).await
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<dto::GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::GetBucketEncryptionOutput>> {
        self.get_bucket_encryption_(req).await
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<dto::DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketEncryptionOutput>> {
        self.delete_bucket_encryption_(req).await
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<dto::PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::PutBucketOwnershipControlsOutput>> {
        self.put_bucket_ownership_controls_(req).await
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<dto::GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
        self.get_bucket_ownership_controls_(req).await
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<dto::DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOwnershipControlsOutput>> {
        self.delete_bucket_ownership_controls_(req).await
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<dto::PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::PutPublicAccessBlockOutput>> {
        self.put_public_access_block_(req).await
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<dto::GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::GetPublicAccessBlockOutput>> {
        self.get_public_access_block_(req).await
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<dto::DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::DeletePublicAccessBlockOutput>> {
        self.delete_public_access_block_(req).await
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<dto::PutObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::PutObjectTaggingOutput>> {
        self.put_object_tagging_(req).await
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<dto::GetObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::GetObjectTaggingOutput>> {
        self.get_object_tagging_(req).await
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<dto::DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectTaggingOutput>> {
        self.delete_object_tagging_(req).await
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<dto::PutBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::PutBucketTaggingOutput>> {
        self.put_bucket_tagging_(req).await
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<dto::GetBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::GetBucketTaggingOutput>> {
        self.get_bucket_tagging_(req).await
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<dto::DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketTaggingOutput>> {
        self.delete_bucket_tagging_(req).await
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
        // PostObject (a browser form, its policy checked by s3s) arrives
        // here as a PutObject of the form's fields.
        let form = Form::of(&req.method);
        // The checksum the request names, else S3's default for a new
        // object.
        let claim = Claim::of(&req.headers, Some(Algorithm::Crc64Nvme));
        let trailers = req.trailing_headers.clone();
        let mut context = conditions_of(&req);
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let (bucket, key) = Self::names(&input.bucket, Some(&input.key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        // The tags it sets are `s3:RequestObjectTag/…` to the policy (a
        // malformed `x-amz-tagging` is refused after the access check).
        let tags = tagging::header_tags(input.tagging.as_deref());
        if let Ok(tags) = &tags {
            context.set_request_object_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Self::may_put(&requester, &info, &key, &context)?;
        let claim = claim.map_err(Refusal::into_s3)?;
        // The writer's, or the bucket owner's as the bucket's object
        // ownership has it (an anonymous writer's always).
        let acl = self.new_object_acl(&acl::acl_headers!(input, object), &requester, &info)?;
        let tags = tags?;
        let conditions = write_conditions(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        // Server-side encryption: the request's, else the bucket's default.
        let asked = encryption::asked_of!(input)?;
        let target = self.write_target(&bucket, asked, transport).await?;
        let customer = target
            .as_ref()
            .and_then(crate::sse::Target::customer)
            .cloned();
        let sealed = self.sealed_key(target).await?;
        let headers = headers_of(
            input.cache_control.clone(),
            input.content_disposition.clone(),
            input.content_encoding.clone(),
            input.content_language.clone(),
            input.expires.as_ref(),
            input.metadata.clone(),
        );
        if conditions.if_match.is_some() {
            // A hand-placed file is adopted and its MD5 computed first (the
            // writer may write, so it may learn the ETag), so that the
            // commit can compare it.
            let (b, k, i) = (bucket.clone(), key.clone(), info.clone());
            let torrents = Arc::clone(&self.torrents);
            self.blocking(move |s| {
                if let Some(meta) = s.object_meta(&b, &k)?
                    && meta.etag.is_none()
                {
                    torrents.resolve_etag(s, &b, &s.object_info(&i, &k, &meta)?)?;
                }
                Ok(())
            })
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
                Integrity {
                    content_md5: input.content_md5.as_deref(),
                    claim: claim.clone(),
                    trailers,
                },
                sealed.as_ref().map(|(k, _)| k),
                |chunk| hasher.update(chunk),
            )
            .await?;
        let (size, temp) = (received.size, received.temp.0.clone());
        let envelope = sealed.map(|(_, e)| e);
        // SSE-S3's ETag is the MD5 of the plaintext, as in S3; SSE-C's and
        // SSE-KMS's is not (S3 documents it is not their MD5): an opaque
        // digest of it and the object's sealed key, which says nothing of
        // the plaintext to whoever lacks the key.
        let etag = match envelope.as_ref().map(|e| &e.mode) {
            Some(crate::sse::Mode::Customer { .. } | crate::sse::Mode::Kms { .. }) => {
                encryption::opaque_etag(&received.md5, envelope.as_ref())
            }
            _ => received.md5.clone(),
        };
        let mut meta = ObjectMeta::new(
            acl.owner.account_id.to_string(),
            StoredAcl::from_acl(&acl),
            etag.clone(),
            size,
        );
        meta.content_type = input.content_type.map(|c| c.to_string());
        meta.headers = headers;
        meta.tags = tags;
        meta.sse = envelope;
        meta.checksum =
            received
                .checksum
                .clone()
                .zip(claim.algorithm())
                .map(|(value, algorithm)| Checksum {
                    algorithm,
                    kind: Kind::FullObject,
                    value,
                });
        let (b, k) = (bucket.clone(), key.clone());
        let store = Arc::clone(&self.store);
        let meta = tokio::task::spawn_blocking(move || {
            store.commit_object(&b, &k, &temp, meta, &conditions, None)
        })
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?
        .map_err(write_refused)?;
        // An unversioned bucket's older torrents of the key are stale (a
        // versioned bucket's describe versions it keeps).
        self.forget_replaced(&bucket, &key, &meta).await?;
        // Precomputed pieces: the first ?torrent is served from the cache
        // (an object that gets no torrent, SSE-C or SSE-KMS, gets none).
        let hashes = hasher.finish();
        let echo = encryption::Echo::of(meta.sse.as_ref(), customer.as_ref());
        if hashes.piece_length() == self.torrents.policy().piece_length_for(size).get()
            && size > 0
            && meta
                .sse
                .as_ref()
                .is_none_or(|e| e.mode == crate::sse::Mode::S3)
        {
            let object = self.store.object_info(&info, &key, &meta).map_err(to_s3s)?;
            let service = Arc::clone(&self.torrents);
            let _ = tokio::task::spawn_blocking(move || {
                service.store_hashes(&bucket, &object, &hashes)
            })
            .await;
        }
        let mut out = dto::PutObjectOutput {
            e_tag: Some(dto::ETag::Strong(etag)),
            size: Some(size as i64),
            version_id: versioning::written_version(&meta),
            ..Default::default()
        };
        if let Some(c) = &meta.checksum {
            set_checksum!(out, c.algorithm, c.value.clone());
            out.checksum_type = Some(dto::ChecksumType::from_static(c.kind.name()));
        }
        Ok(echo.answer(form.answer(out)))
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
        let context = conditions_of(&req);
        encryption::refuse_write_headers(&req.headers)?;
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let customer = encryption::customer_of!(input)?;
        self.check_customer_transport(transport, customer.as_ref())?;
        let read: Readable<Snapshot> = self
            .readable(
                (&input.bucket, &input.key, input.version_id.as_deref()),
                (requester.clone(), context.clone()),
                is_requester(input.request_payer.as_ref()),
                input.expected_bucket_owner.clone(),
            )
            .await?;
        let (charged_, version_id) = (
            read.charged,
            versioning::read_version(read.versioning, &read.version.meta),
        );
        let Snapshot { meta, file } = read.version;
        encryption::check_key(meta.sse.as_ref(), customer.as_ref())?;
        let echo = encryption::Echo::of(meta.sse.as_ref(), customer.as_ref());
        // The plaintext of the version's file (deciphered as read). An
        // encrypted one's master key is read from its file the first time
        // it is used: then off the runtime's workers.
        let held = meta
            .sse
            .as_ref()
            .and_then(|e| self.store.open_data_key_now(e, customer.as_ref()));
        let file = match (held, meta.sse.clone()) {
            (_, None) => crate::sse::ObjectReader::plain(file),
            (Some(key), Some(_)) => {
                crate::sse::ObjectReader::encrypted(file, key.map_err(|e| e.to_s3())?)
            }
            (None, Some(envelope)) => {
                let customer = customer.clone();
                self.sse_blocking(move |s| {
                    let key = s.open_data_key(&envelope, customer.as_ref())?;
                    Ok(crate::sse::ObjectReader::encrypted(file, key))
                })
                .await?
            }
        };
        let tag_count = self.tag_count((&requester, &context), &input.bucket, &input.key, &meta);
        let freshness = check_read_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        if freshness == Freshness::NotModified {
            let h = &meta.headers;
            return Ok(not_modified(dto::GetObjectOutput {
                e_tag: meta.etag.clone().map(dto::ETag::Strong),
                last_modified: Some(timestamp(meta.modified)),
                cache_control: h.cache_control.clone(),
                expires: expires_of(h),
                version_id,
                ..Default::default()
            }));
        }
        let len = meta.size;
        let mut parts_count = None;
        let mut part = None;
        let (start, end, content_range) = match (&input.range, input.part_number) {
            (None, None) => (0, len, None),
            (Some(r), None) => {
                let range = r.check(len).map_err(|_| s3_error!(InvalidRange))?;
                let cr = format!("bytes {}-{}/{len}", range.start, range.end - 1);
                (range.start, range.end, Some(cr))
            }
            (None, Some(number)) => {
                let slice = self.part_of(&meta, number).await?;
                parts_count = slice.count;
                let bounds = (slice.range.start, slice.range.end, slice.content_range(len));
                part = Some(slice);
                bounds
            }
            (Some(_), Some(_)) => return Err(range_and_part()),
        };
        let checksum = checksum_answer(
            &meta,
            input.checksum_mode.as_ref(),
            input.range.is_some(),
            part.as_ref(),
        );
        // The handle of the version `meta` describes: its bytes, whatever
        // happens to the key meanwhile. A small body is read at once, here
        // (a read from the page cache takes less than handing it to a
        // blocking thread), and goes out with the head in one write.
        if end - start <= INLINE_BODY && self.throttle.is_none() {
            let mut buf = vec![0; (end - start) as usize];
            file.read_exact_at(&mut buf, start)
                .map_err(|e| s3_error!(InternalError, "reading the object: {e}"))?;
            let mut out = get_output(
                input,
                &meta,
                StreamingBlob::from(s3s::Body::from(bytes::Bytes::from(buf))),
                (start..end, content_range, parts_count),
                charged_,
            );
            if let Some((algorithm, kind, value)) = checksum {
                set_checksum!(out, algorithm, value);
                out.checksum_type = Some(dto::ChecksumType::from_static(kind.name()));
            }
            out.version_id = version_id;
            return Ok(echo.answer(tagging::counted(S3Response::new(out), tag_count)));
        }
        // Read a chunk at a time on a blocking thread, each chunk only when
        // hyper asks for it (its write buffer has room: see
        // `serve::WRITE_BUFFER`): a client that stops reading leaves at
        // most a chunk queued, and nothing read ahead. (tokio's `File`
        // kept a read buffer per file besides.)
        let chunk = match &self.throttle {
            Some(_) => Throttle::CHUNK,
            None => STREAM_CHUNK,
        };
        let throttle = self.throttle.clone();
        let file = Arc::new(file);
        let stream = futures_util::stream::unfold(start, move |at| {
            let (throttle, file) = (throttle.clone(), Arc::clone(&file));
            async move {
                if at >= end {
                    return None;
                }
                // Only what is left to read: a small remainder costs no
                // whole chunk.
                let want = usize::try_from(end - at).unwrap_or(usize::MAX).min(chunk);
                let read = tokio::task::spawn_blocking(move || read_chunk(&file, at, want))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                match read {
                    Ok(bytes) => {
                        if let Some(t) = &throttle {
                            t.take(bytes.len()).await;
                        }
                        let next = at + bytes.len() as u64;
                        Some((Ok::<_, std::io::Error>(bytes), next))
                    }
                    // The body fails, and ends.
                    Err(e) => Some((Err(e), end)),
                }
            }
        });
        let mut out = get_output(
            input,
            &meta,
            StreamingBlob::wrap(stream),
            (start..end, content_range, parts_count),
            charged_,
        );
        if let Some((algorithm, kind, value)) = checksum {
            set_checksum!(out, algorithm, value);
            out.checksum_type = Some(dto::ChecksumType::from_static(kind.name()));
        }
        out.version_id = version_id;
        Ok(echo.answer(tagging::counted(S3Response::new(out), tag_count)))
    }

    async fn head_object(
        &self,
        req: S3Request<dto::HeadObjectInput>,
    ) -> S3Result<S3Response<dto::HeadObjectOutput>> {
        let requester = self.requester(&req);
        let context = conditions_of(&req);
        encryption::refuse_write_headers(&req.headers)?;
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let customer = encryption::customer_of!(input)?;
        self.check_customer_transport(transport, customer.as_ref())?;
        let read: Readable<ObjectMeta> = self
            .readable(
                (&input.bucket, &input.key, input.version_id.as_deref()),
                (requester.clone(), context.clone()),
                is_requester(input.request_payer.as_ref()),
                input.expected_bucket_owner.clone(),
            )
            .await?;
        let version_id = versioning::read_version(read.versioning, &read.version);
        let (meta, charged_) = (read.version, read.charged);
        encryption::check_key(meta.sse.as_ref(), customer.as_ref())?;
        let echo = encryption::Echo::of(meta.sse.as_ref(), customer.as_ref());
        let tag_count = self.tag_count((&requester, &context), &input.bucket, &input.key, &meta);
        let freshness = check_read_conditions(
            &meta,
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
            input.if_unmodified_since.as_ref(),
        )?;
        let h = &meta.headers;
        if freshness == Freshness::NotModified {
            return Ok(not_modified(dto::HeadObjectOutput {
                e_tag: meta.etag.clone().map(dto::ETag::Strong),
                last_modified: Some(timestamp(meta.modified)),
                cache_control: h.cache_control.clone(),
                expires: expires_of(h),
                version_id,
                ..Default::default()
            }));
        }
        let part = match (&input.range, input.part_number) {
            (Some(_), Some(_)) => return Err(range_and_part()),
            (_, Some(number)) => Some(self.part_of(&meta, number).await?),
            (_, None) => None,
        };
        let checksum = checksum_answer(&meta, input.checksum_mode.as_ref(), false, part.as_ref());
        let mut answer = S3Response::new(dto::HeadObjectOutput {
            content_length: Some(match &part {
                Some(p) => (p.range.end - p.range.start) as i64,
                None => meta.size as i64,
            }),
            content_range: part.as_ref().and_then(|p| p.content_range(meta.size)),
            parts_count: part.as_ref().and_then(|p| p.count),
            accept_ranges: Some("bytes".into()),
            content_type: Some(content_type_of(&meta)),
            e_tag: meta.etag.clone().map(dto::ETag::Strong),
            last_modified: Some(timestamp(meta.modified)),
            request_charged: if charged_ { charged() } else { None },
            cache_control: h.cache_control.clone(),
            content_disposition: h.content_disposition.clone(),
            content_encoding: h.content_encoding.clone(),
            content_language: h.content_language.clone(),
            expires: expires_of(h),
            metadata: metadata_of(h),
            version_id,
            ..Default::default()
        });
        if let Some((algorithm, kind, value)) = checksum {
            set_checksum!(answer.output, algorithm, value);
            answer.output.checksum_type = Some(dto::ChecksumType::from_static(kind.name()));
        }
        if part.is_some_and(|p| p.range.end > p.range.start) {
            // A part is a partial answer, as a GET of it is (s3s gives a
            // HEAD 200; the front sets the status).
            answer.extensions.insert(crate::edge::front::PartialContent);
        }
        Ok(echo.answer(tagging::counted(answer, tag_count)))
    }

    async fn delete_object(
        &self,
        req: S3Request<dto::DeleteObjectInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectOutput>> {
        let requester = self.requester(&req);
        let (bucket, key) = Self::names(&req.input.bucket, Some(&req.input.key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        let version = req.input.version_id.as_deref();
        Self::may_delete(
            &requester,
            &info,
            Some(key.as_str()),
            version,
            &conditions_of(&req),
        )?;
        let conditions = delete::delete_conditions(
            req.input.if_match.as_ref().map(expected),
            req.input.if_match_last_modified_time.as_ref(),
            req.input.if_match_size,
        );
        if matches!(conditions.if_match, Some(Expected::ETag(_))) && version.is_none() {
            self.resolve_current_etag(&info, &key).await?;
        }
        let deletion = self
            .delete_one(
                &bucket,
                &key,
                version,
                &requester,
                info.owner.account_id.as_str(),
                conditions,
            )
            .await
            .map_err(to_s3s)?;
        let (delete_marker, version_id) = deletion.marker_and_version();
        Ok(S3Response::new(dto::DeleteObjectOutput {
            delete_marker,
            version_id,
            ..Default::default()
        }))
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<dto::PutBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::PutBucketVersioningOutput>> {
        self.put_bucket_versioning_(req).await
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<dto::GetBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::GetBucketVersioningOutput>> {
        self.get_bucket_versioning_(req).await
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        self.list_objects_v2_(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        self.list_objects_(req).await
    }

    async fn list_object_versions(
        &self,
        req: S3Request<dto::ListObjectVersionsInput>,
    ) -> S3Result<S3Response<dto::ListObjectVersionsOutput>> {
        self.list_object_versions_(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        self.delete_bucket_(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        self.delete_objects_(req).await
    }

    async fn copy_object(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        self.copy_object_(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        self.upload_part_copy_(req).await
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<dto::PutBucketAclInput>,
    ) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
        self.put_bucket_acl_(req).await
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
        self.get_bucket_acl_(req).await
    }

    async fn put_object_acl(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        self.put_object_acl_(req).await
    }

    async fn get_object_acl(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        self.get_object_acl_(req).await
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<dto::GetObjectAttributesInput>,
    ) -> S3Result<S3Response<dto::GetObjectAttributesOutput>> {
        self.get_object_attributes_(req).await
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<dto::PutBucketCorsInput>,
    ) -> S3Result<S3Response<dto::PutBucketCorsOutput>> {
        self.put_bucket_cors_(req).await
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<dto::GetBucketCorsInput>,
    ) -> S3Result<S3Response<dto::GetBucketCorsOutput>> {
        self.get_bucket_cors_(req).await
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<dto::DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketCorsOutput>> {
        self.delete_bucket_cors_(req).await
    }
}

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

/// An upload's body in a fsynced temp file.
struct Received {
    /// Removes the file when dropped, unless it was renamed by then.
    temp: TempGuard,
    /// Hex MD5 of the bytes.
    md5: String,
    size: u64,
    /// The checksum (base64) its claim named, when it named one.
    checksum: Option<String>,
}

/// What an upload's bytes are checked against.
struct Integrity<'a> {
    /// `Content-MD5`.
    content_md5: Option<&'a str>,
    /// The additional checksum to compute, and the value to check.
    claim: Claim,
    /// The `aws-chunked` body's trailer, read once the body is.
    trailers: Option<s3s::TrailingHeaders>,
}

/// The checksum a GET or HEAD with `x-amz-checksum-mode: ENABLED` gives,
/// as S3 gives it: the object's; for a part of a multipart object with a
/// composite checksum, the part's own (a full-object one has none per
/// part); none for a `Range` (no checksum covers it) or without the mode.
fn checksum_answer(
    meta: &ObjectMeta,
    mode: Option<&dto::ChecksumMode>,
    ranged: bool,
    part: Option<&parts::PartSlice>,
) -> Option<(Algorithm, Kind, String)> {
    if ranged || mode.is_none_or(|m| m.as_str() != dto::ChecksumMode::ENABLED) {
        return None;
    }
    let whole = meta.checksum.as_ref()?;
    match part {
        Some(p) if p.count.is_some() => match whole.kind {
            Kind::Composite => p
                .checksum
                .clone()
                .map(|v| (whole.algorithm, Kind::Composite, v)),
            Kind::FullObject => None,
        },
        _ => Some((whole.algorithm, whole.kind, whole.value.clone())),
    }
}

/// Removes an upload's temp file unless the upload was committed.
struct TempGuard(std::path::PathBuf);

impl Drop for TempGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Which requests may arrive unsigned: object reads (the ACL decides), the
/// rest need a signature; then what every request is checked for before
/// its operation (`screen`: `x-amz-expected-bucket-owner`, small XML
/// bodies).
pub(crate) struct Access {
    pub(crate) store: Arc<Store>,
}

#[async_trait::async_trait]
impl s3s::access::S3Access for Access {
    async fn check(&self, cx: &mut s3s::access::S3AccessContext<'_>) -> S3Result<()> {
        // Each of these decides by the ACLs itself.
        let anonymous_ok = matches!(
            cx.s3_op().name(),
            "GetObject"
                | "HeadObject"
                | "GetObjectAttributes"
                | "ListObjects"
                | "ListObjectsV2"
                | "ListObjectVersions"
                | "HeadBucket"
                | "PutObject"
                | "PostObject"
                | "CreateMultipartUpload"
                | "UploadPart"
                | "UploadPartCopy"
                | "CompleteMultipartUpload"
                | "AbortMultipartUpload"
                | "ListParts"
                | "ListMultipartUploads"
                | "DeleteObject"
                | "DeleteObjects"
                | "CopyObject"
                | "GetObjectAcl"
                | "PutObjectAcl"
                | "GetBucketAcl"
                | "PutBucketAcl"
                | "GetObjectTagging"
                | "PutObjectTagging"
                | "DeleteObjectTagging"
        );
        if cx.credentials().is_none() && !anonymous_ok {
            return Err(s3_error!(AccessDenied, "Signature is required"));
        }
        screen::check(&self.store, cx).await
    }
}

/// A write's refusal as S3 answers it.
pub(crate) fn write_refused(e: WriteError) -> s3s::S3Error {
    match e {
        WriteError::Store(e) => to_s3s(e),
        WriteError::PreconditionFailed => s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ),
        WriteError::NoSuchKey => s3_error!(NoSuchKey, "The specified key does not exist."),
    }
}

fn expected(c: &dto::ETagCondition) -> Expected {
    match c {
        dto::ETagCondition::Any => Expected::Any,
        dto::ETagCondition::ETag(e) => Expected::ETag(e.value().to_owned()),
    }
}

/// PutObject's and CompleteMultipartUpload's `If-Match` and
/// `If-None-Match`. AWS takes `If-None-Match` only as `*` (and answers 501
/// to an ETag); an ETag is honoured here as RFC 9110 and Ceph RGW have it
/// (the write goes ahead unless the current version has that ETag), as
/// s3-tests' conditional-write tests expect.
pub(crate) fn write_conditions(
    if_match: Option<&dto::ETagCondition>,
    if_none_match: Option<&dto::ETagCondition>,
) -> S3Result<Preconditions> {
    Ok(Preconditions {
        if_match: if_match.map(expected),
        if_none_match: if_none_match.map(expected),
    })
}

/// Seconds since the epoch of an S3 timestamp.
fn epoch_secs(t: &Timestamp) -> Option<i64> {
    let mut out = Vec::new();
    t.format(dto::TimestampFormat::EpochSeconds, &mut out)
        .ok()?;
    let text = String::from_utf8(out).ok()?;
    let whole = text.split('.').next()?;
    whole.parse().ok()
}

/// What a GET's or HEAD's conditions leave to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// The object (no condition, or all of them held).
    Send,
    /// `304 Not Modified`: the client's copy is current.
    NotModified,
}

/// A `304 Not Modified` answer: `output` holds the validators and caching
/// headers a 200 would have carried (RFC 9110 §15.4.5; S3 sends `ETag` and
/// `Last-Modified`), and no body. (s3s would answer 200 for an output;
/// the front sets the status.)
fn not_modified<T>(output: T) -> S3Response<T> {
    let mut response = S3Response::new(output);
    response.extensions.insert(crate::edge::front::NotModified);
    response
}

/// GetObject's and HeadObject's conditions, as S3 (and RFC 9110) orders
/// them: `If-Match` (else `If-Unmodified-Since`) failing is 412; then
/// `If-None-Match` (else `If-Modified-Since`) failing is 304. Evaluated on
/// the version that is served.
fn check_read_conditions(
    meta: &ObjectMeta,
    if_match: Option<&dto::ETagCondition>,
    if_none_match: Option<&dto::ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<Freshness> {
    let failed = || {
        s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        )
    };
    match if_match {
        Some(c) => {
            if !expected(c).matches_etag(meta.etag.as_deref().unwrap_or_default()) {
                return Err(failed());
            }
        }
        None => {
            if let Some(t) = if_unmodified_since.and_then(epoch_secs)
                && meta.modified > t
            {
                return Err(failed());
            }
        }
    }
    match if_none_match {
        Some(c) => {
            if expected(c).matches_etag(meta.etag.as_deref().unwrap_or_default()) {
                return Ok(Freshness::NotModified);
            }
        }
        None => {
            if let Some(t) = if_modified_since.and_then(epoch_secs)
                && meta.modified <= t
            {
                return Ok(Freshness::NotModified);
            }
        }
    }
    Ok(Freshness::Send)
}

/// The headers of an upload to keep with the object.
pub(crate) fn headers_of(
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    expires: Option<&Timestamp>,
    metadata: Option<dto::Metadata>,
) -> Headers {
    let expires = expires.and_then(|t| {
        let mut out = Vec::new();
        t.format(dto::TimestampFormat::HttpDate, &mut out).ok()?;
        String::from_utf8(out).ok()
    });
    Headers {
        cache_control,
        content_disposition,
        content_encoding: content_encoding.and_then(|e| without_aws_chunked(&e)),
        content_language,
        expires,
        user: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect(),
    }
}

/// A `Content-Encoding` without `aws-chunked`, which names how the upload
/// was framed, not the object's encoding (S3 drops it; none is left when
/// it was the only one).
fn without_aws_chunked(encoding: &str) -> Option<String> {
    let kept: Vec<&str> = encoding
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

fn expires_of(h: &Headers) -> Option<Timestamp> {
    let text = h.expires.as_deref()?;
    Timestamp::parse(dto::TimestampFormat::HttpDate, text).ok()
}

fn metadata_of(h: &Headers) -> Option<dto::Metadata> {
    (!h.user.is_empty()).then(|| h.user.clone().into_iter().collect())
}

/// The largest GetObject body read at once on the runtime's thread (and
/// sent with the head in one write); larger ones are streamed from a
/// blocking thread.
const INLINE_BODY: u64 = 64 * 1024;

/// The chunk a streamed GetObject body is read in (unthrottled): what a
/// client that stops reading leaves the server holding, with hyper's
/// write buffer.
pub(crate) const STREAM_CHUNK: usize = 64 * 1024;

/// Reads `want` bytes of `file` at `at` (fewer only at its end, which a
/// snapshot's length makes an error).
fn read_chunk(
    file: &crate::sse::ObjectReader,
    at: u64,
    want: usize,
) -> std::io::Result<bytes::Bytes> {
    let mut buf = vec![0; want];
    file.read_exact_at(&mut buf, at)?;
    Ok(bytes::Bytes::from(buf))
}

/// GetObject's answer: the object's headers (or the request's
/// `response-*` overrides) and `body`, the bytes `range` of the object
/// (with its `Content-Range`, and the object's parts count when a part was
/// asked for).
fn get_output(
    input: dto::GetObjectInput,
    meta: &ObjectMeta,
    body: StreamingBlob,
    (range, content_range, parts_count): (std::ops::Range<u64>, Option<String>, Option<i32>),
    charged_: bool,
) -> dto::GetObjectOutput {
    let h = &meta.headers;
    dto::GetObjectOutput {
        body: Some(body),
        content_length: Some((range.end - range.start) as i64),
        content_range,
        parts_count,
        accept_ranges: Some("bytes".into()),
        content_type: Some(
            input
                .response_content_type
                .unwrap_or_else(|| content_type_of(meta)),
        ),
        e_tag: meta.etag.clone().map(dto::ETag::Strong),
        last_modified: Some(timestamp(meta.modified)),
        request_charged: if charged_ { charged() } else { None },
        cache_control: input.response_cache_control.or(h.cache_control.clone()),
        content_disposition: input
            .response_content_disposition
            .or(h.content_disposition.clone()),
        content_encoding: input
            .response_content_encoding
            .or(h.content_encoding.clone()),
        content_language: input
            .response_content_language
            .or(h.content_language.clone()),
        expires: input.response_expires.or_else(|| expires_of(h)),
        metadata: metadata_of(h),
        ..Default::default()
    }
}

/// A GET or HEAD with both `Range` and `partNumber`.
fn range_and_part() -> s3s::S3Error {
    s3_error!(
        InvalidRequest,
        "Cannot specify both Range header and partNumber query parameter"
    )
}

/// The object's Content-Type, or S3's default.
fn content_type_of(meta: &ObjectMeta) -> dto::ContentType {
    meta.content_type
        .clone()
        .unwrap_or_else(|| "binary/octet-stream".to_owned())
}
