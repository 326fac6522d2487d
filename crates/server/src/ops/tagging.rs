//! Tags: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging,
//! `x-amz-tagging` on PutObject, CreateMultipartUpload and CopyObject (with
//! `x-amz-tagging-directive`), and `x-amz-tagging-count` on GET and HEAD.
//!
//! S3's limits: 10 tags on an object, 50 on a bucket; a key of 1 to 128
//! Unicode characters, a value of at most 256; no key twice. Anything else
//! is `InvalidTag` (400). Tags are kept in the object's (or bucket's)
//! record, by key; each version has its own (`versionId`; a bucket never
//! versioned has only the `null` version: another is `NoSuchVersion`).

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{
    BucketInfo, BucketName, ConditionContext, ObjectInfo, ObjectKey, PolicyVerdict, Requester,
};

use super::Server;
use crate::store::{Found, ObjectMeta, Tags, VersionId, Versioning};

/// Most Unicode characters in a tag's key.
const MAX_KEY_CHARS: usize = 128;
/// Most Unicode characters in a tag's value.
const MAX_VALUE_CHARS: usize = 256;

/// What a set of tags is for, and so how many it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagsOf {
    /// At most 10.
    Object,
    /// At most 50.
    Bucket,
}

impl TagsOf {
    fn max(self) -> usize {
        match self {
            TagsOf::Object => 10,
            TagsOf::Bucket => 50,
        }
    }
}

fn invalid_tag(why: &str) -> s3s::S3Error {
    s3_error!(InvalidTag, "{why}")
}

/// Checks `pairs` against S3's limits for `of`, stopping at the first
/// pair past the most allowed: the tags by key, or `InvalidTag`.
fn checked(pairs: impl IntoIterator<Item = (String, String)>, of: TagsOf) -> S3Result<Tags> {
    let mut tags = Tags::new();
    for (n, (key, value)) in pairs.into_iter().enumerate() {
        if n == of.max() {
            return Err(invalid_tag(match of {
                TagsOf::Object => "Object tags cannot be greater than 10",
                TagsOf::Bucket => "Bucket tags cannot be greater than 50",
            }));
        }
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(invalid_tag("The TagKey you have provided is invalid"));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid_tag("The TagValue you have provided is invalid"));
        }
        if tags.insert(key, value).is_some() {
            return Err(invalid_tag(
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    Ok(tags)
}

/// The tags of an XML `Tagging` body (both `Key` and `Value` required:
/// `MalformedXML` otherwise).
fn of_body(tag_set: Vec<dto::Tag>, of: TagsOf) -> S3Result<Tags> {
    let mut pairs = Vec::with_capacity(tag_set.len().min(of.max() + 1));
    for tag in tag_set.into_iter().take(of.max() + 1) {
        let (Some(key), Some(value)) = (tag.key, tag.value) else {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema: a Tag needs a Key and a Value"
            ));
        };
        pairs.push((key, value));
    }
    checked(pairs, of)
}

/// The `TagSet` S3 answers, by key.
fn tag_set(tags: Tags) -> dto::TagSet {
    tags.into_iter()
        .map(|(key, value)| dto::Tag {
            key: Some(key),
            value: Some(value),
        })
        .collect()
}

/// `x-amz-tagging`: URL query form, `key1=value1&key2=value2` (`+` is a
/// space, `%XX` a byte, the bytes UTF-8; a key without `=` has an empty
/// value; empty pairs are skipped), checked as an object's tags. No header
/// is no tags.
pub(super) fn header_tags(header: Option<&str>) -> S3Result<Tags> {
    let Some(header) = header else {
        return Ok(Tags::new());
    };
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
        )
    };
    let mut pairs = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        // Past the limit: `checked` refuses it without decoding the rest.
        if pairs.len() > TagsOf::Object.max() {
            break;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((
            form_decode(key).ok_or_else(bad)?,
            form_decode(value).ok_or_else(bad)?,
        ));
    }
    checked(pairs, TagsOf::Object)
}

/// URL query decoding: `+` is a space, `%XX` a byte; `None` for a bad
/// escape or bytes that are not UTF-8.
fn form_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// CopyObject's `x-amz-tagging-directive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TagDirective {
    /// `COPY` (the default): the copy has the source's tags.
    Copy,
    /// `REPLACE`: the copy has the request's `x-amz-tagging`.
    Replace,
}

impl TagDirective {
    /// The directive a request names; another value is `InvalidArgument`.
    pub(super) fn of(directive: Option<&dto::TaggingDirective>) -> S3Result<TagDirective> {
        match directive.map(|d| d.as_str()) {
            None | Some("COPY") => Ok(TagDirective::Copy),
            Some("REPLACE") => Ok(TagDirective::Replace),
            Some(_) => Err(s3_error!(InvalidArgument, "Unknown tagging directive.")),
        }
    }
}

/// A GET's or HEAD's answer with `x-amz-tagging-count`, when `count` is
/// some.
pub(super) fn counted<T>(mut response: S3Response<T>, count: Option<usize>) -> S3Response<T> {
    if let Some(n) = count {
        response
            .headers
            .insert("x-amz-tagging-count", http::HeaderValue::from(n));
    }
    response
}

/// Whether `requester` may do `action` to the tags of `object` (or, with
/// `None`, learn that the key has none): the bucket policy's deny refuses
/// and its allow grants; otherwise the bucket owner's account, and the
/// object's owner's (S3 grants tagging by no ACL).
fn may_tag(
    requester: &Requester,
    bucket: &BucketInfo,
    object: Option<&ObjectInfo>,
    (action, key): (&str, &ObjectKey),
    context: &ConditionContext,
) -> bool {
    let is = |who: &s3torrent_s3::Principal| {
        requester
            .principal()
            .is_some_and(|p| p.account_id == who.account_id)
    };
    let context = match object {
        Some(o) => o.with_existing_tags(context),
        None => context.clone(),
    };
    match bucket.policy_verdict(requester, action, Some(key.as_str()), &context) {
        PolicyVerdict::Deny => false,
        PolicyVerdict::Allow => true,
        PolicyVerdict::NoOpinion => is(&bucket.owner) || object.is_some_and(|o| is(o.owner())),
    }
}

impl Server {
    /// The object version whose tags a request does `action` to (the
    /// current one, or the one `version_id` names), if the requester may:
    /// `NoSuchKey` (or `NoSuchVersion`) only to those who could act on it
    /// if it existed, `AccessDenied` otherwise; a delete marker has no tags
    /// (`MethodNotAllowed`). With the bucket's versioning.
    async fn tagged_object<T>(
        &self,
        req: &S3Request<T>,
        (bucket, key, version_id): (&str, &str, Option<&str>),
        (action, context): (&str, ConditionContext),
    ) -> S3Result<(BucketName, ObjectKey, ObjectMeta, Versioning)> {
        let requester = self.requester(req);
        let (bucket, key) = Self::names(bucket, Some(key))?;
        let key = key.ok_or_else(|| s3_error!(InvalidArgument))?;
        let info = self.bucket(&bucket).await?;
        let (b, k) = (bucket.clone(), key.clone());
        let wanted = version_id.map(VersionId::of);
        let (found, versioning) = self
            .blocking(move |s| {
                let versioning = s.bucket_versioning(&b)?;
                // A bucket never versioned: its one version, `null`, is
                // the current one (another is refused below).
                let found = match &wanted {
                    _ if versioning.is_unversioned() => s.object_meta(&b, &k)?.map(Found::Object),
                    w => s.find_version(&b, &k, w.as_ref())?,
                };
                Ok((found, versioning))
            })
            .await?;
        let object = match &found {
            Some(Found::Object(m)) => Some(self.store.object_info(&info, &key, m)),
            _ => None,
        }
        .transpose()
        .map_err(super::to_s3s)?;
        if !may_tag(&requester, &info, object.as_ref(), (action, &key), &context) {
            return Err(s3_error!(AccessDenied));
        }
        let unnamed = |v: &str| v != VersionId::NULL;
        match found {
            Some(Found::Object(meta)) => {
                if versioning.is_unversioned() && version_id.is_some_and(unnamed) {
                    return Err(s3_error!(NoSuchVersion));
                }
                Ok((bucket, key, meta, versioning))
            }
            Some(Found::Marker(_)) if version_id.is_some() => Err(s3_error!(MethodNotAllowed)),
            _ if version_id.is_some() && !versioning.is_unversioned() => {
                Err(s3_error!(NoSuchVersion))
            }
            _ => Err(s3_error!(NoSuchKey)),
        }
    }

    /// `x-amz-tagging-count` for a GET or HEAD that was allowed: the
    /// number of the object's tags, if it has any and the requester may
    /// read them (the bucket's record is in memory: the decision just read
    /// it).
    pub(super) fn tag_count(
        &self,
        (requester, context): (&Requester, &ConditionContext),
        bucket: &str,
        key: &str,
        meta: &ObjectMeta,
    ) -> Option<usize> {
        if meta.tags.is_empty() {
            return None;
        }
        let (bucket, key) = Self::names(bucket, Some(key)).ok()?;
        let key = key?;
        let info = self.store.bucket_info(&bucket).ok()??;
        let object = self.store.object_info(&info, &key, meta).ok()?;
        may_tag(
            requester,
            &info,
            Some(&object),
            ("s3:GetObjectTagging", &key),
            context,
        )
        .then_some(meta.tags.len())
    }

    pub(super) async fn put_object_tagging_(
        &self,
        req: S3Request<dto::PutObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::PutObjectTaggingOutput>> {
        let input = &req.input;
        // The tags it sets are `s3:RequestObjectTag/…` to the policy (a
        // tag set S3 refuses is refused after the access check).
        let tags = of_body(input.tagging.tag_set.clone(), TagsOf::Object);
        let mut context = super::conditions_of(&req);
        if let Ok(tags) = &tags {
            context.set_request_object_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let (bucket, key, meta, versioning) = self
            .tagged_object(
                &req,
                (&input.bucket, &input.key, input.version_id.as_deref()),
                ("s3:PutObjectTagging", context),
            )
            .await?;
        let version_id = super::versioning::read_version(versioning, &meta);
        let tags = tags?;
        let version = meta.version;
        self.stored(move |s| s.set_object_tags(&bucket, &key, Some(&version), tags))
            .await?;
        Ok(S3Response::new(dto::PutObjectTaggingOutput { version_id }))
    }

    pub(super) async fn get_object_tagging_(
        &self,
        req: S3Request<dto::GetObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::GetObjectTaggingOutput>> {
        let input = &req.input;
        let (_, _, meta, versioning) = self
            .tagged_object(
                &req,
                (&input.bucket, &input.key, input.version_id.as_deref()),
                ("s3:GetObjectTagging", super::conditions_of(&req)),
            )
            .await?;
        Ok(S3Response::new(dto::GetObjectTaggingOutput {
            version_id: super::versioning::read_version(versioning, &meta),
            tag_set: tag_set(meta.tags),
        }))
    }

    pub(super) async fn delete_object_tagging_(
        &self,
        req: S3Request<dto::DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteObjectTaggingOutput>> {
        let input = &req.input;
        let (bucket, key, meta, versioning) = self
            .tagged_object(
                &req,
                (&input.bucket, &input.key, input.version_id.as_deref()),
                ("s3:DeleteObjectTagging", super::conditions_of(&req)),
            )
            .await?;
        let version_id = super::versioning::read_version(versioning, &meta);
        let version = meta.version;
        self.stored(move |s| s.set_object_tags(&bucket, &key, Some(&version), Tags::new()))
            .await?;
        Ok(S3Response::new(dto::DeleteObjectTaggingOutput {
            version_id,
        }))
    }

    pub(super) async fn put_bucket_tagging_(
        &self,
        req: S3Request<dto::PutBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::PutBucketTaggingOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketTagging")
            .await?;
        let tags = of_body(req.input.tagging.tag_set, TagsOf::Bucket)?;
        self.stored(move |s| s.set_bucket_tags(&bucket, tags))
            .await?;
        Ok(S3Response::new(dto::PutBucketTaggingOutput::default()))
    }

    pub(super) async fn get_bucket_tagging_(
        &self,
        req: S3Request<dto::GetBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::GetBucketTaggingOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:GetBucketTagging")
            .await?;
        let settings = self
            .stored(move |s| s.bucket_settings(&bucket))
            .await?
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        if settings.tags.is_empty() {
            return Err(s3_error!(NoSuchTagSet, "The TagSet does not exist"));
        }
        Ok(S3Response::new(dto::GetBucketTaggingOutput {
            tag_set: tag_set(settings.tags),
        }))
    }

    pub(super) async fn delete_bucket_tagging_(
        &self,
        req: S3Request<dto::DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<dto::DeleteBucketTaggingOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketTagging")
            .await?;
        self.stored(move |s| s.set_bucket_tags(&bucket, Tags::new()))
            .await?;
        Ok(S3Response::new(dto::DeleteBucketTaggingOutput::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: S3Result<Tags>) -> String {
        match r {
            Ok(tags) => format!("{} tags", tags.len()),
            Err(e) => e.code().as_str().to_owned(),
        }
    }

    /// S3's limits, written out: counts, lengths in characters (not
    /// bytes), unique keys.
    #[test]
    fn limits() {
        let n = |count: usize| (0..count).map(|i| (format!("k{i}"), "v".to_owned()));
        let one = |k: String, v: String| vec![(k, v)];
        for (got, expect) in [
            (checked(n(10), TagsOf::Object), "10 tags"),
            (checked(n(11), TagsOf::Object), "InvalidTag"),
            (checked(n(50), TagsOf::Bucket), "50 tags"),
            (checked(n(51), TagsOf::Bucket), "InvalidTag"),
            (
                checked(one("k".repeat(128), "v".repeat(256)), TagsOf::Object),
                "1 tags",
            ),
            (
                checked(one("é".repeat(128), "é".repeat(256)), TagsOf::Object),
                "1 tags",
            ),
            (
                checked(one("k".repeat(129), String::new()), TagsOf::Object),
                "InvalidTag",
            ),
            (
                checked(one("k".into(), "v".repeat(257)), TagsOf::Object),
                "InvalidTag",
            ),
            (
                checked(one(String::new(), "v".into()), TagsOf::Object),
                "InvalidTag",
            ),
            (
                checked(one("k".into(), String::new()), TagsOf::Object),
                "1 tags",
            ),
            (
                checked(
                    vec![("a".into(), "1".into()), ("a".into(), "2".into())],
                    TagsOf::Bucket,
                ),
                "InvalidTag",
            ),
        ] {
            assert_eq!(code(got), expect);
        }
    }

    #[test]
    fn the_tagging_header() {
        let tags = header_tags(Some("foo=bar&bar&a%20b=c+d&&%C3%A9=%3D")).unwrap();
        let expect: Tags = [("a b", "c d"), ("bar", ""), ("foo", "bar"), ("é", "=")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(tags, expect);
        assert!(header_tags(None).unwrap().is_empty());
        for (header, expect) in [
            ("a=1&a=2", "InvalidTag"),
            ("a=%zz", "InvalidArgument"),
            ("a=%C3", "InvalidArgument"),
            ("a=%4", "InvalidArgument"),
            ("=v", "InvalidTag"),
        ] {
            assert_eq!(code(header_tags(Some(header))), expect, "{header}");
        }
        // A header of many pairs is refused at the eleventh.
        let many: Vec<String> = (0..100_000).map(|i| format!("k{i}=v")).collect();
        let many = many.join("&");
        assert_eq!(code(header_tags(Some(&many))), "InvalidTag");
    }
}
