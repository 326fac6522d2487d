//! The checksum rules of multipart uploads (see `crate::checksum`), as
//! S3 applies them: CreateMultipartUpload's algorithm and type, each
//! part's checksum, and CompleteMultipartUpload's list and whole-object
//! checksum.

use s3s::dto;
use s3s::{S3Result, s3_error};

use crate::checksum::{Algorithm, Checksum, Claim, Kind, VALID_TYPES, composite};
use crate::store::ObjectPart;
use crate::store::UploadChecksum;

/// CreateMultipartUpload's `x-amz-checksum-algorithm` and
/// `x-amz-checksum-type`: none, or an algorithm and the type its objects
/// get (CRC64NVME full-object only, SHA-1 and SHA-256 composite only,
/// CRC32 and CRC32C either, composite unless asked).
pub(super) fn upload_checksum(
    algorithm: Option<&dto::ChecksumAlgorithm>,
    kind: Option<&dto::ChecksumType>,
) -> S3Result<Option<UploadChecksum>> {
    let Some(algorithm) = algorithm else {
        return match kind {
            None => Ok(None),
            Some(_) => Err(s3_error!(
                InvalidRequest,
                "The x-amz-checksum-type header can only be used with the \
                 x-amz-checksum-algorithm header."
            )),
        };
    };
    let algorithm = Algorithm::parse(algorithm.as_str()).ok_or_else(|| {
        s3_error!(
            InvalidRequest,
            "Checksum algorithm provided is unsupported. {VALID_TYPES}"
        )
    })?;
    let kind = match kind {
        None => algorithm.default_kind(),
        Some(k) => Kind::parse(k.as_str()).ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Value for x-amz-checksum-type header is invalid."
            )
        })?,
    };
    let unfit = match kind {
        Kind::FullObject => !algorithm.combines(),
        Kind::Composite => algorithm == Algorithm::Crc64Nvme,
    };
    if unfit {
        return Err(s3_error!(
            InvalidRequest,
            "The {} checksum type cannot be used with the {} checksum algorithm.",
            kind.name(),
            algorithm.name().to_ascii_lowercase()
        ));
    }
    Ok(Some(UploadChecksum { algorithm, kind }))
}

/// UploadPart's claim in an upload with `upload`'s checksum: the request's
/// own (which must be of the upload's algorithm), else the upload's
/// algorithm computed.
pub(super) fn part_claim(claim: Claim, upload: Option<&UploadChecksum>) -> S3Result<Claim> {
    match (claim, upload) {
        (Claim::Nothing, Some(u)) => Ok(Claim::Compute(u.algorithm)),
        (claim, Some(u)) if claim.algorithm() != Some(u.algorithm) => Err(s3_error!(
            InvalidRequest,
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum \
             Type: {}",
            u.algorithm.name().to_ascii_lowercase(),
            claim
                .algorithm()
                .map_or("null", Algorithm::name)
                .to_ascii_lowercase()
        )),
        (claim, _) => Ok(claim),
    }
}

/// The checksum a listed part (or the completion) names: the first of
/// the five fields that is set.
macro_rules! named_checksum {
    ($item:expr) => {
        $crate::checksum::Algorithm::ALL
            .into_iter()
            .find_map(|a| $crate::checksum::checksum_field!($item, a).map(|v| (a, v)))
    };
}
pub(super) use named_checksum;

/// What CompleteMultipartUpload's checksum headers ask (`kind`, the
/// `x-amz-checksum-type`; `given`, an `x-amz-checksum-*`), checked against
/// the upload's checksum: the value to compare the object's with, if any.
pub(super) fn completion_claim(
    kind: Option<&dto::ChecksumType>,
    given: Option<(Algorithm, String)>,
    upload: Option<&UploadChecksum>,
) -> S3Result<Option<(Algorithm, String)>> {
    if let Some(kind) = kind {
        let same = upload.is_some_and(|u| u.kind.name() == kind.as_str());
        if !same {
            return Err(s3_error!(
                InvalidRequest,
                "The upload was created using the {} checksum mode. The complete request \
                 must use the same checksum mode.",
                upload.map_or("null", |u| u.kind.name())
            ));
        }
    }
    let expected = upload.map_or(Algorithm::Crc64Nvme, |u| u.algorithm);
    match given {
        Some((algorithm, _)) if algorithm != expected => Err(s3_error!(
            InvalidRequest,
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum \
             Type: {}",
            expected.name().to_ascii_lowercase(),
            algorithm.name().to_ascii_lowercase()
        )),
        given => Ok(given),
    }
}

/// A completed object's composite checksum, from its parts'.
pub(super) fn composite_of(algorithm: Algorithm, parts: &[ObjectPart]) -> S3Result<Checksum> {
    let sums: Option<Vec<&str>> = parts.iter().map(|p| p.checksum.as_deref()).collect();
    sums.and_then(|sums| composite(algorithm, sums.into_iter()))
        .ok_or_else(|| s3_error!(InternalError, "a part's checksum was not recorded"))
}

/// The checksum fields of an s3s output, from an object's checksum.
macro_rules! answer_checksum {
    ($out:expr, $checksum:expr) => {
        if let Some(c) = $checksum {
            $crate::checksum::set_checksum!($out, c.algorithm, c.value.clone());
            $out.checksum_type = Some(s3s::dto::ChecksumType::from_static(c.kind.name()));
        }
    };
}
pub(super) use answer_checksum;

#[cfg(test)]
mod tests {
    use super::*;

    fn alg(s: &'static str) -> dto::ChecksumAlgorithm {
        dto::ChecksumAlgorithm::from_static(s)
    }

    fn kind(s: &'static str) -> dto::ChecksumType {
        dto::ChecksumType::from_static(s)
    }

    #[test]
    fn uploads_take_the_types_their_algorithms_allow() {
        let of = |a: Option<&'static str>, k: Option<&'static str>| {
            upload_checksum(a.map(alg).as_ref(), k.map(kind).as_ref())
                .map(|u| u.map(|u| (u.algorithm, u.kind)))
                .map_err(|e| e.code().as_str().to_owned())
        };
        assert_eq!(of(None, None), Ok(None));
        assert_eq!(
            of(Some("CRC32"), None),
            Ok(Some((Algorithm::Crc32, Kind::Composite)))
        );
        assert_eq!(
            of(Some("CRC32C"), Some("FULL_OBJECT")),
            Ok(Some((Algorithm::Crc32c, Kind::FullObject)))
        );
        assert_eq!(
            of(Some("CRC64NVME"), None),
            Ok(Some((Algorithm::Crc64Nvme, Kind::FullObject)))
        );
        for refused in [
            of(Some("SHA256"), Some("FULL_OBJECT")),
            of(Some("CRC64NVME"), Some("COMPOSITE")),
            of(None, Some("COMPOSITE")),
            of(Some("MD5"), None),
        ] {
            assert_eq!(refused, Err("InvalidRequest".to_owned()));
        }
    }

    #[test]
    fn a_part_takes_its_uploads_algorithm() {
        let u = UploadChecksum {
            algorithm: Algorithm::Sha256,
            kind: Kind::Composite,
        };
        assert_eq!(
            part_claim(Claim::Nothing, Some(&u)).unwrap(),
            Claim::Compute(Algorithm::Sha256)
        );
        assert!(part_claim(Claim::Header(Algorithm::Crc32, "x".into()), Some(&u)).is_err());
        let own = Claim::Header(Algorithm::Crc32, "x".into());
        assert_eq!(part_claim(own.clone(), None).unwrap(), own);
    }
}
