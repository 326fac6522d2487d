//! GetObjectAttributes: what HEAD would say of an object, in XML, and its
//! parts: the attributes asked for in `x-amz-object-attributes` (`ETag`,
//! `Checksum`, `ObjectParts`, `StorageClass`, `ObjectSize`), under
//! GetObject's read rules.
//!
//! `ObjectParts` is given for an object made by CompleteMultipartUpload
//! (whose parts were recorded), a page of `x-amz-max-parts` (1000 at most)
//! after `x-amz-part-number-marker`; another object has no parts to list,
//! and the element is left out, as S3 does.

use s3s::dto;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{Server, is_requester, timestamp};
use crate::checksum::{Algorithm, set_checksum};
use crate::store::ObjectMeta;

/// The most parts one answer lists, and the default.
const MAX_PARTS: i32 = 1000;

/// The attributes a request asks for.
#[derive(Debug, Default, Clone, Copy)]
struct Wanted {
    etag: bool,
    checksum: bool,
    parts: bool,
    storage_class: bool,
    size: bool,
}

impl Wanted {
    /// From the header's values, each a comma-separated list (SDKs send
    /// one value, some with spaces after the commas); a name S3 does not
    /// know is `InvalidArgument`.
    fn of(list: &[dto::ObjectAttributes]) -> S3Result<Wanted> {
        let mut wanted = Wanted::default();
        for name in list
            .iter()
            .flat_map(|a| a.as_str().split(','))
            .map(str::trim)
        {
            match name {
                dto::ObjectAttributes::ETAG => wanted.etag = true,
                dto::ObjectAttributes::CHECKSUM => wanted.checksum = true,
                dto::ObjectAttributes::OBJECT_PARTS => wanted.parts = true,
                dto::ObjectAttributes::STORAGE_CLASS => wanted.storage_class = true,
                dto::ObjectAttributes::OBJECT_SIZE => wanted.size = true,
                "" => {}
                _ => {
                    return Err(s3_error!(
                        InvalidArgument,
                        "Invalid attribute name specified."
                    ));
                }
            }
        }
        Ok(wanted)
    }
}

impl Server {
    pub(super) async fn get_object_attributes_(
        &self,
        req: S3Request<dto::GetObjectAttributesInput>,
    ) -> S3Result<S3Response<dto::GetObjectAttributesOutput>> {
        let requester = self.requester(&req);
        let context = super::conditions_of(&req);
        let transport = super::encryption::Transport::of(&req);
        let input = req.input;
        let wanted = Wanted::of(&input.object_attributes)?;
        let read = self
            .readable::<ObjectMeta>(
                (&input.bucket, &input.key, input.version_id.as_deref()),
                (requester, context),
                is_requester(input.request_payer.as_ref()),
                input.expected_bucket_owner.clone(),
            )
            .await?;
        let (meta, charged_) = (read.version, read.charged);
        // An SSE-C object's attributes need its key, as its GET does.
        let customer = super::encryption::customer_of!(input)?;
        self.check_customer_transport(transport, customer.as_ref())?;
        super::encryption::check_key(meta.sse.as_ref(), customer.as_ref())?;
        let algorithm = meta.checksum.as_ref().map(|c| c.algorithm);
        let object_parts = if wanted.parts {
            let m = meta.clone();
            let parts = self.stored(move |s| s.object_parts(&m)).await?;
            parts.map(|parts| {
                page_of_parts(&parts, input.part_number_marker, input.max_parts, algorithm)
            })
        } else {
            None
        };
        // The digest without a composite's `-N`, as S3 gives it here.
        let checksum = meta.checksum.as_ref().filter(|_| wanted.checksum).map(|c| {
            let mut out = dto::Checksum {
                checksum_type: Some(dto::ChecksumType::from_static(c.kind.name())),
                ..Default::default()
            };
            set_checksum!(out, c.algorithm, c.bare().to_owned());
            out
        });
        let mut answer = S3Response::new(dto::GetObjectAttributesOutput {
            e_tag: wanted
                .etag
                .then(|| meta.etag.clone().map(dto::ETag::Strong))
                .flatten(),
            last_modified: Some(timestamp(meta.modified)),
            object_size: wanted.size.then_some(meta.size as i64),
            storage_class: wanted
                .storage_class
                .then(|| dto::StorageClass::from_static(dto::StorageClass::STANDARD)),
            object_parts,
            checksum,
            request_charged: charged_
                .then(|| dto::RequestCharged::from_static(dto::RequestCharged::REQUESTER)),
            // The version read, as GetObject names it (s3-tests'
            // `test_get_versioned_object_attributes`).
            version_id: super::versioning::written_version(&meta),
            ..Default::default()
        });
        // S3 gives this ETag without quotes; s3s writes every ETag quoted.
        answer.extensions.insert(crate::edge::front::BareETag);
        Ok(answer)
    }
}

/// A page of an object's parts: those numbered above `marker`, at most
/// `max` (1000 at most, and by default), with their checksums (of the
/// object's `algorithm`) when they have them.
fn page_of_parts(
    parts: &[crate::store::ObjectPart],
    marker: Option<i32>,
    max: Option<i32>,
    algorithm: Option<Algorithm>,
) -> dto::GetObjectAttributesParts {
    let max = max.unwrap_or(MAX_PARTS).clamp(0, MAX_PARTS);
    let marker = marker.unwrap_or(0).max(0);
    let after: Vec<_> = parts
        .iter()
        .filter(|p| i64::from(p.number) > i64::from(marker))
        .collect();
    let shown = &after[..after.len().min(max as usize)];
    let truncated = after.len() > shown.len();
    dto::GetObjectAttributesParts {
        total_parts_count: i32::try_from(parts.len()).ok(),
        part_number_marker: Some(marker),
        next_part_number_marker: shown.last().and_then(|p| i32::try_from(p.number).ok()),
        max_parts: Some(max),
        is_truncated: Some(truncated),
        parts: Some(
            shown
                .iter()
                .map(|p| {
                    let mut part = dto::ObjectPart {
                        part_number: i32::try_from(p.number).ok(),
                        size: i64::try_from(p.size).ok(),
                        ..Default::default()
                    };
                    if let (Some(a), Some(value)) = (algorithm, p.checksum.clone()) {
                        set_checksum!(part, a, value);
                    }
                    part
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectPart;

    fn parts(n: u32) -> Vec<ObjectPart> {
        (1..=n)
            .map(|number| ObjectPart {
                number,
                size: 10 * u64::from(number),
                checksum: None,
            })
            .collect()
    }

    #[test]
    fn pages_of_parts_follow_the_marker() {
        let all = parts(6);
        let page = page_of_parts(&all, Some(3), Some(1), None);
        assert_eq!(page.total_parts_count, Some(6));
        assert_eq!(page.is_truncated, Some(true));
        assert_eq!(page.next_part_number_marker, Some(4));
        let listed = page.parts.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].part_number, listed[0].size), (Some(4), Some(40)));
        let rest = page_of_parts(&all, Some(4), Some(10), None);
        assert_eq!(rest.is_truncated, Some(false));
        assert_eq!(rest.parts.unwrap().len(), 2);
        let all_default = page_of_parts(&all, None, None, None);
        assert_eq!(all_default.max_parts, Some(1000));
        assert_eq!(all_default.part_number_marker, Some(0));
        assert_eq!(all_default.parts.unwrap().len(), 6);
    }

    #[test]
    fn attribute_names_are_checked() {
        let list = |s: &'static str| vec![dto::ObjectAttributes::from_static(s)];
        let w = Wanted::of(&list("ETag, ObjectSize,StorageClass")).unwrap();
        assert!(w.etag && w.size && w.storage_class && !w.parts && !w.checksum);
        assert!(Wanted::of(&list("ETag,Colour")).is_err());
    }
}
