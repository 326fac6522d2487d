//! ListObjects (v1) and ListObjectsV2, over the pages of
//! [`super::listing`] (ListObjectVersions is in [`super::versioning`]).

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result};
use std::sync::Arc;

use s3torrent_s3::{BucketName, ErrorCode, ObjectKey, Permission, S3Error};

use super::listing::{self, Encoding, Page, PageBuilder, Query, Step};
use super::{Server, timestamp};
use crate::store::{Listed, ObjectMeta};

fn standard() -> dto::ObjectStorageClass {
    dto::ObjectStorageClass::from_static(dto::ObjectStorageClass::STANDARD)
}

impl Server {
    /// The bucket, if the requester may list it (READ on the bucket).
    async fn listable<T>(&self, req: &S3Request<T>, bucket: &str) -> S3Result<BucketName> {
        let requester = self.requester(req);
        let (bucket, _) = Self::names(bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(
            &requester,
            &info,
            Permission::Read,
            ("s3:ListBucket", None),
            &super::conditions_of(req),
        )?;
        Ok(bucket)
    }

    /// One page of `bucket`, with the metadata of its keys.
    async fn list_page(
        &self,
        bucket: &BucketName,
        prefix: &str,
        delimiter: Option<&str>,
        after: &str,
        max: usize,
    ) -> S3Result<Page<ObjectMeta>> {
        let (b, p, d, a) = (
            bucket.clone(),
            prefix.to_owned(),
            delimiter.map(str::to_owned),
            after.to_owned(),
        );
        let torrents = Arc::clone(&self.torrents);
        self.blocking(move |s| {
            // Hand-placed files are adopted when a listing starts.
            if a.is_empty() {
                s.discover(&b)?;
            }
            let mut page = PageBuilder::new(Query {
                prefix: &p,
                delimiter: d.as_deref(),
                after: &a,
                max,
            });
            s.list_objects(&b, &p, &a, |k, meta| match page.push(k, meta) {
                Step::Next => Listed::Next,
                Step::SkipPrefix(p) => Listed::SkipPrefix(p),
                Step::Stop => Listed::Stop,
            })?;
            let mut page = page.finish();
            let info = s
                .bucket_info(&b)?
                .ok_or_else(|| S3Error::new(ErrorCode::NoSuchBucket, b.as_str()))?;
            // With ACLs disabled, every object is the bucket owner's.
            if info.ownership.acls_disabled() {
                for (_, m) in &mut page.contents {
                    m.owner = info.owner.account_id.to_string();
                }
            }
            // Listing is allowed: an adopted object's MD5 now, once.
            if page.contents.iter().any(|(_, m)| m.etag.is_none()) {
                for (k, m) in &mut page.contents {
                    if m.etag.is_none() {
                        let key = ObjectKey::new(k.clone())?;
                        let object = s.object_info(&info, &key, m)?;
                        let object = torrents.resolve_etag(s, &b, &object)?;
                        m.etag = object.etag.as_known().map(str::to_owned);
                    }
                }
            }
            Ok(page)
        })
        .await
    }

    pub(super) fn owner_of(&self, meta: &ObjectMeta) -> dto::Owner {
        self.owner_of_account(&meta.owner)
    }

    /// A listing's `Owner` of an account.
    pub(super) fn owner_of_account(&self, account: &str) -> dto::Owner {
        let p = self.store.principal_of(account);
        dto::Owner {
            id: Some(p.canonical_id.to_string()),
            display_name: Some(p.account_id.to_string()),
        }
    }

    fn object_entry(
        &self,
        key: &str,
        meta: &ObjectMeta,
        encoding: Encoding,
        owner: bool,
    ) -> dto::Object {
        dto::Object {
            key: Some(encoding.apply(key)),
            size: Some(meta.size as i64),
            e_tag: meta.etag.clone().map(dto::ETag::Strong),
            last_modified: Some(timestamp(meta.modified)),
            owner: owner.then(|| self.owner_of(meta)),
            storage_class: Some(standard()),
            ..Default::default()
        }
    }

    pub(super) async fn list_objects_(
        &self,
        req: S3Request<dto::ListObjectsInput>,
    ) -> S3Result<S3Response<dto::ListObjectsOutput>> {
        let bucket = self.listable(&req, &req.input.bucket).await?;
        let input = req.input;
        let encoding = Encoding::of(input.encoding_type.as_ref())?;
        let max = listing::max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = listing::delimiter(input.delimiter.as_deref());
        let marker = input.marker.clone().unwrap_or_default();
        let page = self
            .list_page(&bucket, &prefix, delimiter, &marker, max)
            .await?;
        let contents = page
            .contents
            .iter()
            .map(|(k, m)| self.object_entry(k, m, encoding, true))
            .collect();
        Ok(S3Response::new(dto::ListObjectsOutput {
            name: Some(bucket.to_string()),
            prefix: Some(encoding.apply(&prefix)),
            marker: Some(encoding.apply(&marker)),
            max_keys: Some(max as i32),
            is_truncated: Some(page.truncated),
            // Only with a delimiter, as S3: without one the last key is
            // the next marker.
            next_marker: match (page.truncated, delimiter) {
                (true, Some(_)) => encoding.apply_opt(page.last_entry.as_deref()),
                _ => None,
            },
            common_prefixes: Some(common_prefixes(&page.prefixes, encoding)),
            contents: Some(contents),
            // An empty `delimiter=` is none, and is not echoed.
            delimiter: encoding.apply_opt(delimiter),
            encoding_type: input.encoding_type,
            request_charged: None,
        }))
    }

    pub(super) async fn list_objects_v2_(
        &self,
        req: S3Request<dto::ListObjectsV2Input>,
    ) -> S3Result<S3Response<dto::ListObjectsV2Output>> {
        let bucket = self.listable(&req, &req.input.bucket).await?;
        let input = req.input;
        let encoding = Encoding::of(input.encoding_type.as_ref())?;
        let max = listing::max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = listing::delimiter(input.delimiter.as_deref());
        // The continuation token wins over start-after, as in S3.
        let after = match &input.continuation_token {
            Some(t) => listing::key_of_token(t)?,
            None => input.start_after.clone().unwrap_or_default(),
        };
        let page = self
            .list_page(&bucket, &prefix, delimiter, &after, max)
            .await?;
        let owner = input.fetch_owner == Some(true);
        let contents = page
            .contents
            .iter()
            .map(|(k, m)| self.object_entry(k, m, encoding, owner))
            .collect();
        Ok(S3Response::new(dto::ListObjectsV2Output {
            name: Some(bucket.to_string()),
            prefix: encoding.apply_opt(input.prefix.as_deref()),
            max_keys: Some(max as i32),
            key_count: Some(page.count() as i32),
            is_truncated: Some(page.truncated),
            next_continuation_token: if page.truncated {
                page.last_entry.as_deref().map(listing::token_of)
            } else {
                None
            },
            continuation_token: input.continuation_token,
            common_prefixes: Some(common_prefixes(&page.prefixes, encoding)),
            contents: Some(contents),
            // An empty `delimiter=` is none, and is not echoed.
            delimiter: encoding.apply_opt(delimiter),
            start_after: encoding.apply_opt(input.start_after.as_deref()),
            encoding_type: input.encoding_type,
            request_charged: None,
        }))
    }
}

fn common_prefixes(prefixes: &[String], encoding: Encoding) -> Vec<dto::CommonPrefix> {
    prefixes
        .iter()
        .map(|p| dto::CommonPrefix {
            prefix: Some(encoding.apply(p)),
        })
        .collect()
}
