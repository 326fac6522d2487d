//! GetObject and HeadObject with `partNumber`: one part of an object made
//! by CompleteMultipartUpload (206, `Content-Range`,
//! `x-amz-mp-parts-count`), and part 1 of any other object, which is all
//! of it, as S3 answers them.
//!
//! Which part is the `N`th: the object's parts in order, whatever numbers
//! the upload gave them (uploads number them 1, 2, 3… as a rule, and then
//! the two agree).

use std::ops::Range;

use s3s::{S3Result, s3_error};

use super::Server;
use crate::store::ObjectMeta;

/// Part numbers run from 1 to this (S3's limit).
const MAX_PART_NUMBER: i32 = 10_000;

/// What a `partNumber` request reads of a version.
#[derive(Debug)]
pub(super) struct PartSlice {
    /// The part's bytes in the object.
    pub(super) range: Range<u64>,
    /// `x-amz-mp-parts-count`, for an object made of parts.
    pub(super) count: Option<i32>,
    /// The part's own checksum, for an object made of parts that had them.
    pub(super) checksum: Option<String>,
}

impl PartSlice {
    /// `Content-Range` of the part (none for an empty object).
    pub(super) fn content_range(&self, size: u64) -> Option<String> {
        (self.range.end > self.range.start)
            .then(|| format!("bytes {}-{}/{size}", self.range.start, self.range.end - 1))
    }
}

/// Whether an ETag is a multipart upload's (`MD5-N`): only such objects
/// may have recorded parts, so no other costs a database read.
fn made_of_parts(meta: &ObjectMeta) -> bool {
    meta.etag
        .as_deref()
        .and_then(|e| e.rsplit_once('-'))
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Server {
    /// The `number`th part of the version `meta` describes: S3's
    /// `InvalidArgument` outside 1 to 10000, `InvalidPartNumber` (416)
    /// past the object's last part. An object that is not made of recorded
    /// parts is one part: all of it.
    pub(super) async fn part_of(&self, meta: &ObjectMeta, number: i32) -> S3Result<PartSlice> {
        if !(1..=MAX_PART_NUMBER).contains(&number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"
            ));
        }
        let parts = if made_of_parts(meta) {
            let m = meta.clone();
            self.stored(move |s| s.object_parts(&m)).await?
        } else {
            None
        };
        let unsatisfiable = || {
            // s3s has no variant for S3's `InvalidPartNumber`.
            let mut e = s3s::S3Error::with_message(
                s3s::S3ErrorCode::Custom("InvalidPartNumber".into()),
                "The requested partnumber is not satisfiable",
            );
            e.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            e
        };
        let index = usize::try_from(number - 1).map_err(|_| unsatisfiable())?;
        match parts {
            None if index == 0 => Ok(PartSlice {
                range: 0..meta.size,
                count: None,
                checksum: None,
            }),
            None => Err(unsatisfiable()),
            Some(parts) => {
                let part = parts.get(index).ok_or_else(unsatisfiable)?;
                let start: u64 = parts[..index].iter().map(|p| p.size).sum();
                let end = start + part.size;
                if end > meta.size {
                    return Err(s3_error!(
                        InternalError,
                        "the recorded parts are longer than the object"
                    ));
                }
                Ok(PartSlice {
                    range: start..end,
                    count: i32::try_from(parts.len()).ok(),
                    checksum: part.checksum.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredAcl;

    #[test]
    fn only_multipart_etags_have_parts() {
        let meta = |etag: &str| {
            ObjectMeta::new(
                "111122223333".into(),
                StoredAcl::Canned("private".into()),
                etag.into(),
                1,
            )
        };
        assert!(made_of_parts(&meta("0123456789abcdef0123456789abcdef-3")));
        assert!(!made_of_parts(&meta("0123456789abcdef0123456789abcdef")));
        assert!(!made_of_parts(&meta("abc-")));
        assert!(!made_of_parts(&meta("abc-x1")));
    }

    #[test]
    fn a_content_range_names_the_part() {
        let slice = PartSlice {
            range: 5..10,
            count: Some(2),
            checksum: None,
        };
        assert_eq!(slice.content_range(12).as_deref(), Some("bytes 5-9/12"));
        let empty = PartSlice {
            range: 0..0,
            count: None,
            checksum: None,
        };
        assert_eq!(empty.content_range(0), None);
    }
}
