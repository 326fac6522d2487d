//! CreateBucket of one's own bucket again, DeleteBucket,
//! GetBucketLocation and ListBuckets with pagination.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{Acl, BucketInfo, ObjectOwnership};

use super::{Server, timestamp};
use crate::store::BucketDeletion;

/// The most buckets one ListBuckets page holds, and its default.
const MAX_BUCKETS: usize = 10_000;

/// The location CreateBucket records: none for us-east-1, as S3 answers
/// GetBucketLocation there with an empty `LocationConstraint`.
pub(super) fn location_of(input: &dto::CreateBucketInput) -> Option<String> {
    input
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_ref())
        .map(|l| l.as_str().to_owned())
        .filter(|l| !l.is_empty() && l != "us-east-1")
}

impl Server {
    /// CreateBucket of a bucket the requester owns. In us-east-1, S3
    /// answers 200 and resets the bucket's ACL; where that changes nothing
    /// (the bucket is in us-east-1, and asked for again with the ACL and
    /// ownership it has) this answers 200 too (s3-tests'
    /// `test_bucket_create_exists` and the tests that create a bucket
    /// twice expect it, as RGW answers); anything else would change the
    /// bucket and is `BucketAlreadyOwnedByYou` (409), as S3 answers
    /// outside us-east-1.
    pub(super) async fn create_own_bucket_again(
        &self,
        existing: &BucketInfo,
        acl: &Acl,
        location: Option<String>,
        ownership: Option<ObjectOwnership>,
    ) -> S3Result<S3Response<dto::CreateBucketOutput>> {
        let b = existing.name.clone();
        let here = self.stored(move |s| s.bucket_location(&b)).await?;
        let unchanged = location.is_none()
            && here.is_none()
            && existing.acl == *acl
            && ownership.is_none_or(|o| o == existing.ownership);
        if !unchanged {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        Ok(S3Response::new(dto::CreateBucketOutput {
            location: Some(format!("/{}", existing.name)),
        }))
    }

    pub(super) async fn delete_bucket_(
        &self,
        req: S3Request<dto::DeleteBucketInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketOutput>> {
        let me = self.principal(&req)?;
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        // Only the owner deletes a bucket (S3 needs s3:DeleteBucket, which
        // ACLs never grant).
        if me.account_id != info.owner.account_id {
            return Err(s3_error!(AccessDenied));
        }
        match self.stored(move |s| s.delete_bucket(&bucket)).await? {
            BucketDeletion::Deleted => Ok(S3Response::new(dto::DeleteBucketOutput::default())),
            BucketDeletion::NoSuchBucket => Err(s3_error!(NoSuchBucket)),
            BucketDeletion::NotEmpty => Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            )),
        }
    }

    pub(super) async fn get_bucket_location_(
        &self,
        req: S3Request<dto::GetBucketLocationInput>,
    ) -> S3Result<S3Response<dto::GetBucketLocationOutput>> {
        let me = self.principal(&req)?;
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        if me.account_id != info.owner.account_id {
            return Err(s3_error!(AccessDenied));
        }
        let location = self.stored(move |s| s.bucket_location(&bucket)).await?;
        Ok(S3Response::new(dto::GetBucketLocationOutput {
            location_constraint: location.map(dto::BucketLocationConstraint::from),
        }))
    }

    /// ListBuckets: the requester's buckets by name, `max-buckets` (1 to
    /// 10000) a page, from after the `continuation-token` (the last name of
    /// the page before), under `prefix`.
    pub(super) async fn list_buckets_(
        &self,
        req: S3Request<dto::ListBucketsInput>,
    ) -> S3Result<S3Response<dto::ListBucketsOutput>> {
        let me = self.principal(&req)?;
        let input = req.input;
        let max = match input.max_buckets {
            None => MAX_BUCKETS,
            Some(n) if (1..=MAX_BUCKETS as i32).contains(&n) => n as usize,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Argument max-buckets must be an integer between 1 and 10000"
                ));
            }
        };
        let after = match &input.continuation_token {
            Some(t) if t.is_empty() || t.len() > 63 => {
                return Err(s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                ));
            }
            Some(t) => t.clone(),
            None => String::new(),
        };
        let prefix = input.prefix.clone().unwrap_or_default();
        let all = self.stored(|s| s.buckets()).await?;
        let mut mine = all
            .into_iter()
            .filter(|(name, info, _)| {
                info.owner.account_id == me.account_id
                    && name.as_str().starts_with(&prefix)
                    && name.as_str() > after.as_str()
            })
            .peekable();
        let mut buckets = Vec::new();
        while buckets.len() < max {
            let Some((name, _, created)) = mine.next() else {
                break;
            };
            buckets.push(dto::Bucket {
                name: Some(name.to_string()),
                creation_date: Some(timestamp(created)),
                ..Default::default()
            });
        }
        let more = mine.peek().is_some();
        let token = if more {
            buckets.last().and_then(|b| b.name.clone())
        } else {
            None
        };
        Ok(S3Response::new(dto::ListBucketsOutput {
            buckets: Some(buckets),
            continuation_token: token,
            owner: Some(dto::Owner {
                id: Some(me.canonical_id.to_string()),
                display_name: Some(me.account_id.to_string()),
            }),
            prefix: input.prefix,
        }))
    }
}
