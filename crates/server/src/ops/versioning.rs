//! Versioning: Put/GetBucketVersioning, ListObjectVersions (versions and
//! delete markers, newest first within each key, `key-marker` and
//! `version-id-marker` pages, prefixes and delimiters), DeleteObject with
//! and without a `versionId`, and the headers that name versions and
//! delete markers. What a versioned bucket keeps is the store's
//! (`store::versions`).

use std::sync::Arc;

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use s3torrent_s3::{BucketName, ObjectKey, Permission, Requester, S3Error, TorrentCache};

use super::listing::{self, Encoding};
use super::{Server, timestamp, to_s3s};
use crate::store::{
    DeleteConditions, Deleted, Found, ListFrom, Listed, Marker, ObjectMeta, Removal, Store,
    StoreError, VersionEntry, VersionId, Versioning,
};

/// What a DeleteObject did, for its answer and DeleteObjects' entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Deletion {
    /// An unversioned bucket's object went (or was not there).
    Removed,
    /// A delete marker was made, this version.
    MarkerMade(VersionId),
    /// The version asked for went for good (or was not there): a delete
    /// marker, or not.
    VersionDeleted(VersionId, Deleted),
}

impl Deletion {
    /// `x-amz-delete-marker` and `x-amz-version-id` (DeleteObject), or
    /// `DeleteMarker` and `VersionId` (DeleteObjects).
    pub(super) fn marker_and_version(&self) -> (Option<bool>, Option<String>) {
        match self {
            Deletion::Removed => (None, None),
            Deletion::MarkerMade(v) => (Some(true), Some(v.as_str().to_owned())),
            Deletion::VersionDeleted(v, deleted) => (
                (*deleted == Deleted::Marker).then_some(true),
                Some(v.as_str().to_owned()),
            ),
        }
    }
}

/// The headers of an answer that met a delete marker: a GET or HEAD of a
/// key whose newest version is one (404), or of one by its version ID
/// (405), as S3 sends them.
pub(super) fn marker_headers(marker: &Marker) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-amz-delete-marker",
        http::HeaderValue::from_static("true"),
    );
    if let Ok(v) = http::HeaderValue::from_str(marker.version.as_str()) {
        headers.insert("x-amz-version-id", v);
    }
    let mut date = Vec::new();
    if timestamp(marker.modified)
        .format(dto::TimestampFormat::HttpDate, &mut date)
        .is_ok()
        && let Ok(v) = http::HeaderValue::from_bytes(&date)
    {
        headers.insert(http::header::LAST_MODIFIED, v);
    }
    headers
}

/// The `x-amz-version-id` a read or a copy's source answers with: the
/// version, in a versioned bucket (`null` for its null version); none in
/// a bucket never versioned.
pub(super) fn read_version(versioning: Versioning, meta: &ObjectMeta) -> Option<String> {
    (!versioning.is_unversioned()).then(|| meta.version.as_str().to_owned())
}

/// The `x-amz-version-id` a write answers with: the new version's ID in a
/// versioning-enabled bucket; none for the null version (an unversioned or
/// a suspended bucket's write), as S3 answers.
pub(super) fn written_version(meta: &ObjectMeta) -> Option<String> {
    match &meta.version {
        VersionId::Id(id) => Some(id.clone()),
        VersionId::Null => None,
    }
}

/// One page of ListObjectVersions, built from the store's entries in order.
struct VersionPage<'q> {
    prefix: &'q str,
    delimiter: Option<&'q str>,
    /// `key-marker`: a common prefix equal to it was listed already.
    key_marker: &'q str,
    max: usize,
    entries: Vec<(String, VersionEntry)>,
    prefixes: Vec<String>,
    truncated: bool,
    /// The last entry: a key and its version, or a common prefix.
    last: Option<(String, Option<VersionId>)>,
}

impl VersionPage<'_> {
    fn count(&self) -> usize {
        self.entries.len() + self.prefixes.len()
    }

    /// Takes the next entry (key order, each key's versions newest first);
    /// a common prefix takes one slot for all its keys' versions.
    fn push(&mut self, key: &str, entry: VersionEntry) -> Listed {
        if self.max == 0 {
            return Listed::Stop;
        }
        if !key.starts_with(self.prefix) {
            return Listed::Next;
        }
        let common = listing::common_prefix(key, self.prefix, self.delimiter);
        if let Some(p) = common
            && (p == self.key_marker || self.prefixes.last().map(String::as_str) == Some(p))
        {
            return Listed::SkipPrefix(p.to_owned());
        }
        if self.count() == self.max {
            self.truncated = true;
            return Listed::Stop;
        }
        match common {
            Some(p) => {
                self.last = Some((p.to_owned(), None));
                self.prefixes.push(p.to_owned());
                Listed::SkipPrefix(p.to_owned())
            }
            None => {
                self.last = Some((key.to_owned(), Some(entry.version().clone())));
                self.entries.push((key.to_owned(), entry));
                Listed::Next
            }
        }
    }
}

impl Server {
    pub(super) async fn put_bucket_versioning_(
        &self,
        req: S3Request<dto::PutBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::PutBucketVersioningOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:PutBucketVersioning")
            .await?;
        let config = req.input.versioning_configuration;
        if config
            .mfa_delete
            .as_ref()
            .is_some_and(|m| m.as_str() != dto::MFADelete::DISABLED)
        {
            return Err(s3_error!(
                NotImplemented,
                "MFA delete is not supported here: MfaDelete may only be Disabled."
            ));
        }
        let status = match config.status.as_ref().map(|s| s.as_str()) {
            Some(dto::BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(dto::BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => {
                return Err(s3_error!(
                    MalformedXML,
                    "The XML you provided was not well-formed or did not validate against our published schema: Status is Enabled or Suspended."
                ));
            }
        };
        self.stored(move |s| s.set_versioning(&bucket, status))
            .await?;
        Ok(S3Response::new(dto::PutBucketVersioningOutput::default()))
    }

    pub(super) async fn get_bucket_versioning_(
        &self,
        req: S3Request<dto::GetBucketVersioningInput>,
    ) -> S3Result<S3Response<dto::GetBucketVersioningOutput>> {
        let (bucket, _) = self
            .bucket_for_settings(&req, &req.input.bucket, "s3:GetBucketVersioning")
            .await?;
        let status = self.stored(move |s| s.bucket_versioning(&bucket)).await?;
        let status = match status {
            Versioning::Unversioned => None,
            Versioning::Enabled => Some(dto::BucketVersioningStatus::ENABLED),
            Versioning::Suspended => Some(dto::BucketVersioningStatus::SUSPENDED),
        };
        Ok(S3Response::new(dto::GetBucketVersioningOutput {
            mfa_delete: None,
            status: status.map(dto::BucketVersioningStatus::from_static),
        }))
    }

    /// DeleteObject, with or without a `versionId`, once the requester may
    /// delete: the requester's account owns a delete marker it makes (the
    /// bucket owner's, for an anonymous one).
    pub(super) async fn delete_one(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: Option<&str>,
        requester: &Requester,
        bucket_owner: &str,
        conditions: DeleteConditions,
    ) -> Result<Deletion, S3Error> {
        let (b, k) = (bucket.clone(), key.clone());
        let deletion = match version {
            None => {
                let owner = requester
                    .principal()
                    .map_or(bucket_owner.to_owned(), |p| p.account_id.to_string());
                let removal = self
                    .blocking_s3(move |s| s.delete_current(&b, &k, &owner, &conditions))
                    .await?;
                match removal {
                    Removal::Removed => Deletion::Removed,
                    Removal::Marker(v) => Deletion::MarkerMade(v),
                }
            }
            Some(v) => {
                let version = VersionId::of(v);
                let wanted = version.clone();
                let deleted = self
                    .blocking_s3(move |s| s.delete_version(&b, &k, &wanted, &conditions))
                    .await?;
                Deletion::VersionDeleted(version, deleted)
            }
        };
        // An unversioned bucket's torrents of the key are stale now (a
        // versioned bucket's went with the versions they describe).
        let b = bucket.clone();
        if self
            .blocking_s3(move |s| s.bucket_versioning(&b))
            .await?
            .is_unversioned()
        {
            self.torrents.cache().forget(bucket, key);
        }
        Ok(deletion)
    }

    /// [`Server::stored`], answering with our own error (not yet s3s's).
    async fn blocking_s3<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, S3Error> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| {
                S3Error::with_message(
                    s3torrent_s3::ErrorCode::InternalError,
                    format!("internal error: {e}"),
                    "",
                )
            })?
            .map_err(S3Error::from)
    }

    pub(super) async fn list_object_versions_(
        &self,
        req: S3Request<dto::ListObjectVersionsInput>,
    ) -> S3Result<S3Response<dto::ListObjectVersionsOutput>> {
        // READ on the bucket, or a policy's `s3:ListBucketVersions`, as S3.
        let requester = self.requester(&req);
        let (bucket, _) = Self::names(&req.input.bucket, None)?;
        let info = self.bucket(&bucket).await?;
        Self::bucket_allows(
            &requester,
            &info,
            Permission::Read,
            ("s3:ListBucketVersions", None),
            &super::conditions_of(&req),
        )?;
        let input = req.input;
        let encoding = Encoding::of(input.encoding_type.as_ref())?;
        let max = listing::max_keys(input.max_keys)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let delimiter = listing::delimiter(input.delimiter.as_deref()).map(str::to_owned);
        let key_marker = input.key_marker.clone().unwrap_or_default();
        let version_marker = match input.version_id_marker.as_deref().filter(|v| !v.is_empty()) {
            None => None,
            Some(_) if key_marker.is_empty() => {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            Some(v) => {
                let version = VersionId::of(v);
                if !version.is_well_formed() {
                    return Err(s3_error!(InvalidArgument, "Invalid version id specified"));
                }
                Some(version)
            }
        };
        let torrents = Arc::clone(&self.torrents);
        let (b, p, d, k) = (
            bucket.clone(),
            prefix.clone(),
            delimiter.clone(),
            key_marker.clone(),
        );
        let (entries, prefixes, truncated, last) = self
            .blocking(move |s| {
                // Hand-placed files are adopted when a listing starts.
                if k.is_empty() && version_marker.is_none() {
                    s.discover(&b)?;
                }
                let mut page = VersionPage {
                    prefix: &p,
                    delimiter: d.as_deref(),
                    key_marker: &k,
                    max,
                    entries: Vec::new(),
                    prefixes: Vec::new(),
                    truncated: false,
                    last: None,
                };
                let from = ListFrom {
                    key: &k,
                    version: version_marker,
                };
                s.list_versions(&b, &p, &from, |key, entry| page.push(key, entry))?;
                let info = s.bucket_info(&b)?.ok_or_else(|| {
                    S3Error::new(s3torrent_s3::ErrorCode::NoSuchBucket, b.as_str())
                })?;
                let mut entries = Vec::with_capacity(page.entries.len());
                for (key, mut entry) in page.entries {
                    if let Found::Object(meta) = entry.found {
                        // A hand-placed file as it is now (gone: not listed).
                        let Some(mut meta) = s.as_now(&b, &key, meta)? else {
                            continue;
                        };
                        if meta.etag.is_none() {
                            // Listing is allowed: an adopted file's MD5 now, once.
                            let object_key = ObjectKey::new(key.clone())?;
                            let object = s.object_info(&info, &object_key, &meta)?;
                            let object = torrents.resolve_etag(s, &b, &object)?;
                            meta.etag = object.etag.as_known().map(str::to_owned);
                        }
                        entry.found = Found::Object(meta);
                    }
                    // With ACLs disabled, every version is the bucket owner's.
                    if info.ownership.acls_disabled() {
                        let owner = info.owner.account_id.to_string();
                        match &mut entry.found {
                            Found::Object(m) => m.owner = owner,
                            Found::Marker(m) => m.owner = owner,
                        }
                    }
                    entries.push((key, entry));
                }
                Ok((entries, page.prefixes, page.truncated, page.last))
            })
            .await?;
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        for (key, entry) in entries {
            let latest = entry.latest;
            match entry.found {
                Found::Object(m) => versions.push(dto::ObjectVersion {
                    key: Some(encoding.apply(&key)),
                    version_id: Some(m.version.as_str().to_owned()),
                    is_latest: Some(latest),
                    size: Some(m.size as i64),
                    e_tag: m.etag.clone().map(dto::ETag::Strong),
                    last_modified: Some(timestamp(m.modified)),
                    owner: Some(self.owner_of(&m)),
                    storage_class: Some(dto::ObjectVersionStorageClass::from_static(
                        dto::ObjectVersionStorageClass::STANDARD,
                    )),
                    ..Default::default()
                }),
                Found::Marker(m) => markers.push(dto::DeleteMarkerEntry {
                    key: Some(encoding.apply(&key)),
                    version_id: Some(m.version.as_str().to_owned()),
                    is_latest: Some(latest),
                    last_modified: Some(timestamp(m.modified)),
                    owner: Some(self.owner_of_account(&m.owner)),
                }),
            }
        }
        let (next_key, next_version) = match last.filter(|_| truncated) {
            Some((key, version)) => (
                Some(encoding.apply(&key)),
                version.map(|v| v.as_str().to_owned()),
            ),
            None => (None, None),
        };
        Ok(S3Response::new(dto::ListObjectVersionsOutput {
            name: Some(bucket.to_string()),
            prefix: Some(encoding.apply(&prefix)),
            key_marker: Some(encoding.apply(&key_marker)),
            version_id_marker: Some(input.version_id_marker.clone().unwrap_or_default()),
            max_keys: Some(max as i32),
            is_truncated: Some(truncated),
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            versions: Some(versions),
            delete_markers: (!markers.is_empty()).then_some(markers),
            common_prefixes: Some(
                prefixes
                    .iter()
                    .map(|p| dto::CommonPrefix {
                        prefix: Some(encoding.apply(p)),
                    })
                    .collect(),
            ),
            // An empty `delimiter=` is none, and is not echoed.
            delimiter: encoding.apply_opt(delimiter.as_deref()),
            encoding_type: input.encoding_type,
            request_charged: None,
        }))
    }

    /// Whether `requester` may delete a version (`s3:DeleteObjectVersion`)
    /// or make a delete marker (`s3:DeleteObject`) of `key`.
    pub(super) fn may_delete(
        requester: &Requester,
        bucket: &s3torrent_s3::BucketInfo,
        key: Option<&str>,
        version: Option<&str>,
        context: &s3torrent_s3::ConditionContext,
    ) -> S3Result<()> {
        let action = match version {
            Some(_) => "s3:DeleteObjectVersion",
            None => "s3:DeleteObject",
        };
        Self::bucket_allows(requester, bucket, Permission::Write, (action, key), context)
    }
}

/// An s3s error with the headers of the delete marker it met.
pub(super) fn with_marker(error: S3Error, marker: Option<&Marker>) -> s3s::S3Error {
    let mut e = to_s3s(error);
    if let Some(m) = marker {
        e.set_headers(marker_headers(m));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Marker;

    fn marker(v: &str) -> VersionEntry {
        VersionEntry {
            latest: false,
            found: Found::Marker(Marker {
                owner: String::new(),
                modified: 0,
                version: VersionId::of(v),
            }),
        }
    }

    /// A page counts versions and common prefixes together; a prefix takes
    /// one slot for all its keys' versions, and the page ends on a version
    /// (the next page starts after it) or on a prefix.
    #[test]
    fn pages_count_versions_and_prefixes() {
        let all = [
            ("a", "v3"),
            ("a", "v2"),
            ("a", "v1"),
            ("d/x", "v1"),
            ("d/y", "v1"),
            ("e", "null"),
        ];
        let run = |max: usize, delimiter: Option<&str>| {
            let mut page = VersionPage {
                prefix: "",
                delimiter,
                key_marker: "",
                max,
                entries: Vec::new(),
                prefixes: Vec::new(),
                truncated: false,
                last: None,
            };
            let mut skip: Option<String> = None;
            for (k, v) in all {
                if skip.as_deref().is_some_and(|p| k.starts_with(p)) {
                    continue;
                }
                match page.push(k, marker(v)) {
                    Listed::Next => skip = None,
                    Listed::SkipPrefix(p) => skip = Some(p),
                    Listed::Stop => break,
                }
            }
            let listed: Vec<String> = page
                .entries
                .iter()
                .map(|(k, e)| format!("{k}@{}", e.version().as_str()))
                .collect();
            (listed, page.prefixes, page.truncated, page.last)
        };
        let (listed, prefixes, truncated, last) = run(2, None);
        assert_eq!(listed, ["a@v3", "a@v2"]);
        assert!(prefixes.is_empty() && truncated);
        assert_eq!(last, Some(("a".into(), Some(VersionId::of("v2")))));
        let (listed, prefixes, truncated, last) = run(4, Some("/"));
        assert_eq!(listed, ["a@v3", "a@v2", "a@v1"]);
        assert_eq!((prefixes, truncated), (vec!["d/".to_owned()], true));
        assert_eq!(last, Some(("d/".into(), None)));
        let (listed, _, truncated, _) = run(0, None);
        assert!(listed.is_empty() && !truncated);
        let (listed, _, truncated, _) = run(10, Some("/"));
        assert_eq!(listed.len(), 4);
        assert!(!truncated);
    }
}
