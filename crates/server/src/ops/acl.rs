//! ACLs from requests and back: canned `x-amz-acl`, the `x-amz-grant-*`
//! headers and `AccessControlPolicy` bodies, resolved against the store's
//! users; Put/GetBucketAcl and Put/GetObjectAcl.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{
    Acl, AskedAcl, BucketInfo, BucketName, CannedAcl, CanonicalId, ConditionContext, ErrorCode,
    Grant, Grantee, GranteeName, ObjectInfo, ObjectKey, ObjectLookup, Permission, PolicyVerdict,
    Principal, Requester, S3Error, parse_grant_header,
};

use super::{Server, to_s3s};
use crate::store::VersionId;

/// The most grants one ACL holds, as S3.
const MAX_GRANTS: usize = 100;

/// The [`AclHeaders`] of an s3s input: its `acl` and `grant_*` fields.
/// Object inputs have no `grant_write` (S3 grants no WRITE on an object):
/// `acl_headers!(input, object)`.
macro_rules! acl_headers {
    ($input:expr, object) => {
        $crate::ops::acl::acl_headers!(@write $input, None)
    };
    ($input:expr) => {
        $crate::ops::acl::acl_headers!(@write $input, $input.grant_write.as_deref())
    };
    (@write $input:expr, $write:expr) => {
        $crate::ops::acl::AclHeaders {
            canned: $input.acl.as_ref().map(|a| a.as_str()),
            read: $input.grant_read.as_deref(),
            write: $write,
            read_acp: $input.grant_read_acp.as_deref(),
            write_acp: $input.grant_write_acp.as_deref(),
            full_control: $input.grant_full_control.as_deref(),
        }
    };
}
pub(super) use acl_headers;

/// The ACL parts of a request that writes one.
#[derive(Default)]
pub(super) struct AclHeaders<'a> {
    pub(super) canned: Option<&'a str>,
    pub(super) read: Option<&'a str>,
    pub(super) write: Option<&'a str>,
    pub(super) read_acp: Option<&'a str>,
    pub(super) write_acp: Option<&'a str>,
    pub(super) full_control: Option<&'a str>,
}

impl AclHeaders<'_> {
    /// The grant headers in the order S3 documents them (read, write,
    /// read-acp, write-acp, full-control), which is the order the ACL
    /// keeps and answers them in.
    fn grants(&self) -> [(Permission, Option<&str>); 5] {
        [
            (Permission::Read, self.read),
            (Permission::Write, self.write),
            (Permission::ReadAcp, self.read_acp),
            (Permission::WriteAcp, self.write_acp),
            (Permission::FullControl, self.full_control),
        ]
    }

    fn has_grants(&self) -> bool {
        self.grants().iter().any(|(_, v)| v.is_some())
    }
}

fn malformed(why: &str) -> s3s::S3Error {
    s3_error!(
        MalformedACLError,
        "The XML you provided was not well-formed or did not validate against our published schema: {why}"
    )
}

impl Server {
    /// The grantee a request names, resolved: a canonical ID must be one of
    /// the store's users', a group one of S3's two, and an email address is
    /// never resolvable here.
    fn resolve(&self, name: &GranteeName) -> S3Result<Grantee> {
        match name {
            GranteeName::Id(id) => {
                let id = CanonicalId::new(id.clone())
                    .map_err(|_| s3_error!(InvalidArgument, "Invalid id"))?;
                if self.store.user_by_canonical_id(&id).is_none() {
                    return Err(s3_error!(InvalidArgument, "Invalid id"));
                }
                Ok(Grantee::CanonicalUser(id))
            }
            GranteeName::Uri(uri) => Grantee::from_group_uri(uri)
                .ok_or_else(|| s3_error!(InvalidArgument, "Invalid group uri")),
            GranteeName::EmailAddress(_) | _ => Err(s3_error!(
                UnresolvableGrantByEmailAddress,
                "The email address you provided does not match any account on record."
            )),
        }
    }

    /// What a request's ACL headers ask for: a canned ACL, or the grants
    /// of the `x-amz-grant-*` headers (not both: `InvalidRequest`), or
    /// nothing.
    pub(super) fn asked_acl(&self, headers: &AclHeaders<'_>) -> S3Result<AskedAcl> {
        if headers.canned.is_some() && headers.has_grants() {
            return Err(s3_error!(
                InvalidRequest,
                "Specifying both Canned ACLs and Header Grants is not allowed"
            ));
        }
        if !headers.has_grants() {
            return Ok(match headers.canned {
                Some(name) => AskedAcl::Canned(name.parse().map_err(to_s3s)?),
                None => AskedAcl::Unspecified,
            });
        }
        let mut grants = Vec::new();
        for (permission, value) in headers.grants() {
            let Some(value) = value else { continue };
            for name in parse_grant_header(value).map_err(to_s3s)? {
                grants.push(Grant::new(self.resolve(&name)?, permission));
            }
        }
        if grants.len() > MAX_GRANTS {
            return Err(malformed("more than 100 grants"));
        }
        Ok(AskedAcl::Grants(grants))
    }

    /// The ACL a write asks for with its headers, or `private`. For an
    /// object, `owner` is its writer and `bucket_owner` the bucket's; for a
    /// bucket, its owner twice.
    pub(super) fn acl_of_headers(
        &self,
        headers: &AclHeaders<'_>,
        owner: &Principal,
        bucket_owner: &Principal,
    ) -> S3Result<Acl> {
        Ok(match self.asked_acl(headers)? {
            AskedAcl::Unspecified => Acl::canned(CannedAcl::Private, owner, bucket_owner),
            AskedAcl::Canned(canned) => Acl::canned(canned, owner, bucket_owner),
            AskedAcl::Grants(grants) => Acl {
                owner: owner.clone(),
                grants,
            },
        })
    }

    /// The ACL, and so the owner, of an object that `writer` writes into
    /// `bucket` with these headers (PutObject, CopyObject,
    /// CreateMultipartUpload), as the bucket's object ownership and Block
    /// Public Access settings have it ([`BucketInfo::new_object_acl`]).
    pub(super) fn new_object_acl(
        &self,
        headers: &AclHeaders<'_>,
        writer: &Requester,
        bucket: &BucketInfo,
    ) -> S3Result<Acl> {
        let asked = self.asked_acl(headers)?;
        bucket.new_object_acl(writer, asked).map_err(to_s3s)
    }

    /// The ACL an `AccessControlPolicy` body sets on a resource owned by
    /// `owner`: its `Owner` must be that owner (`AccessDenied` otherwise,
    /// since an ACL cannot change the owner), each grant well-formed.
    fn acl_of_policy(&self, policy: &dto::AccessControlPolicy, owner: &Principal) -> S3Result<Acl> {
        let given = policy
            .owner
            .as_ref()
            .and_then(|o| o.id.as_deref())
            .ok_or_else(|| malformed("the Owner's ID is missing"))?;
        if given != owner.canonical_id.as_str() {
            return Err(s3_error!(
                AccessDenied,
                "The Owner of an ACL cannot be changed"
            ));
        }
        let listed = policy.grants.as_deref().unwrap_or_default();
        if listed.len() > MAX_GRANTS {
            return Err(malformed("more than 100 grants"));
        }
        let mut grants = Vec::with_capacity(listed.len());
        for g in listed {
            let grantee = g
                .grantee
                .as_ref()
                .ok_or_else(|| malformed("a Grant has no Grantee"))?;
            let permission = g
                .permission
                .as_ref()
                .and_then(|p| Permission::from_name(p.as_str()))
                .ok_or_else(|| malformed("a Grant has no valid Permission"))?;
            let name = match grantee.type_.as_str() {
                dto::Type::CANONICAL_USER => GranteeName::Id(
                    grantee
                        .id
                        .clone()
                        .ok_or_else(|| s3_error!(InvalidArgument, "Invalid id"))?,
                ),
                dto::Type::GROUP => GranteeName::Uri(
                    grantee
                        .uri
                        .clone()
                        .ok_or_else(|| s3_error!(InvalidArgument, "Invalid group uri"))?,
                ),
                dto::Type::AMAZON_CUSTOMER_BY_EMAIL => {
                    GranteeName::EmailAddress(grantee.email_address.clone().unwrap_or_default())
                }
                _ => return Err(malformed("a Grantee of an unknown xsi:type")),
            };
            grants.push(Grant::new(self.resolve(&name)?, permission));
        }
        Ok(Acl {
            owner: owner.clone(),
            grants,
        })
    }

    /// The ACL a PutBucketAcl or PutObjectAcl sets: its canned header, its
    /// grant headers or its body, exactly one of them.
    fn acl_to_put(
        &self,
        headers: &AclHeaders<'_>,
        policy: Option<&dto::AccessControlPolicy>,
        owner: &Principal,
        bucket_owner: &Principal,
    ) -> S3Result<Acl> {
        let by_headers = headers.canned.is_some() || headers.has_grants();
        match (policy, by_headers) {
            (Some(_), true) => Err(s3_error!(
                UnexpectedContent,
                "This request does not support content when an ACL is given in headers"
            )),
            (Some(p), false) => self.acl_of_policy(p, owner),
            (None, true) => self.acl_of_headers(headers, owner, bucket_owner),
            (None, false) => Err(s3_error!(
                MissingSecurityHeader,
                "Your request was missing a required header: x-amz-acl"
            )),
        }
    }

    /// The `AccessControlPolicy` S3 answers for an ACL: the owner and each
    /// grant, users with their ID and display name, groups with their URI.
    /// Group grants come first, then users', each in the order they were
    /// given (as Ceph RGW lists them, which s3-tests' ACL checks rely on: they
    /// sort a list by display name only when its first grant has one).
    fn policy_of(&self, acl: &Acl) -> (dto::Owner, dto::Grants) {
        let user = |p: &Principal| (p.canonical_id.to_string(), p.account_id.to_string());
        let (id, name) = user(&acl.owner);
        let owner = dto::Owner {
            id: Some(id),
            display_name: Some(name),
        };
        let groups_first = acl
            .grants
            .iter()
            .filter(|g| g.grantee.group_uri().is_some())
            .chain(
                acl.grants
                    .iter()
                    .filter(|g| g.grantee.group_uri().is_none()),
            );
        let grants = groups_first
            .map(|g| {
                let grantee = match g.grantee.group_uri() {
                    Some(uri) => dto::Grantee {
                        type_: dto::Type::from_static(dto::Type::GROUP),
                        uri: Some(uri.to_owned()),
                        display_name: None,
                        email_address: None,
                        id: None,
                    },
                    None => {
                        let id = match &g.grantee {
                            Grantee::CanonicalUser(id) => id.clone(),
                            _ => acl.owner.canonical_id.clone(),
                        };
                        let display = self
                            .store
                            .user_by_canonical_id(&id)
                            .map(|u| u.principal.account_id.to_string());
                        dto::Grantee {
                            type_: dto::Type::from_static(dto::Type::CANONICAL_USER),
                            id: Some(id.to_string()),
                            display_name: display,
                            email_address: None,
                            uri: None,
                        }
                    }
                };
                dto::Grant {
                    grantee: Some(grantee),
                    permission: Some(dto::Permission::from(g.permission.as_str().to_owned())),
                }
            })
            .collect();
        (owner, grants)
    }

    pub(super) async fn put_bucket_acl_(
        &self,
        req: S3Request<dto::PutBucketAclInput>,
    ) -> S3Result<S3Response<dto::PutBucketAclOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let input = req.input;
        let (bucket, _) = Self::names(&input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(
            &requester,
            &info,
            Permission::WriteAcp,
            ("s3:PutBucketAcl", None),
            &context,
        )?;
        let headers = acl_headers!(input);
        let acl = self.acl_to_put(
            &headers,
            input.access_control_policy.as_ref(),
            &info.owner,
            &info.owner,
        )?;
        info.check_acl_put(&acl).map_err(to_s3s)?;
        self.stored(move |s| s.set_bucket_acl(&bucket, &acl))
            .await?;
        Ok(S3Response::new(dto::PutBucketAclOutput::default()))
    }

    pub(super) async fn get_bucket_acl_(
        &self,
        req: S3Request<dto::GetBucketAclInput>,
    ) -> S3Result<S3Response<dto::GetBucketAclOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(
            &requester,
            &info,
            Permission::ReadAcp,
            ("s3:GetBucketAcl", None),
            &context,
        )?;
        let (owner, grants) = self.policy_of(&info.acl);
        Ok(S3Response::new(dto::GetBucketAclOutput {
            grants: Some(grants),
            owner: Some(owner),
        }))
    }

    /// The object version of a Put/GetObjectAcl (the current one, or the
    /// one `version_id` names), with its bucket: `NoSuchKey` or
    /// `NoSuchVersion` if it is not there, `MethodNotAllowed` for a delete
    /// marker asked for by its version (a marker has no ACL).
    async fn acl_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> S3Result<(BucketName, ObjectKey, BucketInfo, ObjectInfo)> {
        let (bucket, key) = Self::names(bucket, Some(key))?;
        let key = key.ok_or_else(|| s3_error!(InvalidArgument))?;
        let (b, k, v) = (bucket.clone(), key.clone(), version_id.map(str::to_owned));
        let (info, lookup) = self
            .blocking(move |s| {
                let (info, versioning) = s
                    .bucket_entry(&b)?
                    .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, b.as_str()))?;
                let lookup = s.lookup(&info, versioning, &k, v.as_deref())?;
                Ok((info, lookup))
            })
            .await?;
        let object = match lookup {
            ObjectLookup::Found(o) if o.delete_marker && version_id.is_some() => {
                return Err(s3_error!(MethodNotAllowed));
            }
            ObjectLookup::Found(o) if o.delete_marker => return Err(s3_error!(NoSuchKey)),
            ObjectLookup::Found(o) => o,
            ObjectLookup::NoSuchKey => return Err(s3_error!(NoSuchKey)),
            ObjectLookup::NoSuchVersion => return Err(s3_error!(NoSuchVersion)),
        };
        Ok((bucket, key, info, object))
    }

    pub(super) async fn put_object_acl_(
        &self,
        req: S3Request<dto::PutObjectAclInput>,
    ) -> S3Result<S3Response<dto::PutObjectAclOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let input = req.input;
        let (bucket, key, info, object) = self
            .acl_object(&input.bucket, &input.key, input.version_id.as_deref())
            .await?;
        if !may(
            &requester,
            &info,
            &object,
            (Permission::WriteAcp, "s3:PutObjectAcl"),
            &context,
        ) && !is(&requester, &info.owner)
        {
            return Err(s3_error!(AccessDenied));
        }
        let headers = acl_headers!(input);
        let acl = self.acl_to_put(
            &headers,
            input.access_control_policy.as_ref(),
            object.owner(),
            &info.owner,
        )?;
        info.check_acl_put(&acl).map_err(to_s3s)?;
        // The version found (a versioned bucket's `null` one is named so).
        let version = object.version_id.as_deref().map(VersionId::of);
        self.stored(move |s| s.set_object_acl(&bucket, &key, version.as_ref(), &acl))
            .await?;
        Ok(S3Response::new(dto::PutObjectAclOutput::default()))
    }

    pub(super) async fn get_object_acl_(
        &self,
        req: S3Request<dto::GetObjectAclInput>,
    ) -> S3Result<S3Response<dto::GetObjectAclOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let input = req.input;
        let (_, _, info, object) = self
            .acl_object(&input.bucket, &input.key, input.version_id.as_deref())
            .await?;
        if !may(
            &requester,
            &info,
            &object,
            (Permission::ReadAcp, "s3:GetObjectAcl"),
            &context,
        ) {
            return Err(s3_error!(AccessDenied));
        }
        let (owner, grants) = self.policy_of(&object.acl);
        Ok(S3Response::new(dto::GetObjectAclOutput {
            grants: Some(grants),
            owner: Some(owner),
            request_charged: None,
        }))
    }
}

/// Whether the requester is this principal's account.
fn is(requester: &Requester, who: &Principal) -> bool {
    requester
        .principal()
        .is_some_and(|p| p.account_id == who.account_id)
}

/// Whether the requester may do `action` on the object's ACL: the bucket
/// policy's deny refuses and its allow grants; else the object's owner
/// (an owner always reads and writes its ACL), or a grant of `permission`
/// as the bucket's settings let grants count.
fn may(
    requester: &Requester,
    bucket: &BucketInfo,
    object: &ObjectInfo,
    (permission, action): (Permission, &str),
    context: &ConditionContext,
) -> bool {
    let context = object.with_existing_tags(context);
    match bucket.policy_verdict(requester, action, Some(object.key.as_str()), &context) {
        PolicyVerdict::Deny => false,
        PolicyVerdict::Allow => true,
        PolicyVerdict::NoOpinion => {
            is(requester, object.owner()) || bucket.acl_allows(&object.acl, requester, permission)
        }
    }
}
