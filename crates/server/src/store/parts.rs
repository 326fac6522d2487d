//! The parts of objects made by CompleteMultipartUpload: what GetObject and
//! HeadObject with `partNumber`, and GetObjectAttributes, read.
//!
//! A table of their own (`object parts`), keyed by the ID of the version's
//! data file, so that an object's record stays small (a listing reads
//! thousands of records; an upload may have 10,000 parts). The row is
//! written by the commit that makes the object (from the list the
//! completion noted in the upload's record when it claimed the upload) and
//! removed by the commit that replaces or deletes that version, so a row
//! never outlives its version. Objects made another way (PutObject,
//! CopyObject, adopted files, and uploads completed before this table
//! existed) have no row: they are one part.

use super::*;

pub(super) const OBJECT_PARTS: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("object parts");

/// One part of a completed multipart object, in the object's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectPart {
    /// Its number in the upload (ascending; not necessarily 1, 2, 3…).
    pub(crate) number: u32,
    pub(crate) size: u64,
    /// Its checksum (base64), in the upload's algorithm, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredParts {
    parts: Vec<ObjectPart>,
}

impl Store {
    /// The parts of the version `meta` describes, when it was made by
    /// CompleteMultipartUpload (and recorded); `None` for one part.
    pub(crate) fn object_parts(
        &self,
        meta: &ObjectMeta,
    ) -> Result<Option<Vec<ObjectPart>>, StoreError> {
        let Some(id) = &meta.data else {
            return Ok(None);
        };
        Ok(self
            .get::<StoredParts>(OBJECT_PARTS, id)?
            .map(|stored| stored.parts))
    }
}

/// In the commit that makes a completed upload's object: its parts, under
/// the ID of its data file.
pub(super) fn record_parts(
    txn: &WriteTransaction,
    data: &str,
    parts: Vec<ObjectPart>,
) -> Result<(), StoreError> {
    let bytes = encode(&StoredParts { parts })?;
    txn.open_table(OBJECT_PARTS)
        .map_err(internal)?
        .insert(data, bytes.as_slice())
        .map_err(internal)?;
    Ok(())
}

/// In the commit that replaces or deletes the version whose data file is
/// `data`: its parts go with it.
pub(super) fn forget_parts(txn: &WriteTransaction, data: &str) -> Result<(), StoreError> {
    txn.open_table(OBJECT_PARTS)
        .map_err(internal)?
        .remove(data)
        .map_err(internal)?;
    Ok(())
}
