//! DeleteObjects: up to 1000 keys in one request, each deleted as
//! DeleteObject deletes it; a missing key counts as deleted, as in S3;
//! quiet mode answers only the errors.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{ErrorCode, ObjectKey, Permission, TorrentCache};

use super::Server;

/// The most keys one DeleteObjects names.
const MAX_KEYS: usize = 1000;

fn error_entry(key: &str, version: Option<String>, code: &str, message: String) -> dto::Error {
    dto::Error {
        code: Some(code.to_owned()),
        key: Some(key.to_owned()),
        message: Some(message),
        version_id: version,
    }
}

impl Server {
    pub(super) async fn delete_objects_(
        &self,
        req: S3Request<dto::DeleteObjectsInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectsOutput>> {
        let requester = self.requester(&req);
        let input = req.input;
        let (bucket, _) = Self::names(&input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        if let Some(expected) = &input.expected_bucket_owner
            && expected != info.owner.account_id.as_str()
        {
            return Err(s3_error!(AccessDenied));
        }
        let objects = input.delete.objects;
        if objects.is_empty() || objects.len() > MAX_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: a Delete names 1 to 1000 objects"
            ));
        }
        // Every key is refused alike when the requester may not write here.
        let allowed = Self::bucket_allows(
            &requester,
            &info,
            Permission::Write,
            ("s3:DeleteObject", None),
        )
        .is_ok();
        let quiet = input.delete.quiet == Some(true);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in objects {
            let name = object.key;
            let version = object.version_id;
            if !allowed {
                errors.push(error_entry(
                    &name,
                    version,
                    "AccessDenied",
                    "Access Denied".into(),
                ));
                continue;
            }
            if version.as_deref().is_some_and(|v| v != "null") {
                errors.push(error_entry(
                    &name,
                    version,
                    "NoSuchVersion",
                    "The specified version does not exist.".into(),
                ));
                continue;
            }
            let key = match ObjectKey::new(name.clone()) {
                Ok(k) => k,
                Err(e) => {
                    errors.push(error_entry(
                        &name,
                        version,
                        e.code().as_str(),
                        e.message().to_owned(),
                    ));
                    continue;
                }
            };
            let (b, k) = (bucket.clone(), key.clone());
            match self
                .blocking(move |s| {
                    s.delete_object(&b, &k)
                        .map_err(|e| (e.code(), e))
                        .or_else(|(code, e)| {
                            // A key no file can hold is no object either: deleted.
                            if code == ErrorCode::InvalidArgument {
                                Ok(())
                            } else {
                                Err(e)
                            }
                        })
                })
                .await
            {
                Ok(()) => {
                    self.torrents.cache().forget(&bucket, &key);
                    if !quiet {
                        deleted.push(dto::DeletedObject {
                            key: Some(name),
                            version_id: version,
                            ..Default::default()
                        });
                    }
                }
                Err(e) => errors.push(error_entry(
                    &name,
                    version,
                    e.code().as_str(),
                    e.message()
                        .unwrap_or("We encountered an internal error. Please try again.")
                        .to_owned(),
                )),
            }
        }
        Ok(S3Response::new(dto::DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: Some(errors),
            request_charged: None,
        }))
    }
}
