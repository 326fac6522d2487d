//! DeleteObjects: up to 1000 keys (or versions of keys) in one request,
//! each deleted as DeleteObject deletes it (a delete marker in a versioned
//! bucket, a version for good when one is named); a missing key counts as
//! deleted, as in S3; quiet mode answers only the errors.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{ErrorCode, ObjectKey};

use s3s::dto::Timestamp;
use s3torrent_s3::BucketInfo;

use super::versioning::Deletion;
use super::{Server, epoch_secs};
use crate::store::{DeleteConditions, Deleted, Expected};

/// A delete's conditions from what the request gives: an ETag (or `*`), a
/// last-modified time and a size (a time or size that cannot be a
/// version's holds for none).
pub(super) fn delete_conditions(
    etag: Option<Expected>,
    modified: Option<&Timestamp>,
    size: Option<i64>,
) -> DeleteConditions {
    DeleteConditions {
        if_match: etag,
        modified: modified.map(|t| epoch_secs(t).unwrap_or(i64::MIN)),
        size: size.map(|s| u64::try_from(s).unwrap_or(u64::MAX)),
    }
}

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
        let context = super::conditions_of(&req);
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
        let allowed = |version: Option<&str>| {
            Self::may_delete(&requester, &info, None, version, &context).is_ok()
        };
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
            let etag = object.e_tag.as_ref().map(|e| match e.value() {
                "*" => Expected::Any,
                v => Expected::ETag(v.to_owned()),
            });
            let conditions =
                delete_conditions(etag, object.last_modified_time.as_ref(), object.size);
            if conditions.if_match.is_some() && version.is_none() {
                self.resolve_current_etag(&info, &key).await?;
            }
            let done = self
                .delete_one(
                    &bucket,
                    &key,
                    version.as_deref(),
                    &requester,
                    &owner,
                    conditions,
                )
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

impl Server {
    /// A hand-placed file's MD5, computed and recorded first when a delete
    /// of the current version is conditional on an ETag (the requester may
    /// delete, so it may learn it), so that the commit can compare it.
    pub(super) async fn resolve_current_etag(
        &self,
        info: &BucketInfo,
        key: &ObjectKey,
    ) -> S3Result<()> {
        let (b, k, i) = (info.name.clone(), key.clone(), info.clone());
        let torrents = std::sync::Arc::clone(&self.torrents);
        self.blocking(move |s| {
            if let Some(meta) = s.object_meta(&b, &k)?
                && meta.etag.is_none()
            {
                torrents.resolve_etag(s, &b, &s.object_info(&i, &k, &meta)?)?;
            }
            Ok(())
        })
        .await
    }
}
