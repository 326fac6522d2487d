//! S3 Object Ownership: Put/Get/DeleteBucketOwnershipControls and
//! CreateBucket's `x-amz-object-ownership`. What each setting makes of
//! ACLs and owners is `s3torrent-s3`'s (`BucketInfo::new_object_acl`,
//! `acl_allows`, `effective_object_acl`); a bucket without ownership
//! controls behaves as `ObjectWriter`, its ACLs working.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{Acl, BucketInfo, BucketName, ObjectOwnership, PolicyVerdict};

use super::{Server, to_s3s};

/// CreateBucket's `x-amz-object-ownership`, if sent: one of the three
/// settings (else `InvalidArgument`), which the bucket's ACL must allow
/// (`BucketOwnerEnforced` with an ACL granting anyone but the owner is
/// `InvalidBucketAclWithObjectOwnership`).
pub(super) fn of_create_bucket(
    input: &dto::CreateBucketInput,
    acl: &Acl,
) -> S3Result<Option<ObjectOwnership>> {
    let Some(given) = &input.object_ownership else {
        return Ok(None);
    };
    let ownership: ObjectOwnership = given
        .as_str()
        .parse()
        .map_err(|_| s3_error!(InvalidArgument, "Invalid x-amz-object-ownership header"))?;
    ownership.check_bucket_acl(acl).map_err(to_s3s)?;
    Ok(Some(ownership))
}

impl Server {
    /// The bucket whose settings (ownership controls, public access block,
    /// tags) a request reads or changes with `action`: its policy's deny
    /// refuses and its allow grants; otherwise only the owner's account (no
    /// ACL grants these).
    pub(super) async fn bucket_for_settings<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        action: &str,
    ) -> S3Result<(BucketName, BucketInfo)> {
        let requester = self.requester(req);
        let (bucket, _) = Self::names(bucket, None)?;
        let info = self.bucket(&bucket).await?;
        let owner = requester
            .principal()
            .is_some_and(|p| p.account_id == info.owner.account_id);
        match info.policy_verdict(&requester, action, None, &super::conditions_of(req)) {
            PolicyVerdict::Deny => Err(s3_error!(AccessDenied)),
            PolicyVerdict::Allow => Ok((bucket, info)),
            PolicyVerdict::NoOpinion if owner => Ok((bucket, info)),
            PolicyVerdict::NoOpinion => Err(s3_error!(AccessDenied)),
        }
    }

    pub(super) async fn put_bucket_ownership_controls_(
        &self,
        req: S3Request<dto::PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::PutBucketOwnershipControlsOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketOwnershipControls")
            .await?;
        // Exactly one rule, naming one of the three settings.
        let malformed = || {
            s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: \
                 OwnershipControls takes one Rule with an ObjectOwnership of ObjectWriter, \
                 BucketOwnerPreferred or BucketOwnerEnforced"
            )
        };
        let [rule] = req.input.ownership_controls.rules.as_slice() else {
            return Err(malformed());
        };
        let ownership: ObjectOwnership = rule
            .object_ownership
            .as_str()
            .parse()
            .map_err(|_| malformed())?;
        self.stored(move |s| s.set_ownership(&bucket, Some(ownership)))
            .await?;
        Ok(S3Response::new(
            dto::PutBucketOwnershipControlsOutput::default(),
        ))
    }

    pub(super) async fn get_bucket_ownership_controls_(
        &self,
        req: S3Request<dto::GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::GetBucketOwnershipControlsOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:GetBucketOwnershipControls")
            .await?;
        let settings = self
            .stored(move |s| s.bucket_settings(&bucket))
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let ownership = settings.ownership.ok_or_else(|| {
            s3_error!(
                OwnershipControlsNotFoundError,
                "The bucket ownership controls were not found"
            )
        })?;
        Ok(S3Response::new(dto::GetBucketOwnershipControlsOutput {
            ownership_controls: Some(dto::OwnershipControls {
                rules: vec![dto::OwnershipControlsRule {
                    object_ownership: dto::ObjectOwnership::from(ownership.as_str().to_owned()),
                }],
            }),
        }))
    }

    pub(super) async fn delete_bucket_ownership_controls_(
        &self,
        req: S3Request<dto::DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOwnershipControlsOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketOwnershipControls")
            .await?;
        self.stored(move |s| s.set_ownership(&bucket, None)).await?;
        Ok(S3Response::new(
            dto::DeleteBucketOwnershipControlsOutput::default(),
        ))
    }
}
