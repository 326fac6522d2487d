//! Multipart upload: CreateMultipartUpload, UploadPart,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts and
//! ListMultipartUploads, with PutObject's write rules.
//!
//! Parts are files under the root's hidden `.multipart` folder, recorded in
//! the database (see `store::uploads`), so uploads survive restarts.
//! Completion checks the list of parts, then assembles the object in one
//! pass (copying the parts into a temp file and hashing its torrent pieces
//! on the way), fsyncs it and renames it into place as PutObject does; the
//! answer is kept alive with whitespace meanwhile, as S3 does.

use std::sync::Arc;

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_metainfo::TorrentHasher;
use s3torrent_s3::{BucketInfo, BucketName, ObjectKey, Permission, Requester, TorrentCache};

use super::checksums::{self, answer_checksum, named_checksum};
use super::{
    Integrity, Server, TempGuard, common_prefix, encryption, headers_of, now, timestamp, to_s3s,
    write_conditions, write_refused,
};
use crate::checksum::{Algorithm, Checksum, Claim, Kind, Refusal, set_checksum};
use crate::store::{
    Completion, ListedPart, MIN_PART_SIZE, ObjectMeta, Store, StoredAcl, UploadError, UploadRecord,
};

/// Where a part goes: what [`Server::part_target`] found of its upload.
pub(super) struct PartTarget {
    /// The checksum the upload asked of every part, if any.
    pub(super) checksum: Option<crate::store::UploadChecksum>,
    /// The upload's encryption, if any.
    pub(super) sse: Option<crate::sse::Envelope>,
    /// The part's data key: the upload's, with a fresh counter.
    pub(super) part_key: Option<crate::sse::DataKey>,
    /// The encryption headers the answer echoes.
    pub(super) echo: encryption::Echo,
}

/// The largest part S3 takes.
const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// Part numbers run from 1 to this.
const MAX_PART_NUMBER: u32 = 10_000;

/// How long CompleteMultipartUpload waits for the object before it answers
/// 200 and keeps the connection alive while it is assembled.
const ANSWER_AT_ONCE: std::time::Duration = std::time::Duration::from_secs(5);

fn refused(e: UploadError) -> s3s::S3Error {
    match e {
        UploadError::Store(e) => to_s3s(e),
        UploadError::NoSuchUpload => s3_error!(
            NoSuchUpload,
            "The specified upload does not exist. The upload ID may be invalid, \
             or the upload may have been aborted or completed."
        ),
        UploadError::InvalidPart(n) => s3_error!(
            InvalidPart,
            "One or more of the specified parts could not be found. The part may not have \
             been uploaded, or the specified entity tag may not match the part's entity tag. \
             (part {n})"
        ),
        UploadError::EntityTooSmall(n) => s3_error!(
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed object size. \
             (part {n} is under {MIN_PART_SIZE} bytes and is not the last)"
        ),
        UploadError::MissingPartChecksum(n, algorithm) => s3_error!(
            InvalidRequest,
            "The upload was created using a {} checksum. The complete request must include \
             the checksum for each part. It was missing for part {n} in the request.",
            algorithm.name().to_ascii_lowercase()
        ),
    }
}

fn storage_class() -> Option<dto::StorageClass> {
    Some(dto::StorageClass::from_static(dto::StorageClass::STANDARD))
}

/// A part number, 1 to 10000, else `InvalidArgument`.
pub(super) fn part_number(given: i32) -> S3Result<u32> {
    u32::try_from(given)
        .ok()
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            )
        })
}

impl Server {
    pub(super) async fn upload_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, UploadError> + Send + 'static,
    ) -> S3Result<T> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| s3_error!(InternalError, "{e}"))?
            .map_err(refused)
    }

    /// The bucket and key of a multipart request, if the requester may write
    /// there (PutObject's rule).
    pub(super) async fn writable<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
    ) -> S3Result<(BucketName, ObjectKey, BucketInfo)> {
        let requester = self.requester(req);
        let (bucket, key) = Self::names(bucket, Some(key))?;
        let key = key.expect("given");
        let info = self.bucket(&bucket).await?;
        Self::may_put(&requester, &info, &key, &super::conditions_of(req))?;
        Ok((bucket, key, info))
    }

    fn initiator(&self, account: &str) -> (dto::Initiator, dto::Owner) {
        let p = self.store.principal_of(account);
        (
            dto::Initiator {
                id: Some(p.canonical_id.to_string()),
                display_name: Some(p.account_id.to_string()),
            },
            dto::Owner {
                id: Some(p.canonical_id.to_string()),
                display_name: Some(p.account_id.to_string()),
            },
        )
    }

    pub(super) async fn create_multipart(
        &self,
        req: S3Request<dto::CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CreateMultipartUploadOutput>> {
        let (bucket, key, info) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        // The object's owner as PutObject's (an anonymous writer uploads
        // for the bucket owner).
        let requester = self.requester(&req);
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let acl =
            self.new_object_acl(&super::acl::acl_headers!(input, object), &requester, &info)?;
        let tags = super::tagging::header_tags(input.tagging.as_deref())?;
        let checksum = checksums::upload_checksum(
            input.checksum_algorithm.as_ref(),
            input.checksum_type.as_ref(),
        )?;
        // The object's encryption, sealed now: every part is enciphered
        // with its data key.
        let asked = encryption::asked_of!(input)?;
        let target = self.write_target(&bucket, asked, transport).await?;
        let customer = target
            .as_ref()
            .and_then(crate::sse::Target::customer)
            .cloned();
        let sse = self.sealed_key(target).await?.map(|(_, envelope)| envelope);
        let echo = encryption::Echo::of(sse.as_ref(), customer.as_ref());
        let record = UploadRecord {
            sse,
            owner: acl.owner.account_id.to_string(),
            acl: StoredAcl::from_acl(&acl),
            tags,
            content_type: input.content_type.map(|c| c.to_string()),
            initiated: now(),
            completing: false,
            listed: None,
            checksum,
            headers: headers_of(
                input.cache_control,
                input.content_disposition,
                input.content_encoding,
                input.content_language,
                input.expires.as_ref(),
                input.metadata,
            ),
        };
        let (b, k) = (bucket.clone(), key.clone());
        let id = self
            .stored(move |s| s.create_upload(&b, &k, &record))
            .await?;
        Ok(
            echo.answer(S3Response::new(dto::CreateMultipartUploadOutput {
                bucket: Some(bucket.to_string()),
                key: Some(key.to_string()),
                upload_id: Some(id),
                checksum_algorithm: checksum
                    .map(|c| dto::ChecksumAlgorithm::from_static(c.algorithm.name())),
                checksum_type: checksum.map(|c| dto::ChecksumType::from_static(c.kind.name())),
                ..Default::default()
            })),
        )
    }

    /// An encrypted upload's data key for a part (or its completion): the
    /// upload's, opened with the store's key or, for SSE-C, with the
    /// request's customer key, which must be the upload's (400 otherwise,
    /// and for a customer key given to an upload without SSE-C).
    pub(super) async fn upload_data_key(
        &self,
        sse: Option<&crate::sse::Envelope>,
        customer: Option<&crate::sse::CustomerKey>,
        transport: encryption::Transport,
    ) -> S3Result<Option<crate::sse::DataKey>> {
        self.check_customer_transport(transport, customer)?;
        encryption::check_key(sse, customer)?;
        let Some(envelope) = sse.cloned() else {
            return Ok(None);
        };
        let customer = customer.cloned();
        let key = self
            .sse_blocking(move |s| s.open_data_key(&envelope, customer.as_ref()))
            .await?;
        Ok(Some(key))
    }

    /// The upload a part goes to (an unknown one, or one being completed:
    /// `NoSuchUpload`): its checksum, its encryption, the part's data key
    /// (the upload's, with a counter of its own) and the encryption headers
    /// to echo. UploadPart and UploadPartCopy both start here.
    pub(super) async fn part_target(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        id: &str,
        customer: Option<&crate::sse::CustomerKey>,
        transport: encryption::Transport,
    ) -> S3Result<PartTarget> {
        let (b, k, id) = (bucket.clone(), key.clone(), id.to_owned());
        let (checksum, sse) = self
            .upload_blocking(move |s| {
                let record = s.upload(&b, &k, &id)?;
                if record.completing {
                    return Err(UploadError::NoSuchUpload);
                }
                Ok((record.checksum, record.sse))
            })
            .await?;
        let part_key = match self
            .upload_data_key(sse.as_ref(), customer, transport)
            .await?
        {
            Some(k) => Some(k.fresh_counter().map_err(|e| e.to_s3())?),
            None => None,
        };
        let echo = encryption::Echo::of(sse.as_ref(), customer);
        Ok(PartTarget {
            checksum,
            sse,
            part_key,
            echo,
        })
    }

    pub(super) async fn upload_part_(
        &self,
        req: S3Request<dto::UploadPartInput>,
    ) -> S3Result<S3Response<dto::UploadPartOutput>> {
        let (bucket, key, _) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        let claim = Claim::of(&req.headers, None).map_err(Refusal::into_s3)?;
        let trailers = req.trailing_headers.clone();
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let number = part_number(input.part_number)?;
        let customer = encryption::customer_of!(input)?;
        let declared = input.content_length.and_then(|l| u64::try_from(l).ok());
        let too_large = || {
            s3_error!(
                EntityTooLarge,
                "Your proposed upload exceeds the maximum allowed size ({MAX_PART_SIZE} bytes per part)"
            )
        };
        if declared.is_some_and(|d| d > MAX_PART_SIZE) {
            return Err(too_large());
        }
        // An unknown upload is refused before its body is read.
        let id = input.upload_id;
        let PartTarget {
            checksum: upload,
            sse,
            part_key,
            echo,
        } = self
            .part_target(&bucket, &key, &id, customer.as_ref(), transport)
            .await?;
        // The part's checksum: of the upload's algorithm, kept with the
        // part; one of another upload's is only checked.
        let claim = checksums::part_claim(claim, upload.as_ref())?;
        let algorithm = claim.algorithm();
        let received = self
            .receive(
                input.body,
                declared,
                Integrity {
                    content_md5: input.content_md5.as_deref(),
                    claim,
                    trailers,
                },
                part_key.as_ref(),
                |_| {},
            )
            .await?;
        if received.size > MAX_PART_SIZE {
            return Err(too_large());
        }
        let kept = received.checksum.clone().filter(|_| upload.is_some());
        // An SSE-C or SSE-KMS upload's parts have opaque ETags, as its
        // object has: not the plaintext's MD5.
        let part_etag = encryption::part_etag(&received.md5, sse.as_ref());
        let (etag, size, temp) = (part_etag.clone(), received.size, received.temp.0.clone());
        self.upload_blocking(move |s| {
            let counter = part_key.map(|k| k.counter());
            s.put_part(
                &bucket,
                &key,
                &id,
                number,
                &temp,
                (etag, kept),
                size,
                now(),
                counter,
            )
        })
        .await?;
        let mut out = dto::UploadPartOutput {
            e_tag: Some(dto::ETag::Strong(part_etag)),
            ..Default::default()
        };
        if let (Some(algorithm), Some(value)) = (algorithm, received.checksum.clone()) {
            set_checksum!(out, algorithm, value);
        }
        Ok(echo.answer(S3Response::new(out)))
    }

    pub(super) async fn complete_multipart(
        &self,
        req: S3Request<dto::CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::CompleteMultipartUploadOutput>> {
        let (bucket, key, info) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        let transport = encryption::Transport::of(&req);
        let input = req.input;
        let customer = encryption::customer_of!(input)?;
        // The whole object's checksum the request names, if any.
        let given = named_checksum!(input);
        let given_kind = input.checksum_type.clone();
        let listed = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "The XML you provided was not well-formed or did not validate against our \
                 published schema: it lists no parts."
            ));
        }
        let mut wanted: Vec<ListedPart> = Vec::with_capacity(listed.len());
        for part in listed {
            let checksum = named_checksum!(part);
            let (Some(number), Some(etag)) = (part.part_number, part.e_tag) else {
                return Err(s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our \
                     published schema: every part needs a PartNumber and an ETag."
                ));
            };
            let number = u32::try_from(number).map_err(|_| refused(UploadError::InvalidPart(0)))?;
            if wanted.last().is_some_and(|last| last.number >= number) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. Parts must be ordered by \
                     part number."
                ));
            }
            wanted.push(ListedPart {
                number,
                etag: etag.value().to_owned(),
                checksum,
            });
        }
        let conditions = write_conditions(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        let id = input.upload_id;
        let location = self.torrents.policy().web_seed_url(&bucket, &key);
        // An encrypted upload's data key, before the upload is claimed: an
        // SSE-C upload completes with its customer's key only. (An upload
        // gone may have been completed: the claim says.)
        let sse = {
            let (b, k, id) = (bucket.clone(), key.clone(), id.clone());
            self.upload_blocking(move |s| match s.upload(&b, &k, &id) {
                Ok(record) => Ok(record.sse),
                Err(UploadError::NoSuchUpload) => Ok(None),
                Err(e) => Err(e),
            })
            .await?
        };
        let data_key = self
            .upload_data_key(sse.as_ref(), customer.as_ref(), transport)
            .await?;
        let echo = encryption::Echo::of(sse.as_ref(), customer.as_ref());
        let claimed = {
            let (b, k, id) = (bucket.clone(), key.clone(), id.clone());
            match self
                .upload_blocking(move |s| s.claim_upload(&b, &k, &id, &wanted))
                .await?
            {
                Completion::Claimed(c) => c,
                // Completed already: S3 answers the same again.
                Completion::Done(etag, checksum) => {
                    let mut out = dto::CompleteMultipartUploadOutput {
                        bucket: Some(bucket.to_string()),
                        key: Some(key.to_string()),
                        e_tag: Some(dto::ETag::Strong(etag)),
                        location,
                        ..Default::default()
                    };
                    answer_checksum!(out, checksum.as_ref());
                    return Ok(echo.answer(S3Response::new(out)));
                }
            }
        };
        let release = {
            let (store, b, k, id) = (
                Arc::clone(&self.store),
                bucket.clone(),
                key.clone(),
                id.clone(),
            );
            move |e: s3s::S3Error| {
                if let Err(r) = store.release_upload(&b, &k, &id) {
                    tracing::warn!(target: "serve", upload = %id, error = %r, "releasing an upload failed");
                }
                e
            }
        };
        // The object's checksum: composite from the parts' (known now), or
        // full-object over the bytes as they are assembled (the upload's
        // CRC, or CRC64NVME, S3's default).
        let mode = claimed.record.checksum;
        let composite = (|| -> S3Result<Option<Checksum>> {
            let given =
                checksums::completion_claim(given_kind.as_ref(), given.clone(), mode.as_ref())?;
            let Some(m) = mode.filter(|m| m.kind == Kind::Composite) else {
                return Ok(None);
            };
            let listed = claimed.record.listed.as_deref().unwrap_or_default();
            let c = checksums::composite_of(m.algorithm, listed)?;
            if let Some((_, value)) = &given
                && value.rsplit_once('-').map_or(value.as_str(), |(d, _)| d) != c.bare()
            {
                return Err(Refusal::BadDigest(m.algorithm).into_s3());
            }
            Ok(Some(c))
        })()
        .map_err(release.clone())?;
        let full = match mode {
            None => Some(Algorithm::Crc64Nvme),
            Some(m) if m.kind == Kind::FullObject => Some(m.algorithm),
            Some(_) => None,
        };

        // Assemble, commit and clean up on a blocking thread, in one job:
        // it runs to the end even if the client goes away.
        let policy = self.torrents.policy();
        let piece_length = policy.piece_length_for(claimed.size);
        let version = policy.version;
        let (store, service) = (Arc::clone(&self.store), Arc::clone(&self.torrents));
        let (b, k) = (bucket.clone(), key.clone());
        let job = tokio::task::spawn_blocking(
            move || -> S3Result<(String, ObjectMeta, Option<Checksum>)> {
                let mut hasher =
                    (claimed.size > 0).then(|| TorrentHasher::new(piece_length, version));
                let mut whole = full.map(Algorithm::hasher);
                let mut meta = ObjectMeta::new(
                    claimed.record.owner.clone(),
                    claimed.record.acl.clone(),
                    claimed.etag.clone(),
                    claimed.size,
                );
                meta.content_type = claimed.record.content_type.clone();
                meta.headers = claimed.record.headers.clone();
                meta.tags = claimed.record.tags.clone();
                meta.sse = claimed.record.sse.clone();
                if meta.sse.is_some() != data_key.is_some() {
                    return Err(release(s3_error!(
                        InternalError,
                        "the upload's encryption changed while it completed"
                    )));
                }
                let temp = store
                    .assemble(&claimed.parts, data_key.as_ref(), |chunk| {
                        if let Some(h) = &mut hasher {
                            h.update(chunk);
                        }
                        if let Some(h) = &mut whole {
                            h.update(chunk);
                        }
                    })
                    .map_err(|e| release(to_s3s(e)))?;
                let _cleanup = TempGuard(temp.clone());
                let checksum = match (composite, full.zip(whole)) {
                    (Some(c), _) => Some(c),
                    (None, Some((algorithm, h))) => {
                        let digest = h.finish();
                        if let Some((_, value)) = &given
                            && crate::checksum::decode(algorithm, value).as_deref()
                                != Some(&digest[..])
                        {
                            return Err(release(Refusal::BadDigest(algorithm).into_s3()));
                        }
                        Some(Checksum::full(algorithm, &digest))
                    }
                    (None, None) => None,
                };
                meta.checksum = checksum.clone();
                let meta = store
                    .complete_upload(&b, &k, &id, &temp, meta, &conditions)
                    .map_err(|e| release(write_refused(e)))?;
                // An unversioned bucket's older torrents of the key are stale
                // (versioning is never unset: unversioned now, so at the commit).
                if meta.version.is_null()
                    && store
                        .bucket_versioning(&b)
                        .map_err(to_s3s)?
                        .is_unversioned()
                {
                    service.cache().forget(&b, &k);
                }
                if let Some(h) = hasher
                    && meta
                        .sse
                        .as_ref()
                        .is_none_or(|e| e.mode == crate::sse::Mode::S3)
                    && let Ok(object) = store.object_info(&info, &k, &meta)
                {
                    let _ = service.store_hashes(&b, &object, &h.finish());
                }
                Ok((claimed.etag, meta, checksum))
            },
        );
        let answer = move |done: Result<S3Result<(String, ObjectMeta, Option<Checksum>)>, _>| {
            let (etag, meta, checksum) = done.map_err(|e| s3_error!(InternalError, "{e}"))??;
            let mut out = dto::CompleteMultipartUploadOutput {
                bucket: Some(bucket.to_string()),
                key: Some(key.to_string()),
                e_tag: Some(dto::ETag::Strong(etag)),
                location,
                version_id: super::versioning::written_version(&meta),
                ..Default::default()
            };
            answer_checksum!(out, checksum.as_ref());
            Ok(out)
        };
        // A completion done within a few seconds answers when done, with
        // its own status (a refusal such as `PreconditionFailed` 412 or
        // `InvalidPart` 400 as such) and, in a versioned bucket, its new
        // version in `x-amz-version-id`. A longer one answers 200 and keeps
        // the connection alive with whitespace until the XML is ready, as
        // S3 does (its headers have gone by then; s3s 0.14.1 writes a
        // refusal found that late after a second XML declaration, which
        // SDKs cannot parse).
        let mut job = job;
        if let Ok(done) = tokio::time::timeout(ANSWER_AT_ONCE, &mut job).await {
            return answer(done).map(|out| echo.answer(S3Response::new(out)));
        }
        let future = async move { answer(job.await) };
        Ok(
            echo.answer(S3Response::new(dto::CompleteMultipartUploadOutput {
                future: Some(Box::pin(future)),
                ..Default::default()
            })),
        )
    }

    pub(super) async fn abort_multipart(
        &self,
        req: S3Request<dto::AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<dto::AbortMultipartUploadOutput>> {
        let (bucket, key, _) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        let id = req.input.upload_id;
        self.upload_blocking(move |s| s.abort_upload(&bucket, &key, &id))
            .await?;
        Ok(S3Response::new(dto::AbortMultipartUploadOutput::default()))
    }

    pub(super) async fn list_parts_(
        &self,
        req: S3Request<dto::ListPartsInput>,
    ) -> S3Result<S3Response<dto::ListPartsOutput>> {
        let (bucket, key, _) = self
            .writable(&req, &req.input.bucket, &req.input.key)
            .await?;
        let input = req.input;
        let max = input.max_parts.unwrap_or(1000).clamp(0, 1000);
        let after = input.part_number_marker.unwrap_or(0).clamp(0, 10_000);
        let (b, k, id) = (bucket.clone(), key.clone(), input.upload_id.clone());
        let page = self
            .upload_blocking(move |s| s.parts(&b, &k, &id, after as u32, max as usize))
            .await?;
        let (initiator, owner) = self.initiator(&page.record.owner);
        let upload_checksum = page.record.checksum;
        Ok(S3Response::new(dto::ListPartsOutput {
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            upload_id: Some(input.upload_id),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: page.parts.last().map(|(n, _)| *n as i32),
            max_parts: Some(max),
            is_truncated: Some(page.truncated),
            initiator: Some(initiator),
            owner: Some(owner),
            storage_class: storage_class(),
            checksum_algorithm: upload_checksum
                .map(|c| dto::ChecksumAlgorithm::from_static(c.algorithm.name())),
            checksum_type: upload_checksum.map(|c| dto::ChecksumType::from_static(c.kind.name())),
            parts: Some(
                page.parts
                    .into_iter()
                    .map(|(number, p)| {
                        let mut part = dto::Part {
                            part_number: Some(number as i32),
                            e_tag: Some(dto::ETag::Strong(p.etag)),
                            size: Some(p.size as i64),
                            last_modified: Some(timestamp(p.modified)),
                            ..Default::default()
                        };
                        if let (Some(c), Some(value)) = (upload_checksum, p.checksum) {
                            set_checksum!(part, c.algorithm, value);
                        }
                        part
                    })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    pub(super) async fn list_uploads(
        &self,
        req: S3Request<dto::ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<dto::ListMultipartUploadsOutput>> {
        // ListObjectsV2's rule: the bucket's owner, or READ on it.
        let requester: Requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let input = req.input;
        let (bucket, _) = Self::names(&input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(
            &requester,
            &info,
            Permission::Read,
            ("s3:ListBucketMultipartUploads", None),
            &context,
        )?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
        let key_marker = input.key_marker.clone().unwrap_or_default();
        let id_marker = input
            .upload_id_marker
            .clone()
            .filter(|_| !key_marker.is_empty());
        let max = input.max_uploads.unwrap_or(1000).clamp(0, 1000);
        let b = bucket.clone();
        let all = self.stored(move |s| s.uploads(&b)).await?;

        let mut uploads = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut next = None;
        let mut truncated = false;
        for (key, id, record) in all {
            let after_marker = match &id_marker {
                Some(m) => key.as_str() > key_marker.as_str() || (key == key_marker && id > *m),
                None => key.as_str() > key_marker.as_str(),
            };
            if !key.starts_with(&prefix) || !after_marker {
                continue;
            }
            let common = common_prefix(&key, &prefix, delimiter.as_deref());
            if common.as_ref().is_some_and(|p| prefixes.last() == Some(p)) {
                // Counted already; the marker moves past it.
                next = Some((key, id));
                continue;
            }
            if uploads.len() + prefixes.len() == max as usize {
                truncated = true;
                break;
            }
            next = Some((key.clone(), id.clone()));
            if let Some(p) = common {
                prefixes.push(p);
                continue;
            }
            let (initiator, owner) = self.initiator(&record.owner);
            uploads.push(dto::MultipartUpload {
                key: Some(key),
                upload_id: Some(id),
                initiated: Some(timestamp(record.initiated)),
                initiator: Some(initiator),
                owner: Some(owner),
                storage_class: storage_class(),
                ..Default::default()
            });
        }
        let (next_key, next_id) = match next.filter(|_| truncated) {
            Some((k, i)) => (Some(k), Some(i)),
            None => (None, None),
        };
        Ok(S3Response::new(dto::ListMultipartUploadsOutput {
            bucket: Some(bucket.to_string()),
            prefix: input.prefix,
            delimiter: input.delimiter,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            max_uploads: Some(max),
            is_truncated: Some(truncated),
            next_key_marker: next_key,
            next_upload_id_marker: next_id,
            uploads: Some(uploads),
            common_prefixes: Some(
                prefixes
                    .into_iter()
                    .map(|p| dto::CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }
}
