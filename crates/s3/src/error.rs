//! S3 errors: the crate's one error type.

use std::fmt;

/// The S3 error codes this crate answers with, each with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 403: the requester may not do this (or may not learn whether the key exists).
    AccessDenied,
    /// 400: the bucket's ACLs are disabled (object ownership
    /// `BucketOwnerEnforced`) and the request sets one.
    AccessControlListNotSupported,
    /// 400: the request is valid but S3 does not do this (SSE-C objects, objects over the size limit).
    InvalidRequest,
    /// 400: a parameter has a bad value.
    InvalidArgument,
    /// 400: the bucket name breaks S3's naming rules.
    InvalidBucketName,
    /// 400: `x-amz-expected-bucket-owner` is not a 12-digit account ID.
    InvalidBucketOwnerAwsAccountId,
    /// 400: `BucketOwnerEnforced` asked for a bucket whose ACL grants
    /// access to anyone but its owner.
    InvalidBucketAclWithObjectOwnership,
    /// 403: the object is archived and not restored.
    InvalidObjectState,
    /// 400: the request's URI could not be parsed (bad percent-encoding, or
    /// a decoded key or parameter that is not UTF-8).
    InvalidUri,
    /// 400: the object key is longer than 1024 bytes.
    KeyTooLongError,
    /// 400: a bucket policy that is not valid JSON or breaks the policy
    /// language's rules.
    MalformedPolicy,
    /// 405: the version asked for is a delete marker.
    MethodNotAllowed,
    /// 412: a condition of the request (`If-Match`, say) did not hold.
    PreconditionFailed,
    /// 404: no such bucket.
    NoSuchBucket,
    /// 404: no such key (or its current version is a delete marker).
    NoSuchKey,
    /// 404: no such version of the key.
    NoSuchVersion,
    /// 404: the bucket has no policy.
    NoSuchBucketPolicy,
    /// 501: not implemented (torrents of directory buckets).
    NotImplemented,
    /// 400: `?torrent` on a bucket rather than an object.
    RequestTorrentOfBucketError,
    /// 500: something failed on the server's side; retry.
    InternalError,
    /// 503: too many requests; retry more slowly.
    SlowDown,
}

impl ErrorCode {
    /// The code as S3 writes it in `<Code>`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "AccessDenied",
            ErrorCode::AccessControlListNotSupported => "AccessControlListNotSupported",
            ErrorCode::InvalidRequest => "InvalidRequest",
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::InvalidBucketName => "InvalidBucketName",
            ErrorCode::InvalidBucketOwnerAwsAccountId => "InvalidBucketOwnerAWSAccountID",
            ErrorCode::InvalidBucketAclWithObjectOwnership => "InvalidBucketAclWithObjectOwnership",
            ErrorCode::InvalidObjectState => "InvalidObjectState",
            ErrorCode::InvalidUri => "InvalidURI",
            ErrorCode::KeyTooLongError => "KeyTooLongError",
            ErrorCode::MalformedPolicy => "MalformedPolicy",
            ErrorCode::MethodNotAllowed => "MethodNotAllowed",
            ErrorCode::PreconditionFailed => "PreconditionFailed",
            ErrorCode::NoSuchBucket => "NoSuchBucket",
            ErrorCode::NoSuchKey => "NoSuchKey",
            ErrorCode::NoSuchVersion => "NoSuchVersion",
            ErrorCode::NoSuchBucketPolicy => "NoSuchBucketPolicy",
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::RequestTorrentOfBucketError => "RequestTorrentOfBucketError",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::SlowDown => "SlowDown",
        }
    }

    /// The HTTP status S3 answers this code with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest
            | ErrorCode::AccessControlListNotSupported
            | ErrorCode::InvalidBucketAclWithObjectOwnership
            | ErrorCode::InvalidArgument
            | ErrorCode::InvalidBucketName
            | ErrorCode::InvalidBucketOwnerAwsAccountId
            | ErrorCode::InvalidUri
            | ErrorCode::KeyTooLongError
            | ErrorCode::MalformedPolicy
            | ErrorCode::RequestTorrentOfBucketError => 400,
            ErrorCode::AccessDenied | ErrorCode::InvalidObjectState => 403,
            ErrorCode::NoSuchBucket
            | ErrorCode::NoSuchKey
            | ErrorCode::NoSuchVersion
            | ErrorCode::NoSuchBucketPolicy => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::InternalError => 500,
            ErrorCode::NotImplemented => 501,
            ErrorCode::SlowDown => 503,
        }
    }

    /// S3's usual message for the code.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "Access Denied",
            ErrorCode::AccessControlListNotSupported => "The bucket does not allow ACLs",
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::InvalidArgument => "Invalid Argument",
            ErrorCode::InvalidBucketName => "The specified bucket is not valid.",
            ErrorCode::InvalidBucketOwnerAwsAccountId => {
                "The value of the expected bucket owner parameter must be an AWS Account ID."
            }
            ErrorCode::InvalidBucketAclWithObjectOwnership => {
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
            }
            ErrorCode::InvalidObjectState => {
                "The operation is not valid for the object's storage class"
            }
            ErrorCode::InvalidUri => "Couldn't parse the specified URI.",
            ErrorCode::KeyTooLongError => "Your key is too long",
            ErrorCode::MalformedPolicy => {
                "Policies must be valid JSON and the first byte must be '{'"
            }
            ErrorCode::MethodNotAllowed => {
                "The specified method is not allowed against this resource."
            }
            ErrorCode::PreconditionFailed => {
                "At least one of the pre-conditions you specified did not hold"
            }
            ErrorCode::NoSuchBucket => "The specified bucket does not exist",
            ErrorCode::NoSuchKey => "The specified key does not exist.",
            ErrorCode::NoSuchVersion => "The specified version does not exist.",
            ErrorCode::NoSuchBucketPolicy => "The bucket policy does not exist",
            ErrorCode::NotImplemented => {
                "A header you provided implies functionality that is not implemented"
            }
            ErrorCode::RequestTorrentOfBucketError => {
                "Requesting the torrent file of a bucket is not permitted."
            }
            ErrorCode::InternalError => "We encountered an internal error. Please try again.",
            ErrorCode::SlowDown => "Please reduce your request rate.",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An S3 error answer: its code (and so its HTTP status), a message, and
/// the resource it is about (such as `/bucket/key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Error {
    code: ErrorCode,
    message: String,
    resource: String,
}

impl S3Error {
    /// An error with the code's usual message.
    pub fn new(code: ErrorCode, resource: impl Into<String>) -> Self {
        S3Error {
            code,
            message: code.default_message().to_owned(),
            resource: resource.into(),
        }
    }

    /// An error with a message of its own.
    pub fn with_message(
        code: ErrorCode,
        message: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        S3Error {
            code,
            message: message.into(),
            resource: resource.into(),
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The resource, such as `/bucket/key`; empty when there is none.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Whether a client should retry (500 and 503 answers).
    pub fn is_retryable(&self) -> bool {
        matches!(self.code, ErrorCode::InternalError | ErrorCode::SlowDown)
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status(), self.message)?;
        if !self.resource.is_empty() {
            write!(f, " [{}]", self.resource)?;
        }
        Ok(())
    }
}

impl std::error::Error for S3Error {}

/// The crate's result type.
pub type Result<T, E = S3Error> = std::result::Result<T, E>;
