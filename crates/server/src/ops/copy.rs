//! CopyObject and UploadPartCopy: the source read from one snapshot (the
//! version under the ETag the conditions were checked against), copied into
//! a temp file, fsynced, and committed as PutObject and UploadPart commit.

use std::io::Write;

use md5::{Digest, Md5};
use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{BucketName, ConditionContext, ObjectKey, Requester};

use std::sync::Arc;

use super::tagging::TagDirective;
use super::{
    Received, Server, TempGuard, encryption, headers_of, is_requester, now, timestamp,
    write_refused,
};
use crate::checksum::{Algorithm, Checksum, Kind, Refusal, named_algorithm, set_checksum};
use crate::sse::{CustomerKey, DataKey, Mode, ObjectReader, Target};
use crate::store::{ObjectMeta, Preconditions, Snapshot, StoredAcl, hex};

/// The source version's record (its bytes are the [`CopySource`]'s reader).
struct SourceMeta {
    meta: ObjectMeta,
}

/// The largest object CopyObject copies in one request, as S3.
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

/// The `x-amz-copy-source-if-*` headers.
struct CopyConditions<'a> {
    if_match: Option<&'a dto::ETagCondition>,
    if_none_match: Option<&'a dto::ETagCondition>,
    if_modified_since: Option<&'a dto::Timestamp>,
    if_unmodified_since: Option<&'a dto::Timestamp>,
}

impl CopyConditions<'_> {
    /// `PreconditionFailed` unless the source passes, with S3's pairings:
    /// a matching `if-match` overrides a failing `if-unmodified-since`, and
    /// a failing `if-none-match` fails whatever `if-modified-since` says.
    fn check(&self, meta: &ObjectMeta) -> S3Result<()> {
        let matches = |c: &dto::ETagCondition| match c {
            dto::ETagCondition::Any => true,
            dto::ETagCondition::ETag(e) => meta.etag.as_deref() == Some(e.value()),
        };
        let modified = timestamp(meta.modified);
        let first = match self.if_match.map(matches) {
            Some(m) => m,
            None => self.if_unmodified_since.is_none_or(|t| modified <= *t),
        };
        let second = match self.if_none_match.map(|c| !matches(c)) {
            Some(n) => n,
            None => self.if_modified_since.is_none_or(|t| modified > *t),
        };
        if first && second {
            Ok(())
        } else {
            Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ))
        }
    }
}

/// The bucket, key and version (`?versionId=`) of `x-amz-copy-source`.
fn source_of(source: &dto::CopySource) -> S3Result<(String, String, Option<String>)> {
    match source {
        dto::CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => Ok((
            bucket.to_string(),
            key.to_string(),
            version_id.as_deref().map(str::to_owned),
        )),
        _ => Err(s3_error!(
            NotImplemented,
            "Copying from an access point or an outpost is not supported here."
        )),
    }
}

/// `x-amz-copy-source-range: bytes=first-last`, within a source of `size`
/// bytes, as the half-open range it names.
fn copy_range(text: &str, size: u64) -> S3Result<(u64, u64)> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) = text
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(first) || !digits(last) {
        return Err(bad());
    }
    let (first, last): (u64, u64) = (
        first.parse().map_err(|_| bad())?,
        last.parse().map_err(|_| bad())?,
    );
    if first > last {
        return Err(bad());
    }
    // Past the end: what ranged GETs answer too.
    if last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable: the source object has {size} bytes"
        ));
    }
    Ok((first, last + 1))
}

/// A copy's source, read from one snapshot.
struct CopySource {
    bucket: BucketName,
    key: ObjectKey,
    /// Whether `x-amz-copy-source` named a version (`?versionId=`).
    named_version: bool,
    /// `x-amz-copy-source-version-id`: its version, in a versioned bucket.
    version_id: Option<String>,
    snapshot: SourceMeta,
    /// The source's plaintext (deciphered with its key, or with the
    /// `x-amz-copy-source-server-side-encryption-customer-*` key).
    reader: ObjectReader,
}

impl Server {
    /// The source object (the version the copy source names, or the
    /// current one), if the requester may read it (GetObject's rules).
    async fn copy_source(
        &self,
        source: &dto::CopySource,
        requester: (Requester, ConditionContext),
        payer: Option<&dto::RequestPayer>,
        expected_owner: Option<String>,
        customer: Option<CustomerKey>,
        transport: encryption::Transport,
    ) -> S3Result<CopySource> {
        self.check_customer_transport(transport, customer.as_ref())?;
        let (bucket, key, version) = source_of(source)?;
        let read: super::Readable<Snapshot> = self
            .readable(
                (&bucket, &key, version.as_deref()),
                requester,
                is_requester(payer),
                expected_owner,
            )
            .await?;
        let (b, k) = Self::names(&bucket, Some(&key))?;
        let k = k.ok_or_else(|| s3_error!(InvalidArgument))?;
        let Snapshot { meta, file } = read.version;
        encryption::check_key(meta.sse.as_ref(), customer.as_ref())?;
        let m = meta.clone();
        let reader = self
            .sse_blocking(move |s| s.reader(file, &m, customer.as_ref()))
            .await?;
        Ok(CopySource {
            bucket: b,
            key: k,
            named_version: version.is_some(),
            version_id: super::versioning::read_version(read.versioning, &meta),
            snapshot: SourceMeta { meta },
            reader,
        })
    }

    /// Copies `range` of the source's plaintext into a fsynced temp file
    /// (enciphered with `key`, the copy's, if it is encrypted), computing
    /// the checksum of `algorithm` of the copy on the way.
    async fn copy_bytes(
        &self,
        source: ObjectReader,
        range: (u64, u64),
        algorithm: Option<Algorithm>,
        key: Option<DataKey>,
    ) -> S3Result<Received> {
        self.blocking(move |s| {
            let (path, mut file) = s.temp_file()?;
            let temp = TempGuard(path);
            let io = |e: std::io::Error| {
                s3torrent_s3::S3Error::with_message(
                    s3torrent_s3::ErrorCode::InternalError,
                    format!("copying: {e}"),
                    "",
                )
            };
            let mut md5 = Md5::new();
            let mut checksum = algorithm.map(Algorithm::hasher);
            let mut size = 0u64;
            let mut buf = vec![0u8; 1 << 20];
            while range.0 + size < range.1 {
                let n = usize::try_from(range.1 - range.0 - size)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                source
                    .read_exact_at(&mut buf[..n], range.0 + size)
                    .map_err(io)?;
                md5.update(&buf[..n]);
                if let Some(h) = &mut checksum {
                    h.update(&buf[..n]);
                }
                if let Some(k) = &key {
                    k.apply(&mut buf[..n], size);
                }
                file.write_all(&buf[..n]).map_err(io)?;
                size += n as u64;
            }
            if size != range.1 - range.0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            file.sync_all().map_err(io)?;
            Ok(Received {
                temp,
                md5: hex(&md5.finalize()),
                size,
                checksum: checksum.map(|h| crate::checksum::encode(&h.finish())),
            })
        })
        .await
    }

    pub(super) async fn copy_object_(
        &self,
        req: S3Request<dto::CopyObjectInput>,
    ) -> S3Result<S3Response<dto::CopyObjectOutput>> {
        let requester = self.requester(&req);
        let mut context = super::conditions_of(&req);
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let (bucket, key) = Self::names(&input.bucket, Some(&input.key))?;
        let key = key.ok_or_else(|| s3_error!(InvalidArgument))?;
        // `x-amz-expected-bucket-owner` was checked before (`screen`).
        let info = self.bucket(&bucket).await?;
        // The tags it sets are `s3:RequestObjectTag/…` to the policy (a
        // malformed `x-amz-tagging` is refused after the access check).
        let asked_tags = super::tagging::header_tags(input.tagging.as_deref());
        if let Ok(tags) = &asked_tags {
            context.set_request_object_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        Self::may_put(&requester, &info, &key, &context)?;
        let replace = match input.metadata_directive.as_ref().map(|d| d.as_str()) {
            None | Some("COPY") => false,
            Some("REPLACE") => true,
            Some(_) => return Err(s3_error!(InvalidArgument, "Unknown metadata directive.")),
        };
        let tag_directive = TagDirective::of(input.tagging_directive.as_ref())?;
        let asked_tags = asked_tags?;
        // The checksum algorithm the request names: one this server does
        // not compute is refused before anything is read or copied.
        let named = input
            .checksum_algorithm
            .as_ref()
            .map(|a| named_algorithm(a.as_str()))
            .transpose()
            .map_err(Refusal::into_s3)?;
        let source_customer = encryption::customer_of!(input, copy_source)?;
        // The copy's encryption: the request's, else the bucket's default
        // (never the source's, as in S3).
        let asked = encryption::asked_of!(input)?;
        let changes_encryption = !matches!(asked, crate::sse::Asked::Nothing);
        let target = self.write_target(&bucket, asked, transport).await?;
        let CopySource {
            bucket: src_bucket,
            key: src_key,
            named_version,
            version_id: source_version,
            snapshot,
            reader,
        } = self
            .copy_source(
                &input.copy_source,
                (requester.clone(), context.clone()),
                input.request_payer.as_ref(),
                input.expected_source_bucket_owner.clone(),
                source_customer,
                transport,
            )
            .await?;
        CopyConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        }
        .check(&snapshot.meta)?;
        let source = snapshot.meta.clone();
        // Copying an older version onto its key restores it, as in S3.
        if src_bucket == bucket
            && src_key == key
            && !replace
            && !named_version
            && !changes_encryption
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }
        if source.size > MAX_COPY {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_COPY}"
            ));
        }
        // The copy is the writer's (or the bucket owner's, as the bucket's
        // object ownership has it), with the ACL its request names.
        let acl =
            self.new_object_acl(&super::acl::acl_headers!(input, object), &requester, &info)?;
        // The copy's checksum: the one the request names, else the
        // source's algorithm (over the whole copy), else S3's default.
        let algorithm = named
            .or(source.checksum.as_ref().map(|c| c.algorithm))
            .unwrap_or(Algorithm::Crc64Nvme);
        let customer = target.as_ref().and_then(Target::customer).cloned();
        let sealed = self.sealed_key(target).await?;
        let (data_key, envelope) = match sealed {
            Some((k, e)) => (Some(k), Some(e)),
            None => (None, None),
        };
        let received = self
            .copy_bytes(reader, (0, source.size), Some(algorithm), data_key)
            .await?;
        let etag = match envelope.as_ref().map(|e| &e.mode) {
            Some(Mode::Customer { .. } | Mode::Kms { .. }) => {
                encryption::opaque_etag(&received.md5, envelope.as_ref())
            }
            _ => received.md5.clone(),
        };
        let echo = encryption::Echo::of(envelope.as_ref(), customer.as_ref());
        // COPY keeps the source's content type and headers, REPLACE takes
        // the request's.
        let mut meta = ObjectMeta::new(
            acl.owner.account_id.to_string(),
            StoredAcl::from_acl(&acl),
            etag,
            received.size,
        );
        meta.sse = envelope;
        // `x-amz-tagging-directive`: COPY keeps the source's tags, REPLACE
        // takes the request's `x-amz-tagging`.
        meta.tags = match tag_directive {
            TagDirective::Copy => source.tags.clone(),
            TagDirective::Replace => asked_tags,
        };
        if replace {
            meta.content_type = input.content_type.map(|c| c.to_string());
            meta.headers = headers_of(
                input.cache_control,
                input.content_disposition,
                input.content_encoding,
                input.content_language,
                input.expires.as_ref(),
                input.metadata,
            );
        } else {
            meta.content_type = source.content_type.clone();
            meta.headers = source.headers.clone();
        }
        meta.checksum = received.checksum.clone().map(|value| Checksum {
            algorithm,
            kind: Kind::FullObject,
            value,
        });
        let temp = received.temp.0.clone();
        let (b, k) = (bucket.clone(), key.clone());
        let store = Arc::clone(&self.store);
        let meta = tokio::task::spawn_blocking(move || {
            store.commit_object(&b, &k, &temp, meta, &Preconditions::default(), None)
        })
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?
        .map_err(write_refused)?;
        self.forget_replaced(&bucket, &key, &meta).await?;
        let mut result = dto::CopyObjectResult {
            e_tag: meta.etag.clone().map(dto::ETag::Strong),
            last_modified: Some(timestamp(meta.modified)),
            ..Default::default()
        };
        super::checksums::answer_checksum!(result, meta.checksum.as_ref());
        Ok(echo.answer(S3Response::new(dto::CopyObjectOutput {
            copy_object_result: Some(result),
            version_id: super::versioning::written_version(&meta),
            copy_source_version_id: source_version,
            ..Default::default()
        })))
    }

    pub(super) async fn upload_part_copy_(
        &self,
        req: S3Request<dto::UploadPartCopyInput>,
    ) -> S3Result<S3Response<dto::UploadPartCopyOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let (bucket, key, _) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let number = super::multipart::part_number(input.part_number)?;
        let source_customer = encryption::customer_of!(input, copy_source)?;
        let customer = encryption::customer_of!(input)?;
        let id = input.upload_id;
        let super::multipart::PartTarget {
            checksum: upload,
            sse,
            part_key,
            echo,
        } = self
            .part_target(&bucket, &key, &id, customer.as_ref(), transport)
            .await?;
        let CopySource {
            version_id: source_version,
            snapshot,
            reader,
            ..
        } = self
            .copy_source(
                &input.copy_source,
                (requester, context),
                input.request_payer.as_ref(),
                input.expected_source_bucket_owner.clone(),
                source_customer,
                transport,
            )
            .await?;
        CopyConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        }
        .check(&snapshot.meta)?;
        let size = snapshot.meta.size;
        let range = match &input.copy_source_range {
            Some(r) => copy_range(r, size)?,
            None => (0, size),
        };
        if range.1 - range.0 > MAX_COPY {
            return Err(s3_error!(
                InvalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: {MAX_COPY}"
            ));
        }
        // The part's checksum, in its upload's algorithm.
        let algorithm = upload.map(|u| u.algorithm);
        let counter = part_key.as_ref().map(DataKey::counter);
        let received = self.copy_bytes(reader, range, algorithm, part_key).await?;
        // An SSE-C or SSE-KMS upload's parts have opaque ETags, as its
        // object has: not the plaintext's MD5.
        let part_etag = encryption::part_etag(&received.md5, sse.as_ref());
        let (etag, size, temp) = (part_etag.clone(), received.size, received.temp.0.clone());
        let kept = received.checksum.clone();
        let when = now();
        self.upload_blocking(move |s| {
            s.put_part(
                &bucket,
                &key,
                &id,
                number,
                &temp,
                (etag, kept),
                size,
                when,
                counter,
            )
        })
        .await?;
        let mut result = dto::CopyPartResult {
            e_tag: Some(dto::ETag::Strong(part_etag)),
            last_modified: Some(timestamp(when)),
            ..Default::default()
        };
        if let (Some(algorithm), Some(value)) = (algorithm, received.checksum) {
            set_checksum!(result, algorithm, value);
        }
        Ok(echo.answer(S3Response::new(dto::UploadPartCopyOutput {
            copy_part_result: Some(result),
            copy_source_version_id: source_version,
            ..Default::default()
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges() {
        assert_eq!(copy_range("bytes=0-9", 10).unwrap(), (0, 10));
        assert_eq!(copy_range("bytes=5-5", 10).unwrap(), (5, 6));
        for bad in [
            "bytes=0-10",
            "bytes=3-2",
            "bytes=-5",
            "bytes=5-",
            "0-1",
            "bytes=a-b",
        ] {
            assert!(copy_range(bad, 10).is_err(), "{bad}");
        }
    }
}
