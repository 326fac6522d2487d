//! Names and identities, validated on construction.

use std::fmt;

use crate::error::{ErrorCode, Result, S3Error};

/// A bucket name that follows S3's rules for general purpose buckets:
/// 3 to 63 characters of lowercase letters, digits, `.` and `-`; starting
/// and ending with a letter or digit; no `..`, `.-` or `-.`; not shaped like an IPv4
/// address; none of the reserved prefixes (`xn--`, `sthree-`,
/// `amzn-s3-demo-`) or suffixes (`-s3alias`, `--ol-s3`, `.mrap`,
/// `--table-s3`). Directory buckets' `--x-s3` names pass too.
///
/// ```
/// use s3torrent_s3::BucketName;
///
/// assert!(BucketName::new("my-data.example").is_ok());
/// for bad in ["ab", "My-Bucket", "a..b", "a.-b", "a-.b", "-ab", "192.168.5.4", "xn--abc", "b-s3alias"] {
///     assert_eq!(BucketName::new(bad).unwrap_err().code().as_str(), "InvalidBucketName");
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

impl BucketName {
    /// Checks a bucket name.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        match bucket_name_problem(&name) {
            None => Ok(BucketName(name)),
            Some(problem) => Err(S3Error::with_message(
                ErrorCode::InvalidBucketName,
                format!("The specified bucket is not valid: {problem}."),
                name,
            )),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn bucket_name_problem(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return Some("bucket names are 3 to 63 characters long");
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
    {
        return Some("bucket names hold only lowercase letters, digits, dots and hyphens");
    }
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge(b[0]) || !edge(b[b.len() - 1]) {
        return Some("bucket names start and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("bucket names have no two adjacent dots");
    }
    if name.contains(".-") || name.contains("-.") {
        return Some("bucket names have no dash next to a dot");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("bucket names are not IP addresses");
    }
    if ["xn--", "sthree-", "amzn-s3-demo-"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return Some("the prefix is reserved");
    }
    if ["-s3alias", "--ol-s3", ".mrap", "--table-s3"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        return Some("the suffix is reserved");
    }
    None
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object key: 1 to 1024 bytes of UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// The longest key, in bytes of UTF-8.
    pub const MAX_LEN: usize = 1024;

    /// Checks a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        if key.is_empty() {
            return Err(S3Error::with_message(
                ErrorCode::InvalidArgument,
                "The object key must not be empty.",
                "",
            ));
        }
        if key.len() > Self::MAX_LEN {
            return Err(S3Error::with_message(
                ErrorCode::KeyTooLongError,
                format!(
                    "Your key is too long: {} bytes, the limit is {}.",
                    key.len(),
                    Self::MAX_LEN
                ),
                "",
            ));
        }
        Ok(ObjectKey(key))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 12-digit AWS account ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; 12]);

impl AccountId {
    /// Checks an account ID. A malformed one is the S3 error S3 gives for a
    /// malformed `x-amz-expected-bucket-owner`.
    pub fn new(id: &str) -> Result<Self> {
        let bytes: [u8; 12] = id
            .as_bytes()
            .try_into()
            .ok()
            .filter(|b: &[u8; 12]| b.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| {
                S3Error::with_message(
                    ErrorCode::InvalidBucketOwnerAwsAccountId,
                    format!(
                        "The value of the expected bucket owner parameter must be an AWS Account ID: {id:?} is not 12 digits."
                    ),
                    "",
                )
            })?;
        Ok(AccountId(bytes))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII digits")
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A canonical user ID: 64 lowercase hexadecimal characters in AWS.
///
/// Other stores use other shapes, so any 1 to 128 characters of ASCII
/// letters, digits, `-` and `_` are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalId(String);

impl CanonicalId {
    /// Checks a canonical user ID.
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let ok = (1..=128).contains(&id.len())
            && id
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
        if ok {
            Ok(CanonicalId(id))
        } else {
            Err(S3Error::with_message(
                ErrorCode::InvalidArgument,
                format!("Invalid canonical user ID {id:?}."),
                "",
            ))
        }
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An owner or an authenticated principal: a canonical user ID and its account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The canonical user ID, which ACL grants name.
    pub canonical_id: CanonicalId,
    /// The account, which `x-amz-expected-bucket-owner` names.
    pub account_id: AccountId,
}

impl Principal {
    /// A principal.
    pub fn new(canonical_id: CanonicalId, account_id: AccountId) -> Self {
        Principal {
            canonical_id,
            account_id,
        }
    }
}

/// Who is asking. Authentication is the host's job; this is its result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Requester {
    /// An unsigned request.
    Anonymous,
    /// A request signed by this principal.
    Authenticated(Principal),
}

impl Requester {
    /// The principal, if authenticated.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Requester::Anonymous => None,
            Requester::Authenticated(p) => Some(p),
        }
    }
}
