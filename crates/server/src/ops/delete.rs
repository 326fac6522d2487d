//! DeleteObjects: up to 1000 keys (or versions of keys) in one request,
//! each deleted as DeleteObject deletes it (a delete marker in a versioned
//! bucket, a version for good when one is named); a missing key counts as
//! deleted, as in S3; quiet mode answers only the errors.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{ErrorCode, ObjectKey};

use super::Server;
use super::versioning::Deletion;
use crate::store::Deleted;

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
        // Every key is refused alike when the requester may not write here
        // (and every version, when it may not delete versions).
        let allowed =
            |version: Option<&str>| Self::may_delete(&requester, &info, None, version).is_ok();
        let quiet = input.delete.quiet == Some(true);
        let owner = info.owner.account_id.to_string();
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in objects {
            let name = object.key;
            let version = object.version_id;
            if !allowed(version.as_deref()) {
                errors.push(error_entry(
                    &name,
                    version,
                    "AccessDenied",
                    "Access Denied".into(),
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
            let done = self
                .delete_one(&bucket, &key, version.as_deref(), &requester, &owner)
                .await
                .or_else(|e| {
                    // A key no file can hold is no object either: deleted.
                    if e.code() == ErrorCode::InvalidArgument {
                        Ok(Deletion::Removed)
                    } else {
                        Err(e)
                    }
                });
            match done {
                Ok(deletion) => {
                    if !quiet {
                        let (marker, marker_version) = match &deletion {
                            Deletion::MarkerMade(v) => (Some(true), Some(v.as_str().to_owned())),
                            Deletion::VersionDeleted(v, Deleted::Marker) => {
                                (Some(true), Some(v.as_str().to_owned()))
                            }
                            _ => (None, None),
                        };
                        deleted.push(dto::DeletedObject {
                            key: Some(name),
                            version_id: version,
                            delete_marker: marker,
                            delete_marker_version_id: marker_version,
                        });
                    }
                }
                Err(e) => errors.push(error_entry(
                    &name,
                    version,
                    e.code().as_str(),
                    e.message().to_owned(),
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
