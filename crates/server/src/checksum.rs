//! S3's additional checksums: CRC32, CRC32C, CRC64NVME, SHA-1 and SHA-256
//! of an object's bytes, sent by clients (`x-amz-checksum-*`, in a header
//! or in an `aws-chunked` body's trailer), checked against the bytes
//! received (`BadDigest` and nothing stored when they differ), kept with
//! the object and given back on GET and HEAD with `x-amz-checksum-mode:
//! ENABLED` and by GetObjectAttributes.
//!
//! - **Full object**: the algorithm over all the bytes. PutObject's (and a
//!   copy's) checksum is one; so is a multipart object's CRC64NVME (the
//!   only type it has), and its CRC32 or CRC32C when the upload asked for
//!   `FULL_OBJECT`, computed over the bytes as the parts are assembled.
//! - **Composite**: a multipart object's SHA-1 or SHA-256 (and CRC32 or
//!   CRC32C by default): the algorithm over the parts' binary digests, one
//!   after another, then `-N` for N parts, as S3 computes it.
//!
//! An upload that names no checksum gets a CRC64NVME, as S3 gives every
//! new object one. The hashes are s3s's (its `crypto` module: `crc-fast`,
//! `sha1`, `sha2`), the base64 the one s3s uses.

use s3s::crypto::Checksum as _;
use serde::{Deserialize, Serialize};

/// A checksum algorithm S3 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Algorithm {
    #[serde(rename = "CRC32")]
    Crc32,
    #[serde(rename = "CRC32C")]
    Crc32c,
    #[serde(rename = "CRC64NVME")]
    Crc64Nvme,
    #[serde(rename = "SHA1")]
    Sha1,
    #[serde(rename = "SHA256")]
    Sha256,
}

impl Algorithm {
    /// Every algorithm, in the order their headers are looked for.
    pub(crate) const ALL: [Algorithm; 5] = [
        Algorithm::Crc32,
        Algorithm::Crc32c,
        Algorithm::Crc64Nvme,
        Algorithm::Sha1,
        Algorithm::Sha256,
    ];

    /// Its name in S3's API (`ChecksumAlgorithm`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64Nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header that carries it.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The algorithm of a name, in any case (`crc32`, `CRC32`).
    pub(crate) fn parse(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// The algorithm whose header this is (any case).
    pub(crate) fn of_header(name: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.header().eq_ignore_ascii_case(name.trim()))
    }

    /// The length of its digest, in bytes.
    pub(crate) fn digest_len(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64Nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// Whether a multipart object may have a full-object checksum of it
    /// (the CRCs, which combine; not the SHAs).
    pub(crate) fn combines(self) -> bool {
        matches!(
            self,
            Algorithm::Crc32 | Algorithm::Crc32c | Algorithm::Crc64Nvme
        )
    }

    /// The type a multipart upload of it has when it names none: CRC64NVME
    /// has only full-object checksums; the others are composite.
    pub(crate) fn default_kind(self) -> Kind {
        match self {
            Algorithm::Crc64Nvme => Kind::FullObject,
            _ => Kind::Composite,
        }
    }

    /// A hasher of it.
    pub(crate) fn hasher(self) -> Hasher {
        Hasher(match self {
            Algorithm::Crc32 => Inner::Crc32(s3s::crypto::Crc32::new()),
            Algorithm::Crc32c => Inner::Crc32c(s3s::crypto::Crc32c::new()),
            Algorithm::Crc64Nvme => Inner::Crc64Nvme(s3s::crypto::Crc64Nvme::new()),
            Algorithm::Sha1 => Inner::Sha1(s3s::crypto::Sha1::new()),
            Algorithm::Sha256 => Inner::Sha256(s3s::crypto::Sha256::new()),
        })
    }
}

/// Over what a checksum is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Kind {
    /// All of the object's bytes.
    #[serde(rename = "FULL_OBJECT")]
    FullObject,
    /// The parts' digests (a multipart object's).
    #[serde(rename = "COMPOSITE")]
    Composite,
}

impl Kind {
    /// Its name in S3's API (`ChecksumType`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::FullObject => "FULL_OBJECT",
            Kind::Composite => "COMPOSITE",
        }
    }

    /// The kind of a name (S3 takes upper case).
    pub(crate) fn parse(name: &str) -> Option<Kind> {
        match name {
            "FULL_OBJECT" => Some(Kind::FullObject),
            "COMPOSITE" => Some(Kind::Composite),
            _ => None,
        }
    }
}

/// An object's checksum, as it is kept and given back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checksum {
    pub(crate) algorithm: Algorithm,
    #[serde(rename = "type")]
    pub(crate) kind: Kind,
    /// The digest in base64; a composite one is followed by `-N`, as the
    /// headers give it.
    pub(crate) value: String,
}

impl Checksum {
    /// A full-object checksum of `digest`.
    pub(crate) fn full(algorithm: Algorithm, digest: &[u8]) -> Checksum {
        Checksum {
            algorithm,
            kind: Kind::FullObject,
            value: encode(digest),
        }
    }

    /// The digest in base64 without a composite's `-N` (as
    /// GetObjectAttributes gives it).
    pub(crate) fn bare(&self) -> &str {
        match self.kind {
            Kind::FullObject => &self.value,
            Kind::Composite => self.value.rsplit_once('-').map_or(&self.value, |(d, _)| d),
        }
    }
}

/// A running hash of one algorithm.
pub(crate) struct Hasher(Inner);

enum Inner {
    Crc32(s3s::crypto::Crc32),
    Crc32c(s3s::crypto::Crc32c),
    Crc64Nvme(s3s::crypto::Crc64Nvme),
    Sha1(s3s::crypto::Sha1),
    Sha256(s3s::crypto::Sha256),
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Crc32(h) => h.update(data),
            Inner::Crc32c(h) => h.update(data),
            Inner::Crc64Nvme(h) => h.update(data),
            Inner::Sha1(h) => h.update(data),
            Inner::Sha256(h) => h.update(data),
        }
    }

    /// The digest.
    pub(crate) fn finish(self) -> Vec<u8> {
        match self.0 {
            Inner::Crc32(h) => h.finalize().to_vec(),
            Inner::Crc32c(h) => h.finalize().to_vec(),
            Inner::Crc64Nvme(h) => h.finalize().to_vec(),
            Inner::Sha1(h) => h.finalize().as_ref().to_vec(),
            Inner::Sha256(h) => h.finalize().as_ref().to_vec(),
        }
    }
}

/// Standard base64, padded.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// A digest of `algorithm` from its base64, if that is what `text` is.
pub(crate) fn decode(algorithm: Algorithm, text: &str) -> Option<Vec<u8>> {
    base64_simd::STANDARD
        .decode_to_vec(text.trim())
        .ok()
        .filter(|d| d.len() == algorithm.digest_len())
}

/// The composite checksum of parts whose checksums (base64) are `parts`:
/// the algorithm over their digests, then `-N`; `None` if one is not a
/// digest of it.
pub(crate) fn composite<'a>(
    algorithm: Algorithm,
    parts: impl ExactSizeIterator<Item = &'a str>,
) -> Option<Checksum> {
    let n = parts.len();
    let mut hasher = algorithm.hasher();
    for part in parts {
        hasher.update(&decode(algorithm, part)?);
    }
    Some(Checksum {
        algorithm,
        kind: Kind::Composite,
        value: format!("{}-{n}", encode(&hasher.finish())),
    })
}

/// What an upload's request says of its checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Nothing to compute (a part of an upload without a checksum, when
    /// the request names none).
    Nothing,
    /// No value given: compute this algorithm's.
    Compute(Algorithm),
    /// A value given in its header, to check against the bytes.
    Header(Algorithm, String),
    /// A value to come in the `aws-chunked` body's trailer.
    Trailer(Algorithm),
}

/// Why an upload's checksum is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// S3's `InvalidRequest`, with its message.
    Invalid(String),
    /// The value differs from the bytes': S3's `BadDigest`.
    BadDigest(Algorithm),
}

impl Refusal {
    /// As s3s's error.
    pub(crate) fn into_s3(self) -> s3s::S3Error {
        match self {
            Refusal::Invalid(why) => s3s::s3_error!(InvalidRequest, "{why}"),
            Refusal::BadDigest(a) => s3s::s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                a.name()
            ),
        }
    }
}

impl Claim {
    /// From an upload's headers: at most one `x-amz-checksum-*` header, or
    /// an `x-amz-trailer` naming one; `x-amz-sdk-checksum-algorithm` with
    /// neither is refused, as S3 refuses it, and so is any header naming an
    /// algorithm outside [`Algorithm::ALL`] (`x-amz-checksum-sha512`, an
    /// `x-amz-sdk-checksum-algorithm: XXHASH64`…), which could not be
    /// checked. `otherwise`: what to compute when none is named.
    pub(crate) fn of(
        headers: &http::HeaderMap,
        otherwise: Option<Algorithm>,
    ) -> Result<Claim, Refusal> {
        refuse_unsupported(headers)?;
        let mut given = Algorithm::ALL
            .into_iter()
            .filter_map(|a| headers.get(a.header()).map(|v| (a, v)));
        let header = given.next();
        if given.next().is_some() {
            return Err(Refusal::Invalid(
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
                    .into(),
            ));
        }
        if let Some((algorithm, value)) = header {
            let value = value.to_str().map_err(|_| invalid_value(algorithm))?;
            return Ok(Claim::Header(algorithm, value.trim().to_owned()));
        }
        let trailer = headers
            .get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(Algorithm::of_header));
        if let Some(algorithm) = trailer {
            return Ok(Claim::Trailer(algorithm));
        }
        if headers.contains_key("x-amz-sdk-checksum-algorithm") {
            return Err(Refusal::Invalid(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* \
                 or x-amz-trailer headers were found."
                    .into(),
            ));
        }
        Ok(otherwise.map_or(Claim::Nothing, Claim::Compute))
    }

    /// The algorithm to compute over the body, if any.
    pub(crate) fn algorithm(&self) -> Option<Algorithm> {
        match self {
            Claim::Nothing => None,
            Claim::Compute(a) | Claim::Header(a, _) | Claim::Trailer(a) => Some(*a),
        }
    }

    /// Once the body is in: the checksum (base64) of its bytes, whose
    /// digest is `digest` (of [`Claim::algorithm`]), if the value the
    /// request gave matches it; `trailers` are the body's.
    pub(crate) fn settle(
        &self,
        digest: &[u8],
        trailers: Option<&http::HeaderMap>,
    ) -> Result<String, Refusal> {
        let (algorithm, given) = match self {
            Claim::Nothing | Claim::Compute(_) => return Ok(encode(digest)),
            Claim::Header(a, v) => (*a, v.clone()),
            Claim::Trailer(a) => {
                let value = trailers
                    .and_then(|t| t.get(a.header()))
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        Refusal::Invalid(format!(
                            "x-amz-trailer names {}, which the body's trailer did not carry.",
                            a.header()
                        ))
                    })?;
                (*a, value.trim().to_owned())
            }
        };
        let expected = decode(algorithm, &given).ok_or_else(|| invalid_value(algorithm))?;
        if expected != digest {
            return Err(Refusal::BadDigest(algorithm));
        }
        Ok(given)
    }
}

/// The headers of an upload that may name a checksum algorithm by value.
const ALGORITHM_HEADERS: [&str; 2] = ["x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"];

/// The `x-amz-checksum-` headers that carry no checksum.
const NOT_CHECKSUMS: [&str; 3] = [
    "x-amz-checksum-algorithm",
    "x-amz-checksum-type",
    "x-amz-checksum-mode",
];

/// What S3's refusals of an unsupported algorithm end with.
pub(crate) const VALID_TYPES: &str =
    "Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]";

/// How much of a header's name a refusal repeats.
const NAME_ECHO: usize = 64;

/// S3's `InvalidRequest` for a checksum algorithm outside
/// [`Algorithm::ALL`], asked for by `place` (`header`, `value of`,
/// `x-amz-trailer entry`) `name` (its first [`NAME_ECHO`] characters).
fn unsupported(place: &str, name: &str) -> Refusal {
    let name: String = name.chars().take(NAME_ECHO).collect();
    Refusal::Invalid(format!(
        "The {place} {name} names a checksum algorithm that is not supported. {VALID_TYPES}"
    ))
}

/// The algorithm an `x-amz-checksum-algorithm` value names (CopyObject's,
/// for the copy's checksum), or S3's `InvalidRequest` naming the value
/// (its first [`NAME_ECHO`] characters) when it is none of
/// [`Algorithm::ALL`], as an upload's headers are refused ([`Claim::of`]).
pub(crate) fn named_algorithm(value: &str) -> Result<Algorithm, Refusal> {
    Algorithm::parse(value).ok_or_else(|| unsupported("x-amz-checksum-algorithm value", value))
}

/// Refuses a request whose headers ask for a checksum this server does not
/// compute: an `x-amz-checksum-*` header (or an `x-amz-trailer` entry) of
/// another algorithm, or an algorithm header whose value is none of
/// [`Algorithm::ALL`]. Linear in the headers; echoes header names only.
fn refuse_unsupported(headers: &http::HeaderMap) -> Result<(), Refusal> {
    let foreign =
        |name: &str| !NOT_CHECKSUMS.contains(&name) && Algorithm::of_header(name).is_none();
    for name in headers.keys() {
        let name = name.as_str();
        if name.starts_with("x-amz-checksum-") && foreign(name) {
            return Err(unsupported("header", name));
        }
    }
    for name in ALGORITHM_HEADERS {
        for value in headers.get_all(name) {
            if value.to_str().ok().and_then(Algorithm::parse).is_none() {
                return Err(unsupported("value of", name));
            }
        }
    }
    for value in headers.get_all("x-amz-trailer") {
        let value = value.to_str().unwrap_or_default();
        for entry in value.split(',').map(|e| e.trim().to_ascii_lowercase()) {
            if entry.starts_with("x-amz-checksum-") && foreign(&entry) {
                return Err(unsupported("x-amz-trailer entry", &entry));
            }
        }
    }
    Ok(())
}

fn invalid_value(algorithm: Algorithm) -> Refusal {
    Refusal::Invalid(format!(
        "Value for {} header is invalid.",
        algorithm.header()
    ))
}

/// Sets the `checksum_<algorithm>` field of an s3s output (every output
/// with checksums names them alike) to `value`.
macro_rules! set_checksum {
    ($out:expr, $algorithm:expr, $value:expr) => {{
        let value = Some($value);
        match $algorithm {
            $crate::checksum::Algorithm::Crc32 => $out.checksum_crc32 = value,
            $crate::checksum::Algorithm::Crc32c => $out.checksum_crc32c = value,
            $crate::checksum::Algorithm::Crc64Nvme => $out.checksum_crc64nvme = value,
            $crate::checksum::Algorithm::Sha1 => $out.checksum_sha1 = value,
            $crate::checksum::Algorithm::Sha256 => $out.checksum_sha256 = value,
        }
    }};
}
pub(crate) use set_checksum;

/// The `checksum_<algorithm>` field of an s3s input, cloned.
macro_rules! checksum_field {
    ($input:expr, $algorithm:expr) => {
        match $algorithm {
            $crate::checksum::Algorithm::Crc32 => $input.checksum_crc32.clone(),
            $crate::checksum::Algorithm::Crc32c => $input.checksum_crc32c.clone(),
            $crate::checksum::Algorithm::Crc64Nvme => $input.checksum_crc64nvme.clone(),
            $crate::checksum::Algorithm::Sha1 => $input.checksum_sha1.clone(),
            $crate::checksum::Algorithm::Sha256 => $input.checksum_sha256.clone(),
        }
    };
}
pub(crate) use checksum_field;

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
        let mut h = algorithm.hasher();
        h.update(data);
        h.finish()
    }

    #[test]
    fn the_standard_check_values() {
        // The catalogued check value of each CRC (over "123456789"), and
        // the SHA test vectors of FIPS 180 ("abc").
        let check = b"123456789";
        assert_eq!(
            digest(Algorithm::Crc32, check),
            0xCBF4_3926_u32.to_be_bytes()
        );
        assert_eq!(
            digest(Algorithm::Crc32c, check),
            0xE306_9283_u32.to_be_bytes()
        );
        assert_eq!(
            digest(Algorithm::Crc64Nvme, check),
            0xAE8B_1486_0A79_9888_u64.to_be_bytes()
        );
        assert_eq!(
            encode(&digest(Algorithm::Sha1, b"abc")),
            encode(&[
                0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d
            ])
        );
        assert_eq!(
            encode(&digest(Algorithm::Sha256, b"abc")),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn s3_tests_values() {
        // Ceph's s3-tests: 1024 and 5 MiB of 'A', and a composite of three
        // parts of 5 MiB ('A', 'B', 'C').
        let a = vec![b'A'; 1024];
        assert_eq!(
            encode(&digest(Algorithm::Sha256, &a)),
            "arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0="
        );
        assert_eq!(encode(&digest(Algorithm::Crc64Nvme, &a)), "Qeh8oXvGiSo=");
        let parts: Vec<Vec<u8>> = [b'A', b'B', b'C']
            .iter()
            .map(|&c| vec![c; 5 * 1024 * 1024])
            .collect();
        let sums: Vec<String> = parts
            .iter()
            .map(|p| encode(&digest(Algorithm::Sha256, p)))
            .collect();
        assert_eq!(sums[0], "275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=");
        let c = composite(Algorithm::Sha256, sums.iter().map(String::as_str)).unwrap();
        assert_eq!(c.value, "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3");
        assert_eq!(c.bare(), "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=");
        let whole = parts.concat();
        assert_eq!(
            encode(&digest(Algorithm::Crc64Nvme, &whole)),
            "i+6LR0y3eFo="
        );
        assert_eq!(encode(&digest(Algorithm::Crc32, &whole)), "WgDhBQ==");
        assert_eq!(encode(&digest(Algorithm::Crc32c, &whole)), "xU+Krw==");
    }

    #[test]
    fn values_are_checked_for_their_length() {
        assert!(decode(Algorithm::Crc32, "dv+Mqg==").is_some());
        assert!(decode(Algorithm::Crc32, "bad").is_none());
        assert!(decode(Algorithm::Crc64Nvme, "dv+Mqg==").is_none());
        assert_eq!(
            Algorithm::of_header("X-Amz-Checksum-SHA256"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(Algorithm::parse("crc64nvme"), Some(Algorithm::Crc64Nvme));
    }

    #[test]
    fn claims_as_s3_reads_them() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = http::HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, http::HeaderValue::from_static(v));
            }
            h
        };
        let none = Claim::of(&headers(&[]), Some(Algorithm::Crc64Nvme)).unwrap();
        assert_eq!(none, Claim::Compute(Algorithm::Crc64Nvme));
        assert_eq!(Claim::of(&headers(&[]), None).unwrap(), Claim::Nothing);
        let given = headers(&[
            ("x-amz-checksum-crc32", "zbxXvw=="),
            ("x-amz-sdk-checksum-algorithm", "CRC32"),
        ]);
        let claim = Claim::of(&given, None).unwrap();
        // CRC32 of "hello world" is 0x0d4a1185.
        assert_eq!(
            claim.settle(&0x0d4a_1185_u32.to_be_bytes(), None),
            Err(Refusal::BadDigest(Algorithm::Crc32))
        );
        let right = headers(&[("x-amz-checksum-crc32", "DUoRhQ==")]);
        assert_eq!(
            Claim::of(&right, None)
                .unwrap()
                .settle(&0x0d4a_1185_u32.to_be_bytes(), None),
            Ok("DUoRhQ==".to_owned())
        );
        let bad = headers(&[("x-amz-checksum-sha256", "bad")]);
        assert!(matches!(
            Claim::of(&bad, None).unwrap().settle(&[0; 32], None),
            Err(Refusal::Invalid(_))
        ));
        let two = headers(&[
            ("x-amz-checksum-crc32", "DUoRhQ=="),
            ("x-amz-checksum-sha1", "x"),
        ]);
        assert!(matches!(Claim::of(&two, None), Err(Refusal::Invalid(_))));
        let alone = headers(&[("x-amz-sdk-checksum-algorithm", "CRC32")]);
        assert!(matches!(Claim::of(&alone, None), Err(Refusal::Invalid(_))));
        let trailer = headers(&[("x-amz-trailer", "x-amz-checksum-crc32c")]);
        let claim = Claim::of(&trailer, None).unwrap();
        assert_eq!(claim, Claim::Trailer(Algorithm::Crc32c));
        let mut sent = http::HeaderMap::new();
        sent.insert(
            "x-amz-checksum-crc32c",
            http::HeaderValue::from_static("4waSgw=="),
        );
        assert_eq!(
            claim.settle(&0xE306_9283_u32.to_be_bytes(), Some(&sent)),
            Ok("4waSgw==".to_owned())
        );
        assert!(matches!(
            claim.settle(&[0; 4], None),
            Err(Refusal::Invalid(_))
        ));
    }

    /// Requests asking for checksums of algorithms serve does not compute
    /// (S3's newer ones, made-up ones, in any case, in a trailer): each is
    /// refused with `InvalidRequest` naming what asked, before anything
    /// is read; the supported ones next to them still pass.
    #[test]
    fn unsupported_algorithms_are_refused_by_name() {
        let long = format!("x-amz-checksum-{}", "z".repeat(5000));
        let sdk = "x-amz-sdk-checksum-algorithm";
        let crc32 = ("x-amz-checksum-crc32", "DUoRhQ==");
        // S3's newer algorithms alone, in any case, and an empty name.
        let newer = ["sha512", "md5", "xxhash64", "xxhash3", "XXHASH128", ""];
        let headers: Vec<String> = newer
            .iter()
            .map(|a| format!("x-amz-checksum-{a}"))
            .collect();
        let mut hostile: Vec<(Vec<(&str, &str)>, String)> = headers
            .iter()
            .map(|h| {
                let named = format!("header {} ", h.to_ascii_lowercase());
                (vec![(h.as_str(), "AAAA")], named)
            })
            .collect();
        let mut refused = |pairs: Vec<(&'static str, &'static str)>, named: &str| {
            hostile.push((pairs, named.to_owned()));
        };
        refused(
            vec![crc32, ("x-amz-checksum-sha512", "AAAA")],
            "header x-amz-checksum-sha512 ",
        );
        refused(
            vec![crc32, (sdk, "SHA512")],
            "value of x-amz-sdk-checksum-algorithm ",
        );
        refused(
            vec![(sdk, "xxhash3")],
            "value of x-amz-sdk-checksum-algorithm ",
        );
        refused(vec![(sdk, "")], "value of x-amz-sdk-checksum-algorithm ");
        refused(
            vec![("x-amz-checksum-algorithm", "MD5")],
            "value of x-amz-checksum-algorithm ",
        );
        let trailer = "x-amz-trailer entry";
        refused(
            vec![("x-amz-trailer", "x-amz-checksum-xxhash64")],
            &format!("{trailer} x-amz-checksum-xxhash64 "),
        );
        refused(
            vec![(
                "x-amz-trailer",
                "x-amz-checksum-crc32, X-Amz-Checksum-SHA512",
            )],
            &format!("{trailer} x-amz-checksum-sha512 "),
        );
        hostile.push((vec![(long.as_str(), "AAAA")], "zzzzzzzz names".to_owned()));
        for (pairs, named) in hostile {
            let mut h = http::HeaderMap::new();
            for (k, v) in &pairs {
                h.append(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    http::HeaderValue::from_str(v).unwrap(),
                );
            }
            match Claim::of(&h, Some(Algorithm::Crc64Nvme)) {
                Err(Refusal::Invalid(why)) => {
                    assert!(why.contains(&named), "{pairs:?}: {why}");
                    assert!(why.ends_with(VALID_TYPES), "{pairs:?}: {why}");
                    assert!(why.len() < 300, "{pairs:?}: a bounded message");
                    let e = Refusal::Invalid(why).into_s3();
                    assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidRequest);
                }
                other => panic!("{pairs:?}: {other:?}"),
            }
        }
        // The supported ones, and the headers that carry no checksum.
        for (k, v) in [
            ("x-amz-checksum-crc64nvme", "AAAAAAAAAAA="),
            ("x-amz-sdk-checksum-algorithm", "crc32c"),
            ("x-amz-checksum-algorithm", "SHA256"),
            ("x-amz-checksum-type", "COMPOSITE"),
            ("x-amz-checksum-mode", "ENABLED"),
            ("x-amz-trailer", "x-amz-checksum-sha1"),
        ] {
            let mut h = http::HeaderMap::new();
            h.insert(k, http::HeaderValue::from_static(v));
            if k == "x-amz-sdk-checksum-algorithm" {
                h.insert(
                    "x-amz-checksum-crc32c",
                    http::HeaderValue::from_static("AAAAAA=="),
                );
            }
            assert!(Claim::of(&h, None).is_ok(), "{k}: {v}");
        }
    }

    /// CopyObject's `x-amz-checksum-algorithm`: S3's algorithms serve
    /// does not compute, made-up and oversized names are refused with
    /// `InvalidRequest` naming (the start of) the value; the supported
    /// ones pass in any case.
    #[test]
    fn a_copy_naming_an_unsupported_algorithm_is_refused_by_name() {
        let long = "Q".repeat(5000);
        let hostile = [
            "SHA512",
            "MD5",
            "XXHASH64",
            "xxhash3",
            "XXHASH128",
            "",
            "CRC32 ",
            "CRC32,SHA1",
            "<x>&amp;",
            long.as_str(),
        ];
        for value in hostile {
            match named_algorithm(value) {
                Err(Refusal::Invalid(why)) => {
                    let named: String = value.chars().take(NAME_ECHO).collect();
                    assert!(
                        why.contains(&format!("x-amz-checksum-algorithm value {named} ")),
                        "{value}: {why}"
                    );
                    assert!(why.ends_with(VALID_TYPES), "{value}: {why}");
                    assert!(why.len() < 300, "{value}: a bounded message");
                    let e = Refusal::Invalid(why).into_s3();
                    assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidRequest);
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        for (value, algorithm) in [
            ("CRC32", Algorithm::Crc32),
            ("crc32c", Algorithm::Crc32c),
            ("Crc64Nvme", Algorithm::Crc64Nvme),
            ("SHA1", Algorithm::Sha1),
            ("sha256", Algorithm::Sha256),
        ] {
            assert_eq!(named_algorithm(value), Ok(algorithm), "{value}");
        }
    }

    #[test]
    fn checksums_survive_the_store_encoding() {
        let c = Checksum {
            algorithm: Algorithm::Crc32c,
            kind: Kind::Composite,
            value: "xU+Krw==-3".into(),
        };
        let bytes = s3torrent_bencode::to_vec(&c).unwrap();
        assert_eq!(
            s3torrent_bencode::from_bytes::<Checksum>(&bytes).unwrap(),
            c
        );
    }
}
