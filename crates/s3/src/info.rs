//! What a host knows about buckets and objects.

use std::sync::Arc;

use crate::acl::{Acl, ObjectOwnership};
use crate::bucket_policy::{BucketPolicy, PolicyVerdict};
use crate::model::{BucketName, ObjectKey, Principal};

/// A bucket's Block Public Access configuration (`PutPublicAccessBlock`),
/// S3's four independent settings. The default blocks nothing: a bucket
/// without a configuration.
///
/// "Public" is S3's meaning: an ACL grant to the `AllUsers` or
/// `AuthenticatedUsers` group ([`Acl::is_public`]), a policy that allows
/// anyone ([`BucketPolicy::is_public`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`: a request that sets a public ACL (PutBucketAcl,
    /// PutObjectAcl, or a write with `x-amz-acl`/`x-amz-grant-*`) is
    /// refused with `AccessDenied`. ACLs already set stay as they are.
    pub block_public_acls: bool,
    /// `IgnorePublicAcls`: public grants, on the bucket and its objects,
    /// grant nothing.
    pub ignore_public_acls: bool,
    /// `BlockPublicPolicy`: a PutBucketPolicy of a public policy is refused
    /// with `AccessDenied`. A policy already set stays.
    pub block_public_policy: bool,
    /// `RestrictPublicBuckets`: while the bucket's policy is public, it
    /// allows nobody outside the bucket owner's account (anonymous
    /// requesters included, and accounts it names); its denies stand.
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    /// All four settings on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: true,
        block_public_policy: true,
        restrict_public_buckets: true,
    };
}

/// General purpose or directory bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BucketKind {
    /// A general purpose bucket.
    #[default]
    General,
    /// An S3 Express One Zone directory bucket (no torrents, no ACLs).
    Directory,
}

/// A bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketInfo {
    /// Its name.
    pub name: BucketName,
    /// Its owner.
    pub owner: Principal,
    /// Its ACL (`READ` on a bucket is permission to list it).
    pub acl: Acl,
    /// Object ownership.
    pub ownership: ObjectOwnership,
    /// Whether requesters pay.
    pub requester_pays: bool,
    /// General or directory bucket.
    pub kind: BucketKind,
    /// Its policy, if it has one: with the ACLs, it decides every request
    /// (an explicit deny wins over any grant).
    pub policy: Option<Arc<BucketPolicy>>,
    /// Its Block Public Access settings (none blocked when it has no
    /// configuration).
    pub public_access: PublicAccessBlock,
}

impl BucketInfo {
    /// What its policy says of `requester` doing `action` on the bucket,
    /// or on its object `key` (see [`BucketPolicy::evaluate`]); no policy
    /// has no opinion (and costs no ARN). Under Block Public Access's
    /// `RestrictPublicBuckets`, a public policy ([`BucketPolicy::is_public`])
    /// allows nobody outside the bucket owner's account: its allows are no
    /// opinion for them (anonymous requesters included), its denies stand.
    pub fn policy_verdict(
        &self,
        requester: &crate::model::Requester,
        action: &str,
        key: Option<&str>,
    ) -> PolicyVerdict {
        self.policy_verdict_in(requester, action, key, &[])
    }

    /// [`policy_verdict`](Self::policy_verdict) with more condition keys
    /// the host knows of the request (a write's
    /// `s3:x-amz-server-side-encryption`, as sent).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use s3torrent_s3::{
    ///     AccountId, BucketInfo, BucketName, BucketPolicy, CanonicalId, PolicyVerdict, Principal,
    ///     Requester,
    /// };
    ///
    /// let name = BucketName::new("enc")?;
    /// let owner = Principal::new(CanonicalId::new("c0ffee")?, AccountId::new("111122223333")?);
    /// let mut bucket = BucketInfo::new(name.clone(), owner.clone());
    /// bucket.policy = Some(Arc::new(BucketPolicy::parse(
    ///     r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:PutObject",
    ///         "Resource":"arn:aws:s3:::enc/*",
    ///         "Condition":{"Null":{"s3:x-amz-server-side-encryption":"true"}}}}"#,
    ///     &name,
    /// )?));
    /// let me = Requester::Authenticated(owner);
    /// assert_eq!(bucket.policy_verdict_in(&me, "s3:PutObject", Some("k"), &[]), PolicyVerdict::Deny);
    /// let sse = [("s3:x-amz-server-side-encryption", "AES256")];
    /// assert_eq!(bucket.policy_verdict_in(&me, "s3:PutObject", Some("k"), &sse), PolicyVerdict::NoOpinion);
    /// # Ok::<(), s3torrent_s3::S3Error>(())
    /// ```
    pub fn policy_verdict_in(
        &self,
        requester: &crate::model::Requester,
        action: &str,
        key: Option<&str>,
        context: &[(&str, &str)],
    ) -> PolicyVerdict {
        let Some(policy) = &self.policy else {
            return PolicyVerdict::NoOpinion;
        };
        let mut all = Vec::with_capacity(context.len() + 1);
        all.push(("aws:SecureTransport", "false"));
        all.extend_from_slice(context);
        let verdict = policy.evaluate(requester, action, &self.arn(key), &all);
        let outsider = || {
            requester
                .principal()
                .is_none_or(|p| p.account_id != self.owner.account_id)
        };
        if verdict == PolicyVerdict::Allow
            && self.public_access.restrict_public_buckets
            && outsider()
            && policy.is_public()
        {
            return PolicyVerdict::NoOpinion;
        }
        verdict
    }

    /// The ARN of the bucket (`arn:aws:s3:::NAME`), or of one of its
    /// objects, as policies name them.
    pub fn arn(&self, key: Option<&str>) -> String {
        match key {
            Some(k) => format!("arn:aws:s3:::{}/{k}", self.name.as_str()),
            None => format!("arn:aws:s3:::{}", self.name.as_str()),
        }
    }

    /// A general purpose bucket with ACLs enabled and the `private` ACL.
    pub fn new(name: BucketName, owner: Principal) -> Self {
        let acl = Acl::canned(crate::acl::CannedAcl::Private, &owner, &owner);
        BucketInfo {
            name,
            owner,
            acl,
            ownership: ObjectOwnership::default(),
            requester_pays: false,
            kind: BucketKind::General,
            policy: None,
            public_access: PublicAccessBlock::default(),
        }
    }
}

/// Server-side encryption of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Encryption {
    /// None.
    #[default]
    None,
    /// SSE-S3 (AES256 with S3-managed keys).
    SseS3,
    /// SSE-KMS.
    SseKms,
    /// SSE-C: the customer holds the key, so the store cannot read the data for a torrent.
    SseC,
}

/// An object's storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StorageClass {
    /// STANDARD, and any class readable at once (STANDARD_IA, ONEZONE_IA,
    /// INTELLIGENT_TIERING frequent tiers, GLACIER_IR, REDUCED_REDUNDANCY…).
    #[default]
    Standard,
    /// GLACIER (Flexible Retrieval): archived, readable only once restored.
    Glacier,
    /// DEEP_ARCHIVE: archived, readable only once restored.
    DeepArchive,
}

impl StorageClass {
    /// Whether data in this class must be restored before it can be read.
    pub fn is_archived(self) -> bool {
        matches!(self, StorageClass::Glacier | StorageClass::DeepArchive)
    }
}

/// Whether an archived object has a readable restored copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RestoreState {
    /// No restore requested.
    #[default]
    NotRestored,
    /// A restore is under way.
    InProgress,
    /// A restored copy is readable.
    Restored,
}

/// An object's entity tag, as far as the host knows it.
///
/// ```
/// use s3torrent_s3::ETag;
///
/// assert_eq!(ETag::from("abc").as_known(), Some("abc"));
/// assert_eq!(ETag::Uncomputed.as_known(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ETag {
    /// The ETag, without quotes: an MD5 in hex, or a multipart upload's
    /// `MD5-N`.
    Known(String),
    /// Not computed yet: an object the host adopted (a file put in place by
    /// other means) whose MD5 nobody has computed. The metadata an access
    /// decision needs (size, mtime, owner, ACL) does not need it; the
    /// [`TorrentService`](crate::TorrentService) computes it once, after the
    /// decision allowed the request, in the same pass as the torrent's
    /// pieces (see [`TorrentService::resolve_etag`](crate::TorrentService::resolve_etag)),
    /// and hands it to [`ObjectSource::record_etag`](crate::ObjectSource::record_etag).
    Uncomputed,
}

impl ETag {
    /// The ETag, if known.
    pub fn as_known(&self) -> Option<&str> {
        match self {
            ETag::Known(e) => Some(e),
            ETag::Uncomputed => None,
        }
    }
}

impl From<String> for ETag {
    fn from(etag: String) -> Self {
        ETag::Known(etag)
    }
}

impl From<&str> for ETag {
    fn from(etag: &str) -> Self {
        ETag::Known(etag.to_owned())
    }
}

/// An object version, or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key.
    pub key: ObjectKey,
    /// The version ID, in a versioned bucket.
    pub version_id: Option<String>,
    /// Whether this version is a delete marker.
    pub delete_marker: bool,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, or that it is not computed yet.
    pub etag: ETag,
    /// Last modified, seconds since the Unix epoch.
    pub last_modified: i64,
    /// The ACL, whose owner is the object's owner.
    pub acl: Acl,
    /// Server-side encryption.
    pub encryption: Encryption,
    /// Storage class.
    pub storage_class: StorageClass,
    /// Restore state, for archived classes.
    pub restore: RestoreState,
}

impl ObjectInfo {
    /// An unversioned, unencrypted STANDARD object with the `private` ACL
    /// of `owner`. `etag` is a known ETag (a `String` or `&str`), or
    /// [`ETag::Uncomputed`].
    pub fn new(key: ObjectKey, size: u64, etag: impl Into<ETag>, owner: &Principal) -> Self {
        ObjectInfo {
            key,
            version_id: None,
            delete_marker: false,
            size,
            etag: etag.into(),
            last_modified: 0,
            acl: Acl::canned(crate::acl::CannedAcl::Private, owner, owner),
            encryption: Encryption::None,
            storage_class: StorageClass::Standard,
            restore: RestoreState::NotRestored,
        }
    }

    /// The object's owner.
    pub fn owner(&self) -> &Principal {
        &self.acl.owner
    }
}

/// The answer to "this key (and version) in this bucket?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectLookup {
    /// The object version (or delete marker) asked for; without a version ID, the current one.
    Found(ObjectInfo),
    /// The key has no versions at all.
    NoSuchKey,
    /// The key exists but not the version asked for.
    NoSuchVersion,
}
