//! What every request is checked for before its operation runs (from the
//! access layer, after the signature): `x-amz-expected-bucket-owner`, for
//! every operation at once, and the size of the small XML bodies of the
//! bucket-settings operations, before s3s reads them.

use s3s::access::S3AccessContext;
use s3s::{S3Result, s3_error};
use s3torrent_s3::{AccountId, BucketName};

use super::to_s3s;
use crate::store::Store;

/// The header, as every S3 operation that takes `ExpectedBucketOwner`
/// sends it.
const EXPECTED_OWNER: &str = "x-amz-expected-bucket-owner";

/// The largest body the tagging operations read: 50 tags of 128 and 256
/// characters, each up to 4 bytes of UTF-8 and escaped, fit well within.
const MAX_TAGGING_BODY: u64 = 256 * 1024;

/// The largest body of a public access block or ownership controls
/// configuration (a few hundred bytes when well-formed).
const MAX_SETTINGS_BODY: u64 = 16 * 1024;

/// The checks, in order: a body over its operation's cap is
/// `MaxMessageLengthExceeded` (400) before it is read; an
/// `x-amz-expected-bucket-owner` that is not an account ID is
/// `InvalidBucketOwnerAWSAccountID` (400), and one that is not the bucket
/// owner's is `AccessDenied` (403), whatever the operation (a bucket that
/// does not exist is the operation's to answer: `NoSuchBucket`).
/// CreateBucket and ListBuckets take no expected owner.
pub(super) async fn check(store: &std::sync::Arc<Store>, cx: &S3AccessContext<'_>) -> S3Result<()> {
    check_body(cx)?;
    let Some(expected) = cx.headers().get(EXPECTED_OWNER) else {
        return Ok(());
    };
    let op = cx.s3_op().name();
    if matches!(op, "CreateBucket" | "ListBuckets") {
        return Ok(());
    }
    let expected = expected
        .to_str()
        .map_err(|_| s3_error!(InvalidBucketOwnerAWSAccountID))
        .and_then(|v| AccountId::new(v).map_err(to_s3s))?;
    let Some(bucket) = cx.s3_path().get_bucket_name() else {
        return Ok(());
    };
    // A malformed name is the operation's own 400.
    let Ok(bucket) = BucketName::new(bucket) else {
        return Ok(());
    };
    let store = std::sync::Arc::clone(store);
    let owner = tokio::task::spawn_blocking(move || store.bucket_info(&bucket))
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?
        .map_err(to_s3s)?
        .map(|info| info.owner.account_id);
    match owner {
        Some(owner) if owner != expected => Err(s3_error!(
            AccessDenied,
            "Access Denied: the bucket is not owned by the expected bucket owner"
        )),
        _ => Ok(()),
    }
}

/// `MaxMessageLengthExceeded` for a tagging or settings body declared
/// larger than its cap (by `x-amz-decoded-content-length` for a chunked
/// upload, else `Content-Length`).
fn check_body(cx: &S3AccessContext<'_>) -> S3Result<()> {
    let cap = match cx.s3_op().name() {
        "PutObjectTagging" | "PutBucketTagging" => MAX_TAGGING_BODY,
        "PutPublicAccessBlock" | "PutBucketOwnershipControls" => MAX_SETTINGS_BODY,
        _ => return Ok(()),
    };
    let declared = ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .find_map(|h| cx.headers().get(*h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > cap => Err(s3_error!(
            MaxMessageLengthExceeded,
            "Your request was too big: this operation's body is at most {cap} bytes."
        )),
        _ => Ok(()),
    }
}
