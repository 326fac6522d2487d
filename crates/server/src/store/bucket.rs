//! Buckets: their records, owners, payers and policies.

use super::*;

/// A bucket with a record, as the memo holds it.
#[derive(Debug, Clone)]
pub(super) struct BucketRow {
    /// As [`Store::bucket_info`] makes it.
    pub(super) info: BucketInfo,
    pub(super) versioning: Versioning,
    /// Its default encryption (PutBucketEncryption), if any.
    pub(super) encryption: Option<DefaultEncryption>,
}

impl Store {
    pub(crate) fn bucket_info(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<BucketInfo>, StoreError> {
        Ok(self.bucket_entry(bucket)?.map(|(info, _)| info))
    }

    /// The bucket and its versioning, from the memo when it holds them.
    pub(crate) fn bucket_entry(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<(BucketInfo, Versioning)>, StoreError> {
        Ok(self.bucket_row(bucket)?.map(|r| (r.info, r.versioning)))
    }

    /// Whether the memo holds the bucket: [`Store::bucket_entry`] and
    /// [`Store::bucket_encryption`] would read no database page.
    pub(crate) fn bucket_memoized(&self, bucket: &BucketName) -> bool {
        self.bucket_memo.holds(self.epoch.now(), bucket.as_str())
    }

    /// The bucket's row, from the memo when it holds it.
    pub(super) fn bucket_row(&self, bucket: &BucketName) -> Result<Option<BucketRow>, StoreError> {
        let read = self.epoch.now();
        if let Some(row) = self.bucket_memo.get(read, bucket.as_str()) {
            return Ok(Some(row));
        }
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
        // Only a record is remembered: a folder made by hand is looked at
        // each time (it may go).
        let recorded = meta.is_some();
        let (versioning, encryption) = meta.as_ref().map_or((Versioning::Unversioned, None), |m| {
            (m.versioning, m.encryption.clone())
        });
        let row = self.bucket_of(bucket, meta)?.map(|info| BucketRow {
            info,
            versioning,
            encryption,
        });
        if recorded && let Some(row) = &row {
            self.bucket_memo
                .put(read, self.epoch.now(), bucket.as_str(), row.clone());
        }
        Ok(row)
    }

    pub(super) fn bucket_of(
        &self,
        bucket: &BucketName,
        meta: Option<BucketMeta>,
    ) -> Result<Option<BucketInfo>, StoreError> {
        let meta = match meta {
            Some(m) => m,
            // A folder made by hand is a bucket of the first user's.
            None if self.bucket_dir(bucket).is_dir() => BucketMeta::new(
                self.users[0].principal.account_id.to_string(),
                StoredAcl::canned(
                    CannedAcl::Private,
                    &self.users[0].principal,
                    &self.users[0].principal,
                ),
                0,
                None,
            ),
            None => return Ok(None),
        };
        let owner = self.principal_of(&meta.owner);
        let mut info = BucketInfo::new(bucket.clone(), owner.clone());
        info.acl = meta.acl.to_acl(&owner, &owner)?;
        info.requester_pays = meta.requester_pays;
        info.policy = match &meta.policy {
            Some(text) => Some(Arc::new(BucketPolicy::parse(text, bucket)?)),
            None => None,
        };
        let settings = BucketSettings::of(&meta);
        info.ownership = settings.ownership.unwrap_or_default();
        info.public_access = settings.public_access_block.unwrap_or_default();
        Ok(Some(info))
    }

    /// Creates a bucket in one commit, with its ownership controls if
    /// given (`x-amz-object-ownership`, checked by the caller against
    /// `acl`): `Ok(Err(existing owner))` if it
    /// exists already (as a record or as a hand-made folder). Its folder
    /// (for hand-placed files) is made after the commit, best effort: the
    /// bucket does not need it.
    pub(crate) fn create_bucket(
        &self,
        bucket: &BucketName,
        owner: &Principal,
        acl: &Acl,
        location: Option<String>,
        ownership: Option<s3torrent_s3::ObjectOwnership>,
        now: i64,
    ) -> Result<Result<(), Principal>, StoreError> {
        let mut meta = BucketMeta::new(
            owner.account_id.to_string(),
            StoredAcl::from_acl(acl),
            now,
            location,
        );
        meta.ownership = ownership.map(StoredOwnership::from);
        let bytes = encode(&meta)?;
        let dir = self.bucket_dir(bucket);
        let first = self.users[0].principal.clone();
        let created = self.write::<_, StoreError>(|txn| {
            let mut table = txn.open_table(BUCKETS).map_err(internal)?;
            if let Some(old) = table.get(bucket.as_str()).map_err(internal)? {
                let old: BucketMeta = decode(old.value())?;
                return Ok(Err(self.principal_of(&old.owner)));
            }
            if dir.is_dir() {
                return Ok(Err(first));
            }
            table
                .insert(bucket.as_str(), bytes.as_slice())
                .map_err(internal)?;
            Ok(Ok(()))
        })?;
        if created.is_ok() {
            let _ = fs::create_dir(&dir);
        }
        Ok(created)
    }

    /// PutBucketRequestPayment: who pays for requests to the bucket.
    pub(crate) fn set_payer(&self, bucket: &BucketName, payer: Payer) -> Result<(), StoreError> {
        self.update_bucket(bucket, |meta| {
            meta.requester_pays = payer == Payer::Requester;
        })
    }

    /// Put/DeleteBucketPolicy: the bucket's policy (checked by the caller),
    /// or none.
    pub(crate) fn set_policy(
        &self,
        bucket: &BucketName,
        policy: Option<&BucketPolicy>,
    ) -> Result<(), StoreError> {
        let text = policy.map(|p| p.text().to_owned());
        self.update_bucket(bucket, |meta| meta.policy = text)
    }

    /// Changes a bucket's record in one transaction with its read (so
    /// concurrent changes of different settings do not undo each other).
    /// A hand-made folder's bucket gets its record now.
    pub(super) fn update_bucket(
        &self,
        bucket: &BucketName,
        change: impl FnOnce(&mut BucketMeta),
    ) -> Result<(), StoreError> {
        self.try_update_bucket(bucket, |meta| {
            change(meta);
            Ok(())
        })
    }

    /// [`Store::update_bucket`] with a change that may refuse (its error is
    /// the answer, nothing is written).
    pub(super) fn try_update_bucket(
        &self,
        bucket: &BucketName,
        change: impl FnOnce(&mut BucketMeta) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let info = self
            .bucket_info(bucket)?
            .ok_or_else(|| StoreError::NoSuchBucket {
                bucket: bucket.to_string(),
            })?;
        self.write(|txn| {
            let mut table = txn.open_table(BUCKETS).map_err(internal)?;
            let mut meta: BucketMeta = match table.get(bucket.as_str()).map_err(internal)? {
                Some(v) => decode(v.value())?,
                None => BucketMeta::new(
                    info.owner.account_id.to_string(),
                    StoredAcl::from_acl(&info.acl),
                    0,
                    None,
                ),
            };
            change(&mut meta)?;
            let bytes = encode(&meta)?;
            table
                .insert(bucket.as_str(), bytes.as_slice())
                .map_err(internal)?;
            Ok(())
        })
    }

    /// Every bucket, sorted: (name, info, created), from the records and
    /// the folders made by hand.
    pub(crate) fn buckets(&self) -> Result<Vec<(BucketName, BucketInfo, i64)>, StoreError> {
        let mut found: BTreeMap<String, Option<BucketMeta>> = BTreeMap::new();
        self.read(|txn| {
            let table = txn.open_table(BUCKETS).map_err(internal)?;
            for entry in table.iter().map_err(internal)? {
                let (name, value) = entry.map_err(internal)?;
                found.insert(name.value().to_owned(), Some(decode(value.value())?));
            }
            Ok(())
        })?;
        for entry in fs::read_dir(&self.root).map_err(internal)?.flatten() {
            if let Some(name) = entry.file_name().to_str()
                && entry.file_type().is_ok_and(|t| t.is_dir())
            {
                found.entry(name.to_owned()).or_insert(None);
            }
        }
        let mut out = Vec::new();
        for (name, meta) in found {
            let Ok(bucket) = BucketName::new(name) else {
                continue;
            };
            let created = meta.as_ref().map_or(0, |m| m.created);
            if let Some(info) = self.bucket_of(&bucket, meta)? {
                out.push((bucket, info, created));
            }
        }
        Ok(out)
    }
}
