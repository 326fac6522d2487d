//! PutBucketCors, GetBucketCors and DeleteBucketCors: the bucket owner's,
//! checked as S3 checks them (see `crate::cors`), kept in the store.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::Server;
use crate::cors::{CorsConfig, CorsLookup, Invalid, MAX_CONFIG_BYTES, RuleInput};

impl Server {
    pub(super) async fn put_bucket_cors_(
        &self,
        req: S3Request<dto::PutBucketCorsInput>,
    ) -> S3Result<S3Response<dto::PutBucketCorsOutput>> {
        let declared = req
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_CONFIG_BYTES) {
            return Err(s3_error!(
                MaxMessageLengthExceeded,
                "Your request was too big: a CORS configuration is at most {MAX_CONFIG_BYTES} bytes."
            ));
        }
        let (bucket, _) = self.owned_bucket(&req, &req.input.bucket).await?;
        let rules = req
            .input
            .cors_configuration
            .cors_rules
            .into_iter()
            .map(|r| RuleInput {
                id: r.id,
                methods: r.allowed_methods,
                origins: r.allowed_origins,
                headers: r.allowed_headers.unwrap_or_default(),
                expose: r.expose_headers.unwrap_or_default(),
                max_age: r.max_age_seconds,
            })
            .collect();
        let config = CorsConfig::new(rules).map_err(|e| match e {
            Invalid::Malformed(why) => s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our \
                 published schema: {why}"
            ),
            Invalid::Request(why) => s3_error!(InvalidRequest, "{why}"),
            Invalid::Argument(why) => s3_error!(InvalidArgument, "{why}"),
        })?;
        self.stored(move |s| s.set_cors(&bucket, Some(&config)))
            .await?;
        Ok(S3Response::new(dto::PutBucketCorsOutput::default()))
    }

    pub(super) async fn get_bucket_cors_(
        &self,
        req: S3Request<dto::GetBucketCorsInput>,
    ) -> S3Result<S3Response<dto::GetBucketCorsOutput>> {
        let (bucket, _) = self.owned_bucket(&req, &req.input.bucket).await?;
        let found = self.stored(move |s| s.bucket_cors(&bucket)).await?;
        let config = match found {
            CorsLookup::Rules(config) => config,
            CorsLookup::NotConfigured => {
                return Err(s3_error!(
                    NoSuchCORSConfiguration,
                    "The CORS configuration does not exist"
                ));
            }
            CorsLookup::NoSuchBucket => return Err(s3_error!(NoSuchBucket)),
        };
        let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let rules = config
            .rules
            .iter()
            .map(|r| dto::CORSRule {
                id: r.id.clone(),
                allowed_methods: r.methods.iter().map(|m| m.as_str().to_owned()).collect(),
                allowed_origins: r.origins.clone(),
                allowed_headers: some(&r.headers),
                expose_headers: some(&r.expose),
                max_age_seconds: r.max_age.and_then(|s| i32::try_from(s).ok()),
            })
            .collect();
        Ok(S3Response::new(dto::GetBucketCorsOutput {
            cors_rules: Some(rules),
        }))
    }

    pub(super) async fn delete_bucket_cors_(
        &self,
        req: S3Request<dto::DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketCorsOutput>> {
        let (bucket, _) = self.owned_bucket(&req, &req.input.bucket).await?;
        self.stored(move |s| s.set_cors(&bucket, None)).await?;
        Ok(S3Response::new(dto::DeleteBucketCorsOutput::default()))
    }
}
