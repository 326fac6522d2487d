//! The GetObjectTorrent decision: a torrent plan, or the exact S3 error.

use s3torrent_metainfo::{PieceLength, Profile, TorrentBuilder, TorrentVersion, torrent_name};

use crate::acl::Permission;
use crate::bucket_policy::{ConditionContext, PolicyVerdict};
use crate::error::{ErrorCode, Result, S3Error};
use crate::info::{BucketInfo, BucketKind, Encryption, ObjectInfo, ObjectLookup, RestoreState};
use crate::model::{AccountId, BucketName, ObjectKey, Requester};
use crate::policy::TorrentPolicy;

/// A GetObjectTorrent request, as the host received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentRequest {
    /// The bucket, as named in the request.
    pub bucket: String,
    /// The key; `None` for `GET /bucket?torrent`.
    pub key: Option<String>,
    /// `versionId`, if given.
    pub version_id: Option<String>,
    /// Whether `x-amz-request-payer: requester` was sent.
    pub request_payer: bool,
    /// `x-amz-expected-bucket-owner`, unchecked.
    pub expected_bucket_owner: Option<String>,
    /// Who is asking, as the host authenticated them.
    pub requester: Requester,
    /// The condition keys the host knows of the request, for the bucket
    /// policy (the object's tags are added by the decision).
    pub context: ConditionContext,
}

impl TorrentRequest {
    /// An anonymous request for `bucket`/`key` with no options.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>, requester: Requester) -> Self {
        TorrentRequest {
            bucket: bucket.into(),
            key: Some(key.into()),
            version_id: None,
            request_payer: false,
            expected_bucket_owner: None,
            requester,
            context: ConditionContext::new(),
        }
    }

    /// `/bucket/key`, the resource S3 names in errors.
    pub fn resource(&self) -> String {
        match &self.key {
            Some(k) => format!("/{}/{k}", self.bucket),
            None => format!("/{}", self.bucket),
        }
    }
}

/// The request after its names were checked: what to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedRequest {
    /// The bucket.
    pub bucket: BucketName,
    /// The key.
    pub key: ObjectKey,
    /// The version, if asked for.
    pub version_id: Option<String>,
    expected_owner: Option<AccountId>,
}

impl CheckedRequest {
    /// `x-amz-expected-bucket-owner`, checked to be an account ID; `None`
    /// when the request did not send it.
    pub fn expected_owner(&self) -> Option<&AccountId> {
        self.expected_owner.as_ref()
    }

    /// Rule 3 of [`decide`]: `AccessDenied` 403 (naming `resource`) when the
    /// request expects another bucket owner than `bucket`'s. GetObject and
    /// HeadObject share it.
    pub fn check_expected_owner(&self, bucket: &BucketInfo, resource: &str) -> Result<()> {
        match &self.expected_owner {
            Some(expected) if *expected != bucket.owner.account_id => {
                Err(S3Error::new(ErrorCode::AccessDenied, resource))
            }
            _ => Ok(()),
        }
    }
}

/// Everything a torrent builder needs, once the request is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentPlan {
    /// The bucket.
    pub bucket: BucketName,
    /// The object version to hash.
    pub object: ObjectInfo,
    /// The torrent's `name`: [`torrent_name`] of the key.
    pub name: String,
    /// The piece length.
    pub piece_length: PieceLength,
    /// v1, v2 or hybrid.
    pub version: TorrentVersion,
    /// AWS or plain.
    pub profile: Profile,
    /// Trackers, each its own tier.
    pub trackers: Vec<String>,
    /// The web seed (`url-list`), if any.
    pub web_seed: Option<String>,
    /// Whether the response carries `x-amz-request-charged: requester`.
    pub request_charged: bool,
}

impl TorrentPlan {
    /// The builder for this plan's torrent.
    pub fn builder(&self) -> TorrentBuilder {
        let mut b = match self.profile {
            Profile::Aws => TorrentBuilder::aws(self.bucket.as_str(), self.object.key.as_str()),
            Profile::Plain => TorrentBuilder::plain(self.name.clone()),
        }
        .name(self.name.clone())
        .version(self.version);
        for t in &self.trackers {
            b = b.tracker(t.clone());
        }
        if let Some(w) = &self.web_seed {
            b = b.web_seed(w.clone());
        }
        b
    }
}

/// Step one: the request's own shape. `?torrent` on a bucket, a bad bucket
/// name, a key over 1024 bytes, or a malformed expected owner is refused
/// before anything is looked up.
pub fn check_request(req: &TorrentRequest) -> Result<CheckedRequest> {
    let resource = req.resource();
    let at = |e: S3Error| S3Error::with_message(e.code(), e.message(), resource.clone());
    let Some(key) = &req.key else {
        return Err(S3Error::new(
            ErrorCode::RequestTorrentOfBucketError,
            resource,
        ));
    };
    let bucket = BucketName::new(req.bucket.clone()).map_err(at)?;
    let key = ObjectKey::new(key.clone()).map_err(at)?;
    let expected_owner = req
        .expected_bucket_owner
        .as_deref()
        .map(AccountId::new)
        .transpose()
        .map_err(at)?;
    Ok(CheckedRequest {
        bucket,
        key,
        version_id: req.version_id.clone(),
        expected_owner,
    })
}

/// Decides GetObjectTorrent from plain data.
///
/// `bucket` is the bucket if it exists; `object` the lookup of the key (and
/// version). The rules, in order:
///
/// 1. no key: `RequestTorrentOfBucketError` 400 (and malformed names or
///    headers: their own 400s, see [`check_request`]);
/// 2. no bucket: `NoSuchBucket` 404;
/// 3. `x-amz-expected-bucket-owner` not the bucket owner's account: `AccessDenied` 403;
/// 4. a directory bucket: `NotImplemented` 501, as S3 documents
///    GetObjectTorrent as unsupported there; `versionId` when the policy
///    refuses versions: `InvalidArgument` 400;
/// 5. no such key, no such version, or a delete marker as the current
///    version: `NoSuchKey`/`NoSuchVersion` 404 if the requester may list the
///    bucket, else `AccessDenied` 403, so that existence does not leak. A
///    delete marker asked for by version ID: `MethodNotAllowed` 405, as GET does;
/// 6. no `READ` on the object (to a bucket policy `s3:GetObject`, or
///    `s3:GetObjectVersion` when `versionId` names the version): `AccessDenied`
///    403. With `BucketOwnerEnforced`
///    ACLs are ignored and only the bucket owner's account may read; under
///    Block Public Access, `IgnorePublicAcls` makes public grants grant
///    nothing and `RestrictPublicBuckets` confines a public policy to the
///    owner's account (see [`PublicAccessBlock`](crate::PublicAccessBlock));
/// 7. a requester-pays bucket, a requester other than the bucket owner: 403
///    unless `x-amz-request-payer: requester` was sent (then the plan is
///    marked charged); anonymous requesters are never served. This rule is
///    checked before rule 5, so a missing key is 403 too, as in S3;
/// 8. SSE-C: `InvalidRequest` 400;
/// 9. larger than the policy's limit: `InvalidRequest` 400, "Torrent creation
///    is not supported for objects larger than N";
///    A 0-byte object: `InvalidRequest` 400 too, as BitTorrent clients
///    (libtorrent among them) refuse torrents of length 0;
/// 10. archived (GLACIER, DEEP_ARCHIVE) and not restored: `InvalidObjectState` 403.
pub fn decide(
    req: &TorrentRequest,
    bucket: Option<&BucketInfo>,
    object: &ObjectLookup,
    policy: &TorrentPolicy,
) -> Result<TorrentPlan> {
    let checked = check_request(req)?;
    let bucket = check_bucket(req, &checked, bucket, policy)?;
    decide_object(req, &checked, bucket, object, policy)
}

/// Rules 2 to 4: the bucket.
pub(crate) fn check_bucket<'b>(
    req: &TorrentRequest,
    checked: &CheckedRequest,
    bucket: Option<&'b BucketInfo>,
    policy: &TorrentPolicy,
) -> Result<&'b BucketInfo> {
    let resource = req.resource();
    let bucket = bucket.ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, resource.clone()))?;
    checked.check_expected_owner(bucket, &resource)?;
    if bucket.kind == BucketKind::Directory {
        return Err(S3Error::with_message(
            ErrorCode::NotImplemented,
            "GetObjectTorrent is not supported for directory buckets.",
            resource,
        ));
    }
    if checked.version_id.is_some() && !policy.allow_version_id {
        return Err(S3Error::with_message(
            ErrorCode::InvalidArgument,
            "Torrents of specific object versions are not available here.",
            resource,
        ));
    }
    Ok(bucket)
}

/// Read access to an object, as GetObject and GetObjectTorrent share it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadAccess<'o> {
    /// The object version that may be read.
    pub object: &'o ObjectInfo,
    /// Whether the requester pays (`x-amz-request-charged: requester`).
    pub request_charged: bool,
}

/// Rules 5 to 7 of [`decide`]: whether the requester may read the object
/// at all (existence without leaks, `READ`, requester pays). A host's
/// GetObject calls this too, so that making an object private stops both
/// the download and the torrent.
pub fn authorize_read<'o>(
    req: &TorrentRequest,
    bucket: &BucketInfo,
    object: &'o ObjectLookup,
) -> Result<ReadAccess<'o>> {
    let resource = req.resource();
    let requester = &req.requester;
    let is_bucket_owner = requester
        .principal()
        .is_some_and(|p| p.account_id == bucket.owner.account_id);
    let acls_off = bucket.ownership.acls_disabled();
    // The bucket policy first: an explicit deny wins over every grant, an
    // allow grants what the ACLs do not. Whether the requester may list is
    // asked only when the object is missing. The ACLs count as the bucket's
    // settings let them (Block Public Access's IgnorePublicAcls).
    let allowed = |verdict: PolicyVerdict, acl: &crate::acl::Acl| match verdict {
        PolicyVerdict::Deny => false,
        PolicyVerdict::Allow => true,
        PolicyVerdict::NoOpinion if acls_off => is_bucket_owner,
        PolicyVerdict::NoOpinion => bucket.acl_allows(acl, requester, Permission::Read),
    };
    let missing = |code: ErrorCode| {
        let list = bucket.policy_verdict(requester, "s3:ListBucket", None, &req.context);
        S3Error::new(
            if allowed(list, &bucket.acl) {
                code
            } else {
                ErrorCode::AccessDenied
            },
            resource.clone(),
        )
    };
    // Requester pays comes first: S3 refuses anonymous requests and, from
    // anyone but the bucket owner, requests without the header, whatever the
    // key, so that a requester who may not list without paying does not
    // learn which keys exist either.
    let request_charged = bucket.requester_pays && !is_bucket_owner;
    if request_charged && (!req.request_payer || requester.principal().is_none()) {
        return Err(S3Error::with_message(
            ErrorCode::AccessDenied,
            "Access Denied: this bucket is requester pays; send x-amz-request-payer: requester.",
            resource.clone(),
        ));
    }
    let info = match object {
        ObjectLookup::NoSuchKey => return Err(missing(ErrorCode::NoSuchKey)),
        ObjectLookup::NoSuchVersion => return Err(missing(ErrorCode::NoSuchVersion)),
        ObjectLookup::Found(info) if info.delete_marker => {
            if req.version_id.is_some() {
                return Err(S3Error::new(ErrorCode::MethodNotAllowed, resource));
            }
            return Err(missing(ErrorCode::NoSuchKey));
        }
        ObjectLookup::Found(info) => info,
    };
    // A version named by its ID is `s3:GetObjectVersion` to a policy, as
    // in S3 (an ACL's READ grants both).
    let action = match req.version_id {
        Some(_) => "s3:GetObjectVersion",
        None => "s3:GetObject",
    };
    let read_verdict = bucket.policy_verdict(
        requester,
        action,
        Some(info.key.as_str()),
        &info.with_existing_tags(&req.context),
    );
    let may_read = allowed(read_verdict, &info.acl);
    if !may_read {
        return Err(S3Error::new(ErrorCode::AccessDenied, resource));
    }
    // S3 deciphers an SSE-KMS object for a signed request only, whatever
    // the ACL or policy grants the anonymous.
    if info.encryption == Encryption::SseKms && requester.principal().is_none() {
        return Err(S3Error::with_message(
            ErrorCode::InvalidArgument,
            "Requests specifying Server Side Encryption with AWS KMS managed keys require AWS Signature Version 4.",
            resource,
        ));
    }
    Ok(ReadAccess {
        object: info,
        request_charged,
    })
}

/// Rules 5 to 10: the object.
pub(crate) fn decide_object(
    req: &TorrentRequest,
    checked: &CheckedRequest,
    bucket: &BucketInfo,
    object: &ObjectLookup,
    policy: &TorrentPolicy,
) -> Result<TorrentPlan> {
    let resource = req.resource();
    let ReadAccess {
        object: info,
        request_charged,
    } = authorize_read(req, bucket, object)?;
    if info.encryption == Encryption::SseC {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            "Torrents are not available for objects encrypted with customer-provided keys (SSE-C).",
            resource,
        ));
    }
    // No swarm could serve it: the tracker and the peer serve what anyone
    // may read anonymously, and an SSE-KMS object is read by signed
    // requests only.
    if info.encryption == Encryption::SseKms {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            "Torrents are not available for objects encrypted with SSE-KMS: they are never readable anonymously, so no swarm can serve them.",
            resource,
        ));
    }
    if info.size > policy.max_object_size {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            format!(
                "Torrent creation is not supported for objects larger than {}",
                policy.max_object_size
            ),
            resource,
        ));
    }
    if info.size == 0 {
        return Err(S3Error::with_message(
            ErrorCode::InvalidRequest,
            "Torrents are not available for empty objects: BitTorrent clients refuse torrents of 0 bytes.",
            resource,
        ));
    }
    if info.storage_class.is_archived() && info.restore != RestoreState::Restored {
        return Err(S3Error::new(ErrorCode::InvalidObjectState, resource));
    }
    Ok(TorrentPlan {
        bucket: checked.bucket.clone(),
        object: info.clone(),
        name: torrent_name(checked.key.as_str()),
        piece_length: policy.piece_length_for(info.size),
        version: policy.version,
        profile: policy.profile,
        trackers: policy.trackers.clone(),
        web_seed: web_seed_of(policy, &checked.bucket, info),
        request_charged,
    })
}

/// The web seed of an object version: the object's URL, pinned to the
/// version (`?versionId=`) when it has one, so that the web seed sends that
/// version's bytes and no other's.
pub(crate) fn web_seed_of(
    policy: &TorrentPolicy,
    bucket: &BucketName,
    object: &ObjectInfo,
) -> Option<String> {
    let mut url = policy.web_seed_url(bucket, &object.key)?;
    if let Some(version) = &object.version_id {
        url.push_str("?versionId=");
        s3torrent_metainfo::percent_encode_into(&mut url, version.as_bytes());
    }
    Some(url)
}
