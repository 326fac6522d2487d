//! What a request asks of encryption: its `x-amz-server-side-encryption*`
//! headers, checked as S3 checks them.

use std::path::PathBuf;

use md5::{Digest, Md5};
use zeroize::Zeroizing;

/// What went wrong with a request's encryption or a master key, with the
/// S3 error each becomes ([`SseError::to_s3`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SseError {
    /// 400 `InvalidArgument`: a header has a bad value, or headers conflict.
    #[error("{0}")]
    InvalidArgument(String),
    /// 400 `InvalidRequest`: SSE-C over plain HTTP, or a key the object
    /// does not take.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400 `KMS.NotFoundException`: the key ring has no key of this ID.
    #[error("Invalid keyId {0}")]
    NoSuchKmsKey(String),
    /// 500: a master key's file could not be read or written.
    #[error("the key file {0}: {1}")]
    KeyFile(PathBuf, #[source] std::io::Error),
    /// 500: a master key's file does not hold 64 hex digits.
    #[error("the key file {0} does not hold 64 hex digits")]
    BadKeyFile(PathBuf),
    /// 500: no randomness from the system.
    #[error("no random bytes: {0}")]
    Random(String),
    /// 500: a data key could not be sealed.
    #[error("a data key could not be sealed")]
    Seal,
    /// 500: a data key did not open under its master key (the key file
    /// changed, or the record is damaged).
    #[error("an object's data key does not open under its master key")]
    Unseal,
}

impl SseError {
    /// The error as S3 answers it.
    pub(crate) fn to_s3(&self) -> s3s::S3Error {
        use s3s::S3ErrorCode as C;
        let (code, status) = match self {
            SseError::InvalidArgument(_) => (C::InvalidArgument, 400),
            SseError::InvalidRequest(_) => (C::InvalidRequest, 400),
            SseError::NoSuchKmsKey(_) => (C::Custom("KMS.NotFoundException".into()), 400),
            _ => (C::InternalError, 500),
        };
        let mut e = s3s::S3Error::with_message(code, self.to_string());
        if let Ok(s) = http::StatusCode::from_u16(status) {
            e.set_status_code(s);
        }
        e
    }
}

/// A customer's key (SSE-C), checked against its MD5; zeroed when
/// dropped.
#[derive(Clone)]
pub(crate) struct CustomerKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    /// The base64 MD5 of the key, as the request gave it (and as answers
    /// echo it).
    pub(crate) md5: String,
}

impl std::fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CustomerKey(md5 {})", self.md5)
    }
}

/// How a new object is encrypted, once the request and the bucket's
/// default are settled.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// SSE-S3.
    S3,
    /// SSE-KMS with this key.
    Kms(String),
    /// SSE-C with this key.
    Customer(CustomerKey),
}

impl Target {
    /// The customer's key, for SSE-C.
    pub(crate) fn customer(&self) -> Option<&CustomerKey> {
        match self {
            Target::Customer(c) => Some(c),
            Target::S3 | Target::Kms(_) => None,
        }
    }
}

/// What a write asks for.
#[derive(Debug, Clone)]
pub(crate) enum Asked {
    /// No encryption header: the bucket's default, if any.
    Nothing,
    /// `x-amz-server-side-encryption: AES256`.
    S3,
    /// `aws:kms`, with the key ID it names (none: the bucket default's or
    /// none at all).
    Kms(Option<String>),
    /// SSE-C.
    Customer(CustomerKey),
}

fn invalid(message: impl Into<String>) -> SseError {
    SseError::InvalidArgument(message.into())
}

/// The SSE-C key of `(algorithm, key, key MD5)` headers, if any: all three
/// or none, `AES256`, a base64 key of 32 bytes whose MD5 is the one given.
/// `what` is the headers' prefix, for messages
/// (`x-amz-server-side-encryption-customer` or
/// `x-amz-copy-source-server-side-encryption-customer`).
pub(crate) fn customer_key(
    (algorithm, key, md5): (Option<&str>, Option<&str>, Option<&str>),
    what: &str,
) -> Result<Option<CustomerKey>, SseError> {
    let Some(algorithm) = algorithm else {
        if key.is_some() || md5.is_some() {
            return Err(invalid(format!(
                "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm ({what}-algorithm)."
            )));
        }
        return Ok(None);
    };
    if algorithm != "AES256" {
        return Err(invalid(format!(
            "The encryption algorithm {algorithm:?} is not supported: {what}-algorithm must be AES256."
        )));
    }
    let key = key.ok_or_else(|| {
        invalid(format!(
            "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key ({what}-key)."
        ))
    })?;
    let md5 = md5.ok_or_else(|| {
        invalid(format!(
            "Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key ({what}-key-MD5)."
        ))
    })?;
    let b64 = base64_simd::STANDARD;
    let raw = (key.len() <= 64)
        .then(|| b64.decode_to_vec(key).ok().map(Zeroizing::new))
        .flatten()
        .ok_or_else(|| invalid(format!("The secret key ({what}-key) is not valid base64.")))?;
    if raw.len() != 32 {
        return Err(invalid(format!(
            "The secret key ({what}-key) was invalid for the specified algorithm: AES256 takes 256-bit keys."
        )));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&raw);
    let given = (md5.len() <= 32)
        .then(|| b64.decode_to_vec(md5).ok())
        .flatten();
    if given.as_deref() != Some(&Md5::digest(&key[..])[..]) {
        return Err(invalid(format!(
            "The calculated MD5 hash of the key did not match the hash that was provided ({what}-key-MD5)."
        )));
    }
    Ok(Some(CustomerKey {
        key,
        md5: md5.to_owned(),
    }))
}

/// What a write's headers ask: `x-amz-server-side-encryption` (`AES256`
/// or `aws:kms`), `-aws-kms-key-id` (with `aws:kms` only) and the SSE-C
/// headers (never with the first), as S3 checks them (`InvalidArgument`).
pub(crate) fn asked(
    sse: Option<&str>,
    kms_key_id: Option<&str>,
    customer: (Option<&str>, Option<&str>, Option<&str>),
) -> Result<Asked, SseError> {
    let customer = customer_key(customer, "x-amz-server-side-encryption-customer")?;
    let asked = match (sse, customer) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Server Side Encryption with Customer provided key is incompatible with the encryption method specified (x-amz-server-side-encryption).",
            ));
        }
        (None, Some(c)) => Asked::Customer(c),
        (Some("AES256"), None) => Asked::S3,
        (Some("aws:kms"), None) => Asked::Kms(kms_key_id.map(str::to_owned)),
        (Some(other), None) => {
            return Err(invalid(format!(
                "The encryption method specified is not supported: x-amz-server-side-encryption {other:?} (AES256 or aws:kms)."
            )));
        }
        (None, None) => Asked::Nothing,
    };
    if kms_key_id.is_some() && !matches!(asked, Asked::Kms(_)) {
        return Err(invalid(
            "x-amz-server-side-encryption-aws-kms-key-id is only valid with x-amz-server-side-encryption: aws:kms.",
        ));
    }
    Ok(asked)
}
