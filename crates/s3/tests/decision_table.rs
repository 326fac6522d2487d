//! GetObjectTorrent's decision, table-driven: every rule of the issue, and
//! the combinations that matter (who asks × object ACL × object ownership,
//! the existence-leak rule × bucket ACL, requester pays × header × who).
//!
//! Every row states its expected answer literally — a code string and an
//! HTTP status such as `("AccessDenied", 403)`, or a plan and whether it is
//! charged — written from S3's rules, never computed by the code under test.
//! Failures are collected, so one run names every wrong row.

use s3torrent_s3::{AccountId, PieceLength};
use s3torrent_s3::{
    Acl, Addressing, BucketInfo, BucketKind, BucketName, CannedAcl, CanonicalId, Encryption,
    ObjectInfo, ObjectKey, ObjectLookup, ObjectOwnership, PieceLengthPolicy, Principal, Requester,
    RestoreState, StorageClass, TorrentPolicy, TorrentRequest, WebSeed, decide,
};

use CannedAcl::{
    AuthenticatedRead, BucketOwnerFullControl, BucketOwnerRead, Private, PublicRead,
    PublicReadWrite,
};
use ObjectOwnership::{BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter};

/// The expected answer: `Ok(charged)` for a plan, or the code and status.
type Expect = Result<bool, (&'static str, u16)>;

const OK: Expect = Ok(false);
const CHARGED: Expect = Ok(true);
const DENIED: Expect = Err(("AccessDenied", 403));
const NO_SUCH_KEY: Expect = Err(("NoSuchKey", 404));
const NO_SUCH_VERSION: Expect = Err(("NoSuchVersion", 404));

/// Who asks (or who owns the object).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// The bucket owner's account.
    BucketOwner,
    /// Another account that wrote the object (the object owner when ACLs apply).
    Writer,
    /// A third account with no relation to bucket or object.
    Other,
}

const EVERYONE: [Who; 4] = [Who::Anonymous, Who::BucketOwner, Who::Writer, Who::Other];

fn principal(who: Who) -> Option<Principal> {
    let (canonical, account) = match who {
        Who::Anonymous => return None,
        Who::BucketOwner => ("bucket-owner-canonical-id", "111122223333"),
        Who::Writer => ("object-writer-canonical-id", "444455556666"),
        Who::Other => ("stranger-canonical-id", "777788889999"),
    };
    Some(Principal::new(
        CanonicalId::new(canonical).unwrap(),
        AccountId::new(account).unwrap(),
    ))
}

fn requester(who: Who) -> Requester {
    principal(who).map_or(Requester::Anonymous, Requester::Authenticated)
}

/// The lookup the host answers for the key (and version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Found,
    NoSuchKey,
    NoSuchVersion,
    /// The version found is a delete marker.
    DeleteMarker,
}

/// The request's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `GET /bucket?torrent`.
    Absent,
    Lit(&'static str),
    /// That many bytes of `k`.
    Bytes(usize),
}

#[derive(Debug, Clone, Copy)]
struct Row {
    name: &'static str,
    // The bucket.
    bucket_exists: bool,
    bucket_kind: BucketKind,
    bucket_acl: CannedAcl,
    ownership: ObjectOwnership,
    requester_pays: bool,
    // The object.
    look: Look,
    object_owner: Who,
    object_acl: CannedAcl,
    object_version: Option<&'static str>,
    encryption: Encryption,
    size: u64,
    class: StorageClass,
    restore: RestoreState,
    // The request.
    bucket: &'static str,
    key: Key,
    version_id: Option<&'static str>,
    who: Who,
    payer_header: bool,
    expected_owner: Option<&'static str>,
    // The policy.
    max_size: Option<u64>,
    allow_version_id: bool,
    // The answer.
    expect: Expect,
    message: Option<&'static str>,
}

/// A bucket owner asking for their own private, unencrypted, 11-byte object.
const BASE: Row = Row {
    name: "base",
    bucket_exists: true,
    bucket_kind: BucketKind::General,
    bucket_acl: Private,
    ownership: ObjectWriter,
    requester_pays: false,
    look: Look::Found,
    object_owner: Who::BucketOwner,
    object_acl: Private,
    object_version: None,
    encryption: Encryption::None,
    size: 11,
    class: StorageClass::Standard,
    restore: RestoreState::NotRestored,
    bucket: "quotes",
    key: Key::Lit("people/Nelson"),
    version_id: None,
    who: Who::BucketOwner,
    payer_header: false,
    expected_owner: None,
    max_size: None,
    allow_version_id: true,
    expect: OK,
    message: None,
};

fn key_string(key: Key) -> Option<String> {
    match key {
        Key::Absent => None,
        Key::Lit(k) => Some(k.to_owned()),
        Key::Bytes(n) => Some("k".repeat(n)),
    }
}

struct Built {
    req: TorrentRequest,
    bucket: Option<BucketInfo>,
    lookup: ObjectLookup,
    object: Option<ObjectInfo>,
    policy: TorrentPolicy,
}

fn build(row: &Row) -> Built {
    let bucket_owner = principal(Who::BucketOwner).unwrap();
    let bucket = row.bucket_exists.then(|| {
        let mut b = BucketInfo::new(BucketName::new("quotes").unwrap(), bucket_owner.clone());
        b.acl = Acl::canned(row.bucket_acl, &bucket_owner, &bucket_owner);
        b.ownership = row.ownership;
        b.requester_pays = row.requester_pays;
        b.kind = row.bucket_kind;
        b
    });
    let object_owner = principal(row.object_owner).expect("objects have an owner");
    let key = key_string(row.key)
        .and_then(|k| ObjectKey::new(k).ok())
        .unwrap_or_else(|| ObjectKey::new("people/Nelson").unwrap());
    let mut info = ObjectInfo::new(key, row.size, "etag-1", &object_owner);
    info.acl = Acl::canned(row.object_acl, &object_owner, &bucket_owner);
    info.version_id = row.object_version.map(String::from);
    info.encryption = row.encryption;
    info.storage_class = row.class;
    info.restore = row.restore;
    let (lookup, object) = match row.look {
        Look::Found => (ObjectLookup::Found(info.clone()), Some(info)),
        Look::NoSuchKey => (ObjectLookup::NoSuchKey, None),
        Look::NoSuchVersion => (ObjectLookup::NoSuchVersion, None),
        Look::DeleteMarker => {
            info.delete_marker = true;
            info.size = 0;
            (ObjectLookup::Found(info), None)
        }
    };
    let req = TorrentRequest {
        bucket: row.bucket.to_owned(),
        key: key_string(row.key),
        version_id: row.version_id.map(String::from),
        request_payer: row.payer_header,
        expected_bucket_owner: row.expected_owner.map(String::from),
        requester: requester(row.who),
        context: Default::default(),
    };
    let mut policy = TorrentPolicy::default();
    if let Some(max) = row.max_size {
        policy.max_object_size = max;
    }
    policy.allow_version_id = row.allow_version_id;
    Built {
        req,
        bucket,
        lookup,
        object,
        policy,
    }
}

/// Runs one row; returns what was wrong with it, if anything.
fn check(row: &Row) -> Option<String> {
    let built = build(row);
    let got = decide(
        &built.req,
        built.bucket.as_ref(),
        &built.lookup,
        &built.policy,
    );
    let expected_resource = match key_string(row.key) {
        Some(k) => format!("/{}/{k}", row.bucket),
        None => format!("/{}", row.bucket),
    };
    let label = format!("{} (who: {:?})", row.name, row.who);
    match (row.expect, got) {
        (Ok(charged), Ok(plan)) => {
            let mut wrong = Vec::new();
            if plan.request_charged != charged {
                wrong.push(format!("request_charged {}", plan.request_charged));
            }
            if Some(&plan.object) != built.object.as_ref() {
                wrong.push("the plan's object is not the object found".to_owned());
            }
            if plan.bucket.as_str() != row.bucket {
                wrong.push(format!("bucket {}", plan.bucket));
            }
            if plan.piece_length.get() != 262_144 {
                wrong.push(format!("piece length {}", plan.piece_length.get()));
            }
            if plan.web_seed.is_some() || !plan.trackers.is_empty() {
                wrong.push("web seed or trackers without a policy for them".to_owned());
            }
            (!wrong.is_empty()).then(|| format!("{label}: plan, but {}", wrong.join(", ")))
        }
        (Err((code, status)), Err(e)) => {
            let mut wrong = Vec::new();
            if e.code().as_str() != code || e.status() != status {
                wrong.push(format!("got ({:?}, {})", e.code().as_str(), e.status()));
            }
            if e.resource() != expected_resource {
                wrong.push(format!("resource {:?}", e.resource()));
            }
            if let Some(m) = row.message
                && e.message() != m
            {
                wrong.push(format!("message {:?}", e.message()));
            }
            (!wrong.is_empty()).then(|| {
                format!(
                    "{label}: expected ({code:?}, {status}), {}",
                    wrong.join(", ")
                )
            })
        }
        (Ok(charged), Err(e)) => Some(format!(
            "{label}: expected a plan (charged: {charged}), got {e}"
        )),
        (Err((code, status)), Ok(plan)) => Some(format!(
            "{label}: expected ({code:?}, {status}), got a plan (charged: {})",
            plan.request_charged
        )),
    }
}

fn run_all(rows: &[Row]) {
    let failures: Vec<String> = rows.iter().filter_map(check).collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows wrong:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// The single rules, each in its own row (and their precedence).
#[rustfmt::skip]
const RULES: &[Row] = &[
    Row { name: "the bucket owner reads their own private object", expect: OK, ..BASE },
    // 1. The request's shape.
    Row { name: "?torrent on a bucket", key: Key::Absent, expect: Err(("RequestTorrentOfBucketError", 400)), ..BASE },
    Row { name: "?torrent on a bucket, even anonymous and missing", key: Key::Absent, who: Who::Anonymous, bucket_exists: false, expect: Err(("RequestTorrentOfBucketError", 400)), ..BASE },
    Row { name: "bucket name with uppercase", bucket: "Quotes", expect: Err(("InvalidBucketName", 400)), ..BASE },
    Row { name: "bucket name too short", bucket: "ab", expect: Err(("InvalidBucketName", 400)), ..BASE },
    Row { name: "bucket name with underscore, bucket missing", bucket: "my_bucket", bucket_exists: false, expect: Err(("InvalidBucketName", 400)), ..BASE },
    Row { name: "bucket name shaped like an IP address", bucket: "192.168.5.4", expect: Err(("InvalidBucketName", 400)), ..BASE },
    Row { name: "key of 1024 bytes", key: Key::Bytes(1024), expect: OK, ..BASE },
    Row { name: "key of 1025 bytes", key: Key::Bytes(1025), expect: Err(("KeyTooLongError", 400)), ..BASE },
    Row { name: "key of 1025 bytes, anonymous", key: Key::Bytes(1025), who: Who::Anonymous, expect: Err(("KeyTooLongError", 400)), ..BASE },
    // 2. The bucket must exist.
    Row { name: "no such bucket", bucket_exists: false, expect: Err(("NoSuchBucket", 404)), ..BASE },
    Row { name: "no such bucket, anonymous", bucket_exists: false, who: Who::Anonymous, expect: Err(("NoSuchBucket", 404)), ..BASE },
    Row { name: "no such bucket, wrong expected owner", bucket_exists: false, expected_owner: Some("999999999999"), expect: Err(("NoSuchBucket", 404)), ..BASE },
    // 3. x-amz-expected-bucket-owner.
    Row { name: "expected owner right", expected_owner: Some("111122223333"), expect: OK, ..BASE },
    Row { name: "expected owner right, public object, stranger", expected_owner: Some("111122223333"), who: Who::Other, object_acl: PublicRead, expect: OK, ..BASE },
    Row { name: "expected owner wrong", expected_owner: Some("999999999999"), expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "expected owner is the requester's own account", expected_owner: Some("777788889999"), who: Who::Other, object_acl: PublicRead, expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "expected owner wrong, key missing on a listable bucket", expected_owner: Some("999999999999"), bucket_acl: PublicRead, look: Look::NoSuchKey, expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "expected owner of 5 digits", expected_owner: Some("12345"), expect: Err(("InvalidBucketOwnerAWSAccountID", 400)), ..BASE },
    Row { name: "expected owner of 13 digits", expected_owner: Some("1111222233334"), expect: Err(("InvalidBucketOwnerAWSAccountID", 400)), ..BASE },
    Row { name: "expected owner with a letter", expected_owner: Some("11112222333a"), expect: Err(("InvalidBucketOwnerAWSAccountID", 400)), ..BASE },
    Row { name: "expected owner empty", expected_owner: Some(""), expect: Err(("InvalidBucketOwnerAWSAccountID", 400)), ..BASE },
    Row { name: "expected owner malformed, bucket missing", expected_owner: Some("owner"), bucket_exists: false, expect: Err(("InvalidBucketOwnerAWSAccountID", 400)), ..BASE },
    // 4. Directory buckets, and versions refused by policy.
    Row { name: "directory bucket", bucket: "quotes--usw2-az1--x-s3", bucket_kind: BucketKind::Directory, expect: Err(("NotImplemented", 501)), ..BASE },
    Row { name: "directory bucket, anonymous, missing key", bucket: "quotes--usw2-az1--x-s3", bucket_kind: BucketKind::Directory, who: Who::Anonymous, look: Look::NoSuchKey, expect: Err(("NotImplemented", 501)), ..BASE },
    Row { name: "directory bucket, wrong expected owner", bucket_kind: BucketKind::Directory, expected_owner: Some("999999999999"), expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "versionId with allow_version_id = false", version_id: Some("v1"), object_version: Some("v1"), allow_version_id: false, expect: Err(("InvalidArgument", 400)), ..BASE },
    Row { name: "versionId with allow_version_id = false, no such version", version_id: Some("v9"), look: Look::NoSuchVersion, allow_version_id: false, expect: Err(("InvalidArgument", 400)), ..BASE },
    Row { name: "no versionId with allow_version_id = false", allow_version_id: false, expect: OK, ..BASE },
    // 5. Versions and delete markers.
    Row { name: "a version by its ID", version_id: Some("3HL4kqtJlcpXroDTDmJ"), object_version: Some("3HL4kqtJlcpXroDTDmJ"), expect: OK, ..BASE },
    Row { name: "the current version of a versioned object", object_version: Some("v2"), expect: OK, ..BASE },
    Row { name: "a delete marker by versionId", version_id: Some("dm1"), object_version: Some("dm1"), look: Look::DeleteMarker, expect: Err(("MethodNotAllowed", 405)), ..BASE },
    Row { name: "a delete marker by versionId, stranger on a public bucket", version_id: Some("dm1"), object_version: Some("dm1"), look: Look::DeleteMarker, who: Who::Other, bucket_acl: PublicRead, expect: Err(("MethodNotAllowed", 405)), ..BASE },
    Row { name: "a delete marker as current version", object_version: Some("dm1"), look: Look::DeleteMarker, expect: Err(("NoSuchKey", 404)), ..BASE },
    Row { name: "a delete marker as current version, stranger, private bucket", object_version: Some("dm1"), look: Look::DeleteMarker, who: Who::Other, expect: Err(("AccessDenied", 403)), ..BASE },
    // 6. READ on the object (see also ACL_MATRIX).
    Row { name: "a stranger and a private object", who: Who::Other, expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "anonymous and a public-read object", who: Who::Anonymous, object_acl: PublicRead, expect: OK, ..BASE },
    // 8. SSE-C and SSE-KMS, after access.
    Row { name: "no encryption", encryption: Encryption::None, expect: OK, ..BASE },
    Row { name: "SSE-S3", encryption: Encryption::SseS3, expect: OK, ..BASE },
    Row { name: "SSE-KMS: no swarm could serve it", encryption: Encryption::SseKms, expect: Err(("InvalidRequest", 400)), ..BASE },
    Row { name: "SSE-KMS, public object, anonymous: signed requests only", encryption: Encryption::SseKms, who: Who::Anonymous, object_acl: PublicRead, expect: Err(("InvalidArgument", 400)), ..BASE },
    Row { name: "SSE-C", encryption: Encryption::SseC, expect: Err(("InvalidRequest", 400)), ..BASE },
    Row { name: "SSE-C, public object, anonymous", encryption: Encryption::SseC, who: Who::Anonymous, object_acl: PublicRead, expect: Err(("InvalidRequest", 400)), ..BASE },
    Row { name: "SSE-C, private object, stranger: access first", encryption: Encryption::SseC, who: Who::Other, expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "SSE-C and over the limit: SSE-C first", encryption: Encryption::SseC, size: 5_368_709_121, expect: Err(("InvalidRequest", 400)), ..BASE },
    // 9. Size.
    Row { name: "exactly 5368709120 bytes", size: 5_368_709_120, expect: OK, ..BASE },
    Row { name: "5368709121 bytes", size: 5_368_709_121, expect: Err(("InvalidRequest", 400)), message: Some("Torrent creation is not supported for objects larger than 5368709120"), ..BASE },
    Row { name: "u64::MAX bytes", size: u64::MAX, expect: Err(("InvalidRequest", 400)), message: Some("Torrent creation is not supported for objects larger than 5368709120"), ..BASE },
    Row { name: "over the limit, private object, stranger: access first", size: 5_368_709_121, who: Who::Other, expect: Err(("AccessDenied", 403)), ..BASE },
    Row { name: "exactly a configured limit of 1000", size: 1000, max_size: Some(1000), expect: OK, ..BASE },
    Row { name: "over a configured limit of 1000", size: 1001, max_size: Some(1000), expect: Err(("InvalidRequest", 400)), message: Some("Torrent creation is not supported for objects larger than 1000"), ..BASE },
    Row { name: "5 GiB over a configured limit of 1000", size: 5_368_709_120, max_size: Some(1000), expect: Err(("InvalidRequest", 400)), message: Some("Torrent creation is not supported for objects larger than 1000"), ..BASE },
    Row { name: "1 byte", size: 1, expect: OK, ..BASE },
    Row { name: "0 bytes", size: 0, expect: Err(("InvalidRequest", 400)), ..BASE },
    Row { name: "0 bytes, private, anonymous: access first", size: 0, who: Who::Anonymous, expect: Err(("AccessDenied", 403)), ..BASE },
    // 10. Archived storage classes.
    Row { name: "GLACIER, not restored", class: StorageClass::Glacier, expect: Err(("InvalidObjectState", 403)), ..BASE },
    Row { name: "GLACIER, restore in progress", class: StorageClass::Glacier, restore: RestoreState::InProgress, expect: Err(("InvalidObjectState", 403)), ..BASE },
    Row { name: "GLACIER, restored", class: StorageClass::Glacier, restore: RestoreState::Restored, expect: OK, ..BASE },
    Row { name: "DEEP_ARCHIVE, not restored", class: StorageClass::DeepArchive, expect: Err(("InvalidObjectState", 403)), ..BASE },
    Row { name: "DEEP_ARCHIVE, restore in progress", class: StorageClass::DeepArchive, restore: RestoreState::InProgress, expect: Err(("InvalidObjectState", 403)), ..BASE },
    Row { name: "DEEP_ARCHIVE, restored", class: StorageClass::DeepArchive, restore: RestoreState::Restored, expect: OK, ..BASE },
    Row { name: "DEEP_ARCHIVE, 5 GiB + 1, not restored: size first", class: StorageClass::DeepArchive, size: 5_368_709_121, expect: Err(("InvalidRequest", 400)), ..BASE },
    Row { name: "GLACIER, public, anonymous, not restored", class: StorageClass::Glacier, who: Who::Anonymous, object_acl: PublicRead, expect: Err(("InvalidObjectState", 403)), ..BASE },
    Row { name: "STANDARD marked not restored", class: StorageClass::Standard, restore: RestoreState::NotRestored, expect: OK, ..BASE },
];

#[test]
fn every_rule() {
    run_all(RULES);
}

/// Object reads: (bucket ACL, ownership, object owner, object ACL,
/// [anonymous, bucket owner, writer, stranger]). With ACLs on, canned ACLs
/// expand as S3 expands them: `bucket-owner-*` add nothing when the bucket
/// owner wrote the object. With `BucketOwnerEnforced` every grant is
/// ignored: only the bucket owner's account reads, whoever wrote it.
#[rustfmt::skip]
const ACL_MATRIX: &[(CannedAcl, ObjectOwnership, Who, CannedAcl, [Expect; 4])] = &[
    // The bucket owner wrote the object; ACLs apply.
    (Private, ObjectWriter, Who::BucketOwner, Private, [DENIED, OK, DENIED, DENIED]),
    (Private, ObjectWriter, Who::BucketOwner, PublicRead, [OK, OK, OK, OK]),
    (Private, ObjectWriter, Who::BucketOwner, PublicReadWrite, [OK, OK, OK, OK]),
    (Private, ObjectWriter, Who::BucketOwner, AuthenticatedRead, [DENIED, OK, OK, OK]),
    (Private, ObjectWriter, Who::BucketOwner, BucketOwnerRead, [DENIED, OK, DENIED, DENIED]),
    (Private, ObjectWriter, Who::BucketOwner, BucketOwnerFullControl, [DENIED, OK, DENIED, DENIED]),
    // Another account wrote it and owns it; the bucket owner reads only if granted.
    (Private, ObjectWriter, Who::Writer, Private, [DENIED, DENIED, OK, DENIED]),
    (Private, ObjectWriter, Who::Writer, PublicRead, [OK, OK, OK, OK]),
    (Private, ObjectWriter, Who::Writer, PublicReadWrite, [OK, OK, OK, OK]),
    (Private, ObjectWriter, Who::Writer, AuthenticatedRead, [DENIED, OK, OK, OK]),
    (Private, ObjectWriter, Who::Writer, BucketOwnerRead, [DENIED, OK, OK, DENIED]),
    (Private, ObjectWriter, Who::Writer, BucketOwnerFullControl, [DENIED, OK, OK, DENIED]),
    // BucketOwnerPreferred: ACLs still apply, read-side the same.
    (Private, BucketOwnerPreferred, Who::Writer, Private, [DENIED, DENIED, OK, DENIED]),
    (Private, BucketOwnerPreferred, Who::Writer, PublicRead, [OK, OK, OK, OK]),
    (Private, BucketOwnerPreferred, Who::Writer, AuthenticatedRead, [DENIED, OK, OK, OK]),
    (Private, BucketOwnerPreferred, Who::Writer, BucketOwnerRead, [DENIED, OK, OK, DENIED]),
    (Private, BucketOwnerPreferred, Who::BucketOwner, BucketOwnerFullControl, [DENIED, OK, DENIED, DENIED]),
    // A public bucket ACL lets people list, never read private objects.
    (PublicRead, ObjectWriter, Who::BucketOwner, Private, [DENIED, OK, DENIED, DENIED]),
    (PublicReadWrite, ObjectWriter, Who::Writer, Private, [DENIED, DENIED, OK, DENIED]),
    (AuthenticatedRead, ObjectWriter, Who::BucketOwner, BucketOwnerRead, [DENIED, OK, DENIED, DENIED]),
    // BucketOwnerEnforced: grants ignored, the bucket owner's account owns everything.
    (Private, BucketOwnerEnforced, Who::BucketOwner, Private, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::BucketOwner, PublicRead, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::BucketOwner, PublicReadWrite, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::BucketOwner, AuthenticatedRead, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::BucketOwner, BucketOwnerFullControl, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::Writer, Private, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::Writer, PublicRead, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::Writer, AuthenticatedRead, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::Writer, BucketOwnerRead, [DENIED, OK, DENIED, DENIED]),
    (Private, BucketOwnerEnforced, Who::Writer, BucketOwnerFullControl, [DENIED, OK, DENIED, DENIED]),
    (PublicRead, BucketOwnerEnforced, Who::Writer, PublicRead, [DENIED, OK, DENIED, DENIED]),
    (PublicReadWrite, BucketOwnerEnforced, Who::BucketOwner, PublicReadWrite, [DENIED, OK, DENIED, DENIED]),
];

#[test]
fn who_reads_under_each_acl_and_ownership() {
    let mut rows = Vec::new();
    for &(bucket_acl, ownership, object_owner, object_acl, expects) in ACL_MATRIX {
        for (who, expect) in EVERYONE.into_iter().zip(expects) {
            rows.push(Row {
                name: "ACL matrix",
                bucket_acl,
                ownership,
                object_owner,
                object_acl,
                who,
                expect,
                ..BASE
            });
        }
    }
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            check(r).map(|f| {
                format!(
                    "{f} [bucket {:?}, {:?}, owner {:?}, object {:?}]",
                    r.bucket_acl, r.ownership, r.object_owner, r.object_acl
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(rows.len(), 32 * 4);
}

/// The existence-leak rule: (bucket ACL, ownership, lookup, versionId,
/// [anonymous, bucket owner, writer, stranger]). A missing key (or version,
/// or a delete marker as the current version) is 404 only to those who may
/// list the bucket (`READ` on it; with `BucketOwnerEnforced`, the bucket
/// owner's account only), 403 to everyone else.
type LeakRow = (
    CannedAcl,
    ObjectOwnership,
    Look,
    Option<&'static str>,
    [Expect; 4],
);

#[rustfmt::skip]
const LEAK_MATRIX: &[LeakRow] = &[
    (Private, ObjectWriter, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (PublicRead, ObjectWriter, Look::NoSuchKey, None, [NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (PublicReadWrite, ObjectWriter, Look::NoSuchKey, None, [NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (AuthenticatedRead, ObjectWriter, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (BucketOwnerFullControl, ObjectWriter, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (PublicRead, BucketOwnerPreferred, Look::NoSuchKey, None, [NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (Private, BucketOwnerEnforced, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (PublicRead, BucketOwnerEnforced, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (AuthenticatedRead, BucketOwnerEnforced, Look::NoSuchKey, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (Private, ObjectWriter, Look::NoSuchVersion, Some("v9"), [DENIED, NO_SUCH_VERSION, DENIED, DENIED]),
    (PublicRead, ObjectWriter, Look::NoSuchVersion, Some("v9"), [NO_SUCH_VERSION, NO_SUCH_VERSION, NO_SUCH_VERSION, NO_SUCH_VERSION]),
    (AuthenticatedRead, ObjectWriter, Look::NoSuchVersion, Some("v9"), [DENIED, NO_SUCH_VERSION, NO_SUCH_VERSION, NO_SUCH_VERSION]),
    (PublicRead, BucketOwnerEnforced, Look::NoSuchVersion, Some("v9"), [DENIED, NO_SUCH_VERSION, DENIED, DENIED]),
    (Private, ObjectWriter, Look::DeleteMarker, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (PublicRead, ObjectWriter, Look::DeleteMarker, None, [NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (AuthenticatedRead, ObjectWriter, Look::DeleteMarker, None, [DENIED, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (PublicRead, BucketOwnerEnforced, Look::DeleteMarker, None, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
];

#[test]
fn missing_keys_leak_only_to_those_who_may_list() {
    let mut rows = Vec::new();
    for &(bucket_acl, ownership, look, version_id, expects) in LEAK_MATRIX {
        for (who, expect) in EVERYONE.into_iter().zip(expects) {
            rows.push(Row {
                name: "leak matrix",
                bucket_acl,
                ownership,
                look,
                version_id,
                object_version: version_id.or(Some("dm1")),
                who,
                expect,
                ..BASE
            });
        }
    }
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            check(r).map(|f| {
                format!(
                    "{f} [bucket {:?}, {:?}, {:?}]",
                    r.bucket_acl, r.ownership, r.look
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Requester pays: (object owner, object ACL, lookup, ownership,
/// x-amz-request-payer sent, [anonymous, bucket owner, writer, stranger]).
/// The bucket's ACL is public-read, so everyone could list it but for
/// requester pays. The bucket owner never pays; anyone else pays and must
/// say so; anonymous requesters are never served, not even a 404.
type PaysRow = (Who, CannedAcl, Look, ObjectOwnership, bool, [Expect; 4]);

#[rustfmt::skip]
const PAYS_MATRIX: &[PaysRow] = &[
    (Who::BucketOwner, PublicRead, Look::Found, ObjectWriter, false, [DENIED, OK, DENIED, DENIED]),
    (Who::BucketOwner, PublicRead, Look::Found, ObjectWriter, true, [DENIED, OK, CHARGED, CHARGED]),
    (Who::BucketOwner, AuthenticatedRead, Look::Found, ObjectWriter, true, [DENIED, OK, CHARGED, CHARGED]),
    (Who::BucketOwner, Private, Look::Found, ObjectWriter, true, [DENIED, OK, DENIED, DENIED]),
    (Who::Writer, Private, Look::Found, ObjectWriter, false, [DENIED, DENIED, DENIED, DENIED]),
    (Who::Writer, Private, Look::Found, ObjectWriter, true, [DENIED, DENIED, CHARGED, DENIED]),
    (Who::Writer, BucketOwnerFullControl, Look::Found, ObjectWriter, false, [DENIED, OK, DENIED, DENIED]),
    (Who::Writer, BucketOwnerFullControl, Look::Found, ObjectWriter, true, [DENIED, OK, CHARGED, DENIED]),
    (Who::BucketOwner, PublicRead, Look::Found, BucketOwnerEnforced, true, [DENIED, OK, DENIED, DENIED]),
    (Who::BucketOwner, PublicRead, Look::NoSuchKey, ObjectWriter, false, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (Who::BucketOwner, PublicRead, Look::NoSuchKey, ObjectWriter, true, [DENIED, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (Who::BucketOwner, PublicRead, Look::DeleteMarker, ObjectWriter, false, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
    (Who::BucketOwner, PublicRead, Look::DeleteMarker, ObjectWriter, true, [DENIED, NO_SUCH_KEY, NO_SUCH_KEY, NO_SUCH_KEY]),
    (Who::BucketOwner, PublicRead, Look::NoSuchKey, BucketOwnerEnforced, true, [DENIED, NO_SUCH_KEY, DENIED, DENIED]),
];

#[test]
fn requester_pays() {
    let mut rows = Vec::new();
    for &(object_owner, object_acl, look, ownership, payer_header, expects) in PAYS_MATRIX {
        for (who, expect) in EVERYONE.into_iter().zip(expects) {
            rows.push(Row {
                name: "requester pays",
                requester_pays: true,
                bucket_acl: PublicRead,
                object_owner,
                object_acl,
                look,
                ownership,
                payer_header,
                who,
                expect,
                ..BASE
            });
        }
    }
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            check(r).map(|f| {
                format!(
                    "{f} [owner {:?}, {:?}, {:?}, {:?}, header {}]",
                    r.object_owner, r.object_acl, r.look, r.ownership, r.payer_header
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn not_requester_pays_is_never_charged_even_with_the_header() {
    for who in EVERYONE {
        run_all(&[Row {
            name: "header on an ordinary bucket",
            object_acl: PublicRead,
            payer_header: true,
            who,
            expect: OK,
            ..BASE
        }]);
    }
}

fn plan_for(key: &str, policy: &TorrentPolicy) -> s3torrent_s3::TorrentPlan {
    let owner = principal(Who::BucketOwner).unwrap();
    let bucket = BucketInfo::new(BucketName::new("quotes").unwrap(), owner.clone());
    let mut info = ObjectInfo::new(ObjectKey::new(key).unwrap(), 1 << 20, "etag-1", &owner);
    info.acl = Acl::canned(PublicRead, &owner, &owner);
    let req = TorrentRequest::new("quotes", key, Requester::Anonymous);
    decide(&req, Some(&bucket), &ObjectLookup::Found(info), policy).unwrap()
}

#[test]
fn plan_fields() {
    let default = TorrentPolicy::default();
    let cases = [
        ("Nelson", "Nelson"),
        ("people/Nelson", "people_Nelson"),
        ("a/b/c.txt", "a_b_c.txt"),
        ("dir/", "dir_"),
        ("/lead", "_lead"),
        ("a//b", "a__b"),
        ("..", "__"),
        (".", "_"),
        ("x/../y", "x_.._y"),
        ("日本/é.bin", "日本_é.bin"),
    ];
    for (key, name) in cases {
        let plan = plan_for(key, &default);
        assert_eq!(plan.name, name, "key {key:?}");
        assert_eq!(plan.piece_length.get(), 262_144);
        assert_eq!(plan.bucket.as_str(), "quotes");
        assert_eq!(plan.object.key.as_str(), key);
        assert_eq!(plan.web_seed, None);
        assert!(plan.trackers.is_empty());
        assert!(!plan.request_charged);
    }

    let mut policy = TorrentPolicy::default();
    policy.web_seed = Some(WebSeed {
        endpoint: "http://127.0.0.1:9000".into(),
        addressing: Addressing::Path,
    });
    policy.trackers = vec!["http://tracker.example:6969/announce".into()];
    policy.piece_length = PieceLengthPolicy::Fixed(PieceLength::MIN);
    let plan = plan_for("photos/2024/cat pic.jpg", &policy);
    assert_eq!(
        plan.web_seed.as_deref(),
        Some("http://127.0.0.1:9000/quotes/photos/2024/cat%20pic.jpg")
    );
    assert_eq!(plan.trackers, ["http://tracker.example:6969/announce"]);
    assert_eq!(plan.piece_length.get(), 16_384);
    assert_eq!(plan.name, "photos_2024_cat pic.jpg");

    policy.web_seed = Some(WebSeed {
        endpoint: "https://s3.example.com/".into(),
        addressing: Addressing::VirtualHosted,
    });
    policy.piece_length = PieceLengthPolicy::Auto;
    let plan = plan_for("photos/2024/cat.jpg", &policy);
    assert_eq!(
        plan.web_seed.as_deref(),
        Some("https://quotes.s3.example.com/photos/2024/cat.jpg")
    );
    // 1 MiB / 2000 pieces rounds up to the 16 KiB minimum.
    assert_eq!(plan.piece_length.get(), 16_384);
}

#[test]
fn error_resources_and_messages() {
    let owner = principal(Who::BucketOwner).unwrap();
    let bucket = BucketInfo::new(BucketName::new("quotes").unwrap(), owner.clone());
    let policy = TorrentPolicy::default();
    let anon = |key: &str| TorrentRequest::new("quotes", key, Requester::Anonymous);

    let e = decide(
        &anon("people/Nelson"),
        Some(&bucket),
        &ObjectLookup::NoSuchKey,
        &policy,
    )
    .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("AccessDenied", 403));
    assert_eq!(e.resource(), "/quotes/people/Nelson");
    assert_eq!(e.message(), "Access Denied");
    assert!(!e.is_retryable());

    let e = decide(
        &anon("people/Nelson"),
        None,
        &ObjectLookup::NoSuchKey,
        &policy,
    )
    .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("NoSuchBucket", 404));
    assert_eq!(e.resource(), "/quotes/people/Nelson");
    assert_eq!(e.message(), "The specified bucket does not exist");

    let mut on_bucket = anon("x");
    on_bucket.key = None;
    let e = decide(&on_bucket, Some(&bucket), &ObjectLookup::NoSuchKey, &policy).unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("RequestTorrentOfBucketError", 400)
    );
    assert_eq!(e.resource(), "/quotes");
    assert_eq!(
        e.message(),
        "Requesting the torrent file of a bucket is not permitted."
    );

    let long = "k".repeat(1025);
    let e = decide(
        &anon(&long),
        Some(&bucket),
        &ObjectLookup::NoSuchKey,
        &policy,
    )
    .unwrap_err();
    assert_eq!((e.code().as_str(), e.status()), ("KeyTooLongError", 400));
    assert_eq!(e.resource(), format!("/quotes/{long}"));

    let mut bad_owner = anon("a b");
    bad_owner.expected_bucket_owner = Some("nope".into());
    let e = decide(&bad_owner, Some(&bucket), &ObjectLookup::NoSuchKey, &policy).unwrap_err();
    assert_eq!(
        (e.code().as_str(), e.status()),
        ("InvalidBucketOwnerAWSAccountID", 400)
    );
    assert_eq!(e.resource(), "/quotes/a b");

    let mut big = ObjectInfo::new(ObjectKey::new("big").unwrap(), 5_368_709_121, "e", &owner);
    big.acl = Acl::canned(PublicRead, &owner, &owner);
    let e = decide(
        &anon("big"),
        Some(&bucket),
        &ObjectLookup::Found(big),
        &policy,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "InvalidRequest (400): Torrent creation is not supported for objects larger than 5368709120 [/quotes/big]"
    );
}
