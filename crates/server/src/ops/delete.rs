//! DeleteObjects: up to 1000 keys (or versions of keys) in one request,
//! each deleted as DeleteObject deletes it (a delete marker in a versioned
//! bucket, a version for good when one is named); a missing key counts as
//! deleted, as in S3; quiet mode answers only the errors.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{ErrorCode, ObjectKey, S3Error, TorrentCache};

use s3s::dto::Timestamp;
use s3torrent_s3::BucketInfo;

use super::versioning::Deletion;
use super::{Server, epoch_secs};
use crate::store::{DeleteConditions, Deleted, Expected, Removal};

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
        // Each key is the policy's `s3:DeleteObject` (or
        // `s3:DeleteObjectVersion`) on that key, as in S3.
        let allowed = |name: &str, version: Option<&str>| {
            Self::may_delete(&requester, &info, Some(name), version, &context).is_ok()
        };
        let quiet = input.delete.quiet == Some(true);
        let owner = info.owner.account_id.to_string();
        let marker_owner = requester
            .principal()
            .map_or(owner.clone(), |p| p.account_id.to_string());
        // Each object's answer, in the order asked.
        let mut answers: Vec<Option<Result<Deletion, S3Error>>> = Vec::new();
        let mut names = Vec::with_capacity(objects.len());
        // The unconditional deletes of current versions: one commit for all.
        let mut batch: Vec<(usize, ObjectKey)> = Vec::new();
        for object in objects {
            let index = names.len();
            let name = object.key;
            let version = object.version_id;
            names.push((name.clone(), version.clone()));
            if !allowed(&name, version.as_deref()) {
                answers.push(Some(Err(S3Error::with_message(
                    ErrorCode::AccessDenied,
                    "Access Denied",
                    "",
                ))));
                continue;
            }
            let key = match ObjectKey::new(name.clone()) {
                Ok(k) => k,
                Err(e) => {
                    answers.push(Some(Err(e)));
                    continue;
                }
            };
            let etag = object.e_tag.as_ref().map(|e| match e.value() {
                "*" => Expected::Any,
                v => Expected::ETag(v.to_owned()),
            });
            let conditions =
                delete_conditions(etag, object.last_modified_time.as_ref(), object.size);
            let unconditional = conditions.if_match.is_none()
                && conditions.modified.is_none()
                && conditions.size.is_none();
            if unconditional && version.is_none() {
                answers.push(None);
                batch.push((index, key));
                continue;
            }
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
            answers.push(Some(done));
        }
        if !batch.is_empty() {
            let keys: Vec<ObjectKey> = batch.iter().map(|(_, k)| k.clone()).collect();
            let b = bucket.clone();
            let removals = self
                .stored(move |s| s.delete_current_many(&b, &keys, &marker_owner))
                .await;
            for (n, (index, key)) in batch.iter().enumerate() {
                let internal = |why: String| {
                    S3Error::with_message(
                        ErrorCode::InternalError,
                        format!("We encountered an internal error. Please try again. ({why})"),
                        "",
                    )
                };
                answers[*index] = Some(match removals.as_ref().map(|r| r.get(n)) {
                    Ok(Some(Removal::Removed)) => {
                        // An unversioned bucket's torrents of the key are
                        // stale now.
                        self.torrents.cache().forget(&bucket, key);
                        Ok(Deletion::Removed)
                    }
                    Ok(Some(Removal::Marker(v))) => Ok(Deletion::MarkerMade(v.clone())),
                    Ok(None) => Err(internal("the store answered fewer keys".into())),
                    Err(e) => Err(internal(format!("{e:?}"))),
                });
            }
        }
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for ((name, version), answer) in names.into_iter().zip(answers) {
            let answer = answer.unwrap_or_else(|| {
                Err(S3Error::with_message(
                    ErrorCode::InternalError,
                    "We encountered an internal error. Please try again.",
                    "",
                ))
            });
            match answer {
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
