//! S3 Block Public Access on a bucket: Put/Get/DeletePublicAccessBlock.
//! What the four settings do to every decision is `s3torrent-s3`'s
//! (`PublicAccessBlock`): the same for GET, `?torrent`, the tracker and the
//! seeding peer, listings, writes and ACL and policy puts.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::PublicAccessBlock;

use super::Server;

impl Server {
    pub(super) async fn put_public_access_block_(
        &self,
        req: S3Request<dto::PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::PutPublicAccessBlockOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketPublicAccessBlock")
            .await?;
        // A setting left out is off, as S3 takes it.
        let c = &req.input.public_access_block_configuration;
        let block = PublicAccessBlock {
            block_public_acls: c.block_public_acls.unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls.unwrap_or(false),
            block_public_policy: c.block_public_policy.unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets.unwrap_or(false),
        };
        self.stored(move |s| s.set_public_access_block(&bucket, Some(block)))
            .await?;
        Ok(S3Response::new(dto::PutPublicAccessBlockOutput::default()))
    }

    pub(super) async fn get_public_access_block_(
        &self,
        req: S3Request<dto::GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::GetPublicAccessBlockOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:GetBucketPublicAccessBlock")
            .await?;
        let settings = self
            .stored(move |s| s.bucket_settings(&bucket))
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let Some(block) = settings.public_access_block else {
            let mut err = s3s::S3Error::with_message(
                s3s::S3ErrorCode::Custom("NoSuchPublicAccessBlockConfiguration".into()),
                "The public access block configuration was not found",
            );
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return Err(err);
        };
        Ok(S3Response::new(dto::GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(dto::PublicAccessBlockConfiguration {
                block_public_acls: Some(block.block_public_acls),
                ignore_public_acls: Some(block.ignore_public_acls),
                block_public_policy: Some(block.block_public_policy),
                restrict_public_buckets: Some(block.restrict_public_buckets),
            }),
        }))
    }

    pub(super) async fn delete_public_access_block_(
        &self,
        req: S3Request<dto::DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<dto::DeletePublicAccessBlockOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketPublicAccessBlock")
            .await?;
        self.stored(move |s| s.set_public_access_block(&bucket, None))
            .await?;
        Ok(S3Response::new(
            dto::DeletePublicAccessBlockOutput::default(),
        ))
    }
}
