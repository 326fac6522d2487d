//! Buckets' CORS configurations: a table of their own (`cors`, bucket name
//! to the rules), so that a bucket's record stays as it was, and a memo,
//! since every request with `Origin` asks.
//!
//! A bucket's configuration goes in the same commit as the bucket's record
//! (DeleteBucket), so a bucket made again under the same name starts
//! without one.

use std::sync::Arc;

use super::*;
use crate::cors::{CorsConfig, CorsLookup};

pub(super) const CORS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("cors");

impl Store {
    /// The bucket's CORS state: no bucket, no configuration, or its rules.
    pub(crate) fn bucket_cors(&self, bucket: &BucketName) -> Result<CorsLookup, StoreError> {
        let read = self.epoch.now();
        if let Some(found) = self.cors_memo.get(read, bucket.as_str()) {
            return Ok(found);
        }
        if self.bucket_info(bucket)?.is_none() {
            // Not remembered: a folder made by hand is a bucket at once.
            return Ok(CorsLookup::NoSuchBucket);
        }
        let found = match self.get::<CorsConfig>(CORS, bucket.as_str())? {
            Some(config) => CorsLookup::Rules(Arc::new(config)),
            None => CorsLookup::NotConfigured,
        };
        self.cors_memo
            .put(read, self.epoch.now(), bucket.as_str(), found.clone());
        Ok(found)
    }

    /// Whether [`Store::bucket_cors`] would answer from memory.
    pub(crate) fn cors_memoized(&self, bucket: &BucketName) -> bool {
        self.cors_memo.holds(self.epoch.now(), bucket.as_str())
    }

    /// PutBucketCors (`Some`) and DeleteBucketCors (`None`), in one commit
    /// that checks the bucket is there (a record, or a folder made by hand).
    pub(crate) fn set_cors(
        &self,
        bucket: &BucketName,
        config: Option<&CorsConfig>,
    ) -> Result<(), StoreError> {
        let bytes = config.map(encode).transpose()?;
        let dir = self.bucket_dir(bucket);
        self.write(|txn| {
            let known = txn
                .open_table(BUCKETS)
                .map_err(internal)?
                .get(bucket.as_str())
                .map_err(internal)?
                .is_some();
            if !known && !dir.is_dir() {
                return Err(StoreError::NoSuchBucket {
                    bucket: bucket.to_string(),
                });
            }
            let mut table = txn.open_table(CORS).map_err(internal)?;
            match &bytes {
                Some(b) => {
                    table
                        .insert(bucket.as_str(), b.as_slice())
                        .map_err(internal)?;
                }
                None => {
                    table.remove(bucket.as_str()).map_err(internal)?;
                }
            }
            Ok(())
        })
    }
}

/// In DeleteBucket's commit: the bucket's configuration goes with it.
pub(super) fn forget_cors(txn: &WriteTransaction, bucket: &BucketName) -> Result<(), StoreError> {
    txn.open_table(CORS)
        .map_err(internal)?
        .remove(bucket.as_str())
        .map_err(internal)?;
    Ok(())
}
