//! A bucket's access settings and tags as its record keeps them (object
//! ownership controls, the Block Public Access configuration, bucket
//! tags), and an object's tags. Each is an optional field of the record:
//! a record written before them reads as a bucket without them.

use std::collections::BTreeMap;

use s3torrent_s3::{ObjectOwnership, PublicAccessBlock};

use super::*;

/// Tags by key (so listed in key order), values as given.
pub(crate) type Tags = BTreeMap<String, String>;

/// An object ownership setting as the record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum StoredOwnership {
    ObjectWriter,
    BucketOwnerPreferred,
    BucketOwnerEnforced,
}

impl From<ObjectOwnership> for StoredOwnership {
    fn from(o: ObjectOwnership) -> Self {
        match o {
            ObjectOwnership::ObjectWriter => StoredOwnership::ObjectWriter,
            ObjectOwnership::BucketOwnerPreferred => StoredOwnership::BucketOwnerPreferred,
            ObjectOwnership::BucketOwnerEnforced => StoredOwnership::BucketOwnerEnforced,
        }
    }
}

impl From<StoredOwnership> for ObjectOwnership {
    fn from(o: StoredOwnership) -> Self {
        match o {
            StoredOwnership::ObjectWriter => ObjectOwnership::ObjectWriter,
            StoredOwnership::BucketOwnerPreferred => ObjectOwnership::BucketOwnerPreferred,
            StoredOwnership::BucketOwnerEnforced => ObjectOwnership::BucketOwnerEnforced,
        }
    }
}

/// A Block Public Access configuration as the record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredBlock {
    #[serde(rename = "block public acls")]
    block_public_acls: bool,
    #[serde(rename = "ignore public acls")]
    ignore_public_acls: bool,
    #[serde(rename = "block public policy")]
    block_public_policy: bool,
    #[serde(rename = "restrict public buckets")]
    restrict_public_buckets: bool,
}

impl From<PublicAccessBlock> for StoredBlock {
    fn from(b: PublicAccessBlock) -> Self {
        StoredBlock {
            block_public_acls: b.block_public_acls,
            ignore_public_acls: b.ignore_public_acls,
            block_public_policy: b.block_public_policy,
            restrict_public_buckets: b.restrict_public_buckets,
        }
    }
}

impl From<StoredBlock> for PublicAccessBlock {
    fn from(b: StoredBlock) -> Self {
        PublicAccessBlock {
            block_public_acls: b.block_public_acls,
            ignore_public_acls: b.ignore_public_acls,
            block_public_policy: b.block_public_policy,
            restrict_public_buckets: b.restrict_public_buckets,
        }
    }
}

/// What the Get operations of a bucket's settings answer: whether each is
/// set at all, not only what it makes of a decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BucketSettings {
    /// None without ownership controls.
    pub(crate) ownership: Option<ObjectOwnership>,
    /// None without a Block Public Access configuration.
    pub(crate) public_access_block: Option<PublicAccessBlock>,
    pub(crate) tags: Tags,
}

impl BucketSettings {
    pub(super) fn of(meta: &BucketMeta) -> BucketSettings {
        BucketSettings {
            ownership: meta.ownership.map(ObjectOwnership::from),
            public_access_block: meta.public_access_block.map(PublicAccessBlock::from),
            tags: meta.tags.clone(),
        }
    }
}

impl Store {
    /// The bucket's settings as its record holds them (a hand-made
    /// folder's bucket has none); `None` if there is no such bucket.
    pub(crate) fn bucket_settings(
        &self,
        bucket: &BucketName,
    ) -> Result<Option<BucketSettings>, StoreError> {
        let meta: Option<BucketMeta> = self.get(BUCKETS, bucket.as_str())?;
        match meta {
            Some(meta) => Ok(Some(BucketSettings::of(&meta))),
            None if self.bucket_info(bucket)?.is_some() => Ok(Some(BucketSettings::default())),
            None => Ok(None),
        }
    }

    /// Put/DeleteBucketOwnershipControls. `BucketOwnerEnforced` is refused
    /// (`InvalidBucketAclWithObjectOwnership`) while the bucket's ACL, as
    /// the same transaction reads it, grants anyone but its owner.
    pub(crate) fn set_ownership(
        &self,
        bucket: &BucketName,
        ownership: Option<ObjectOwnership>,
    ) -> Result<(), StoreError> {
        self.try_update_bucket(bucket, |meta| {
            if let Some(o) = ownership {
                let owner = self.principal_of(&meta.owner);
                o.check_bucket_acl(&meta.acl.to_acl(&owner, &owner)?)?;
            }
            meta.ownership = ownership.map(StoredOwnership::from);
            Ok(())
        })
    }

    /// Put/DeletePublicAccessBlock.
    pub(crate) fn set_public_access_block(
        &self,
        bucket: &BucketName,
        block: Option<PublicAccessBlock>,
    ) -> Result<(), StoreError> {
        self.update_bucket(bucket, |meta| {
            meta.public_access_block = block.map(StoredBlock::from);
        })
    }

    /// Put/DeleteBucketTagging (checked by the caller): the tags, or none.
    pub(crate) fn set_bucket_tags(
        &self,
        bucket: &BucketName,
        tags: Tags,
    ) -> Result<(), StoreError> {
        self.update_bucket(bucket, |meta| meta.tags = tags)
    }

    /// Put/DeleteObjectTagging (checked by the caller): the tags of the
    /// version `version` names (the current one without), in one
    /// transaction with its read.
    pub(crate) fn set_object_tags(
        &self,
        bucket: &BucketName,
        key: &ObjectKey,
        version: Option<&VersionId>,
        tags: Tags,
    ) -> Result<(), StoreError> {
        self.update_version(bucket, key, version, |m| m.tags = tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3torrent_s3::ErrorCode;

    use crate::config::User;

    fn open(root: &Path) -> Store {
        Store::open(
            root,
            vec![User::new("k", "secret", "111122223333").unwrap()],
        )
        .unwrap()
    }

    /// A bucket record and an object record written before these settings
    /// (the fields of the version before) read as having none; the settings
    /// and tags written now survive a reopen, and decide the bucket's info.
    #[test]
    fn records_without_settings_read_and_settings_persist() {
        #[derive(Serialize)]
        struct OldBucket {
            owner: String,
            acl: String,
            #[serde(rename = "requester pays")]
            requester_pays: bool,
            created: i64,
        }
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        drop(open(root));
        let name = BucketName::new("old").unwrap();
        {
            let db = Database::create(root.join(DATABASE)).unwrap();
            let txn = db.begin_write().unwrap();
            let old = OldBucket {
                owner: "111122223333".into(),
                acl: "public-read".into(),
                requester_pays: false,
                created: 7,
            };
            txn.open_table(BUCKETS)
                .unwrap()
                .insert("old", bencode::to_vec(&old).unwrap().as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let store = open(root);
        assert_eq!(
            store.bucket_settings(&name).unwrap(),
            Some(BucketSettings::default())
        );
        let info = store.bucket_info(&name).unwrap().unwrap();
        assert_eq!(info.ownership, ObjectOwnership::ObjectWriter);
        assert_eq!(info.public_access, PublicAccessBlock::default());
        assert!(info.acl.is_public_read());

        // BucketOwnerEnforced needs a bucket ACL that grants only the owner.
        let err = store
            .set_ownership(&name, Some(ObjectOwnership::BucketOwnerEnforced))
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Refused { source }
                if source.code() == ErrorCode::InvalidBucketAclWithObjectOwnership),
            "{err}"
        );
        store
            .set_ownership(&name, Some(ObjectOwnership::BucketOwnerPreferred))
            .unwrap();
        let block = PublicAccessBlock {
            ignore_public_acls: true,
            ..PublicAccessBlock::default()
        };
        store.set_public_access_block(&name, Some(block)).unwrap();
        let tags = Tags::from([("team".to_owned(), "data".to_owned())]);
        store.set_bucket_tags(&name, tags.clone()).unwrap();
        let k = ObjectKey::new("a").unwrap();
        let (temp_file, mut file) = store.temp_file().unwrap();
        file.write_all(b"x").unwrap();
        let meta = ObjectMeta::new(
            "111122223333".into(),
            StoredAcl::canned(CannedAcl::Private, &info.owner, &info.owner),
            hex(&Md5::digest(b"x")),
            1,
        );
        store
            .commit_object(&name, &k, &temp_file, meta, &Preconditions::default(), None)
            .unwrap();
        assert!(
            store
                .object_meta(&name, &k)
                .unwrap()
                .unwrap()
                .tags
                .is_empty()
        );
        store
            .set_object_tags(&name, &k, None, tags.clone())
            .unwrap();
        drop(store);

        let store = open(root);
        assert_eq!(
            store.bucket_settings(&name).unwrap(),
            Some(BucketSettings {
                ownership: Some(ObjectOwnership::BucketOwnerPreferred),
                public_access_block: Some(block),
                tags: tags.clone(),
            })
        );
        let info = store.bucket_info(&name).unwrap().unwrap();
        assert_eq!(info.ownership, ObjectOwnership::BucketOwnerPreferred);
        assert!(info.public_access.ignore_public_acls);
        assert_eq!(store.object_meta(&name, &k).unwrap().unwrap().tags, tags);
        store.set_ownership(&name, None).unwrap();
        store.set_public_access_block(&name, None).unwrap();
        store.set_bucket_tags(&name, Tags::new()).unwrap();
        assert_eq!(
            store.bucket_settings(&name).unwrap(),
            Some(BucketSettings::default())
        );
        assert_eq!(
            store
                .bucket_settings(&BucketName::new("none").unwrap())
                .unwrap(),
            None
        );
    }
}
